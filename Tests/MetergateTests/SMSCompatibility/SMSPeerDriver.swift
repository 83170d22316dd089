import Foundation
import TestSupport
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
    static var required: Bool { Peer.required }

    static var scripts: URL { Peer.scripts }

    /// Runs blocking work (waiting for a peer, a subprocess) on a thread of its own, so the
    /// tests running beside this one keep the cooperative pool. `#expect` does not belong in
    /// `body`: return what to check.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try body() }) }
            thread.stackSize = 4 << 20
            thread.start()
        }
    }

    /// `name` found on PATH (or in /usr/sbin, /usr/bin).
    static func installed(_ name: String) -> Bool {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/usr/bin:/sbin"
        return path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }
    }

    /// Runs a program to completion (a name is looked up on PATH), blocking: for `offPool`
    /// threads only (`Program.runBlocking` traps in a task).
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    stdin: Data? = nil, timeout: TimeInterval = 120) throws -> ProgramOutput {
        let path = executable.hasPrefix("/") ? executable : "/usr/bin/env"
        return try Program.runBlocking(path, executable.hasPrefix("/") ? arguments : [executable] + arguments,
                                       environment: environment, stdin: stdin, timeout: timeout)
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
