import Foundation
import Testing
import TestSupport

/// Deploy/: the systemd unit verifies, the example configuration passes check-config, the
/// alert rules pass promtool (systemd and prometheus come from scripts/peers/ops.packages).
@Suite("Deploy/")
struct DeployTests {
    static let deploy = Metergate.packageRoot.appendingPathComponent("Deploy")

    static func tool(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var peersRequired: Bool { ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" }

    static func run(_ tool: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await Program.run(tool, arguments, timeout: 120)
        return (result.status, result.stdout + result.stderr)
    }

    @Test("systemd-analyze verify Deploy/metergate.service passes, and the unit is hardened")
    func systemdUnit() async throws {
        let unit = try String(contentsOf: Self.deploy.appendingPathComponent("metergate.service"), encoding: .utf8)
        for directive in ["DynamicUser=yes", "StateDirectory=metergate", "ProtectSystem=strict", "NoNewPrivileges=yes",
                          "Restart=on-failure", "ExecReload=/bin/kill -HUP $MAINPID"] {
            #expect(unit.contains(directive), "the unit has \(directive)")
        }
        guard let analyze = Self.tool("systemd-analyze") else {
            if Self.peersRequired { Issue.record("systemd-analyze is missing (scripts/peers/ops.packages lists systemd)") }
            return
        }
        // verify checks that ExecStart's program exists: point it at the built binary, the rest verbatim.
        let binary = try #require(Metergate.binary, "metergate binary not built")
        let sandbox = try Sandbox("unit")
        defer { sandbox.remove() }
        let copy = try sandbox.write("metergate.service", unit.replacingOccurrences(of: "/usr/local/bin/metergate", with: binary.path))
        let result = try await Self.run(analyze, ["verify", copy.path])
        #expect(result.status == 0 && result.output.isEmpty, "systemd-analyze verify: \(result.output)")
        // Secrets reach the dynamic user through LoadCredential=, and the hardening stays ≤ 2.0.
        #expect(unit.contains("LoadCredential=metergate:/etc/metergate/credentials"))
        let security = try await Self.run(analyze, ["security", "--offline=true", copy.path])
        let level = security.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
            .flatMap { line in line.split(separator: " ").compactMap { Double($0) }.first }
        #expect(level.map { $0 <= 2.0 } == true, "systemd-analyze security: \(security.output.suffix(300))")
    }

    @Test("nginx -t accepts Deploy/nginx-console.conf (TLS in front of the console), which tells the console it is behind TLS")
    func nginxConsole() async throws {
        let site = try String(contentsOf: Self.deploy.appendingPathComponent("nginx-console.conf"), encoding: .utf8)
        let proxy = try String(contentsOf: Self.deploy.appendingPathComponent("nginx-console-proxy.conf"), encoding: .utf8)
        #expect(proxy.contains("proxy_set_header X-Forwarded-Proto $scheme;"))
        #expect(site.contains("proxy_pass http://127.0.0.1:9110;") && site.contains("ssl_certificate"))
        guard let nginx = ["/usr/sbin/nginx"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }),
              let openssl = Self.tool("openssl")
        else {
            if Self.peersRequired { Issue.record("nginx or openssl is missing (scripts/peers/console.packages lists nginx-light)") }
            return
        }
        let sandbox = try Sandbox("nginx")
        defer { sandbox.remove() }
        let key = sandbox.file("console.key").path, certificate = sandbox.file("console.crt").path
        let made = try await Self.run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=readings-desk.example.test",
                                          "-days", "1", "-keyout", key, "-out", certificate])
        try #require(made.status == 0, "openssl: \(made.output)")
        try sandbox.write("metergate-console-proxy.conf", proxy)
        try sandbox.write("site.conf", site
            .replacingOccurrences(of: "/etc/ssl/metergate/console.crt", with: certificate)
            .replacingOccurrences(of: "/etc/ssl/metergate/console.key", with: key)
            .replacingOccurrences(of: "/etc/nginx/metergate-console-proxy.conf", with: sandbox.file("metergate-console-proxy.conf").path)
            .replacingOccurrences(of: "/var/log/nginx/", with: sandbox.path + "/"))
        let main = try sandbox.write("nginx.conf", """
            pid \(sandbox.path)/nginx.pid;
            error_log \(sandbox.path)/error.log;
            events {}
            http { access_log off; include \(sandbox.file("site.conf").path); }

            """)
        let result = try await Self.run(nginx, ["-t", "-q", "-p", sandbox.path, "-c", main.path])
        #expect(result.status == 0, "nginx -t: \(result.output)")
    }

    @Test("check-config Deploy/metergate.yaml passes; every key in it is documented in Deploy/CONFIGURATION.md")
    func exampleConfiguration() async throws {
        let sandbox = try Sandbox("deploy-config")
        defer { sandbox.remove() }
        let example = Self.deploy.appendingPathComponent("metergate.yaml").path
        let result = try await sandbox.run(["check-config", "--config", example], timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.hasPrefix("configuration OK"), "\(result)")

        let reference = try String(contentsOf: Self.deploy.appendingPathComponent("CONFIGURATION.md"), encoding: .utf8)
        var section = ""
        var list = false
        for line in try String(contentsOfFile: example, encoding: .utf8).split(separator: "\n") {
            let text = line.drop { $0 == " " || $0 == "#" || $0 == "-" }.drop { $0 == " " }
            guard let colon = text.firstIndex(of: ":"), text[..<colon].allSatisfy({ $0.isLetter || $0 == "_" }), !text[..<colon].isEmpty else { continue }
            let key = String(text[..<colon])
            if !line.hasPrefix(" "), !line.hasPrefix("#") {
                section = key
                list = text[text.index(after: colon)...].trimmingCharacters(in: .whitespaces).isEmpty && ["mailboxes", "sms"].contains(key)
                continue
            }
            let path = list ? "\(section)[].\(key)" : "\(section).\(key)"
            #expect(reference.contains("`\(path)`"), "\(path) (from Deploy/metergate.yaml) is documented in Deploy/CONFIGURATION.md")
        }
    }

    @Test("promtool check rules Deploy/metergate-alerts.yml")
    func alertRules() async throws {
        let rules = Self.deploy.appendingPathComponent("metergate-alerts.yml")
        let text = try String(contentsOf: rules, encoding: .utf8)
        for metric in ["metergate_feed_up", "metergate_outbox_pending", "metergate_review_held"] {
            #expect(text.contains(metric), "an alert on \(metric)")
        }
        guard let promtool = Self.tool("promtool") else {
            if Self.peersRequired { Issue.record("promtool is missing (scripts/peers/ops.packages lists prometheus)") }
            return
        }
        let result = try await Self.run(promtool, ["check", "rules", rules.path])
        #expect(result.status == 0 && result.output.contains("SUCCESS"), "\(result.output)")
    }
}
