import Curl
import Foundation
import MeterCore
import Testing
import TestSupport
@testable import MailChannels

/// The SMTP transport against the real aiosmtpd sink of scripts/peers.
@Suite("SMTP transport", .serialized, .tags(.peer), Peer.needs(Peer.smtpSink, "python3-aiosmtpd"), .timeLimit(.minutes(5)))
struct SMTPTransportTests {
    static let scripts = Peer.scripts

    /// Starts the sink on a free port with its state in a folder of its own (suites run side by side).
    func startSink(_ environment: [String: String]) async throws -> (state: URL, port: Int, ca: String) {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-sink-\(UUID().uuidString.prefix(8))")
        let port = freeLoopbackPort()
        var env = ["SMTP_SINK_TLS_PORT": ""]
        env.merge(environment) { $1 }
        let up = try await Program.peerScript("smtp-sink-up.sh", [state.path, "\(port)"], environment: env)
        try #require(up.status == 0, "smtp-sink-up.sh: \(up.stderr)")
        return (state, port, state.appendingPathComponent("tls/cert.pem").path)
    }

    func stopSink(_ state: URL) {
        Program.peerScriptDetached("smtp-sink-down.sh", [state.path], thenRemove: state)
    }

    func reply(_ to: String, id: Int64 = 7) -> OutgoingReply {
        OutgoingReply(id: id, channel: .email, recipient: to, subject: "Re: Показания за ноябрь",
                      inReplyTo: "<orig@example.org>", references: ["<first@example.org>", "<orig@example.org>"],
                      body: "Показания приняты: 160928.\nСпасибо!", createdAt: Date(timeIntervalSince1970: 1_795_000_000))
    }

    @Test func deliversOverSTARTTLSWithAuthAndMapsRefusals() async throws {
        let sink = try await startSink(["SMTP_SINK_FAIL_RCPT": "^bad@", "SMTP_SINK_TEMPFAIL_RCPT": "^later@"])
        defer { stopSink(sink.state) }
        let transport = SMTPTransport(configuration: .init(
            url: "smtp://localhost:\(sink.port)", from: "Показания <readings@example.test>", username: "bot",
            password: { "pw" }, startTLS: true, tls: CurlTLS(caFile: sink.ca)))
        #expect(await transport.deliver(reply("Абонент <abonent@example.org>")) == .delivered)
        let eml = try String(contentsOf: sink.state.appendingPathComponent("mail/000001.eml"), encoding: .utf8)
        let meta = try String(contentsOf: sink.state.appendingPathComponent("mail/000001.json"), encoding: .utf8)
        #expect(meta.contains("\"rcpt_tos\": [\"abonent@example.org\"]"))
        #expect(meta.contains("\"tls\": true"))
        #expect(eml.contains("\r\nIn-Reply-To: <orig@example.org>\r\n"))
        #expect(eml.contains("References: <first@example.org>\r\n <orig@example.org>\r\n"))
        #expect(eml.contains("\r\nAuto-Submitted: auto-replied\r\n"))
        #expect(eml.contains("Subject: =?utf-8?"))
        #expect(eml.hasPrefix("From: =?utf-8?"))

        let bad = await transport.deliver(reply("bad@example.org"))
        guard case .failed(let reason) = bad else {
            Issue.record("a 550 must fail the reply for good: \(bad)")
            return
        }
        #expect(reason.description.contains("550"))
        guard case .retry(let later) = await transport.deliver(reply("later@example.org")) else {
            Issue.record("a 451 must be retried")
            return
        }
        #expect(later.description.contains("451"))
    }

    /// Issue 17: replies one after another over one session, with PIPELINING (MAIL, RCPT, DATA in
    /// one write) and without it; a body line that begins with `.` arrives as it was sent
    /// (dot-stuffed on the way); a refused recipient leaves the session usable (RSET).
    @Test(arguments: [true, false])
    func severalRepliesOverOneSession(pipelining: Bool) async throws {
        let sink = try await startSink(pipelining ? ["SMTP_SINK_FAIL_RCPT": "^bad@"] : ["SMTP_SINK_FAIL_RCPT": "^bad@", "SMTP_SINK_NO_PIPELINING": "1"])
        defer { stopSink(sink.state) }
        let transport = SMTPTransport(configuration: .init(
            url: "smtp://127.0.0.1:\(sink.port)", from: "Показания <readings@example.test>", connections: 1))
        var dotted = reply("first@example.org", id: 1)
        dotted.body = ".\n.. two dots\nend"
        #expect(await transport.deliver(dotted) == .delivered)
        guard case .failed = await transport.deliver(reply("bad@example.org", id: 2)) else {
            Issue.record("a 550 must fail the reply for good")
            return
        }
        for id in 3...5 { #expect(await transport.deliver(reply("r\(id)@example.org", id: Int64(id))) == .delivered) }
        let metas = try (1...4).map { n in
            try JSONSerialization.jsonObject(with: Data(contentsOf: sink.state.appendingPathComponent(String(format: "mail/%06d.json", n)))) as? [String: Any] ?? [:]
        }
        #expect(metas.map { ($0["rcpt_tos"] as? [String])?.first ?? "" } == ["first@example.org", "r3@example.org", "r4@example.org", "r5@example.org"])
        #expect(Set(metas.map { "\($0["peer"] ?? "")" }).count == 1, "one session for every reply: \(metas.map { $0["peer"] ?? "" })")
        let sent = transport.compose(dotted, date: Date())
        let eml = try Data(contentsOf: sink.state.appendingPathComponent("mail/000001.eml"))
        let body = { (bytes: [UInt8]) -> String in
            let text = String(decoding: bytes, as: UTF8.self)
            return String(text[text.range(of: "\r\n\r\n")!.upperBound...])
        }
        #expect(body(Array(eml)) == body(sent))
        #expect(SMTPPipe.dotStuffed(Array(".a\r\nb\n..c".utf8)) == Array("..a\r\nb\r\n...c\r\n".utf8))
    }

    /// Issue 17: each call names the reply its connection sends next, whose `MAIL`, `RCPT` and
    /// `DATA` go out with this one's end of data (one round trip a reply). A refused envelope
    /// sent ahead settles its own reply and leaves the session usable; a call for another reply
    /// than the one announced starts a fresh session (the server, waiting in DATA, would take
    /// its lines as a message): the announced reply never arrives as an empty message.
    @Test(arguments: [true, false])
    func theNextEnvelopeGoesWithTheEndOfData(pipelining: Bool) async throws {
        var environment = ["SMTP_SINK_FAIL_RCPT": "^bad@"]
        if !pipelining { environment["SMTP_SINK_NO_PIPELINING"] = "1" }
        let sink = try await startSink(environment)
        defer { stopSink(sink.state) }
        let transport = SMTPTransport(configuration: .init(
            url: "smtp://127.0.0.1:\(sink.port)", from: "Показания <readings@example.test>", connections: 1))
        let replies = ["r1", "r2", "bad", "r4", "r5", "r6"].enumerated().map { reply("\($1)@example.org", id: Int64($0 + 1)) }
        func send(_ index: Int, next: Int?) async -> DeliveryAttempt {
            await transport.deliver(replies[index], connection: 0, next: next.map { replies[$0] }, beforeCommit: {})
        }
        #expect(await send(0, next: 1) == .settled(.delivered))
        #expect(await send(1, next: 2) == .settled(.delivered))
        guard case .settled(.failed(let refused)) = await send(2, next: 3) else {
            Issue.record("a 550 to an envelope sent ahead must fail that reply for good")
            return
        }
        #expect(refused.description.contains("550"), "\(refused)")
        #expect(await send(3, next: 4) == .settled(.delivered))
        // r5 was announced; r6 comes instead.
        #expect(await send(5, next: nil) == .settled(.delivered))
        let names = try FileManager.default.contentsOfDirectory(atPath: sink.state.appendingPathComponent("mail").path)
            .filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
        let metas = try names.map { name in
            try JSONSerialization.jsonObject(with: Data(contentsOf: sink.state.appendingPathComponent("mail/\(name)"))) as? [String: Any] ?? [:]
        }
        #expect(metas.map { ($0["rcpt_tos"] as? [String])?.first ?? "" } == ["r1@example.org", "r2@example.org", "r4@example.org", "r6@example.org"])
        #expect(metas.allSatisfy { ($0["size"] as? Int ?? 0) > 200 }, "an empty or cut message: \(metas.map { $0["size"] ?? "" })")
        let peers = metas.map { "\($0["peer"] ?? "")" }
        #expect(Set(peers.prefix(3)).count == 1, "r1, r2, r4 over one session: \(peers)")
        if pipelining {
            #expect(peers[3] != peers[0], "after an announced reply that did not come, a fresh session: \(peers)")
        }
    }

    /// Issue 13: a wrong password (535 during a rotation) is retried until outbox.max_age, not failed at once.
    @Test func authenticationRefusedIsRetryThenDelivered() async throws {
        let sink = try await startSink(["SMTP_SINK_USER": "bot", "SMTP_SINK_PASSWORD": "new"])
        defer { stopSink(sink.state) }
        func transport(_ password: String) -> SMTPTransport {
            SMTPTransport(configuration: .init(
                url: "smtp://localhost:\(sink.port)", from: "r@example.test", username: "bot",
                password: { password }, startTLS: true, tls: CurlTLS(caFile: sink.ca)))
        }
        let refused = await transport("old").deliver(reply("abonent@example.org"))
        guard case .retry(let reason) = refused else {
            Issue.record("535 must be retried, got \(refused)")
            return
        }
        #expect(reason.description.contains("535") || reason.description.lowercased().contains("auth"), "\(reason)")
        #expect(await transport("new").deliver(reply("abonent@example.org")) == .delivered)
        guard case .retry(let denied) = SMTPTransport.result(of: CurlError(code: 67, message: "Login denied", serverResponse: "535 5.7.8 no")) else {
            Issue.record("a denied login must be retried")
            return
        }
        #expect(denied.code == .authentication && denied.cause is CurlError)
    }

    @Test func serverDownIsRetry() async {
        let transport = SMTPTransport(configuration: .init(url: "smtp://127.0.0.1:\(freeLoopbackPort())", from: "r@example.test",
                                                           timeout: .seconds(5)))
        guard case .retry(let reason) = await transport.deliver(reply("a@example.org")) else {
            Issue.record("a refused connection must be retried")
            return
        }
        #expect(reason.description.contains("curl 7"))
    }

    @Test func selfSignedRefusedWithoutCAFile() async throws {
        let sink = try await startSink([:])
        defer { stopSink(sink.state) }
        let transport = SMTPTransport(configuration: .init(
            url: "smtp://localhost:\(sink.port)", from: "r@example.test", startTLS: true))
        guard case .retry(let reason) = await transport.deliver(reply("a@example.org")) else {
            Issue.record("a certificate problem is not a 5xx: retried")
            return
        }
        #expect(reason.description.contains("curl 60"))
    }
}
