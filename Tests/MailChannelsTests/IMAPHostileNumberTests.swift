import Foundation
import Testing
@testable import MailChannels

/// Issue 13, item 1: every number an IMAP server answers (EXISTS, UIDVALIDITY, UIDNEXT,
/// ESEARCH counts and ranges, STATUS items, SEARCH and FETCH UIDs, RFC822.SIZE, INTERNALDATE)
/// swept with nan, inf, -1, 1e300, 2^63, 2^64 and the UInt32 edges: nothing traps, and a
/// value out of range is no value.
@Suite("IMAP responses: hostile numbers")
struct IMAPHostileNumberTests {
    static let hostile = ["nan", "inf", "-1", "1e300", "9223372036854775807", "9223372036854775808",
                          "18446744073709551616", "4294967295", "4294967296", "0", "-0", "99999999999999"]

    @Test("mailbox view, expunge, STATUS, SEARCH", arguments: hostile)
    func viewAndLists(_ value: String) {
        let view = IMAPResponse.mailboxView(["* \(value) EXISTS", "* OK [UIDVALIDITY \(value)] x", "* OK [UIDNEXT \(value)] x"])
        if let view {
            #expect(UInt64(value) == UInt64(view.exists), "\(value) → \(view)")
        }
        _ = IMAPResponse.isExpunge("* \(value) EXPUNGE")
        let items = IMAPResponse.statusItems(["* STATUS INBOX (MESSAGES \(value) UIDNEXT \(value) UIDVALIDITY \(value))"])
        #expect(items.isEmpty || items.values.allSatisfy { UInt64($0) == UInt64(value) })
        _ = IMAPResponse.searchUIDs(["* SEARCH \(value) 1 \(value)"])
    }

    @Test("ESEARCH counts and ranges stay bounded by what was asked", arguments: hostile)
    func esearch(_ value: String) {
        for line in ["* ESEARCH (TAG \"A1\") UID COUNT \(value) ALL 1:\(value)", "* ESEARCH (TAG \"A1\") UID ALL \(value):1,\(value):\(value)",
                     "* ESEARCH (TAG \"A1\") UID COUNT \(value) ALL 4294967290:4294967295"] {
            let result = IMAPResponse.esearch([Substring(line)], first: 50)
            #expect((result?.uids.count ?? 0) <= 50, "\(line)")
        }
    }

    @Test("FETCH: UID, RFC822.SIZE and INTERNALDATE", arguments: hostile)
    func fetch(_ value: String) {
        let lines: [Substring] = [
            "* 1 FETCH (UID \(value) RFC822.SIZE \(value) INTERNALDATE \"21-Nov-2026 08:11:36 +0300\" FLAGS (\\Seen))",
            "* 2 FETCH (UID 7 RFC822.SIZE 10 INTERNALDATE \"\(value)-Nov-\(value) \(value):\(value):\(value) +\(value)\")",
            "* 3 FETCH (UID 8 INTERNALDATE \"21-Nov-\(value) 08:11:36 +0300\")",
            "* 4 FETCH (UID 9 INTERNALDATE \"21-Nov-2026 \(value):11:36 -\(value)\")",
        ]
        let items = IMAPResponse.fetchItems(lines)
        for item in items.values {
            if let date = item.internalDate {
                #expect(date.date.timeIntervalSince1970.isFinite)
                #expect(abs(date.offset) < 100 * 3600)
            }
        }
        for text in ["21-Nov-\(value) 08:11:36 +0300", "\(value)-Nov-2026 08:11:36 +0300", "21-Nov-2026 08:\(value):36 +0300",
                     "21-Nov-2026 08:11:36 +\(value)"] {
            if let parsed = IMAPResponse.internalDate(Substring(text)) {
                #expect(parsed.date.timeIntervalSince1970.isFinite, "\(text)")
            }
        }
    }
}
