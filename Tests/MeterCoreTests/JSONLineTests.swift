import Foundation
import Testing
@testable import MeterCore

/// The outcome line's string writer: whatever the text, the line reads back as the same text,
/// and none of the characters it must escape appears raw.
@Suite struct JSONLineTests {
    static let awkward: [Unicode.Scalar] = [
        "\0", "\u{01}", "\t", "\n", "\r", "\u{1F}", "\"", "\\", "/", "\u{7F}", "\u{80}", "\u{85}", "\u{9F}", "\u{A0}",
        "«", "»", "—", "\u{2027}", "\u{2028}", "\u{2029}", "\u{202A}", "\u{FEFF}", "\u{FEFE}", "\u{FFFD}", "я", "€",
        "😀", "a", "7", " ",
    ]

    static let mustEscape: Set<UInt32> = Set((0..<0x20).map { UInt32($0) } + [0x22, 0x5C] + (0x7F...0x9F).map { UInt32($0) } + [0x2028, 0x2029, 0xFEFF])

    @Test func everyTextReadsBackAndNothingInvisibleIsRaw() throws {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<3_000 {
            let length = round < 30 ? round : Int.random(in: 0...24, using: &generator)
            var text = ""
            for _ in 0..<length { text.unicodeScalars.append(Self.awkward.randomElement(using: &generator)!) }
            var json = JSONLine()
            json.open()
            json.key("t")
            json.string(text)
            json.close()
            let line = json.text
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String], "\(line)")
            #expect(object["t"] == text, "\(line)")
            #expect(!line.unicodeScalars.contains { Self.mustEscape.contains($0.value) && $0 != "\"" && $0 != "\\" }, "\(line)")
        }
    }

    @Test func escapesAsBefore() {
        var json = JSONLine()
        json.string("a\"b\\c\nd\re\tf\u{01}g\u{7F}h\u{85}i\u{2028}j\u{2029}k\u{FEFF}l «я» — €")
        #expect(json.text == #""a\"b\\c\nd\re\tf\u0001g\u007fh\u0085i\u2028j\u2029k\ufeffl «я» — €""#)
    }
}
