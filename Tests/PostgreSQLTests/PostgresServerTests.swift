import Foundation
import PostgreSQL
import Testing
import TestSupport

/// The Swift layer against a real PostgreSQL server of its own (scripts/peers/postgres-up.sh).
@Suite("PostgreSQL server", .serialized, .tags(.peer), Peer.needs(Peer.postgres, "PostgreSQL"), .timeLimit(.minutes(5)))
struct PostgresServerTests {
    /// A server of its own on a free port, its cluster in a folder of its own (suites run side by side).
    struct Server {
        var state: URL
        var url: String
        var password: String

        /// `keep`: a restart follows (the cluster stays where it is).
        func stop(keep: Bool = true) async {
            _ = try? await Program.peerScript("postgres-down.sh", [state.path] + (keep ? ["--keep"] : []))
        }

        func start() async -> (started: Bool, why: String) {
            do {
                let up = try await Program.peerScript("postgres-up.sh", [state.path])
                return (up.status == 0, up.stderr)
            } catch {
                return (false, "\(error)")
            }
        }

        /// From a `defer`: the server is stopped and its folder removed in the background.
        func remove() {
            Program.peerScriptDetached("postgres-down.sh", [state.path], thenRemove: state)
        }
    }

    func startServer() async throws -> Server {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("pg-layer-\(UUID().uuidString.prefix(8))")
        var server = Server(state: state, url: "", password: "")
        let up = await server.start()
        guard up.started else {
            server.remove()
            throw ProgramError("postgres-up.sh failed: \(up.why)")
        }
        let settings = try String(contentsOf: state.appendingPathComponent("postgres.env"), encoding: .utf8)
        for line in settings.split(separator: "\n") where line.hasPrefix("PG_URL=") {
            server.url = String(line.dropFirst("PG_URL=".count))
        }
        server.password = try String(contentsOf: state.appendingPathComponent("password"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        return server
    }

    @Test func parameterisedStatementsTransactionsAndServerErrors() async throws {
        let server = try await startServer()
        defer { server.remove() }
        let connection = PostgresConnection(url: try PostgresURL(parsing: server.url), password: server.password, label: "test")
        try await connection.withSession { session in
            try session.execute("CREATE TABLE readings (id serial PRIMARY KEY, sender text UNIQUE, note text)")
        }
        // Arguments never become SQL: a quote and a statement in a value stay text.
        let tricky = "O'Brien'); DROP TABLE readings; --"
        let inserted = try await connection.withSession { session in
            try session.query("INSERT INTO readings (sender, note) VALUES ($1, $2), ($3, $4) RETURNING id",
                              ["+79031234567", "Показания 12345 ✓", tricky, nil])
        }
        #expect(inserted.count == 2 && inserted.columns == ["id"])
        let rows = try await connection.withSession { session in
            try session.query("SELECT sender, note, id FROM readings ORDER BY id")
        }
        #expect(rows.rows.map { $0[0] } == ["+79031234567", tricky])
        #expect(rows[0, 1] == "Показания 12345 ✓" && rows[1, 1] == nil)
        #expect(try rows.int64(1, 2) == 2)

        // A unique violation: the server's SQLSTATE and message, the connection still usable.
        do {
            _ = try await connection.withSession { session in
                try session.execute("INSERT INTO readings (sender) VALUES ($1)", ["+79031234567"])
            }
            Issue.record("a duplicate was inserted")
        } catch let error as PostgresError {
            #expect(error.code == .serverError && error.sqlState == "23505", "\(error)")
            #expect(error.message.contains("readings_sender_key") && error.statement == "INSERT INTO readings (sender)")
            #expect(error.detail?.contains("already exists") == true && !error.isTransient)
        }
        // A transaction whose body fails is rolled back.
        struct Abandon: Error {}
        await #expect(throws: Abandon.self) {
            try await connection.withSession { session in
                try session.transaction {
                    try session.execute("INSERT INTO readings (sender) VALUES ('+79030000000')")
                    throw Abandon()
                }
            }
        }
        let count = try await connection.withSession { session in
            (try session.query("SELECT count(*) FROM readings").int64(0, 0), session.inTransaction)
        }
        #expect(count.0 == 2 && count.1 == false)
        // A syntax error names its statement.
        await #expect {
            try await connection.withSession { session in try session.execute("SELEC 1") }
        } throws: { error in
            (error as? PostgresError)?.sqlState == "42601" && (error as? PostgresError)?.code == .serverError
        }
    }

    @Test func aWrongPasswordFailsTheConnectionWithoutShowingIt() async throws {
        let server = try await startServer()
        defer { server.remove() }
        let connection = PostgresConnection(url: try PostgresURL(parsing: server.url), password: "not-the-password")
        do {
            _ = try await connection.withSession { session in try session.query("SELECT 1") }
            Issue.record("logged in with a wrong password")
        } catch let error as PostgresError {
            #expect(error.code == .connectionFailed && error.isTransient)
            #expect(error.message.contains("password authentication failed"), "\(error)")
            #expect(!error.description.contains("not-the-password"))
        }
    }

    @Test func reconnectsAfterTheServerWentAway() async throws {
        let server = try await startServer()
        defer { server.remove() }
        let connection = PostgresConnection(url: try PostgresURL(parsing: server.url), password: server.password)
        let before = try await connection.withSession { session in try session.query("SELECT pg_backend_pid()")[0, 0] }
        await server.stop()
        await #expect {
            try await connection.withSession { session in try session.query("SELECT 1") }
        } throws: { error in
            (error as? PostgresError)?.isConnectionProblem == true
        }
        #expect(await server.start().started, "postgres-up.sh could not start the server again")
        let after = try await connection.withSession { session in try session.query("SELECT pg_backend_pid()")[0, 0] }
        #expect(after != nil && after != before)

        // Idle across a restart: the first statement finds the connection dead and the body
        // runs again on a new one.
        await server.stop()
        #expect(await server.start().started)
        let again = try await connection.withSession { session in try session.query("SELECT 42")[0, 0] }
        #expect(again == "42")
    }

    /// A task's cancellation reaches the server: a long statement ends at once (PQcancel), the
    /// body's next statement is not sent, and the connection stays usable.
    @Test func cancellingTheTaskCancelsTheStatementAtTheServer() async throws {
        let server = try await startServer()
        defer { server.remove() }
        let connection = PostgresConnection(url: try PostgresURL(parsing: server.url), password: server.password)
        try await connection.withSession { session in try session.execute("CREATE TABLE marks (n int)") }
        let started = ContinuousClock.now
        let task = Task {
            try await connection.withSession { session in
                try session.execute("SELECT pg_sleep(30)")
                try session.execute("INSERT INTO marks VALUES (1)")
            }
        }
        try await Task.sleep(for: .milliseconds(500))
        task.cancel()
        await #expect {
            try await task.value
        } throws: { error in
            (error as? PostgresError)?.code == .cancelled
        }
        #expect(ContinuousClock.now - started < .seconds(25), "the statement (30 s) ran on after the cancellation")
        let marks = try await connection.withSession { session in try session.query("SELECT count(*) FROM marks").int64(0, 0) }
        #expect(marks == 0)
    }
}
