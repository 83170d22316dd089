import Curl
import Foundation
import MeterCore
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif
@testable import MailChannels

/// The point of no return of an SMTP reply against the real aiosmtpd sink: the mark runs just
/// before the end of DATA; a connection that dies after it without an answer is in doubt (the
/// sink has the mail); a mark that fails keeps the end of DATA from being sent at all.
@Suite("SMTP: the end of DATA", .serialized, .tags(.peer), Peer.needs(Peer.smtpSink, "python3-aiosmtpd"), .timeLimit(.minutes(5)))
struct SMTPInDoubtTests {
    final class Marks: Sendable {
        let count = Mutex(0)
    }

    struct Refused: Error, CustomStringConvertible {
        var description: String { "the store refused the mark" }
    }

    func mails(_ sink: URL) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: sink.appendingPathComponent("mail").path)) ?? [])
            .filter { $0.hasSuffix(".eml") && !$0.hasPrefix(".") }
    }

    @Test func noAnswerAfterTheEndOfDataIsInDoubtAndARefusedMarkSendsNothing() async throws {
        let tests = SMTPTransportTests()
        let sink = try await tests.startSink([:])
        defer { tests.stopSink(sink.state) }
        // A proxy that lets everything through until the client's end of DATA, then closes the
        // connection before the server's answer reaches the client.
        let proxyState = sink.state.appendingPathComponent("cut-proxy")
        let proxy = try await PeerProxy("cut-proxy.py", state: proxyState, arguments: ["\(sink.port)", "(?:^|\\n)\\.\\r\\n", "0"])
        defer { proxy.stop() }
        let port = proxy.port

        let marks = Marks()
        let cut = SMTPTransport(configuration: .init(url: "smtp://127.0.0.1:\(port)", from: "r@example.test", timeout: .seconds(10)))
        let attempt = await cut.deliver(tests.reply("doubt@example.org"), connection: 0, beforeCommit: { marks.count.withLock { $0 += 1 } })
        guard case .inDoubt(let reason) = attempt else {
            Issue.record("no answer after the end of DATA must be in doubt, not \(attempt)")
            return
        }
        #expect(FileManager.default.fileExists(atPath: proxyState.appendingPathComponent("cut").path))
        #expect(marks.count.withLock { $0 } == 1)
        #expect(reason.description.contains("no answer after the end of data"), "\(reason)")
        // The sink did get it: holding it rather than sending it again was right.
        await waitUntil(timeout: 5, every: .milliseconds(50)) { !mails(sink.state).isEmpty }
        #expect(mails(sink.state).count == 1)

        // A mark that cannot be written: the transfer is aborted before the end of DATA, the
        // server keeps nothing, and the reply is simply retried later.
        let direct = SMTPTransport(configuration: .init(url: "smtp://127.0.0.1:\(sink.port)", from: "r@example.test", timeout: .seconds(10)))
        let refused = await direct.deliver(tests.reply("never@example.org"), connection: 1, beforeCommit: { throw Refused() })
        guard case .settled(.retry(let why)) = refused else {
            Issue.record("a refused mark must end as a retry, not \(refused)")
            return
        }
        #expect(why.description.contains("aborted before the end of data"), "\(why)")
        await pause(0.5)
        #expect(mails(sink.state).count == 1, "the sink kept a message whose end of DATA was never sent")
        // And the same transport, unhindered, delivers.
        #expect(await direct.deliver(tests.reply("fine@example.org"), connection: 1, beforeCommit: {}) == .settled(.delivered))
        #expect(mails(sink.state).count == 2)
    }
}
