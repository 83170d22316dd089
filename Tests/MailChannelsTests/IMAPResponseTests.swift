import Foundation
import Testing
@testable import MailChannels

@Suite("IMAP responses and fingerprints")
struct IMAPResponseTests {
    @Test func statusAndSearchLines() {
        let status = IMAPResponse.statusItems(["* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY 1795248658)"])
        #expect(status == ["MESSAGES": 3, "UIDNEXT": 4, "UIDVALIDITY": 1795248658])
        #expect(IMAPResponse.searchUIDs(["* SEARCH 1 2 5", "* SEARCH"]) == [1, 2, 5])
    }

    @Test func fetchLinesGiveSeenFlag() {
        let items = IMAPResponse.fetchItems([
            "* 1 FETCH (UID 7 RFC822.SIZE 10 INTERNALDATE \"20-Nov-2026 08:59:00 +0300\" FLAGS (\\Seen \\Answered))",
            "* 2 FETCH (UID 8 RFC822.SIZE 10 FLAGS (\\Recent) INTERNALDATE \"20-Nov-2026 08:59:00 +0300\")",
            "* 3 FETCH (UID 9 RFC822.SIZE 10)",
        ])
        #expect(items[7]?.seen == true)
        #expect(items[8]?.seen == false)
        #expect(items[9]?.seen == nil)
        #expect(items[8]?.size == 10 && items[8]?.internalDate != nil)
    }

    @Test func fetchLinesGiveSizeAndInternalDate() throws {
        let items = IMAPResponse.fetchItems([
            "* 5 FETCH (UID 12 RFC822.SIZE 3456 INTERNALDATE \"20-Nov-2026 08:59:00 +0300\")",
            "* 6 FETCH (INTERNALDATE \" 1-Dec-2026 00:00:01 -0130\" UID 13 RFC822.SIZE 10)",
        ])
        #expect(items[12]?.size == 3456)
        let date = try #require(items[12]?.internalDate)
        #expect(date.offset == 3 * 3600)
        #expect(date.date == Date(timeIntervalSince1970: 1_795_154_340))  // 2026-11-20T05:59:00Z
        #expect(items[13]?.size == 10)
        #expect(items[13]?.internalDate?.offset == -(3600 + 1800))
    }

    @Test func sequenceSetsCompressAndChunk() {
        #expect(IMAPResponse.sequenceSets([5, 1, 2, 3, 9, 7, 8]) == ["1:3,5,7:9"])
        #expect(IMAPResponse.sequenceSets(Array(1...5), chunk: 2) == ["1:2", "3:4", "5"])
        #expect(IMAPResponse.quoted("a\"b\\c") == "\"a\\\"b\\\\c\"")
    }

    @Test func cursorRoundTrips() {
        let cursor = IMAPCursor(mailbox: "INBOX", validity: 7, next: 42, dedupeBelow: 40)
        #expect(IMAPCursor.decode(cursor.encoded) == cursor)
        #expect(IMAPCursor.decode("garbage") == nil)
    }

    @Test func fingerprintsByMessageIDOrBytes() {
        let a = Array("Subject: x\r\nMessage-ID:\r\n <ABC@x>\r\n\r\nbody\r\nMessage-ID: <no@x>\r\n".utf8)
        #expect(MessageFingerprint.messageID(a) == "<abc@x>")
        #expect(MessageFingerprint.of(a) == "id:<abc@x>")
        let b = Array("Subject: x\r\n\r\nMessage-ID: <in-body@x>\r\n".utf8)
        #expect(MessageFingerprint.messageID(b) == nil)
        #expect(MessageFingerprint.of(b).hasPrefix("raw:\(b.count):"))
        #expect(MessageFingerprint.of(b) != MessageFingerprint.of(b + [0x0A]))
    }

    @Test func afterParses() {
        #expect(MailboxAfter("seen") == .seen)
        #expect(MailboxAfter("delete") == .delete)
        #expect(MailboxAfter("move:Processed/2026") == .move("Processed/2026"))
        #expect(MailboxAfter("move:") == nil)
        #expect(MailboxAfter("flag") == nil)
    }
}

@Suite("Mailbox login")
struct MailboxLoginTests {
    @Test func oauth2TokenFileIsReadAtEveryLogin() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("token-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try "first-token\n".write(to: file, atomically: true, encoding: .utf8)
        let settings = MailboxSettings(url: "imaps://127.0.0.1:1/INBOX", username: "u@example.test", oauth2TokenFile: file.path)
        #expect(try settings.login().bearer == "first-token")
        #expect(try settings.login().password == nil)
        try "rotated-token".write(to: file, atomically: true, encoding: .utf8)
        #expect(try settings.login().bearer == "rotated-token")
        try "".write(to: file, atomically: true, encoding: .utf8)
        #expect(throws: MailSourceError.self) { try settings.login() }
    }

    @Test func urlPartsAndPasswords() throws {
        let settings = MailboxSettings(url: "imap://127.0.0.1:143/Readings%202026", password: { "pw" })
        #expect(settings.parts.base == "imap://127.0.0.1:143")
        #expect(settings.parts.path == "Readings 2026")
        #expect(try settings.login().password == "pw")
    }
}

@Suite("IMAP listings")
struct IMAPListingParserTests {
    @Test func selectGivesTheMailboxView() {
        let lines: [Substring] = [
            "* FLAGS (\\Answered \\Seen)", "* OK [PERMANENTFLAGS (\\Seen \\*)] Flags permitted.", "* 3 EXISTS", "* 0 RECENT",
            "* OK [UNSEEN 1] First unseen.", "* OK [UIDVALIDITY 1795248658] UIDs valid", "* OK [UIDNEXT 1000004] Predicted next UID",
        ]
        #expect(IMAPResponse.mailboxView(lines) == .init(exists: 3, validity: 1795248658, uidNext: 1000004))
        #expect(IMAPResponse.mailboxView(Array(lines.dropLast())) == nil)
    }

    @Test func expungesAndCapabilitiesAndESearch() {
        #expect(IMAPResponse.isExpunge("* 5 EXPUNGE"))
        #expect(IMAPResponse.isExpunge("* VANISHED 4:7"))
        #expect(!IMAPResponse.isExpunge("* 5 EXISTS") && !IMAPResponse.isExpunge("* SEARCH 5 EXPUNGE"))
        #expect(IMAPResponse.capabilities(["* CAPABILITY IMAP4rev1 esearch MOVE"]) == ["IMAP4REV1", "ESEARCH", "MOVE"])
        let answer = IMAPResponse.esearch(["* ESEARCH (TAG \"A5\") UID COUNT 5 ALL 4:5,9,1000000:1000001"], first: 4)
        #expect(answer?.count == 5 && answer?.uids == [4, 5, 9, 1000000])
        #expect(IMAPResponse.esearch(["* ESEARCH (TAG \"A5\") UID COUNT 0"], first: 4).map { $0.count == 0 && $0.uids.isEmpty } == true)
        #expect(IMAPResponse.esearch(["* SEARCH 1"], first: 4) == nil)
    }
}
