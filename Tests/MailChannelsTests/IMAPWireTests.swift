import Foundation
import Testing
@testable import MailChannels

/// A server transcript played back in chunks of `chunk` bytes (a slow link cuts literals
/// anywhere); what the client sends is kept.
final class ScriptedTransport: IMAPTransport {
    private var pending: [UInt8]
    private let chunk: Int
    var sent: [UInt8] = []
    /// The transcript ends with the connection closed (true) or silent (false: timeouts).
    let closes: Bool

    init(_ server: String, chunk: Int = 7, closes: Bool = false) {
        pending = Array(server.utf8)
        self.chunk = chunk
        self.closes = closes
    }

    func send(_ bytes: [UInt8]) throws { sent += bytes }

    func receive(wait: Duration) throws -> [UInt8]? {
        guard !pending.isEmpty else {
            if closes { throw MailSourceError("closed") }
            Thread.sleep(forTimeInterval: min(0.01, Double(wait.components.attoseconds) / 1e18 + Double(wait.components.seconds)))
            return nil
        }
        let piece = Array(pending.prefix(chunk))
        pending.removeFirst(piece.count)
        return piece
    }

    var sentText: String { String(decoding: sent, as: UTF8.self) }
}

@Suite("IMAP over a raw stream: recorded transcripts")
struct IMAPWireTests {
    static let bodyA = "From: a@example.test\r\nSubject: x\r\n\r\n1234567 52.5\r\n"
    static let bodyB = "From: b@example.test\r\n\r\n{5}\r\n) FETCH \"\r\n"

    /// Dovecot 2.3's answer to a batched fetch, with an unsolicited flag update and an EXISTS in
    /// the middle, a body that holds `{5}` and `)` of its own, and a partial-fetch origin.
    static var dovecot: String {
        "* CAPABILITY IMAP4rev1 IDLE MOVE UIDPLUS ESEARCH\r\nM1 OK Capability completed.\r\n"
            + "* 1 FETCH (UID 41 RFC822.SIZE \(bodyA.utf8.count) INTERNALDATE \"03-Dec-2026 10:00:00 +0300\" BODY[]<0> {\(bodyA.utf8.count)}\r\n\(bodyA))\r\n"
            + "* 5 FETCH (FLAGS (\\Seen))\r\n"
            + "* 9 EXISTS\r\n"
            + "* 2 FETCH (UID 42 RFC822.SIZE \(bodyB.utf8.count) INTERNALDATE \" 3-Dec-2026 10:00:01 +0000\" BODY[]<0> {\(bodyB.utf8.count)}\r\n\(bodyB))\r\n"
            + "M2 OK Fetch completed (0.001 + 0.000 secs).\r\n"
    }

    @Test(arguments: [1, 7, 64, 4096])
    func batchedFetchStreamsLiterals(chunk: Int) throws {
        let transport = ScriptedTransport(Self.dovecot, chunk: chunk)
        let client = IMAPClient(transport, timeout: .seconds(1), maxLiteral: 1 << 20)
        #expect(try client.capability().isSuperset(of: ["IDLE", "MOVE", "UIDPLUS"]))
        var messages: [IMAPFetchedMessage] = []
        try client.fetch(from: 41, through: 50, maxBytes: 1000) { messages.append($0) }
        #expect(transport.sentText == "M1 CAPABILITY\r\nM2 UID FETCH 41:50 (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.1001>)\r\n")
        #expect(messages.map(\.uid) == [41, 42])
        #expect(messages.map { String(decoding: $0.body, as: UTF8.self) } == [Self.bodyA, Self.bodyB])
        #expect(messages.map(\.size) == [Self.bodyA.utf8.count, Self.bodyB.utf8.count])
        #expect(messages[0].internalDate?.offset == 3 * 3600)
        #expect(client.newMail)
    }

    /// Gmail's order (`UID` after the body), a quoted body, and NIL.
    @Test func itemsInAnyOrderQuotedAndNil() throws {
        let server = "* 1 FETCH (RFC822.SIZE 3 BODY[]<0> {3}\r\nabc UID 7)\r\n"
            + "* 2 FETCH (UID 8 BODY[]<0> \"q\\\"d\" RFC822.SIZE 3)\r\n"
            + "* 3 FETCH (UID 9 RFC822.SIZE 0 BODY[]<0> NIL)\r\n"
            + "M1 OK Success\r\n"
        let client = IMAPClient(ScriptedTransport(server, chunk: 5), timeout: .seconds(1), maxLiteral: 1 << 20)
        var messages: [IMAPFetchedMessage] = []
        try client.fetch(from: 7, through: 9, maxBytes: 100) { messages.append($0) }
        #expect(messages.map(\.uid) == [7, 8, 9])
        #expect(messages.map { String(decoding: $0.body, as: UTF8.self) } == ["abc", "q\"d", ""])
    }

    /// Pipelined acknowledgements: one write, every answer read, a refusal reported after all.
    @Test func pipelinedCommandsAreReadInOrder() throws {
        let server = "* 3 EXPUNGE\r\nM1 OK Move completed.\r\nM2 NO [TRYCREATE] Mailbox doesn't exist: Nope\r\nM3 OK done\r\n"
        let transport = ScriptedTransport(server, chunk: 3)
        let client = IMAPClient(transport, timeout: .seconds(1), maxLiteral: 100)
        #expect(throws: IMAPCommandError.self) {
            try client.run(["UID MOVE 1:50 \"Done\"", "UID MOVE 51 \"Nope\"", "NOOP"])
        }
        #expect(transport.sentText == "M1 UID MOVE 1:50 \"Done\"\r\nM2 UID MOVE 51 \"Nope\"\r\nM3 NOOP\r\n")
        // The conversation is still in step: the next tag is M4.
        let next = try client.send(["NOOP"])
        #expect(next == ["M4"])
    }

    /// A connection cut in the middle of a literal fails the fetch: no message of it is kept.
    @Test func cutInsideALiteralFails() throws {
        let cut = String(Self.dovecot.utf8.prefix(Self.dovecot.utf8.count - 60))!
        let client = IMAPClient(ScriptedTransport(cut, chunk: 11, closes: true), timeout: .seconds(1), maxLiteral: 1 << 20)
        _ = try client.capability()
        var messages: [IMAPFetchedMessage] = []
        #expect(throws: (any Error).self) {
            try client.fetch(from: 41, through: 50, maxBytes: 1000) { messages.append($0) }
        }
        #expect(messages.count == 1)   // handed over as it streamed; the source drops the whole batch
        let silent = IMAPClient(ScriptedTransport(cut, chunk: 11), timeout: .milliseconds(50), maxLiteral: 1 << 20)
        _ = try silent.capability()
        #expect(throws: (any Error).self) { try silent.fetch(from: 41, through: 50, maxBytes: 1000) { _ in } }
    }

    @Test func hostileLiteralSizeIsRefused() throws {
        let client = IMAPClient(ScriptedTransport("* 1 FETCH (UID 1 BODY[] {99999999999}\r\n"), timeout: .seconds(1), maxLiteral: 1 << 20)
        #expect(throws: MailSourceError.self) { try client.fetch(from: 1, through: 1, maxBytes: 10) { _ in } }
    }

    @Test func byeEndsTheSession() throws {
        let client = IMAPClient(ScriptedTransport("* BYE Server shutting down.\r\n"), timeout: .seconds(1), maxLiteral: 100)
        #expect(throws: MailSourceError.self) { try client.run(["NOOP"]) }
    }

    /// SELECT and the unseen count in one round trip (Dovecot's words).
    @Test func selectWithUnseenCount() throws {
        let server = "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* 2000 EXISTS\r\n* 0 RECENT\r\n"
            + "* OK [UIDVALIDITY 1795248658] UIDs valid\r\n* OK [UIDNEXT 2001] Predicted next UID\r\n"
            + "M1 OK [READ-WRITE] Select completed (0.001 + 0.000 secs).\r\n"
            + "* ESEARCH (TAG \"M2\") UID COUNT 1950 ALL 51:2000\r\nM2 OK Search completed.\r\n"
        let transport = ScriptedTransport(server, chunk: 13)
        let client = IMAPClient(transport, timeout: .seconds(1), maxLiteral: 100)
        let (view, unseen) = try client.select("INBOX", unseen: true)
        #expect(view == IMAPResponse.MailboxView(exists: 2000, validity: 1795248658, uidNext: 2001))
        #expect(unseen?.count == 1950 && unseen?.uids.first == 51 && unseen?.uids.count == IMAPSource.observedUnseen)
        #expect(!client.newMail)   // the EXISTS of a SELECT is not news
        #expect(transport.sentText == "M1 SELECT \"INBOX\"\r\nM2 UID SEARCH RETURN (COUNT ALL) UNSEEN\r\n")
    }

    /// IDLE: the continuation, an EXISTS, then DONE and the tagged end.
    @Test func idleEndsOnNewMail() throws {
        let server = "+ idling\r\n* OK Still here\r\n* 3 EXISTS\r\nM1 OK Idle completed (0.001 + 1.2 secs).\r\n"
        let transport = ScriptedTransport(server, chunk: 4)
        let client = IMAPClient(transport, timeout: .seconds(1), maxLiteral: 100)
        #expect(try client.idle(upTo: .seconds(5)) { false })
        #expect(transport.sentText == "M1 IDLE\r\nDONE\r\n")
    }

    @Test func idleEndsAtItsTime() throws {
        let transport = ScriptedTransport("+ idling\r\n", chunk: 100)
        let client = IMAPClient(transport, timeout: .seconds(1), maxLiteral: 100)
        // DONE is answered by nothing here: the read of the tagged end times out.
        let start = ContinuousClock.now
        #expect(throws: MailSourceError.self) { try client.idle(upTo: .milliseconds(300)) { false } }
        #expect(ContinuousClock.now - start >= .milliseconds(300))
        #expect(transport.sentText == "M1 IDLE\r\nDONE\r\n")
    }
}
