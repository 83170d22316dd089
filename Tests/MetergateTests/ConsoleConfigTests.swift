import Foundation
import Testing

/// The console's configuration without a browser: off unless `console.listen` is set;
/// `check-config` refuses a users file that is missing, world-readable or not bcrypt;
/// `console add-user` reads the password from standard input and writes a bcrypt hash, mode 0600.
@Suite("console configuration and add-user")
struct ConsoleConfigTests {
    @Test("check-config: console off needs nothing; on, the users file must exist, name someone and be private")
    func checkConfig() async throws {
        let sandbox = try Sandbox("console-config")
        defer { sandbox.remove() }
        let users = sandbox.file("users").path
        let off = try sandbox.writeConfig("off.yaml", extra: "console:\n  users_file: \(jsonString(users))\n")
        let offResult = try await sandbox.run(["check-config", "--config", off])
        #expect(offResult.status == 0 && offResult.stdoutText.contains("console off"), "\(offResult)")
        let config = try sandbox.writeConfig(extra: "console:\n  listen: 127.0.0.1:0\n  users_file: \(jsonString(users))\n")
        let missing = try await sandbox.run(["check-config", "--config", config])
        #expect(missing.status == 2 && missing.stderr.contains("console.users_file") && missing.stderr.contains("does not exist"), "\(missing)")
        let run = try await sandbox.run(["run", "--config", config], timeout: 30)
        #expect(run.status == 2 && run.stderr.contains("console.users_file"), "run refuses it too: \(run)")

        let added = try await sandbox.run(["console", "add-user", "anna", "--config", config], stdin: Data("s3cret-pass\n".utf8))
        #expect(added.status == 0, "\(added)")
        let text = try String(contentsOfFile: users, encoding: .utf8)
        #expect(text.hasPrefix("anna:$2b$") && !text.contains("s3cret-pass"))
        var status = stat()
        stat(users, &status)
        #expect(status.st_mode & 0o777 == 0o600)
        let fine = try await sandbox.run(["check-config", "--config", config])
        #expect(fine.status == 0 && fine.stdoutText.contains("console 127.0.0.1:0"), "\(fine)")

        chmod(users, 0o604)
        let readable = try await sandbox.run(["check-config", "--config", config])
        #expect(readable.status == 2 && readable.stderr.contains("readable or writable by others"), "\(readable)")
        chmod(users, 0o600)
        try sandbox.write("users", "anna:plaintext\n")
        chmod(users, 0o600)
        let plain = try await sandbox.run(["check-config", "--config", config])
        #expect(plain.status == 2 && plain.stderr.contains("not a bcrypt hash"), "\(plain)")
    }

    @Test("add-user: a second call changes the password; no password on standard input is refused; a bad name exits 2")
    func addUser() async throws {
        let sandbox = try Sandbox("console-add-user")
        defer { sandbox.remove() }
        let users = sandbox.file("users").path
        let config = try sandbox.writeConfig(extra: "console:\n  users_file: \(jsonString(users))\n")
        _ = try await sandbox.run(["console", "add-user", "anna", "--config", config], stdin: Data("first-password\n".utf8))
        let before = try String(contentsOfFile: users, encoding: .utf8)
        let changed = try await sandbox.run(["console", "add-user", "anna", "--config", config], stdin: Data("second-password\n".utf8))
        #expect(changed.status == 0 && changed.stdoutText.contains("changed the password of operator anna"), "\(changed)")
        let after = try String(contentsOfFile: users, encoding: .utf8)
        #expect(before != after && after.split(separator: "\n").count == 1)
        let empty = try await sandbox.run(["console", "add-user", "boris", "--config", config], stdin: Data())
        #expect(empty.status == 2 && empty.stderr.contains("no password"), "\(empty)")
        let bad = try await sandbox.run(["console", "add-user", "a b", "--config", config], stdin: Data("x-password\n".utf8))
        #expect(bad.status == 2, "\(bad)")
    }
}
