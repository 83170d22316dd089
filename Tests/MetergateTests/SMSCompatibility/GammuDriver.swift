import Foundation
import Testing
import TestSupport

/// gammu-smsd with Gammu's dummy phone and an SQLite database (`kind: gammu`), started by
/// `scripts/peers/gammu-up.sh`. Messages go in as the phone receives them
/// (`gammu-inject.sh`: SMS-backup files in the dummy phone's inbox folder, long messages in
/// UDH parts written last part first; a duplicate is the same SMS read twice), gammu-smsd
/// stores them in `inbox`; replies are what gammu-smsd "sent" through the dummy phone, read
/// from `sentitems` once `outbox` holds none of ours.
///
/// `driver: "pgsql"` (kind `gammu-postgres`): the same with SMSD's `native_pgsql` driver and a
/// PostgreSQL server of its own (`postgres-up.sh`, started by `gammu-up.sh`); metergate gets
/// the URL and the password in `password_file`. The SQL below quotes identifiers, which both
/// databases read alike (PostgreSQL's schema has mixed-case names).
struct GammuDriver: SMSPeerDriver {
    var kind: String { driver == "pgsql" ? "gammu-postgres" : "gammu" }
    let pushes = false
    /// gammu-smsd's loop pause: 0 sends ~12 replies/s (1 sends one a second).
    var pollSeconds = "0"
    var multipartWait = "30s"
    /// SMSD's database: `sqlite3` or `pgsql`.
    var driver = "sqlite3"
    private let state = LockedBox<(state: URL, database: String)?>(nil)
    private let settings = LockedBox<[String: String]>([:])
    private let injected = LockedBox(0)

    func unavailableReason() -> String? {
        if driver == "pgsql" {
            for program in ["gammu-smsd", "psql"] where !Peers.installed(program) {
                return "\(program) is not installed (scripts/peers/gammu.packages, postgres.packages)"
            }
            let servers = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
            if !servers.contains(where: { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/postgres") }) {
                return "the PostgreSQL server is not installed (scripts/peers/postgres.packages)"
            }
            return nil
        }
        for program in ["gammu-smsd", "sqlite3"] where !Peers.installed(program) {
            return "\(program) is not installed (scripts/peers/gammu.packages)"
        }
        let drivers = ["/usr/lib/x86_64-linux-gnu/dbd/libdbdsqlite3.so", "/usr/lib/aarch64-linux-gnu/dbd/libdbdsqlite3.so", "/usr/lib/dbd/libdbdsqlite3.so"]
        if !drivers.contains(where: { FileManager.default.fileExists(atPath: $0) }) {
            return "libdbd-sqlite3 is not installed (scripts/peers/gammu.packages)"
        }
        return nil
    }

    func start(state: URL) async throws -> String {
        let poll = pollSeconds, driver = driver
        let up = try await Peers.offPool {
            try Peers.run(Peers.scripts.appendingPathComponent("gammu-up.sh").path, [state.path],
                          environment: ["GAMMU_POLL_S": poll, "GAMMU_DRIVER": driver], timeout: 60)
        }
        let settings = Peers.settings(up.stdout)
        guard up.status == 0, let database = settings["GAMMU_DATABASE"] else {
            throw HarnessError(description: "gammu-up.sh failed (\(up.status)): \(up.stderr)")
        }
        self.state.set((state, database))
        self.settings.set(settings)
        let password = settings["GAMMU_PASSWORD_FILE"].map { "    password_file: \(jsonString($0))\n" } ?? ""
        return """
              - name: gammu
                kind: gammu
                database: \(jsonString(database))
            \(password)    poll_interval: 1s
                multipart_wait: \(multipartWait)

            """
    }

    /// Hands the messages to the dummy phone and waits until gammu-smsd has stored every part.
    func deliver(_ messages: [PhoneMessage]) async throws {
        guard let (state, _) = state.get() else { throw HarnessError(description: "gammu driver not started") }
        let now = Int(Date().timeIntervalSince1970) - 600
        var lines: [String] = []
        var rows = 0
        for (index, message) in messages.enumerated() {
            let parts = max(1, message.parts)
            let copies = message.duplicate ? 2 : 1
            rows += parts * copies
            var item: [String: Any] = [
                "from": message.from, "text": message.text, "parts": parts, "sent": now + index, "copies": copies,
            ]
            if parts > 1 { item["order"] = Array((1...parts).reversed()) }
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: item), as: UTF8.self))
        }
        let before = injected.update { value -> Int in
            defer { value += rows }
            return value
        }
        let input = Data((lines.joined(separator: "\n") + "\n").utf8)
        let total = rows
        try await Peers.offPool {
            let inject = try Peers.run(Peers.scripts.appendingPathComponent("gammu-inject.sh").path, [state.path, "--jsonl", "-"],
                                       stdin: input, timeout: 300)
            guard inject.status == 0 else { throw HarnessError(description: "gammu-inject.sh failed: \(inject.stderr)") }
            let expected = before + total
            let stored = waitUntilBlocking(timeout: 60 + Double(total) / 20) { ((try? count("SELECT COUNT(*) FROM inbox")) ?? 0) >= expected }
            guard stored else {
                throw HarnessError(description: "gammu-smsd stored \((try? count("SELECT COUNT(*) FROM inbox")) ?? -1) of \(expected) inbox rows; see \(state.path)/smsd.log")
            }
        }
    }

    /// Waits until gammu-smsd has sent every reply metergate queued, then reads `sentitems`.
    func replies() async throws -> [PeerReply] {
        guard state.get() != nil else { return [] }
        return try await Peers.offPool { try sentReplies() }
    }

    func sentReplies() throws -> [PeerReply] {
        let drained = waitUntilBlocking(timeout: 180) { ((try? count(#"SELECT COUNT(*) FROM outbox WHERE "CreatorID" = 'metergate'"#)) ?? 1) == 0 }
        guard drained else { throw HarnessError(description: "gammu-smsd did not send all replies within 180 s") }
        let rows = try query("""
            SELECT "ID", "DestinationNumber" AS number, "TextDecoded" AS text, "Coding" AS coding, "Status" AS status
            FROM sentitems WHERE "CreatorID" = 'metergate' ORDER BY "ID", "SequencePosition"
            """)
        var replies: [Int: PeerReply] = [:]
        var order: [Int] = []
        for row in rows {
            guard let id = row["ID"] as? Int else { continue }
            var text = row["text"] as? String ?? ""
            // Sent as GSM-7, a letter outside the GSM alphabet reaches the phone as '?'.
            if row["coding"] as? String == "Default_No_Compression" {
                text = String(text.map { SMSSegment.gsmBasic.contains($0) || SMSSegment.gsmExtension.contains($0) ? $0 : "?" })
            }
            if (row["status"] as? String).map({ $0.hasPrefix("SendingOK") || $0 == "DeliveryOK" }) != true {
                text = "[not sent: \(row["status"] ?? "?")] " + text
            }
            if var reply = replies[id] {
                reply.text += text
                reply.segments += 1
                replies[id] = reply
            } else {
                order.append(id)
                replies[id] = PeerReply(to: row["number"] as? String ?? "", text: text, segments: 1)
            }
        }
        // Gammu's dummy phone sends any length as one row: count segments as a network would.
        return order.compactMap { replies[$0] }.map { reply in
            var reply = reply
            if reply.segments == 1, SMSSegment.problem(reply.text) != nil { reply.segments = 2 }
            return reply
        }
    }

    func stop() async {
        guard let (state, _) = state.get() else { return }
        _ = try? await Peers.offPool {
            try Peers.run(Peers.scripts.appendingPathComponent("gammu-down.sh").path, [state.path], timeout: 30)
        }
    }

    /// Rows as JSON objects (`sqlite3 -json`, or PostgreSQL's `json_agg`).
    func query(_ sql: String) throws -> [[String: Any]] {
        guard let (_, database) = state.get() else { return [] }
        let result = driver == "pgsql"
            ? try psql("SELECT COALESCE(json_agg(q), '[]') FROM (\(sql)) q")
            : try Peers.run("sqlite3", ["-cmd", ".timeout 10000", "-json", database, sql], timeout: 60)
        guard result.status == 0 else { throw HarnessError(description: "\(driver): \(result.stderr)") }
        let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] ?? []
    }

    func count(_ sql: String) throws -> Int {
        guard let (_, database) = state.get() else { return 0 }
        let result = driver == "pgsql"
            ? try psql(sql) : try Peers.run("sqlite3", ["-cmd", ".timeout 10000", database, sql], timeout: 60)
        guard result.status == 0, let value = Int(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw HarnessError(description: "\(driver): \(result.stderr)")
        }
        return value
    }

    /// One statement through `psql` as SMSD's role, unaligned, tuples only.
    func psql(_ sql: String) throws -> ProgramOutput {
        let settings = settings.get()
        guard let port = settings["GAMMU_PG_PORT"], let user = settings["GAMMU_PG_USER"], let database = settings["GAMMU_PG_DATABASE"],
              let passwordFile = settings["GAMMU_PASSWORD_FILE"] else {
            throw HarnessError(description: "gammu-postgres driver not started")
        }
        let password = try String(contentsOfFile: passwordFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        return try Peers.run("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", port, "-U", user, "-d", database, "-c", sql],
                             environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "10"], timeout: 60)
    }
}

/// A Gammu load test's set-up: `count` accounts (UINs from `uinBase`, one meter, previous 100),
/// one message from each of `count` phones (`phonePrefix` + 7 digits), every `longEvery`-th a
/// two-part message, gammu-smsd started in the sandbox; `body` runs with the feed and the
/// messages, and the peer is stopped after it. Returns false (after recording or printing why)
/// when the peer is not available.
func withGammuLoad(
    _ driver: GammuDriver, sandbox: Sandbox, count: Int, uinBase: Int, phonePrefix: String, longEvery: Int,
    _ body: (_ feed: String, _ messages: [PhoneMessage]) async throws -> Void
) async throws {
    if let reason = driver.unavailableReason() {
        if Peers.required { Issue.record("\(driver.kind): \(reason)") } else { print("\(driver.kind) load test skipped: \(reason)") }
        return
    }
    var accounts = "uin,meters,previous,digits,phones,emails\n"
    var messages: [PhoneMessage] = []
    for index in 0..<count {
        let uin = String(uinBase + index)
        accounts += "\(uin),T1,100,,,\n"
        let from = phonePrefix + String(format: "%07d", index)
        if index % longEvery == 0 {
            messages.append(PhoneMessage(from: from, text: "Добрый день, показания по лицевому счёту \(uin): 150, спасибо", parts: 2))
        } else {
            messages.append(PhoneMessage(from: from, text: "\(uin) \(150 + index % 50)"))
        }
    }
    try sandbox.write("accounts.csv", accounts)
    let state = sandbox.file("peer")
    try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
    let feed = try await driver.start(state: state)
    do {
        try await body(feed, messages)
    } catch {
        await driver.stop()
        throw error
    }
    await driver.stop()
}
