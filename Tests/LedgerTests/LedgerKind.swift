import Foundation
import Ledger
import LedgerPostgres
import LedgerSQLite
import Logging
import PostgreSQL
import Testing
import TestSupport

/// One implementation of the ledger's boundary, as the compatibility suite meets it: a fresh,
/// empty ledger for every test.
///
/// A new implementation joins by adding a kind to `all` (PostgreSQL: made from a database the
/// project's peer script started, and skipped, not passed, when that peer is missing).
struct LedgerKind: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () async throws -> any LedgerDriver

    var testDescription: String { name }

    /// PostgreSQL joins when its server is installed (or when `METERGATE_REQUIRE_PEERS=1`, so
    /// that a missing server fails instead of vanishing from the run).
    static let all: [LedgerKind] = [sqlite, memory] + (PostgresPeer.wanted ? [postgres] : [])

    static let sqlite = LedgerKind(name: "sqlite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-compat-\(UUID().uuidString)")
        return try SQLiteStore.open(path: directory.appendingPathComponent("metergate.sqlite").path)
    }

    static let memory = LedgerKind(name: "memory") { InMemoryLedger() }

    /// A schema of its own for every test, in the database of one server started for this test
    /// process by scripts/peers/postgres-up.sh (stopped when the process exits).
    static let postgres = LedgerKind(name: "postgres") {
        let server = try await PostgresPeer.started.value
        return try PostgresLedger(
            url: try await server.freshSchema(), password: server.password, instance: "test-\(UUID().uuidString.prefix(6))",
            logger: Logger(label: "ledger-tests"))
    }
}

/// The PostgreSQL server of this test process.
struct PostgresPeer: Sendable {
    let state: URL
    let url: String
    let password: String

    static var scripts: URL { Peer.scripts }

    static var installed: Bool { Peer.postgres }

    static var wanted: Bool { installed || Peer.required }

    struct Failed: Error, CustomStringConvertible { var description: String }

    /// Started once, on first use (`Program`: waited on with `Task.sleep`, no thread held).
    static let started = Task<PostgresPeer, any Error> {
        guard installed else { throw Failed(description: "the PostgreSQL server is not installed (scripts/peers/postgres.packages)") }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-pg-\(getpid())")
        let up = try await Program.peerScript("postgres-up.sh", [state.path], environment: ["PG_DATABASE": "ledger", "PG_USER": "ledger"])
        guard up.status == 0,
              let settings = try? String(contentsOf: state.appendingPathComponent("postgres.env"), encoding: .utf8),
              let password = try? String(contentsOf: state.appendingPathComponent("password"), encoding: .utf8)
        else { throw Failed(description: "postgres-up.sh failed (exit \(up.status)) in \(state.path): \(up.stderr)") }
        let url = settings.split(separator: "\n").first { $0.hasPrefix("PG_URL=") }.map { String($0.dropFirst(7)) } ?? ""
        stateToStop = state.path
        atexit {
            // At exit, no task runs any more: waiting here holds no one up.
            guard let state = PostgresPeer.stateToStop else { return }
            let down = Process()
            down.executableURL = URL(fileURLWithPath: "/bin/bash")
            down.arguments = [PostgresPeer.scripts.appendingPathComponent("postgres-down.sh").path, state]
            try? down.run()
            down.waitUntilExit()
            try? FileManager.default.removeItem(atPath: state)
        }
        return PostgresPeer(state: state, url: url, password: password.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    nonisolated(unsafe) static var stateToStop: String?

    /// A new, empty schema; the URL that makes it the connections' search path.
    func freshSchema() async throws -> PostgresURL {
        let schema = "t_" + UUID().uuidString.prefix(12).lowercased().replacingOccurrences(of: "-", with: "")
        var parsed = try PostgresURL(parsing: url)
        let psql = try await Program.run("/usr/bin/env", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", "CREATE SCHEMA \(schema)"],
                                         environment: ["PGPASSWORD": password])
        guard psql.status == 0 else { throw Failed(description: "psql could not create the schema \(schema): \(psql.stderr)") }
        parsed.parameters.append(("options", "-c search_path=\(schema)"))
        return parsed
    }
}

/// Runs blocking ledger calls (`markReplyCommitting`, account lookups) off the cooperative
/// pool, on a thread of their own, as a transfer's thread or the replay engine does.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func message(
    _ id: String, channel: String = "sms", feed: String = "test", sender: String? = "+79030000000", at date: Date = Date(),
    raw: [UInt8]? = nil, status: String = "accepted", reason: String? = nil
) -> NewMessage {
    NewMessage(
        channel: channel, externalID: id, feed: feed, sender: sender, receivedAt: date, subject: nil,
        text: "1234567 12345", raw: raw, status: status, reason: reason, outcomeJSON: "{}", reply: "ok")
}

func reply(_ recipient: String, channel: String = "email", body: String = "text", messageID: Int64? = nil, state: NewReply.State = .pending) -> NewReply {
    NewReply(
        messageID: messageID, channel: channel, recipient: recipient, subject: channel == "email" ? "Re: x" : nil,
        inReplyTo: "<1@b>", references: ["<0@b>", "<1@b>"], body: body, state: state)
}

func submission(_ messageID: Int64, uin: String = "1234567", status: String, period: String = "2026-11", values: [String]) -> NewSubmission {
    NewSubmission(
        messageID: messageID, uin: uin, period: period, status: status, reason: status == "held" ? "implausible" : nil,
        meters: ["T1", "T2"].prefix(values.count).map { $0 }, values: values, previous: values.map { _ in nil })
}
