import Testing
@testable import MailMessage

/// RFC 8601 `Authentication-Results`, read as the per-sender limit needs it (issue 13).
struct AuthenticationResultsTests {
    @Test func gmailStyleField() throws {
        let value = "mx.google.com;       dkim=pass header.i=@example.ru header.s=mail header.b=AbC123;       spf=pass (google.com: domain of owner@example.ru designates 192.0.2.1 as permitted sender) smtp.mailfrom=owner@example.ru;       dmarc=pass (p=REJECT sp=REJECT dis=NONE) header.from=example.ru"
        let results = try #require(AuthenticationResults.parse(value))
        #expect(results.authservID == "mx.google.com")
        #expect(results.results.map(\.method) == ["dkim", "spf", "dmarc"])
        #expect(results.results.allSatisfy { $0.result == "pass" })
        #expect(results.results[1].properties["smtp.mailfrom"] == "owner@example.ru")
        #expect(results.results[2].properties["header.from"] == "example.ru")
        #expect(results.authenticates(fromDomain: "example.ru"))
        #expect(results.authenticates(fromDomain: "EXAMPLE.RU"))
        #expect(!results.authenticates(fromDomain: "other.ru"))
    }

    @Test func versionsQuotesSpacesAndNone() throws {
        let versioned = try #require(AuthenticationResults.parse("mx.example.test 1; spf/1 = pass smtp.mailfrom = \"a@example.ru\""))
        #expect(versioned.authservID == "mx.example.test")
        #expect(versioned.results.first?.method == "spf")
        #expect(versioned.results.first?.properties["smtp.mailfrom"] == "a@example.ru")
        #expect(versioned.authenticates(fromDomain: "example.ru"))
        let none = try #require(AuthenticationResults.parse("mx.example.test; none"))
        #expect(none.results.isEmpty)
        #expect(!none.authenticates(fromDomain: "example.ru"))
        // A quoted reason with ';' does not split the statement.
        let reason = try #require(AuthenticationResults.parse("mx.example.test; dmarc=fail reason=\"a; dmarc=pass\" header.from=example.ru"))
        #expect(reason.results.count == 1)
        #expect(!reason.authenticates(fromDomain: "example.ru"))
        // A pass inside a comment is no pass.
        let comment = try #require(AuthenticationResults.parse("mx.example.test (spf=pass smtp.mailfrom=example.ru; dmarc=pass); spf=fail"))
        #expect(!comment.authenticates(fromDomain: "example.ru"))
    }

    @Test func garbageNeverPasses() {
        for value in ["", ";", "; dmarc=pass", "dmarc=pass", "mx; dmarc", "mx; =pass", "mx; dmarc=pass header.from=", "(((",
                      "mx; spf=pass", "mx; spf=pass smtp.mailfrom=", String(repeating: "(", count: 10_000) + "mx; dmarc=pass"] {
            let parsed = AuthenticationResults.parse(value)
            #expect(parsed?.authenticates(fromDomain: "example.ru") != true, "\(value.prefix(40))")
        }
    }

    @Test func topmostOrNamedAuthServID() {
        func message(_ fields: [String]) -> MailMessage {
            MailMessage(raw: Array((fields.map { "Authentication-Results: " + $0 + "\r\n" }.joined() + "From: o@example.ru\r\nSubject: s\r\n\r\nb").utf8))
        }
        let pass = "mx.example.test; dmarc=pass header.from=example.ru"
        let fail = "mx.example.test; dmarc=fail header.from=example.ru"
        let relayPass = "relay.example; dmarc=pass header.from=example.ru"
        #expect(message([pass]).fromAuthenticated(authservID: nil))
        #expect(!message([fail, pass]).fromAuthenticated(authservID: nil), "only the topmost is believed")
        #expect(!message([relayPass, fail]).fromAuthenticated(authservID: "mx.example.test"))
        #expect(message([relayPass, fail]).fromAuthenticated(authservID: nil))
        #expect(message(["relay.example; dmarc=fail", pass]).fromAuthenticated(authservID: "MX.EXAMPLE.TEST"))
        #expect(!message([]).fromAuthenticated(authservID: nil))
        let noFrom = MailMessage(raw: Array("Authentication-Results: \(pass)\r\nSubject: s\r\n\r\nb".utf8))
        #expect(!noFrom.fromAuthenticated(authservID: nil))
    }
}
