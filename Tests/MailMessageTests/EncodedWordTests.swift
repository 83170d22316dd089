import Testing
@testable import MailMessage

struct EncodedWordTests {
    @Test(arguments: [
        ("=?utf-8?B?0J/QvtC60LDQt9Cw0L3QuNGPIDY2Ng==?=", "Показания 666"),
        ("=?UTF-8?b?0J/QvtC60LDQt9Cw0L3QuNGPIDY2Ng?=", "Показания 666"),              // no padding, lower-case b
        ("=?koi8-r?Q?=F0=CF=CB=C1=DA=C1=CE=C9=D1_666564965_8973?=", "Показания 666564965 8973"),
        ("=?windows-1251?q?=cf=ee=ea=e0=e7=e0=ed=e8=ff?=", "Показания"),               // lower-case hex
        ("=?cp1251?B?z+7q4Ofg7ej/?=", "Показания"),
        ("=?win-1251?B?z+7q4Ofg7ej/?=", "Показания"),
        ("=?koi8r?Q?=F0=CF=CB=C1=DA=C1=CE=C9=D1?=", "Показания"),
        ("=?utf-8*ru?Q?=D0=9F?=", "П"),                                                 // RFC 2231 language
        ("Re: =?utf-8?B?0J/QvtC60LDQt9Cw0L3QuNGP?= 123", "Re: Показания 123"),
        ("=?utf-8?Q?a?= =?utf-8?Q?b?=", "ab"),                                         // whitespace between words dropped
        ("=?utf-8?Q?a?=\r\n\t=?utf-8?Q?b?=", "ab"),
        ("=?utf-8?Q?a?= b =?utf-8?Q?c?=", "a b c"),                                      // text between words kept
        ("=?utf-8?Q?=D0=9F?==?utf-8?Q?=D0=BE?=", "По"),                                   // glued words
        ("=?utf-8?B?0J/QvtA=?= =?utf-8?B?utCw0LfQsNC90LjRjw==?=", "Показания"),        // character split across words
        ("=?utf-8?Q?=D0?= =?utf-8?Q?=9F?=", "П"),
        ("=?utf-8?Q?unterminated", "=?utf-8?Q?unterminated"),
        ("=?utf-8?X?bad_encoding?=", "=?utf-8?X?bad_encoding?="),
        ("=?utf-8?Q?has space?=", "=?utf-8?Q?has space?="),
        ("=??Q?nocharset?=", "=??Q?nocharset?="),
        ("plain = ? text ?=", "plain = ? text ?="),
        ("=?utf-8?B??=", ""),
        ("a=?utf-8?Q?b?=c", "abc"),
    ])
    func decodes(_ input: String, _ expected: String) {
        #expect(EncodedWord.decode(input) == expected)
    }

    @Test func unknownCharsetWordIsGuessedWithDefect() {
        var defects: [MailDefect] = []
        #expect(EncodedWord.decode("=?x-unknown?B?0J8=?=", defects: &defects) == "П")
        #expect(defects == [.unknownCharset("x-unknown")])
    }

    @Test func differentCharsetsAreNotJoined() {
        #expect(EncodedWord.decode("=?koi8-r?Q?=F0?= =?cp1251?Q?=EE?=") == "По")
    }

    @Test func encodedWordInQuotedDisplayName() {
        let m = mail("From: \"=?utf-8?B?0JjQstCw0L0=?= Petrov\" <Ivan@Example.COM>\n\n")
        #expect(m.from == MailAddress(address: "Ivan@example.com", displayName: "Иван Petrov"))
    }

    @Test func subjectFoldedAcrossEncodedWords() {
        let m = mail(crlf("Subject: =?utf-8?B?0J/QvtC6?=\n =?utf-8?B?0LDQt9Cw0L3QuNGP?=\nFrom: a@b.c\n\nx"))
        #expect(m.subject == "Показания")
        #expect(m.headers.first?.value == "=?utf-8?B?0J/QvtC6?= =?utf-8?B?0LDQt9Cw0L3QuNGP?=")
    }

    @Test func encodeWordsRoundTripAndLength() {
        let text = String(repeating: "Показания приняты, спасибо! ", count: 5)
        let words = EncodedWord.encodeWords(text)
        #expect(words.allSatisfy { $0.utf8.count <= 75 })
        #expect(EncodedWord.decode(words.joined(separator: "\r\n ")) == text)
    }
}
