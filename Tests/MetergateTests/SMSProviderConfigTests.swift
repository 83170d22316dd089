import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The Kannel and SMSC-style keys through the CLI, and the SMSC feed's TLS verification
/// against the emulator serving HTTPS with a self-signed certificate.
@Suite("SMS provider configuration and TLS", .serialized)
struct SMSProviderConfigTests {
    @Test("check-config names the key at fault for the Kannel and SMSC kinds", arguments: [
        ("  - kind: smsc\n    base_url: https://provider.test\n    password: x\n", "sms[0].login"),
        ("  - kind: smsc\n    login: l\n", "sms[0].password"),
        ("  - kind: smsc\n    login: l\n    password: x\n    base_url: ftp://x\n", "sms[0].base_url"),
        ("  - kind: kannel\n    listen: nowhere\n", "sms[0].listen"),
        ("  - kind: kannel\n    allowed_addresses: [example.org]\n", "sms[0].allowed_addresses"),
        ("  - kind: kannel\n    secret: a\n    secret_env: B\n", "sms[0].secret"),
        ("  - kind: kannel\n    secret_env: METERGATE_TEST_UNSET_SECRET\n", "sms[0].secret_env"),
    ])
    func refused(item: String, key: String) async throws {
        let sandbox = try Sandbox("sms-config")
        defer { sandbox.remove() }
        let config = try sandbox.write("config.yaml", "store:\n  path: store.sqlite\nsms:\n" + item).path
        let result = try await sandbox.run(["check-config", "--config", config])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(key), "\(result)")
    }

    @Test("a complete Kannel and SMSC configuration is accepted")
    func accepted() async throws {
        let sandbox = try Sandbox("sms-config")
        defer { sandbox.remove() }
        let config = try sandbox.write("config.yaml", """
            store:
              path: store.sqlite
            sms:
              - name: kannel
                kind: kannel
                listen: 127.0.0.1:8085
                secret_env: KANNEL_MO_SECRET
                allowed_addresses: [127.0.0.1, "10.0.0.0/8", "::1"]
                sendsms_url: http://127.0.0.1:13013/cgi-bin/sendsms
                username: metergate
                password_env: KANNEL_PASSWORD
              - name: smsc
                kind: smsc
                base_url: https://smsc.ru
                login: example
                password_file: smsc-password
                tls_verify: true
            """).path
        try sandbox.write("smsc-password", "secret\n")
        let result = try await sandbox.run(["check-config", "--config", config],
                                     environment: ["KANNEL_MO_SECRET": "s", "KANNEL_PASSWORD": "p"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("kannel (kannel)") && result.stdoutText.contains("smsc (smsc)"), "\(result)")
    }

    @Test("SMSC over HTTPS: a self-signed certificate is refused by default, accepted with ca_file",
          .tags(.peer), Peer.needs(Peer.sqlite3 && Peer.openssl, "sqlite3 or openssl"))
    func tlsVerified() async throws {
        let sandbox = try Sandbox("smsc-tls")
        defer { sandbox.remove() }
        let cert = sandbox.file("cert.pem").path, key = sandbox.file("key.pem").path
        let made = try await SMSPeers.run("/usr/bin/openssl", [
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert,
        ])
        try #require(made.status == 0, "\(made.stderr)")
        let folder = sandbox.file("smsc")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let emulator = Process()
        emulator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        emulator.arguments = ["python3", SMSPeers.emulator.path, folder.path, "--tls", cert, key]
        emulator.standardOutput = FileHandle.nullDevice
        emulator.standardError = FileHandle.nullDevice
        try emulator.run()
        defer { SMSPeers.killChecked(emulator.processIdentifier, expecting: "smsc_emulator.py") }
        let env = folder.appendingPathComponent("smsc.env")
        try #require(await waitUntil(timeout: 20) { FileManager.default.fileExists(atPath: env.path) })
        let url = try String(contentsOf: env, encoding: .utf8).split(separator: "\n")
            .first { $0.hasPrefix("SMSC_URL=") }.map { String($0.dropFirst(9)) } ?? ""
        #expect(url.hasPrefix("https://"))
        let inject = try await SMSPeers.run("/usr/bin/curl", ["-s", "--cacert", cert, "-X", "POST", url + "/emulator/inject",
                                                        "--data-binary", #"{"from": "+79031234567", "text": "1234567 12500 6100"}"#])
        try #require(inject.status == 0, "\(inject.stderr)")
        func config(_ extra: String) throws -> String {
            let item = ["  - name: smsc", "    kind: smsc", "    base_url: \(url)", "    login: test", "    password: secret"]
            return try SMSPeers.writeConfig(sandbox, smsItem: (item + (extra.isEmpty ? [] : ["    " + extra])).joined(separator: "\n"))
        }
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let strict = try config("")
        try await #require(try await sandbox.run(["accounts", "import", "accounts.csv", "--config", strict]).status == 0)
        let refused = try await sandbox.run(["run", "--once", "--config", strict])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.lowercased().contains("certificate"), "\(refused)")
        #expect(!refused.stderr.contains("secret"), "the password leaked into the log: \(refused.stderr)")
        let trusted = try config("ca_file: \(cert)")
        let run = try await sandbox.run(["run", "--once", "--config", trusted])
        #expect(run.status == 0, "\(run)")
        #expect(run.stderr.contains("1 reply delivered"), "\(run)")
    }
}
