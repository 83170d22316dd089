import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The real mail peers of scripts/peers (Dovecot, the aiosmtpd sink), started in a state folder
/// and stopped by their recorded pids.
final class MailPeers: @unchecked Sendable {
    let state: URL
    let dovecot: [String: String]
    let sink: [String: String]

    static var scripts: URL { Peer.scripts }

    /// Dovecot and the sink on free ports, in a state folder of their own (suites run side by
    /// side). The suites carry `Peer.needs(Peer.mail, …)`: a missing peer skips them.
    static func start(_ label: String) async throws -> MailPeers {
        // Under /tmp (not a 0700 home): Dovecot's mail user must reach it.
        let state = URL(fileURLWithPath: "/tmp/metergate-mail-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let dovecot = try await Self.script("dovecot-up.sh", [state.appendingPathComponent("dovecot").path])
        let sink: [String: String]
        do {
            sink = try await Self.script("smtp-sink-up.sh", [state.appendingPathComponent("sink").path], environment: ["SMTP_SINK_TLS_PORT": ""])
        } catch {
            Program.peerScriptDetached("dovecot-down.sh", [state.appendingPathComponent("dovecot").path], thenRemove: state)
            throw error
        }
        return MailPeers(state: state, dovecot: dovecot, sink: sink)
    }

    private init(state: URL, dovecot: [String: String], sink: [String: String]) {
        self.state = state
        self.dovecot = dovecot
        self.sink = sink
    }

    /// From a `defer`: the peers are stopped and their folder removed in the background.
    func stop() {
        Program.runDetached("/bin/sh", ["-c", "/bin/bash \"$1\" \"$0/sink\"; /bin/bash \"$2\" \"$0/dovecot\"; rm -rf -- \"$0\"",
                                        state.path, Self.scripts.appendingPathComponent("smtp-sink-down.sh").path,
                                        Self.scripts.appendingPathComponent("dovecot-down.sh").path])
    }

    var dovecotState: String { state.appendingPathComponent("dovecot").path }
    func port(_ key: String) -> String { dovecot[key] ?? sink[key] ?? "0" }

    /// Delivers raw messages into `user`'s INBOX (Maildir; INTERNALDATE from the Received/Date header).
    func deliver(_ messages: [[UInt8]], user: String) async throws {
        let folder = state.appendingPathComponent("eml-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, raw) in messages.enumerated() {
            try Data(raw).write(to: folder.appendingPathComponent(String(format: "%06d.eml", index)))
        }
        _ = try await Self.run("/usr/bin/python3", [Self.scripts.appendingPathComponent("mail-deliver.py").path,
                                                    "--state", dovecotState, "--user", user, "--date-from-header", folder.path])
    }

    func generate(_ count: Int, user: String) async throws {
        _ = try await Self.run("/usr/bin/python3", [Self.scripts.appendingPathComponent("mail-deliver.py").path,
                                                    "--state", dovecotState, "--user", user, "--generate", "\(count)"])
    }

    /// The messages the SMTP sink received, in order: raw text and envelope recipients.
    func received() throws -> [(raw: String, recipients: [String])] {
        let folder = URL(fileURLWithPath: sink["SMTP_SINK_MAIL"] ?? "")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return try names.filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }.sorted().map { name in
            let raw = String(decoding: try Data(contentsOf: folder.appendingPathComponent(name)), as: UTF8.self)
            let meta = try Data(contentsOf: folder.appendingPathComponent(name.replacingOccurrences(of: ".eml", with: ".json")))
            let object = try JSONSerialization.jsonObject(with: meta) as? [String: Any] ?? [:]
            return (raw, object["rcpt_tos"] as? [String] ?? [])
        }
    }

    static func script(_ name: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> [String: String] {
        let output = try await run(scripts.appendingPathComponent(name).path, arguments, environment: environment)
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// Runs a program to its end (`Program.run`: waited on with `Task.sleep`); its output, or
    /// an error with its output when it failed.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let output = try await Program.run(executable, arguments, environment: environment, timeout: 300)
        guard output.status == 0 else {
            throw HarnessError(description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(output.status)): \(output.stdout)\(output.stderr)")
        }
        return output.stdout + output.stderr
    }
}

/// Header fields of a raw message (unfolded), first value of each name (lower-cased names).
func mailHeaders(_ raw: String) -> [String: String] {
    let head = raw.components(separatedBy: "\r\n\r\n").first ?? raw
    var fields: [String: String] = [:]
    var last: String?
    for line in head.components(separatedBy: "\r\n") {
        if line.hasPrefix(" ") || line.hasPrefix("\t"), let name = last {
            fields[name, default: ""] += " " + line.trimmingCharacters(in: .whitespaces)
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            if fields[name] == nil {
                fields[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                last = name
            } else {
                last = nil
            }
        }
    }
    return fields
}

/// RFC 2047 decoding (UTF-8 B and Q words), enough to read our own replies' subjects.
func decodeEncodedWords(_ value: String) -> String {
    var output = ""
    var rest = Substring(value)
    var previousWasWord = false
    while let start = rest.range(of: "=?") {
        let between = rest[..<start.lowerBound]
        if !(previousWasWord && between.allSatisfy(\.isWhitespace)) { output += between }
        let afterStart = rest[start.upperBound...]
        let parts = afterStart.split(separator: "?", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 4, parts[3].hasPrefix("=") else { output += "=?"; rest = afterStart; previousWasWord = false; continue }
        let encoding = parts[1].uppercased()
        let text = String(parts[2])
        var bytes: [UInt8] = []
        if encoding == "B" {
            var padded = text
            while padded.count % 4 != 0 { padded += "=" }
            bytes = [UInt8](Data(base64Encoded: padded) ?? Data())
        } else {
            var chars = Array(text.utf8)[...]
            while let c = chars.first {
                chars = chars.dropFirst()
                if c == UInt8(ascii: "_") { bytes.append(0x20) } else if c == UInt8(ascii: "="), chars.count >= 2,
                    let v = UInt8(String(decoding: chars.prefix(2), as: UTF8.self), radix: 16) {
                    bytes.append(v)
                    chars = chars.dropFirst(2)
                } else { bytes.append(c) }
            }
        }
        output += String(decoding: bytes, as: UTF8.self)
        rest = parts[3].dropFirst()
        previousWasWord = true
    }
    output += rest
    return output
}

/// One json log line of `run` (per message): id, status, sender, results.
struct LoggedOutcome {
    var id: String
    var status: String
    var reason: String?
    var sender: String?
    var results: [(uin: String, status: String?, reason: String?, readings: [String])]

    static func parse(_ stderr: String) -> [LoggedOutcome] {
        stderr.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? String, let status = object["status"] as? String else { return nil }
            let results = (object["results"] as? [[String: Any]] ?? []).map { item in
                (uin: "\(item["uin"] ?? "")", status: item["status"] as? String, reason: item["reason"] as? String,
                 readings: (item["readings"] as? [Any] ?? []).map { "\($0)" })
            }
            return LoggedOutcome(id: id, status: status, reason: object["reason"] as? String,
                                 sender: object["sender"] as? String, results: results)
        }
    }
}
