import Testing
@testable import MailMessage

/// Messages from CPython's `Lib/test/test_email/data` (PSF licence, see Fixtures/README.md).
/// Each test names the CPython test that uses the file and checks specific facts.
struct CPythonCorpusTests {
    /// Top-level facts: file, decoded subject, entity count, text that must appear in meaningfulText.
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var subject: String
        var parts: Int
        var text: String
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "msg_01", subject: "This is a test message", parts: 1, text: "Do you like this message?"),
        Case(file: "msg_02", subject: "Ppp digest, Vol 1 #2 - 5 msgs", parts: 15, text: "Send Ppp mailing list submissions to"),
        Case(file: "msg_03", subject: "This is a test message", parts: 1, text: "Do you like this message?"),   // no Content-Type
        Case(file: "msg_13", subject: "Here is your dingus fish", parts: 5, text: "A text/plain part"),  // nested multipart/mixed
        Case(file: "msg_14", subject: "This is a test message", parts: 1, text: "Content-Type: header with no subtype"),
        Case(file: "msg_21", subject: "Test", parts: 3, text: "One"),              // preamble and epilogue
        Case(file: "msg_22", subject: "", parts: 5, text: "Text text text."),     // funky parameter continuations
        Case(file: "msg_23", subject: "", parts: 2, text: "A message part"),      // one-part multipart
        Case(file: "msg_26", subject: "IMAP file test", parts: 3, text: "Simple email with attachment."),
        Case(file: "msg_29", subject: "This is a test message", parts: 1, text: "Do you like this message?"),
        Case(file: "msg_32", subject: "Re: Limiting Perl CPU Utilization...", parts: 1, text: "Some message."),
        Case(file: "msg_33", subject: "Re: Limiting Perl CPU Utilization...", parts: 3, text: "part 1"),  // RFC 2231 boundary
        Case(file: "msg_35", subject: "here's something interesting", parts: 1, text: "there's no separating newline here"),
        Case(file: "msg_36", subject: "I-D ACTION:draft-ietf-mboned-mix-00.txt", parts: 5, text: "Blah blah blah"),
        Case(file: "msg_41", subject: "64423", parts: 1, text: "Blah blah blah"),
        Case(file: "msg_42", subject: "", parts: 4, text: "Stuff"),
        Case(file: "msg_44", subject: "a simple multipart", parts: 3, text: "a simple kind of mirror"),
        Case(file: "msg_45", subject: "test", parts: 3, text: "This is the signed contents."),
        Case(file: "msg_47", subject: "", parts: 3, text: "bar"),
    ]

    @Test(arguments: cases)
    func facts(_ c: Case) {
        let m = Fixture.message("cpython_\(c.file).txt")
        #expect(m.subject == c.subject)
        #expect(m.partCount == c.parts)
        #expect(m.meaningfulText.contains(c.text), "\(m.meaningfulText)")
    }

    @Test func msg01_fromAndIDs() {
        let m = Fixture.message("cpython_msg_01.txt")
        #expect(m.from == MailAddress(address: "bbb@ddd.com", displayName: "John X. Doe"))
        #expect(m.header("x-mailer") != nil || m.header("message-id") != nil)
        #expect(m.automatic == nil)
    }

    @Test func msg02_digestIsList() {
        let m = Fixture.message("cpython_msg_02.txt")
        #expect(m.automatic == .list)
        // multipart/digest children default to message/rfc822.
        let digest = m.root.children.first { $0.contentType.mimeType == "multipart/digest" }
        #expect(digest != nil)
        #expect(digest?.children.allSatisfy { $0.contentType.mimeType == "message/rfc822" } == true)
        #expect(digest?.children.count == 5)
    }

    @Test func msg05_dsnIsBounce() {
        let m = Fixture.message("cpython_msg_05.txt")
        #expect(m.automatic == .bounce)
        #expect(m.root.contentType.mimeType == "multipart/report")
        #expect(m.root.contentType.parameter("report-type") == "delivery-status")
    }

    @Test func msg06_forwardedRFC822IsNotSenderText() {
        // test_message_rfc822_only-ish: the only content is a message/rfc822 part.
        let m = Fixture.message("cpython_msg_06.txt")
        #expect(m.root.contentType.mimeType == "message/rfc822")
        #expect(m.root.children.first?.header("subject") == "forwarded message from Barry A. Warsaw" || m.root.children.count == 1)
        #expect(m.bodyText == "")
    }

    @Test func msg08_emptyPartsGiveNoText() {
        let m = Fixture.message("cpython_msg_08.txt")
        #expect(m.partCount == 5)
        #expect(m.root.children.map { $0.contentType.parameter("charset") ?? "" } == ["us-ascii", "iso-8859-1", "iso-8859-2", "koi8-r"])
        #expect(m.bodyText == "")
    }

    @Test func msg12_nestedMultipartInsideMixed() {
        let m = Fixture.message("cpython_msg_12.txt")
        #expect(m.partCount == 8)
        #expect(m.root.children.contains { $0.contentType.isMultipart })
    }

    @Test func msg15_sameBoundaryInnerOuter() {
        // test_same_boundary_inner_outer: the inner multipart cannot be split.
        let m = Fixture.message("cpython_msg_15.txt")
        #expect(m.defects.contains(.boundaryNotFound))
        #expect(m.meaningfulText.contains("Some removed test."))
    }

    @Test func msg16_postmasterBounce() {
        let m = Fixture.message("cpython_msg_16.txt")
        #expect(m.automatic == .bounce)
        #expect(m.from?.address == "postmaster@ucla.edu")
    }

    @Test func msg21_preambleEpilogue() {
        let m = Fixture.message("cpython_msg_21.txt")
        #expect(String(decoding: m.root.preamble, as: UTF8.self) == "MIME message")
        #expect(String(decoding: m.root.epilogue, as: UTF8.self) == "End of MIME message\n")
        #expect(m.root.children.count == 2)
        #expect(m.bodyText == "One")
    }

    @Test func msg22_attachmentsNamed() {
        let m = Fixture.message("cpython_msg_22.txt")
        #expect(m.root.children.compactMap(\.filename) == ["wibble.JPG", "wibble2.JPG"])
        #expect(m.root.children[1].contentType.parameter("x-mac-type") == "4A504547")
    }

    @Test func msg24_multipartWithNoParts() {
        let m = Fixture.message("cpython_msg_24.txt")
        #expect(m.subject == "A subject")
        #expect(m.root.children.isEmpty || m.bodyText.isEmpty)
        #expect(m.meaningfulText == "")
    }

    @Test func msg25_multipartWithoutBoundary() {
        // test_multipart_no_boundary: the boundary parameter is cut off ("bo").
        let m = Fixture.message("cpython_msg_25.txt")
        #expect(m.defects.contains(.missingBoundary))
        #expect(m.automatic == .bounce)
        #expect(m.bodyText.contains("The original message was received at"))
    }

    @Test func msg28_digestOfRFC822() {
        let m = Fixture.message("cpython_msg_28.txt")
        #expect(m.root.children.count == 2)
        #expect(m.root.children.allSatisfy { $0.contentType.mimeType == "message/rfc822" })
        #expect(m.bodyText == "")   // forwarded messages are not the sender's text
    }

    @Test func msg29_rfc2231Continuations() {
        let m = Fixture.message("cpython_msg_29.txt")
        #expect(m.root.contentType.parameter("title") == "This is even more ***fun*** isn't it!")
    }

    @Test func msg31_wrongBoundaryWholeBodyAsText() {
        // test_no_start_boundary: boundary is BOUNDARY_ but the body uses BOUNDARY.
        let m = Fixture.message("cpython_msg_31.txt")
        #expect(m.defects.contains(.boundaryNotFound))
        #expect(m.bodyText.contains("message 1"))
        #expect(m.bodyText.contains("message 2"))
    }

    @Test func msg32_rfc2231CharsetParameter() {
        let m = Fixture.message("cpython_msg_32.txt")
        #expect(m.root.contentType.parameter("charset") == "us-ascii")
        #expect(m.automatic == .bulk)
    }

    @Test func msg33_rfc2231QuotedBoundary() {
        let m = Fixture.message("cpython_msg_33.txt")
        #expect(m.root.contentType.parameter("boundary") == "EeQfGwPcQSOJBaQU")
        #expect(m.root.contentType.parameter("protocol") == "application/pgp-signature")
        #expect(m.root.children.count == 2)
    }

    @Test func msg35_noSeparatingBlankLine() {
        let m = Fixture.message("cpython_msg_35.txt")
        #expect(m.defects.contains(.missingHeaderBodySeparator))
        #expect(m.subject == "here's something interesting")
    }

    @Test func msg36_externalBody() {
        let m = Fixture.message("cpython_msg_36.txt")
        let alt = m.root.children.first { $0.contentType.isMultipart }
        #expect(alt?.children.count == 2)
        #expect(alt?.children.allSatisfy { $0.contentType.mimeType == "message/external-body" } == true)
    }

    @Test func msg37_doubleBoundary() {
        // test_double_boundary: repeated delimiters give no empty parts.
        let m = Fixture.message("cpython_msg_37.txt")
        #expect(m.root.children.count == 3)
        #expect(m.root.children.map(\.contentType.mimeType) == ["text/x-one", "text/x-two", "text/x-two"])
    }

    @Test func msg38_innerContainsOuterBoundary() {
        let m = Fixture.message("cpython_msg_38.txt")
        #expect(m.meaningfulText.contains("Unlike the test test_nested-multiples-with-internal-boundary"))
        #expect(m.defects.contains(.missingCloseDelimiter))
        #expect(m.partCount >= 5)
    }

    @Test func msg39_sameBoundaryNested() {
        let m = Fixture.message("cpython_msg_39.txt")
        #expect(m.defects.contains(.boundaryNotFound))
        #expect(m.partCount == 6)
    }

    @Test func msg40_boundaryOnNonMultipartIgnored() {
        let m = Fixture.message("cpython_msg_40.txt")
        #expect(m.partCount == 1)
        #expect(m.root.contentType.mimeType == "text/html")
        #expect(m.bodyText.contains("----961284236552522269"))
    }

    @Test func msg41_lyingMultipart() {
        // test_lying_multipart: multipart/alternative without boundary.
        let m = Fixture.message("cpython_msg_41.txt")
        #expect(m.defects == [.missingBoundary])
        #expect(m.from?.displayName == "Allison Dunlap")
    }

    @Test func msg42_missingStartBoundaryInsideRFC822() {
        let m = Fixture.message("cpython_msg_42.txt")
        let inner = m.root.children[1]
        #expect(inner.contentType.mimeType == "message/rfc822")
        #expect(inner.children.first?.contentType.mimeType == "multipart/mixed")
        #expect(inner.children.first?.children.isEmpty == true)   // only "--BBB--": no parts
        #expect(m.defects.contains(.boundaryNotFound))
        #expect(m.bodyText == "Stuff\n")
    }

    @Test func msg43_mailerDaemonWithEmptyAddress() {
        let m = Fixture.message("cpython_msg_43.txt")
        #expect(m.automatic == .bounce)
        #expect(m.from?.displayName == "MAILER DAEMON")
        #expect(m.from?.address == "")
    }

    @Test func msg44_filenameFromNameParameterAndCommentName() {
        let m = Fixture.message("cpython_msg_44.txt")
        #expect(m.root.children.map(\.filename) == ["msg.txt", "msg.txt"])
        #expect(m.from == MailAddress(address: "barry@python.org", displayName: "Barry A. Warsaw"))
        #expect(m.messageID == "<15261.36209.358846.118674@anthem.python.org>")
    }

    @Test func msg46_rfc822Forward() {
        let m = Fixture.message("cpython_msg_46.txt")
        #expect(m.root.contentType.mimeType == "message/rfc822")
        #expect(m.partCount == 2)
        #expect(m.bodyText == "")
    }

    @Test func msg47_partHeaderWithoutBlankLine() {
        let m = Fixture.message("cpython_msg_47.txt")
        #expect(m.defects.contains(.missingHeaderBodySeparator))
        #expect(m.bodyText == "bar\n")
    }
}
