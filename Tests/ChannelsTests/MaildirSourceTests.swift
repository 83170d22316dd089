import Foundation
import Testing
@testable import Channels
import MeterCore

@Suite("MaildirSource")
struct MaildirSourceTests {
    let base = Date(timeIntervalSince1970: 1_790_000_000)

    @Test func createsLayout() throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        _ = MaildirSource(name: "maildir", directory: temp.url.appendingPathComponent("mail"))
        #expect(try temp.names(in: "mail") == ["cur", "new", "tmp"])
    }

    @Test func pollReturnsOldestFirstAndIgnoresTmpAndDotfiles() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let source = MaildirSource(name: "maildir", directory: temp.url.appendingPathComponent("mail"))
        try temp.write(Array("Subject: b\r\n\r\n2".utf8), to: "mail/new/1790000100.M2P1.host", modified: base + 100)
        try temp.write(Array("Subject: a\r\n\r\n1".utf8), to: "mail/new/1790000000.M1P1.host", modified: base)
        try temp.write(Array("Subject: c\r\n\r\n3".utf8), to: "mail/new/1790000050.M3P1.host", modified: base + 100)
        try temp.write(Array("half".utf8), to: "mail/tmp/1790000200.M4P1.host", modified: base)
        try temp.write(Array("x".utf8), to: "mail/new/.hidden", modified: base)

        let messages = try await source.poll(limit: 10)
        #expect(messages.map(\.externalID) == [
            "maildir:1790000000.M1P1.host", "maildir:1790000050.M3P1.host", "maildir:1790000100.M2P1.host",
        ])
        #expect(messages[0].raw == Array("Subject: a\r\n\r\n1".utf8))
        #expect(messages[0].channel == .email)
        #expect(messages[0].feed == "maildir")
        #expect(messages[0].sender == nil)
        #expect(abs(messages[0].receivedAt.timeIntervalSince(base)) < 1)
        #expect(try await source.poll(limit: 2).count == 2)
    }

    @Test func pollIsRepeatableUntilAcknowledged() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let source = MaildirSource(name: "maildir", directory: temp.url.appendingPathComponent("mail"))
        try temp.write(Array("Subject: 1\r\n\r\nx".utf8), to: "mail/new/111.A.host", modified: base)
        try temp.write(Array("Subject: 2\r\n\r\ny".utf8), to: "mail/new/222.B.host:2,F", modified: base + 1)

        let first = try await source.poll(limit: 10)
        let second = try await source.poll(limit: 10)
        #expect(first == second)
        #expect(first.map(\.externalID) == ["maildir:111.A.host", "maildir:222.B.host"])

        try await source.acknowledge(first.map(\.externalID))
        #expect(try await source.poll(limit: 10).isEmpty)
        #expect(try temp.names(in: "mail/cur") == ["111.A.host:2,S", "222.B.host:2,FS"])
        #expect(try temp.names(in: "mail/new").isEmpty)

        // Acknowledging again, or ids of other feeds, is harmless.
        try await source.acknowledge(first.map(\.externalID) + ["gammu-files:IN1.txt", "maildir:unknown"])
        #expect(try temp.names(in: "mail/cur") == ["111.A.host:2,S", "222.B.host:2,FS"])
    }

    @Test func largeMessageIsCutAfterTheLimit() async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        let source = MaildirSource(name: "m", directory: temp.url.appendingPathComponent("mail"), maxMessageBytes: 100)
        try temp.write([UInt8](repeating: 65, count: 100), to: "mail/new/1.fits.host", modified: base)
        try temp.write([UInt8](repeating: 66, count: 5000), to: "mail/new/2.big.host", modified: base + 1)
        let messages = try await source.poll(limit: 10)
        #expect(messages.map { $0.raw?.count } == [100, 101])
    }

    @Test func fileNameParts() {
        #expect(MaildirFileName("123.M1.host").unique == "123.M1.host")
        #expect(MaildirFileName("123.M1.host:2,RS").flags == "RS")
        #expect(MaildirFileName("123.M1.host:2,T").seenName == "123.M1.host:2,ST")
        #expect(MaildirFileName("123.M1.host:2,S").seenName == "123.M1.host:2,S")
    }
}
