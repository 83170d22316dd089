import Foundation
import Testing

/// `kind: gammu` in the configuration: a PostgreSQL database is refused in one line; a
/// missing SQLite file fails the feed's poll with its path, never creates the file.
@Suite("Gammu SMSD configuration")
struct GammuConfigurationTests {
    @Test func aPostgreSQLDatabaseIsRefusedInOneLine() throws {
        let sandbox = try Sandbox("gammu-config")
        defer { sandbox.remove() }
        let config = try sandbox.write("config.yaml", """
            sms:
              - name: gateway
                kind: gammu
                database: postgres://smsd@127.0.0.1/smsd
            """).path
        let result = try sandbox.run(["check-config", "--config", config])
        #expect(result.status == 2, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("sms[0].database") && lines[0].contains("PostgreSQL"), "\(result)")
    }

    @Test func aMissingDatabaseFailsThePollAndIsNotCreated() throws {
        let sandbox = try Sandbox("gammu-config")
        defer { sandbox.remove() }
        let database = sandbox.file("nowhere/smsd.db").path
        let config = try sandbox.write("config.yaml", """
            store:
              path: \(jsonString(sandbox.file("store.sqlite").path))
            sms:
              - name: gateway
                kind: gammu
                database: \(jsonString(database))
                multipart_wait: 90s
            """).path
        #expect(try sandbox.run(["check-config", "--config", config]).status == 0)
        let result = try sandbox.run(["run", "--once", "--config", config])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("gateway") && result.stderr.contains(database), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: database))
    }
}
