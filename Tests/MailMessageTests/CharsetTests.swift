import Testing
@testable import MailMessage

func hex(_ s: String) -> [UInt8] {
    var out: [UInt8] = []
    var it = s.makeIterator()
    while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16) ?? 0) }
    return out
}

struct CharsetTests {
    static let phrase = "Показания 123 ёЁ"
    static let cp1251 = "cfeeeae0e7e0ede8ff2031323320b8a8"
    static let koi8 = "f0cfcbc1dac1cec9d12031323320a3b3"

    struct Alias: Sendable, CustomStringConvertible {
        var label: String; var bytes: String; var text: String
        var description: String { label }
    }

    static let aliases: [Alias] = {
        var list: [Alias] = []
        for l in ["cp1251", "win-1251", "windows1251", "win1251", "x-cp1251", "cp-1251", "windows-1251", "Windows-1251", "CP1251", "\"cp1251\""] {
            list.append(Alias(label: l, bytes: cp1251, text: phrase))
        }
        for l in ["koi8r", "koi8", "koi-8-r", "koi8-r", "KOI8-R", "koi8_r", "x-koi8-r"] {
            list.append(Alias(label: l, bytes: koi8, text: phrase))
        }
        for l in ["koi8u", "koi8-u"] { list.append(Alias(label: l, bytes: koi8, text: phrase)) }
        let utf8 = Array(phrase.utf8).map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        for l in ["utf8", "utf-8", "UTF-8", "unicode-1-1-utf-8", "x-unicode-1-1-utf-8"] { list.append(Alias(label: l, bytes: utf8, text: phrase)) }
        for l in ["latin1", "iso8859-1", "iso-8859-1", "ISO_8859-1", "l1"] { list.append(Alias(label: l, bytes: "436166e9", text: "Café")) }
        for l in ["cp866", "ibm866", "IBM866"] { list.append(Alias(label: l, bytes: "8faeaaa0a7a0ada8ef2031323320f1f0", text: phrase)) }
        for l in ["us-ascii", "ascii", "ANSI_X3.4-1968"] { list.append(Alias(label: l, bytes: "4869", text: "Hi")) }
        list.append(Alias(label: "iso-8859-5", bytes: "bfdedad0d7d0ddd8ef2031323320f1a1", text: phrase))
        return list
    }()

    @Test(arguments: aliases)
    func aliasDecodes(_ a: Alias) {
        var defects: [MailDefect] = []
        #expect(Charset.decode(hex(a.bytes)[...], declared: a.label, defects: &defects) == a.text)
        #expect(defects.isEmpty, "\(defects)")
    }

    @Test func aliasCanonicalNames() {
        #expect(Charset.canonicalName("win-1251") == "WINDOWS-1251")
        #expect(Charset.canonicalName("x-cp1251") == "WINDOWS-1251")
        #expect(Charset.canonicalName("cp1252") == "WINDOWS-1252")
        #expect(Charset.canonicalName("utf-8*ru") == "UTF-8")
        #expect(Charset.canonicalName("UTF-8//TRANSLIT") == nil)   // never pass iconv options through
        #expect(Charset.canonicalName("") == nil)
    }

    @Test func unknownCharsetFallsBackToUTF8WithDefect() {
        var defects: [MailDefect] = []
        let s = Charset.decode(Array(Self.phrase.utf8)[...], declared: "x-foo", defects: &defects)
        #expect(s == Self.phrase)
        #expect(defects == [.unknownCharset("x-foo")])
    }

    @Test func unknownCharsetGuessesCp1251() {
        var defects: [MailDefect] = []
        let bytes = hex("c4eee1f0fbe920e4e5edfc2c20efe5f0e5e4e0fe20efeeeae0e7e0ede8ff20f1f7e5f2f7e8eae0")
        #expect(Charset.decode(bytes[...], declared: "x-foo", defects: &defects) == "Добрый день, передаю показания счетчика")
        #expect(defects == [.unknownCharset("x-foo")])
    }

    @Test func missingLabelGuessesKoi8() {
        var defects: [MailDefect] = []
        let bytes = hex("e4cfc2d2d9ca20c4c5ced82c20d0c5d2c5c4c1c020d0cfcbc1dac1cec9d120d3dec5d4dec9cbc1")
        #expect(CharsetGuess.guess(bytes[...]) == "KOI8-R")
        #expect(Charset.decode(bytes[...], declared: nil, defects: &defects) == "Добрый день, передаю показания счетчика")
        #expect(defects == [.undeclaredCharset("KOI8-R")])
    }

    @Test(arguments: [
        // KOI8-R bytes labelled windows-1251, and CP1251 bytes labelled koi8-r
        ("e4cfc2d2d9ca20c4c5ced82c20d0c5d2c5c4c1c020d0cfcbc1dac1cec9d120d3dec5d4dec9cbc1", "windows-1251"),
        ("c4eee1f0fbe920e4e5edfc2c20efe5f0e5e4e0fe20efeeeae0e7e0ede8ff20f1f7e5f2f7e8eae0", "koi8-r"),
    ])
    func swappedCyrillicLabelsAreCorrected(bytes: String, label: String) {
        var defects: [MailDefect] = []
        #expect(Charset.decode(hex(bytes)[...], declared: label, defects: &defects) == "Добрый день, передаю показания счетчика")
        #expect(defects == [.invalidBytesForCharset(label)])
    }

    @Test func aCorrectCyrillicLabelIsKept() {
        var defects: [MailDefect] = []
        let bytes = hex("c4eee1f0fbe920e4e5edfc2c20efe5f0e5e4e0fe20efeeeae0e7e0ede8ff20f1f7e5f2f7e8eae0")
        #expect(Charset.decode(bytes[...], declared: "windows-1251", defects: &defects) == "Добрый день, передаю показания счетчика")
        #expect(defects.isEmpty)
    }

    @Test func wrongLabelUTF8ButCp1251Bytes() {
        var defects: [MailDefect] = []
        let bytes = hex("c4eee1f0fbe920e4e5edfc")
        #expect(Charset.decode(bytes[...], declared: "utf-8", defects: &defects) == "Добрый день")
        #expect(defects == [.invalidBytesForCharset("utf-8")])
    }

    @Test func wrongLabelCp1251ButUTF8Bytes() {
        var defects: [MailDefect] = []
        // UTF-8 "Показания" contains 0x98 (invalid in cp1251 for iconv): the UTF-8 reading wins.
        let s = Charset.decode(Array("Показания".utf8)[...], declared: "windows-1251", defects: &defects)
        #expect(s == "Показания")
        #expect(defects == [.invalidBytesForCharset("windows-1251")])
    }

    @Test func cp1251UnassignedByteBecomesReplacement() {
        var defects: [MailDefect] = []
        let s = Charset.decode(hex("cfee98e0")[...], declared: "cp1251", defects: &defects)
        #expect(s == "По\u{FFFD}а")
        #expect(!defects.isEmpty)
    }

    @Test func truncatedUTF8InMultibyteCharset() {
        var defects: [MailDefect] = []
        let s = Charset.decode([0xD0][...], declared: "utf-8", defects: &defects)
        #expect(s.contains("\u{FFFD}") || s == "\u{FFFD}" || !s.isEmpty)
        // iconv EINVAL path: a lone lead byte of a 2-byte charset.
        let sj = Charset.decode([0x41, 0x82][...], declared: "shift_jis", defects: &defects)
        #expect(sj.hasPrefix("A"))
        #expect(sj.hasSuffix("\u{FFFD}"))
    }

    @Test func statefulCharsetIsFlushed() {
        #expect(EncodedWord.decode("=?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=") == "テスト")
    }

    @Test func lowerCasingForMarkers() {
        let bytes = ReplyStripper.lowercasedASCIIAndCyrillic(Array("ЁЛКА Ёлка ПЯ AZ".utf8)[...])
        #expect(String(decoding: bytes, as: UTF8.self) == "ёлка ёлка пя az")
    }

    @Test func largeInputLoopsOverE2BIG() {
        var defects: [MailDefect] = []
        let bytes = [UInt8](repeating: 0xEE, count: 100_000)   // "о" in cp1251, 2 bytes in UTF-8
        let s = Charset.decode(bytes[...], declared: "cp1251", defects: &defects)
        #expect(s.count == 100_000)
        #expect(s.allSatisfy { $0 == "о" })
    }

    @Test func rawCp1251Header() {
        let raw: [UInt8] = Array("Subject: ".utf8) + hex("cfeeeae0e7e0ede8ff20313233") + Array("\r\nFrom: a@b.c\r\n\r\nx".utf8)
        let m = mail(raw)
        #expect(m.subject == "Показания 123")
        #expect(m.defects.contains(.unencoded8BitHeader("WINDOWS-1251")))
    }

    @Test func rawUTF8Header() {
        let m = mail("Subject: Показания 123\nFrom: Иван <ivan@EXAMPLE.RU>\n\nx")
        #expect(m.subject == "Показания 123")
        #expect(m.from == MailAddress(address: "ivan@example.ru", displayName: "Иван"))
        #expect(m.defects.isEmpty)
    }

    @Test func concurrentDecodingIsThreadSafe() async {
        let bytes = hex(Self.koi8)
        await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    var d: [MailDefect] = []
                    return Charset.decode(bytes[...], declared: "koi8-r", defects: &d) == Self.phrase
                }
            }
            for await ok in group { #expect(ok) }
        }
    }
}
