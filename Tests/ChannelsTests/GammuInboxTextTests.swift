import Foundation
import Testing
@testable import Channels

@Suite("Gammu inbox text")
struct GammuInboxTextTests {
    let text = "123456 7890,5 Привет"

    @Test func unicodeBigEndianWithBOM() {
        // What SMSD writes with InboxFormat = unicode: FE FF then UTF-16BE.
        var bytes: [UInt8] = [0xFE, 0xFF]
        for unit in text.utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        #expect(GammuInboxText.decode(bytes) == text)
    }

    @Test func unicodeLittleEndianWithBOM() {
        var bytes: [UInt8] = [0xFF, 0xFE]
        for unit in text.utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        #expect(GammuInboxText.decode(bytes) == text)
    }

    @Test func surrogatePairsAndOddBytes() {
        var bytes: [UInt8] = [0xFE, 0xFF]
        for unit in "1 😀".utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        #expect(GammuInboxText.decode(bytes) == "1 😀")
        #expect(GammuInboxText.decode(bytes + [0x41]) == "1 😀\u{FFFD}")
    }

    @Test func gammu142NulPaddingIsCut() {
        // gammu-smsd 1.42 writes strlen(UTF-8 text) * 2 bytes: "Привет" (12 UTF-8 bytes)
        // comes as 6 characters and 6 U+0000.
        var bytes: [UInt8] = [0xFE, 0xFF]
        for unit in "Привет".utf16 { bytes += [UInt8(unit >> 8), UInt8(unit & 0xFF)] }
        bytes += [UInt8](repeating: 0, count: 10) + [0x04, 0x1F]
        #expect(GammuInboxText.decode(bytes) == "Привет")
    }

    @Test func standardUTF8() {
        #expect(GammuInboxText.decode(Array(text.utf8)) == text)
        #expect(GammuInboxText.decode([0xEF, 0xBB, 0xBF] + Array(text.utf8)) == text)
    }

    @Test func standardCP1251() {
        // "Привет 123" in Windows-1251: not valid UTF-8.
        let bytes: [UInt8] = [0xCF, 0xF0, 0xE8, 0xE2, 0xE5, 0xF2, 0x20, 0x31, 0x32, 0x33, 0x20, 0xA8, 0xB8]
        #expect(GammuInboxText.decode(bytes) == "Привет 123 Ёё")
    }
}
