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
}
