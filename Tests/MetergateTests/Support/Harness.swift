import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// Drives the built `metergate` executable as a subprocess, the way acceptance checks do.
///
/// The binary is `$METERGATE_BINARY` when set; otherwise `metergate` in the build folder the
/// test bundle runs from (`swift test` builds every product of the package, so it lies next
/// to `metergatePackageTests.xctest` and `metergate_MetergateTests.resources`).
enum Metergate {
    static let binary: URL? = locate()

    static func locate() -> URL? {
        let fm = FileManager.default
        func executable(_ url: URL) -> URL? {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue,
                  fm.isExecutableFile(atPath: url.path) else { return nil }
            return url.standardizedFileURL
        }
        if let path = ProcessInfo.processInfo.environment["METERGATE_BINARY"], !path.isEmpty {
            return executable(URL(fileURLWithPath: path))
        }
        var folders: [URL] = []
        // The resources bundle lives in the build folder itself.
        folders.append(Bundle.module.bundleURL.deletingLastPathComponent())
        // The test runner: .build*/<triple>/debug/metergatePackageTests.xctest (on macOS inside
        // a bundle: …/debug/metergatePackageTests.xctest/Contents/MacOS/metergatePackageTests).
        var runner = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).resolvingSymlinksInPath()
        for _ in 0..<5 {
            runner.deleteLastPathComponent()
            folders.append(runner)
        }
        if let main = Bundle.main.executableURL {
            folders.append(main.deletingLastPathComponent())
        }
        for folder in folders {
            if let found = executable(folder.appendingPathComponent("metergate")) { return found }
        }
        return nil
    }

    /// The package root, from this file's path (Tests/MetergateTests/Support/Harness.swift).
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The environment the subprocess sees: ours without any `METERGATE_*` override.
    static func environment(_ extra: [String: String] = [:]) -> [String: String] {
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("METERGATE_") }
        for (key, value) in extra { environment[key] = value }
        return environment
    }
}

/// What a finished subprocess left.
struct RunResult: Sendable, CustomStringConvertible {
    var arguments: [String]
    var status: Int32
    var stdout: Data
    var stderr: String
    var timedOut: Bool
    var elapsed: TimeInterval

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard output split on "\n" only (U+2028 may sit inside a JSON string).
    var stdoutLines: [String] {
        var lines = stdoutText.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        return lines
    }

    var description: String {
        "metergate \(arguments.joined(separator: " ")) → status \(status)\(timedOut ? " (TIMED OUT, killed)" : "") in \(String(format: "%.1f", elapsed)) s\nstderr: \(stderr.prefix(2000))\nstdout: \(stdoutText.prefix(2000))"
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
}

/// A temporary working directory, removed by `remove()`.
struct Sandbox: Sendable {
    let url: URL

    init(_ label: String = "mg") throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("metergate-tests-\(label)-\(UUID().uuidString.prefix(8))", isDirectory: true)
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        url = base.resolvingSymlinksInPath()
    }

    var path: String { url.path }

    func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> URL {
        try write(name, Data(text.utf8))
    }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> URL {
        let target = file(name)
        try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: target)
        return target
    }

    func read(_ name: String) throws -> String {
        try String(contentsOf: file(name), encoding: .utf8)
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }

    /// A configuration like the one score.py writes: the contract sample's policy, the store
    /// inside the sandbox, no feeds.
    @discardableResult
    func writeConfig(_ name: String = "config.yaml", extra: String = "") throws -> String {
        let text = """
            store:
              path: \(jsonString(file("store/metergate.sqlite").path))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
            mailboxes: []
            sms: []
            log:
              format: text
              level: info

            """ + extra
        try FileManager.default.createDirectory(at: file("store"), withIntermediateDirectories: true)
        return try write(name, text).path
    }

    /// Runs metergate with this sandbox as its working directory; waits with `Task.sleep`.
    func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
             timeout: TimeInterval = 60) async throws -> RunResult {
        try await Subprocess.run(arguments, in: url, environment: Metergate.environment(environment), stdin: stdin, timeout: timeout)
    }

    /// The blocking form, for a thread of its own (`Peers.offPool`); from a task it traps.
    func run(_ arguments: [String], environment: [String: String] = [:], stdin: Data? = nil,
             timeout: TimeInterval = 60) throws -> RunResult {
        offThePoolOnly()
        return try Subprocess.runBlocking(arguments, in: url, environment: Metergate.environment(environment), stdin: stdin, timeout: timeout)
    }
}

func jsonString(_ text: String) -> String {
    let data = try! JSONSerialization.data(withJSONObject: [text], options: [.withoutEscapingSlashes])
    let array = String(decoding: data, as: UTF8.self)
    return String(array.dropFirst().dropLast())
}

enum Subprocess {
    /// Runs the binary to completion, or kills it (SIGKILL) after `timeout` seconds or when the
    /// task is cancelled (a test's time limit); waits with `Task.sleep`, never blocking a thread.
    /// Output goes to files, not pipes, so a chatty child never blocks on a full pipe.
    static func run(_ arguments: [String], in directory: URL, environment: [String: String], stdin: Data?,
                    timeout: TimeInterval) async throws -> RunResult {
        let started = Launched(try launch(arguments, in: directory, environment: environment, stdin: stdin))
        var timedOut = false
        while started.process.isRunning {
            if Date().timeIntervalSince(started.start) > timeout || Task.isCancelled {
                timedOut = true
                kill(started.process.processIdentifier, SIGKILL)
                break
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return started.finish(timedOut: timedOut)
    }

    /// The blocking form of `run` (`usleep` between looks).
    static func runBlocking(_ arguments: [String], in directory: URL, environment: [String: String], stdin: Data?,
                            timeout: TimeInterval) throws -> RunResult {
        let started = Launched(try launch(arguments, in: directory, environment: environment, stdin: stdin))
        var timedOut = false
        while started.process.isRunning {
            if Date().timeIntervalSince(started.start) > timeout {
                timedOut = true
                kill(started.process.processIdentifier, SIGKILL)
                break
            }
            usleep(10_000)
        }
        return started.finish(timedOut: timedOut)
    }

    /// A started child and the files it writes.
    struct Launched {
        var process: Process
        var scratch: URL
        var arguments: [String]
        var start = Date()

        init(_ launched: (process: Process, scratch: URL, arguments: [String])) {
            process = launched.process
            scratch = launched.scratch
            arguments = launched.arguments
        }

        func finish(timedOut: Bool) -> RunResult {
            defer { try? FileManager.default.removeItem(at: scratch) }
            process.waitUntilExit()
            let elapsed = Date().timeIntervalSince(start)
            return RunResult(
                arguments: arguments, status: process.terminationStatus,
                stdout: (try? Data(contentsOf: scratch.appendingPathComponent("stdout"))) ?? Data(),
                stderr: String(decoding: (try? Data(contentsOf: scratch.appendingPathComponent("stderr"))) ?? Data(), as: UTF8.self),
                timedOut: timedOut, elapsed: elapsed)
        }
    }

    private static func launch(_ arguments: [String], in directory: URL, environment: [String: String], stdin: Data?) throws
        -> (process: Process, scratch: URL, arguments: [String])
    {
        guard let binary = Metergate.binary else {
            throw HarnessError(description: "metergate binary not found: set METERGATE_BINARY or build it (swift build --product metergate) into the test's build folder")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-io-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        try (stdin ?? Data()).write(to: inURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        process.standardOutput = outHandle
        process.standardError = errHandle
        process.standardInput = inHandle
        try process.run()
        try? outHandle.close()
        try? errHandle.close()
        try? inHandle.close()
        return (process, scratch, arguments)
    }
}

/// A long-running `metergate run`, its standard error in a file we can read while it runs.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let errURL: URL
    let outURL: URL
    private let scratch: URL

    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        guard let binary = Metergate.binary else { throw HarnessError(description: "metergate binary not found") }
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-daemon-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        errURL = scratch.appendingPathComponent("stderr")
        outURL = scratch.appendingPathComponent("stdout")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let outHandle = try FileHandle(forWritingTo: outURL)
        process.executableURL = binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = Metergate.environment(environment)
        process.standardError = errHandle
        process.standardOutput = outHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        try? errHandle.close()
        try? outHandle.close()
    }

    var stderr: String { String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self) }
    var isRunning: Bool { process.isRunning }

    /// Sends SIGTERM and waits up to `timeout` seconds (`Task.sleep`); returns the exit status,
    /// or nil (and kills the process) when it did not stop in time.
    func terminate(timeout: TimeInterval) async -> Int32? {
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The blocking form, for a thread of its own (`Peers.offPool`); from a task it traps.
    func terminate(timeout: TimeInterval) -> Int32? {
        offThePoolOnly()
        guard process.isRunning else { return process.terminationStatus }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Kills the process if it still runs and removes the scratch files.
    func cleanUp() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: scratch)
    }
}

/// The blocking form of `waitUntil`, for a thread of its own (`Peers.offPool`); from a task it
/// traps.
@discardableResult
func waitUntilBlocking(timeout: TimeInterval, _ condition: () -> Bool) -> Bool {
    offThePoolOnly()
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(100_000)
    }
    return condition()
}

/// The blocking helpers (`usleep` loops) hold the thread they run on: on the cooperative pool,
/// whose two threads every test of a parallel run shares, that stalls the whole suite. They
/// are for threads of their own (`Peers.offPool`); called from a task they stop the run here.
func offThePoolOnly(_ function: StaticString = #function) {
    precondition(withUnsafeCurrentTask { $0 == nil }, "\(function) blocks: called from a task, on the cooperative pool; await the async form")
}

enum Fixture {
    static func url(_ name: String) throws -> URL {
        let url = Bundle.module.bundleURL.appendingPathComponent("Fixtures").appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw HarnessError(description: "fixture \(name) missing at \(url.path)")
        }
        return url
    }

    static func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }
    static func text(_ name: String) throws -> String { String(decoding: try data(name), as: UTF8.self) }
}
