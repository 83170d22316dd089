import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A mail server whose connection dies in the middle of a message body (a TCP proxy in front of
/// the real Dovecot cuts it after N bytes of the fetch answer): the poll fails with a clear log
/// line, nothing is recorded (not even half a message), nothing is marked seen or deleted, and
/// the next poll gets every message whole.
@Suite("E-mail: connection dropped mid-fetch", .serialized, .tags(.peer), Peer.needs(Peer.mail, "Dovecot or python3-aiosmtpd"), .timeLimit(.minutes(10)))
struct MailDroppedConnectionTests {
    static func mail(_ index: Int) -> [UInt8] {
        let line = String(repeating: "Показания по счётчику, строка для объёма письма. ", count: 2) + "\r\n"
        // One sender: the second and third mails are its own corrections (accepted, replacing).
        let text = "From: cut@example.org\r\nTo: readings@example.test\r\nSubject: 406479026293 16094\(index)\r\n"
            + "Message-ID: <cut\(index)@example.org>\r\nDate: Fri, 20 Nov 2026 09:00:0\(index) +0300\r\nMIME-Version: 1.0\r\n"
            + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            + String(repeating: line, count: 120)
        return Array(text.utf8)
    }

    /// `imap-mid-batch`: the batched fetch is cut inside the literal of its second message, after
    /// the first came whole: the first is not recorded either (the batch is one).
    @Test(arguments: ["imap", "imap-mid-batch", "pop3"])
    func pollFailsCleanlyAndTheNextPollGetsTheMessage(_ variant: String) async throws {
        let scheme = variant == "pop3" ? "pop3" : "imap"
        let peers = try await MailPeers.start("cut-\(variant)")
        defer { peers.stop() }
        let sandbox = try Sandbox("mail-cut-\(variant)")
        defer { sandbox.remove() }
        let mails = (1...3).map(Self.mail)
        let size = mails[0].count
        try await peers.deliver(mails, user: "readings@example.test")
        let imap = scheme == "imap"
        let target = peers.port(imap ? "DOVECOT_IMAP_PORT" : "DOVECOT_POP3_PORT")
        // Cut the first message's answer a few hundred bytes before its end: past any "most of it
        // came" tolerance, short of the end.
        let proxy = try await PeerProxy(
            "cut-proxy.py", state: peers.state.appendingPathComponent("cut-proxy"),
            arguments: [target, imap ? "BODY\\.PEEK\\[\\]" : "^RETR ", "\(variant == "imap-mid-batch" ? 2 * size - 200 : size - 300)"])
        defer { proxy.stop() }
        let url = "\(scheme)://127.0.0.1:\(proxy.port)\(imap ? "/INBOX" : "/")"
        let config = try MailAcceptanceTests().config(
            sandbox, peers: peers, mailbox: url, after: imap ? "seen" : "delete",
            extra: "    username: readings@example.test\n    password: secret")
        _ = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])

        let failed = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(proxy.didCut)
        #expect(failed.status == 1, "\(failed.stderr.suffix(1500))")
        let failureLine = failed.stderr.split(separator: "\n").first { $0.contains("feed readings failed") }
        #expect(failureLine != nil && failureLine!.contains("127.0.0.1:\(proxy.port)"), "\(failed.stderr.suffix(1500))")
        #expect(LoggedOutcome.parse(failed.stderr).isEmpty, "a message was recorded from a cut connection: \(failed.stderr.suffix(1500))")
        #expect(try peers.received().isEmpty)
        let status = try await sandbox.run(["status", "--config", config])
        #expect(status.stdoutText.contains("today: ") && !status.stdoutText.split(separator: "\n").contains { line in
            line.hasPrefix("today:") && line.split(separator: ",").contains { Int($0.split(separator: " ").last ?? "") ?? 0 > 0 }
        }, "\(status.stdoutText)")
        // Nothing touched at the source.
        let direct = "\(scheme)://127.0.0.1:\(target)/"
        if imap {
            let seen = try await MailPeers.run("/usr/bin/curl", ["-s", direct + "INBOX", "-u", "readings@example.test:secret", "-X", "UID SEARCH SEEN"])
            #expect(seen.trimmingCharacters(in: .whitespacesAndNewlines) == "* SEARCH", "\(seen)")
        } else {
            let list = try await MailPeers.run("/usr/bin/curl", ["-s", direct, "-u", "readings@example.test:secret"])
            #expect(list.split(whereSeparator: \.isNewline).count == 3, "\(list)")
        }

        // The next poll (the proxy cuts only once) gets all three, whole.
        let again = try await sandbox.run(["run", "--once", "--config", config], timeout: 120)
        #expect(again.status == 0, "\(again.stderr.suffix(1500))")
        let outcomes = LoggedOutcome.parse(again.stderr)
        #expect(outcomes.count == 3, "\(again.stderr.suffix(1500))")
        #expect(outcomes.allSatisfy { $0.status == "accepted" || $0.status == "duplicate" }, "\(outcomes.map(\.status))")
        #expect(try peers.received().count == 3)
        if imap {
            let seen = try await MailPeers.run("/usr/bin/curl", ["-s", direct + "INBOX", "-u", "readings@example.test:secret", "-X", "UID SEARCH SEEN"])
            #expect(seen.contains("* SEARCH 1 2 3"), "\(seen)")
        } else {
            let list = try await MailPeers.run("/usr/bin/curl", ["-s", direct, "-u", "readings@example.test:secret"])
            #expect(list.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(list)")
        }
    }
}
