import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for the tests that run metergate against the SMS peers (Kannel + fakesmsc, the
/// SMSC emulator): programs, free ports, reading the ledger with the sqlite3 command.
enum SMSPeers {
    static var scripts: URL { Peer.scripts }
    static var emulator: URL { Metergate.packageRoot.appendingPathComponent("Tests/Peers/smsc_emulator.py") }
    static var proxy: URL { Metergate.packageRoot.appendingPathComponent("Tests/Peers/kannel_lossy_proxy.py") }

    typealias Output = ProgramOutput

    /// Runs a program to completion (`Program.run`: waited on with `Task.sleep`).
    @discardableResult
    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) async throws -> Output {
        try await Program.run(program, arguments, environment: environment, timeout: timeout)
    }

    /// SIGKILL for a test peer we started, when `pid` still runs `word` (never another process).
    /// Not SIGTERM: a child started from a test's worker thread may inherit a blocked SIGTERM.
    static func killChecked(_ pid: Int32, expecting word: String) {
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        guard cmdline.contains(word) else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// Rows of a query on the ledger, as JSON objects (sqlite3 -json; WAL readers never block).
    static func query(_ store: URL, _ sql: String) async throws -> [[String: Any]] {
        let output = try await run("/usr/bin/sqlite3", ["-json", "-cmd", ".timeout 5000", store.path, sql])
        guard output.status == 0 else { throw HarnessError(description: "sqlite3 failed: \(output.stderr)") }
        let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    static func count(_ store: URL, _ sql: String) async -> Int {
        guard FileManager.default.fileExists(atPath: store.path), let rows = try? await query(store, sql),
              let value = rows.first?.values.first else { return 0 }
        return (value as? Int) ?? Int("\(value)") ?? 0
    }

    /// The SMS cases of the public corpus as a phone sends them, with their expected outcome.
    static func corpusSMS() throws -> [(message: PhoneMessage, expect: CorpusCase.Expected, id: String)] {
        try CorpusCase.all().filter { $0.channel == "sms" }.map { item in
            let object = try JSONSerialization.jsonObject(with: Data(item.input.utf8)) as? [String: Any] ?? [:]
            return (PhoneMessage(from: object["from"] as? String ?? "", text: object["text"] as? String ?? ""), item.expect, item.id)
        }
    }

    /// A metergate configuration: the store in `sandbox`, the contract's policy, one SMS feed.
    static func writeConfig(_ sandbox: Sandbox, smsItem: String, extra: String = "") throws -> String {
        let text = """
            store:
              path: \(jsonString(sandbox.file("store/metergate.sqlite").path))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
            sms:
            \(smsItem)
            log:
              format: text
              level: info

            """ + extra
        try FileManager.default.createDirectory(at: sandbox.file("store"), withIntermediateDirectories: true)
        return try sandbox.write("config.yaml", text).path
    }

    /// Whether a reply text reads as intended: Cyrillic letters, no replacement marks.
    static func readableCyrillic(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x0410...0x044F).contains($0.value) } && !text.contains("\u{FFFD}") && !text.contains("??")
    }
}
