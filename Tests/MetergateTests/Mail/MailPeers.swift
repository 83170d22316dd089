import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real mail peers of scripts/peers (Dovecot, the aiosmtpd sink), started in a state folder
/// and stopped by their recorded pids.
final class MailPeers: @unchecked Sendable {
    let state: URL
    let dovecot: [String: String]
    let sink: [String: String]

    static var scripts: URL { Metergate.packageRoot.appendingPathComponent("scripts/peers") }

    /// nil (and the test is skipped) when Dovecot or aiosmtpd is missing, unless peers are required.
    static func start(_ label: String) throws -> MailPeers? {
        let missing = !FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot")
            || !FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd")
        if missing {
            if ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" {
                throw HarnessError(description: "Dovecot or python3-aiosmtpd is missing (scripts/peers/mail.packages)")
            }
            print("skipped: Dovecot or python3-aiosmtpd is not installed (scripts/peers/mail.packages)")
            return nil
        }
        // Under /tmp (not a 0700 home): Dovecot's mail user must reach it.
        let state = URL(fileURLWithPath: "/tmp/metergate-mail-\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let dovecot = try Self.script("dovecot-up.sh", [state.appendingPathComponent("dovecot").path])
        let sink: [String: String]
        do {
            sink = try Self.script("smtp-sink-up.sh", [state.appendingPathComponent("sink").path], environment: ["SMTP_SINK_TLS_PORT": ""])
        } catch {
            _ = try? Self.script("dovecot-down.sh", [state.appendingPathComponent("dovecot").path])
            throw error
        }
        return MailPeers(state: state, dovecot: dovecot, sink: sink)
    }

    private init(state: URL, dovecot: [String: String], sink: [String: String]) {
        self.state = state
        self.dovecot = dovecot
        self.sink = sink
    }

    func stop() {
        _ = try? Self.script("smtp-sink-down.sh", [state.appendingPathComponent("sink").path])
        _ = try? Self.script("dovecot-down.sh", [state.appendingPathComponent("dovecot").path])
        try? FileManager.default.removeItem(at: state)
    }

    var dovecotState: String { state.appendingPathComponent("dovecot").path }
    func port(_ key: String) -> String { dovecot[key] ?? sink[key] ?? "0" }

    /// Delivers raw messages into `user`'s INBOX (Maildir; INTERNALDATE from the Received/Date header).
    func deliver(_ messages: [[UInt8]], user: String) throws {
        let folder = state.appendingPathComponent("eml-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, raw) in messages.enumerated() {
            try Data(raw).write(to: folder.appendingPathComponent(String(format: "%06d.eml", index)))
        }
        _ = try Self.run("/usr/bin/python3", [Self.scripts.appendingPathComponent("mail-deliver.py").path,
                                              "--state", dovecotState, "--user", user, "--date-from-header", folder.path])
    }

    func generate(_ count: Int, user: String) throws {
        _ = try Self.run("/usr/bin/python3", [Self.scripts.appendingPathComponent("mail-deliver.py").path,
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

    static func script(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> [String: String] {
        let output = try run(scripts.appendingPathComponent(name).path, arguments, environment: environment)
        var values: [String: String] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
        }
        return values
    }

    /// Runs a program to its end (posix_spawn + waitpid: Foundation's Process did not notice
    /// the end of a script whose daemon child lives on), output in a file, stdin /dev/null.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("mg-peer-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw HarnessError(description: "cannot start \(executable): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        let text = String(decoding: (try? Data(contentsOf: out)) ?? Data(), as: UTF8.self)
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited, code == 0 else {
            throw HarnessError(description: "\(executable) \(arguments.joined(separator: " ")) failed (status \(status)): \(text)")
        }
        return text
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
