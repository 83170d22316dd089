import Foundation
import Testing

/// `kind: gammu` in the configuration: a PostgreSQL URL is taken (its password from
/// `password_env`/`password_file`), a malformed one refused in one line; a missing SQLite file
/// fails the feed's poll with its path, never creates the file.
@Suite("Gammu SMSD configuration")
struct GammuConfigurationTests {
    @Test func aMalformedPostgreSQLURLIsRefusedInOneLine() async throws {
        let sandbox = try Sandbox("gammu-config")
        defer { sandbox.remove() }
        let config = try sandbox.write("config.yaml", """
            sms:
              - name: gateway
                kind: gammu
                database: postgres://smsd:secret@127.0.0.1:99999/smsd
            """).path
        let result = try await sandbox.run(["check-config", "--config", config])
        #expect(result.status == 2, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("sms[0].database") && lines[0].contains("PostgreSQL") && lines[0].contains("port"),
                "\(result)")
        #expect(!result.stderr.contains("secret"), "the password was shown: \(result)")
    }

    @Test func aPostgreSQLURLIsTakenWithItsPasswordFromTheEnvironment() async throws {
        let sandbox = try Sandbox("gammu-config")
        defer { sandbox.remove() }
        let config = try sandbox.write("config.yaml", """
            sms:
              - name: gateway
                kind: gammu
                database: postgresql://smsd@127.0.0.1:5432/smsd?sslmode=disable
                password_env: METERGATE_TEST_SMSD_PASSWORD
            """).path
        let missing = try await sandbox.run(["check-config", "--config", config])
        #expect(missing.status != 0 && missing.stderr.contains("METERGATE_TEST_SMSD_PASSWORD"), "\(missing)")
        let given = try await sandbox.run(["check-config", "--config", config], environment: ["METERGATE_TEST_SMSD_PASSWORD": "x"])
        #expect(given.status == 0 && given.stdoutText.contains("gateway (gammu)"), "\(given)")
    }

    @Test func aMissingDatabaseFailsThePollAndIsNotCreated() async throws {
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
        #expect(try await sandbox.run(["check-config", "--config", config]).status == 0)
        let result = try await sandbox.run(["run", "--once", "--config", config])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("gateway") && result.stderr.contains(database), "\(result)")
        #expect(!FileManager.default.fileExists(atPath: database))
    }
}
