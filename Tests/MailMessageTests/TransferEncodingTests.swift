import Testing
@testable import MailMessage

struct TransferEncodingTests {
    func qp(_ s: String) -> (String, [MailDefect]) {
        var d: [MailDefect] = []
        let out = QuotedPrintable.decode(Array(s.utf8)[...], defects: &d)
        return (String(decoding: out, as: UTF8.self), d)
    }

    @Test(arguments: [
        ("abc=\r\ndef", "abcdef"),                 // soft break CRLF
        ("abc=\ndef", "abcdef"),                   // soft break LF
        ("abc=  \r\ndef", "abcdef"),               // soft break with trailing blanks
        ("=d0=9f", "П"),                           // lower-case hex
        ("=D0=9F", "П"),
        ("a  \r\nb", "a\r\nb"),                    // trailing transport padding removed
        ("a=20\r\nb", "a \r\nb"),                  // encoded trailing space kept
        ("--=20\nx", "-- \nx"),
        ("end=", "end"),
    ])
    func quotedPrintable(_ input: String, _ expected: String) {
        let (out, defects) = qp(input)
        #expect(out == expected)
        #expect(defects.isEmpty)
    }

    @Test(arguments: ["100=%", "a=zz", "=4", "x=\u{7F}y", "= "])
    func invalidQuotedPrintableKeptLiterally(_ input: String) {
        let (out, defects) = qp(input)
        #expect(out.contains("=") || input == "= ")
        if input != "= " { #expect(defects == [.badQuotedPrintable]) }
    }

    func b64(_ s: String) -> ([UInt8], [MailDefect]) {
        var d: [MailDefect]? = []
        let out = Base64.decode(Array(s.utf8)[...], defects: &d)
        return (out, d ?? [])
    }

    @Test(arguments: [
        ("0J/QvtC60LDQt9Cw0L3QuNGP", "Показания"),
        ("0J/Qv\r\ntC60L\r\nDQt9Cw0L3QuNGP", "Показания"),          // line breaks
        ("SGk=", "Hi"), ("SGk", "Hi"), ("SA", "H"), ("SA==", "H"),     // padding optional
        ("  S G k = ", "Hi"),
        ("", ""),
    ])
    func base64(_ input: String, _ expected: String) {
        let (out, defects) = b64(input)
        #expect(String(decoding: out, as: UTF8.self) == expected)
        #expect(defects.isEmpty)
    }

    @Test func base64GarbageIgnoredAndReported() {
        let (out, defects) = b64("SG!!k*=")
        #expect(String(decoding: out, as: UTF8.self) == "Hi")
        #expect(defects == [.badBase64])
        let (_, d2) = b64("SGkhS")    // dangling sextet
        #expect(d2 == [.badBase64])
    }

    @Test func base64RoundTrip() {
        for n in 0..<20 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let (out, _) = b64(Base64.encode(bytes))
            #expect(out == bytes)
        }
    }

    @Test func qpEncodeLinesAtMost76() {
        let text = String(repeating: "Показания приняты: 12345. ", count: 10) + "\nend \n=x"
        let encoded = QuotedPrintable.encode(text)
        let lines = String(decoding: encoded, as: UTF8.self).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.utf8.count <= 76 })
        var d: [MailDefect] = []
        #expect(String(decoding: QuotedPrintable.decode(encoded[...], defects: &d), as: UTF8.self) == text.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(d.isEmpty)
    }

    @Test func sevenBitEightBitBinaryAndUnknown() {
        for cte in ["7bit", "8bit", "binary", "7BIT"] {
            let m = mail("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: \(cte)\n\nПривет =D0")
            #expect(m.bodyText == "Привет =D0")
            #expect(m.defects.isEmpty)
        }
        let m = mail("Content-Transfer-Encoding: x-uuencode\n\nbegin 644")
        #expect(m.bodyText == "begin 644")
        #expect(m.defects == [.unknownTransferEncoding("x-uuencode")])
    }
}

struct FormatFlowedTests {
    @Test func flowedLinesAreJoined() {
        let m = mail("Content-Type: text/plain; charset=utf-8; format=flowed\n\nДобрый день, УИН \n1234567, показания \n12345.\n\n-- \nИван")
        #expect(m.bodyText == "Добрый день, УИН 1234567, показания 12345.\n\n-- \nИван")
        #expect(m.meaningfulText == "Добрый день, УИН 1234567, показания 12345.")
    }

    @Test func delSpAndStuffing() {
        #expect(FormatFlowed.unflow("abc \ndef\n From here\n> quoted \nx", delSp: true) == "abcdef\nFrom here\n> quoted \nx")
        #expect(FormatFlowed.unflow("a \nb", delSp: false) == "a b")
    }

    @Test func notFlowedUnlessDeclared() {
        #expect(mail("Content-Type: text/plain\n\na \nb").bodyText == "a \nb")
    }
}
