import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One SMS as a phone sends it.
struct PhoneMessage: Sendable {
    var from: String          // as the network gives it: "+79031234567", "89031234567", "900", "MTS"
    var text: String
    var parts: Int = 1        // >1: the driver delivers it as a concatenated SMS in that many parts (UDH), parts out of order allowed
    var duplicate: Bool = false // the driver delivers the same message twice (at-least-once delivery)
}

/// One reply as the peer received it for sending to a phone.
struct PeerReply: Sendable {
    var to: String
    var text: String          // decoded, must be readable Cyrillic
    var segments: Int         // as the peer would send it (1 expected)
}

/// A real peer (or the files folder) that metergate reads SMS from and sends replies through.
protocol SMSPeerDriver: Sendable {
    var kind: String { get }                        // "files", "gammu", "kannel", "smsc"
    /// true when metergate must run as a daemon (`run`) to receive (Kannel pushes); false: `run --once` polls.
    var pushes: Bool { get }
    /// Starts the peer in `state`; returns the YAML lines of the `sms:` list item (and any top-level
    /// keys it needs, e.g. `outbox:`) to put in metergate's config.
    func start(state: URL) async throws -> String
    func deliver(_ messages: [PhoneMessage]) async throws
    func replies() async throws -> [PeerReply]
    func stop() async
    /// Why the peer cannot run on this machine (its program is not installed), or nil.
    /// Under `METERGATE_REQUIRE_PEERS=1` that is a failure, otherwise the driver is skipped.
    func unavailableReason() -> String?
}

extension SMSPeerDriver {
    func unavailableReason() -> String? { nil }
}

enum Peers {
    static var required: Bool { ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" }

    static let scripts = Metergate.packageRoot.appendingPathComponent("scripts/peers")

    /// `name` found on PATH (or in /usr/sbin, /usr/bin).
    static func installed(_ name: String) -> Bool {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Runs a program to completion; output collected in files (no pipe can fill up).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: Data? = nil, timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("metergate-peer-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out"), err = scratch.appendingPathComponent("err")
        let input = scratch.appendingPathComponent("in")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        try (stdin ?? Data()).write(to: input)
        // posix_spawn and waitpid of our own: a peer script leaves a daemon behind (setsid),
        // and Foundation's Process was seen never to notice such a script's exit.
        let path = executable.hasPrefix("/") ? executable : "/usr/bin/env"
        let argv = (executable.hasPrefix("/") ? [path] + arguments : [path, executable] + arguments)
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input.path, O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out.path, O_WRONLY | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err.path, O_WRONLY | O_TRUNC, 0o644)
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in cArgs + cEnv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, cArgs, cEnv)
        guard spawned == 0 else { throw HarnessError(description: "cannot start \(path): errno \(spawned)") }
        let deadline = Date().addingTimeInterval(timeout)
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped == -1 { throw HarnessError(description: "waitpid \(path): errno \(errno)") }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw HarnessError(description: "\(executable) \(arguments.joined(separator: " ")) timed out after \(Int(timeout)) s")
            }
            usleep(5_000)
        }
        let exitStatus: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus,
                String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self),
                String(decoding: (try? Data(contentsOf: err)) ?? Data(), as: UTF8.self))
    }

    /// `KEY=VALUE` lines.
    static func settings(_ text: String) -> [String: String] {
        var settings: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            settings[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        return settings
    }

    /// A number as metergate normalises it for replies: `8 903 …`/`7903…`/`903…` → `+7903…`.
    static func e164(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard trimmed.allSatisfy({ $0.isASCII && ($0.isNumber || " +-()".contains($0)) }) else { return nil }
        var digits = trimmed.filter(\.isNumber)
        if digits.count == 11, digits.hasPrefix("8") { digits = "7" + digits.dropFirst() }
        if digits.count == 10, digits.hasPrefix("9") { digits = "7" + digits }
        return digits.count >= 10 ? "+" + digits : nil
    }
}
