import PostgreSQL
import Testing

@Suite("PostgreSQL URL")
struct PostgresURLTests {
    @Test func readsEveryPart() throws {
        let url = try PostgresURL(parsing: "postgresql://smsd:s%40cret@db.example:6543/gammu?sslmode=require&application_name=metergate")
        #expect(url.user == "smsd")
        #expect(url.password == "s@cret")
        #expect(url.host == "db.example")
        #expect(url.port == 6543)
        #expect(url.database == "gammu")
        #expect(url.parameters.map(\.key) == ["sslmode", "application_name"])
        #expect(url.parameters.map(\.value) == ["require", "metergate"])
    }

    @Test func bothSchemesAnyCase() throws {
        #expect(try PostgresURL(parsing: "postgres://127.0.0.1/smsd").database == "smsd")
        #expect(try PostgresURL(parsing: "POSTGRESQL://127.0.0.1/smsd").host == "127.0.0.1")
        #expect(PostgresURL.isPostgresURL("Postgres://x") && !PostgresURL.isPostgresURL("/var/lib/smsd.db"))
    }

    @Test func minimalURLLeavesTheRestToLibpq() throws {
        let url = try PostgresURL(parsing: "postgresql://")
        #expect(url.user == nil && url.password == nil && url.host == nil && url.port == nil && url.database == nil)
        #expect(url.keywords().map(\.key) == ["client_encoding"])
    }

    @Test func ipv6AndSocketFolders() throws {
        let v6 = try PostgresURL(parsing: "postgresql://smsd@[::1]:5433/smsd")
        #expect(v6.host == "::1" && v6.port == 5433)
        let socket = try PostgresURL(parsing: "postgresql://%2Fvar%2Frun%2Fpostgresql/smsd")
        #expect(socket.host == "/var/run/postgresql" && socket.database == "smsd")
        let query = try PostgresURL(parsing: "postgresql:///smsd?host=/run/pg&port=5439&user=gammu")
        #expect(query.host == "/run/pg" && query.port == 5439 && query.user == "gammu" && query.parameters.isEmpty)
    }

    @Test func severalHostsForFailOver() throws {
        let url = try PostgresURL(parsing: "postgres://metergate@db1:5432,db2:5433/metergate?target_session_attrs=read-write")
        #expect(url.host == "db1,db2" && url.port == nil && url.ports == "5432,5433" && url.database == "metergate")
        let keywords = Dictionary(url.keywords().map { ($0.key, $0.value) }, uniquingKeysWith: { $1 })
        #expect(keywords["host"] == "db1,db2" && keywords["port"] == "5432,5433" && keywords["target_session_attrs"] == "read-write")
        #expect(url.description == "postgresql://metergate@db1:5432,db2:5433/metergate?target_session_attrs=read-write")
        let defaults = try PostgresURL(parsing: "postgres://u@db1,db2/m")
        #expect(defaults.host == "db1,db2" && defaults.ports == nil)
        let mixed = try PostgresURL(parsing: "postgres://u@[::1]:6000,db2/m")
        #expect(mixed.host == "::1,db2" && mixed.ports == "6000,5432")
        #expect(throws: PostgresError.self) { try PostgresURL(parsing: "postgres://u@db1,,db2/m") }
        #expect(throws: PostgresError.self) { try PostgresURL(parsing: "postgres://u@db1:99999,db2/m") }
    }

    @Test func cyrillicAndPercentEncodedNames() throws {
        let url = try PostgresURL(parsing: "postgresql://%D1%81%D0%BC%D1%81@127.0.0.1/%D1%81%D0%BC%D1%81")
        #expect(url.user == "смс" && url.database == "смс")
    }

    @Test func descriptionNeverShowsThePassword() throws {
        let url = try PostgresURL(parsing: "postgresql://smsd:hunter2@127.0.0.1:5432/smsd?sslmode=disable")
        #expect(url.description == "postgresql://smsd:***@127.0.0.1:5432/smsd?sslmode=disable")
        #expect(!url.description.contains("hunter2"))
        let fromQuery = try PostgresURL(parsing: "postgresql://127.0.0.1/smsd?password=hunter2")
        #expect(fromQuery.password == "hunter2" && !fromQuery.description.contains("hunter2"))
    }

    @Test func theSecretPasswordReplacesTheURLs() throws {
        let url = try PostgresURL(parsing: "postgresql://smsd:old@127.0.0.1:5432/smsd?connect_timeout=3")
        let keywords = url.keywords(password: "new")
        #expect(keywords.map(\.key) == ["host", "port", "user", "password", "dbname", "connect_timeout", "client_encoding"])
        #expect(keywords.first { $0.key == "password" }?.value == "new")
        #expect(url.keywords().first { $0.key == "password" }?.value == "old")
        let encoding = try PostgresURL(parsing: "postgresql:///smsd?client_encoding=LATIN1").keywords()
        #expect(encoding.filter { $0.key == "client_encoding" }.map(\.value) == ["LATIN1"])
    }

    @Test(arguments: [
        ("mysql://127.0.0.1/smsd", "postgres://"),
        ("postgresql://127.0.0.1:0/smsd", "port"),
        ("postgresql://127.0.0.1:65536/smsd", "port"),
        ("postgresql://127.0.0.1:abc/smsd", "port"),
        ("postgresql://[::1/smsd", "'['"),
        ("postgresql://127.0.0.1/a/b", "'/'"),
        ("postgresql://127.0.0.1/smsd?sslmode", "'='"),
        ("postgresql://127.0.0.1/smsd?bad-key=1", "keyword"),
        ("postgresql://u%zz@127.0.0.1/smsd", "percent"),
        ("postgresql://127.0.0.1/%FF", "UTF-8"),
    ])
    func refusesWhatIsNotAURL(text: String, reason: String) {
        do {
            _ = try PostgresURL(parsing: text)
            Issue.record("\(text) was taken")
        } catch {
            #expect(error.code == .invalidURL)
            #expect(error.message.contains(reason), "\(text): \(error.message)")
        }
    }
}

@Suite("PostgreSQL errors")
struct PostgresErrorTests {
    @Test(arguments: [
        ("08006", false, "connection lost"), ("08001", false, "connection lost"), ("57P01", false, "connection lost"),
        ("57P03", false, "connection lost"), ("23505", false, "server error"), ("40001", false, "server error"),
        ("42P01", false, "server error"), ("23505", true, "connection lost"),
    ])
    func statementCodeFromSQLState(sqlState: String, connectionBad: Bool, code: String) {
        #expect(PostgresError.statementCode(sqlState: sqlState, connectionBad: connectionBad).description == code)
    }

    @Test func noSQLStateIsLibpqsOwnFailure() {
        #expect(PostgresError.statementCode(sqlState: nil, connectionBad: false) == .connectionLost)
    }

    @Test func transientOrNot() {
        func error(_ sqlState: String) -> PostgresError {
            PostgresError(code: PostgresError.statementCode(sqlState: sqlState, connectionBad: false), message: "x", sqlState: sqlState)
        }
        #expect(error("40001").isTransient && error("40P01").isTransient && error("55P03").isTransient)
        #expect(error("53300").isTransient && error("57P01").isTransient && error("08006").isTransient)
        #expect(!error("23505").isTransient && !error("42P01").isTransient && !error("28P01").isTransient)
        #expect(error("57P01").isConnectionProblem && !error("23505").isConnectionProblem)
        #expect(PostgresError(code: .connectionFailed, message: "refused").isTransient)
    }

    @Test func descriptionHasTheStateTheMessageAndTheStatementNotItsArguments() {
        let error = PostgresError(
            code: .serverError, message: "duplicate key value violates unique constraint \"inbox_pkey\"", sqlState: "23505",
            detail: "Key (\"ID\")=(7) already exists.", statement: "INSERT INTO inbox")
        #expect(error.description == "server error 23505: duplicate key value violates unique constraint \"inbox_pkey\" — Key (\"ID\")=(7) already exists. (in INSERT INTO inbox)")
    }
}
