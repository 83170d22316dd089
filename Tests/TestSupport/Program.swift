import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What a finished program left: its exit status (128 + the signal when a signal ended it) and
/// its output.
public struct ProgramOutput: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
}

public struct ProgramError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs the peers' programs and scripts from async tests: started with `posix_spawn`, waited on
/// with `waitpid(WNOHANG)` and `Task.sleep`, so no thread of the cooperative pool is held while
/// a peer starts (what `system()` did).
///
/// Not Foundation's `Process`: the peer scripts leave daemons behind that inherit the process's
/// descriptors, and `Process` then never sees its child end. The child starts with no signal
/// blocked and default dispositions, whatever the test's thread had (dispatch worker threads
/// block signals; daemons started from the scripts would keep ignoring SIGTERM).
public enum Program {
    /// Runs `program` to completion, output through files (never a full pipe); kills it
    /// (SIGKILL) and throws after `timeout` seconds or when the task is cancelled.
    @discardableResult
    public static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                           timeout: TimeInterval = 60) async throws -> ProgramOutput {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-program-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        let pid = try spawn(program, arguments, environment: environment, stdout: out, stderr: err)
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if ContinuousClock.now > deadline || Task.isCancelled {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ProgramError("\(program) \(arguments.joined(separator: " ")) \(Task.isCancelled ? "was cancelled" : "timed out after \(timeout) s")")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return ProgramOutput(
            status: exitStatus(status),
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// The blocking form of `run`, with `stdin` as the program's input: for a thread of its own
    /// (never a task: it traps there, as it would hold a thread of the cooperative pool).
    @discardableResult
    public static func runBlocking(_ program: String, _ arguments: [String], environment: [String: String] = [:],
                                   stdin: Data? = nil, timeout: TimeInterval = 120) throws -> ProgramOutput {
        precondition(withUnsafeCurrentTask { $0 == nil }, "Program.runBlocking from a task, on the cooperative pool: await Program.run")
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-program-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("in").path
        try (stdin ?? Data()).write(to: URL(fileURLWithPath: input))
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        let pid = try spawn(program, arguments, environment: environment, stdin: input, stdout: out, stderr: err)
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw ProgramError("\(program) \(arguments.joined(separator: " ")) timed out after \(Int(timeout)) s")
            }
            usleep(5_000)
        }
        return ProgramOutput(
            status: exitStatus(status),
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// `/bin/sh -c command`, for a pipeline or redirections.
    @discardableResult
    public static func shell(_ command: String, environment: [String: String] = [:], timeout: TimeInterval = 60) async throws -> ProgramOutput {
        try await run("/bin/sh", ["-c", command], environment: environment, timeout: timeout)
    }

    /// A peer script of scripts/peers (`dovecot-up.sh STATE`, …) through bash.
    @discardableResult
    public static func peerScript(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                                  timeout: TimeInterval = 120) async throws -> ProgramOutput {
        try await run("/bin/bash", [Peer.scripts.appendingPathComponent(name).path] + arguments, environment: environment, timeout: timeout)
    }

    /// Starts `program` (a peer's `*-down.sh` from a `defer`, which cannot await) and reaps it on
    /// a thread of its own, not the cooperative pool; returns at once.
    public static func runDetached(_ program: String, _ arguments: [String], environment: [String: String] = [:]) {
        guard let pid = try? spawn(program, arguments, environment: environment) else { return }
        Thread {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }.start()
    }

    /// `runDetached` for a peer script of scripts/peers; then removes `folder` when given (the
    /// peer's state, once the peer is down).
    public static func peerScriptDetached(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                                          thenRemove folder: URL? = nil) {
        let script = Peer.scripts.appendingPathComponent(name).path
        guard let folder else { return runDetached("/bin/bash", [script] + arguments, environment: environment) }
        runDetached("/bin/sh", ["-c", "/bin/bash \"$@\" >/dev/null 2>&1; rm -rf -- \"$0\"", folder.path, script] + arguments,
                    environment: environment)
    }

    /// Starts `program` and returns its pid; standard input is /dev/null, the outputs go to the
    /// files named (or /dev/null).
    static func spawn(_ program: String, _ arguments: [String], environment: [String: String],
                      stdin: String = "/dev/null", stdout: String = "/dev/null", stderr: String = "/dev/null") throws -> pid_t {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw ProgramError("cannot run \(program): error \(spawned)") }
        return pid
    }

    static func exitStatus(_ status: Int32) -> Int32 {
        (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}

/// A long-running child a test starts (a proxy, an HTTP server) and stops by its own pid.
public final class SpawnedProcess: @unchecked Sendable {
    public let pid: pid_t
    private var reaped = false
    private let lock = NSLock()

    /// `output`: a file for the child's standard output and error (/dev/null when nil).
    public init(_ program: String, _ arguments: [String], environment: [String: String] = [:], output: String? = nil) throws {
        pid = try Program.spawn(program, arguments, environment: environment,
                                stdout: output ?? "/dev/null", stderr: output.map { $0 + ".err" } ?? "/dev/null")
    }

    public var isRunning: Bool {
        lock.withLock {
            guard !reaped else { return false }
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid { reaped = true }
            return !reaped
        }
    }

    /// SIGKILL (a child of a dispatch thread may inherit a blocked SIGTERM), then reaps it: a
    /// killed process is gone at once, so the wait is short.
    public func stop() {
        lock.withLock {
            guard !reaped else { return }
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            reaped = true
        }
    }

    deinit { stop() }
}
