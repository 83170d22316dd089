import Testing
@testable import MailChannels

/// Issue 13, item 1: every number a POP3 server answers (UIDL and LIST message numbers, LIST
/// sizes) and its unique ids, swept with nan, inf, -1, 1e300, 2^63, 2^64: nothing traps, a
/// listing that does not add up is no listing (listed again next poll), a hostile size is unknown.
@Suite("POP3 responses: hostile numbers and ids")
struct POP3HostileNumberTests {
    static let hostile = ["nan", "inf", "-1", "1e300", "9223372036854775807", "9223372036854775808",
                          "18446744073709551616", "0", "-0", "+1", "１", "99999999999999"]

    @Test("UIDL: a hostile message number is no listing", arguments: hostile)
    func uidlNumbers(_ value: String) {
        #expect(POP3Source.uidlListing(["1 a", "\(value) b"]) == nil)
        #expect(POP3Source.uidlListing(["\(value) a"]) == nil)
    }

    @Test("UIDL: ids outside 1–70 printable ASCII characters, or repeated, are no listing")
    func uidlIDs() {
        let good = POP3Source.uidlListing(["1 000001a", "2 000002b"])
        #expect(good?.map(\.uidl) == ["000001a", "000002b"])
        #expect(POP3Source.uidlListing(["1 " + String(repeating: "x", count: 71)]) == nil)
        #expect(POP3Source.uidlListing(["1 a\u{1B}[2Jb"]) == nil)
        #expect(POP3Source.uidlListing(["1 идентификатор"]) == nil)
        #expect(POP3Source.uidlListing(["1 a", "2 a"]) == nil)
        #expect(POP3Source.uidlListing(["2 a", "1 b"]) == nil)
        #expect(POP3Source.uidlListing(["1"]) == nil)
        #expect(POP3Source.uidlListing([])?.isEmpty == true)
    }

    @Test("LIST: a hostile size is unknown, a hostile number is no listing", arguments: hostile)
    func listSizes(_ value: String) {
        let sizes = POP3Source.sizeListing(["1 120", "2 \(value)"], count: 2)
        #expect(sizes?[1] == 120)
        if let size = sizes?[2] {
            #expect(size >= 0 && size <= 1 << 62 && String(size) == value)
        }
        #expect(POP3Source.sizeListing(["1 120", "\(value) 5"], count: 2) == nil)
        #expect(POP3Source.sizeListing(["1 120", "1 5"], count: 1) == nil, "a number listed twice")
        #expect(POP3Source.sizeListing(["1 120"], count: 2) == nil, "fewer than UIDL gave")
    }
}
