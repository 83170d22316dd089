import Testing
@testable import MailMessage

struct HeaderAndAutomaticTests {
    @Test func unfoldingWithLFAndTabs() {
        let m = mail("Subject: one\n\ttwo\n  three\nX-Empty:\nx-multi: 1\nX-Multi: 2\n\nbody")
        #expect(m.subject == "one\ttwo  three")
        #expect(m.header("SUBJECT") == "one\ttwo  three")
        #expect(m.header("x-empty") == "")
        #expect(m.headers("x-MULTI") == ["1", "2"])
        #expect(m.header("missing") == nil)
        #expect(m.headers.map(\.name) == ["Subject", "X-Empty", "x-multi", "X-Multi"])
    }

    @Test func mboxFromLineAndFirstLineContinuation() {
        let m = mail("From someone@example.com Fri Nov 20 09:00:00 2026\nSubject: s\n\nb")
        #expect(m.subject == "s")
        let c = mail(" Line 1\nSubject: test\n\nbody")
        #expect(c.subject == "test")
        #expect(c.defects.contains(.firstHeaderLineIsContinuation))
    }

    @Test func addresses() {
        #expect(MailAddress.parse("Ivan <Ivan.Petrov@Mail.RU>") == MailAddress(address: "Ivan.Petrov@mail.ru", displayName: "Ivan"))
        #expect(MailAddress.parse("\"Petrov, Ivan\" <i@x.ru>, other@y.ru") == MailAddress(address: "i@x.ru", displayName: "Petrov, Ivan"))
        #expect(MailAddress.parse("i@X.RU (Иван)") == MailAddress(address: "i@x.ru", displayName: "Иван"))
        #expect(MailAddress.parse("i@x.ru") == MailAddress(address: "i@x.ru", displayName: nil))
        #expect(MailAddress.parse("undisclosed-recipients:;") == nil)
        #expect(MailAddress.parse("") == nil)
        #expect(MailAddress.parse("=?koi8-r?B?8M/LwdrBzsnR?= <r@x.ru>")?.displayName == "Показания")
    }

    @Test func idsAndReturnPath() {
        let m = mail("""
        Return-Path: <bounce@example.com>
        Reply-To: Help <help@Example.com>
        Message-ID:  <abc@x>
        References: <1@x>
         <2@x> <3@x>
        In-Reply-To: <3@x> <4@x>

        b
        """)
        #expect(m.returnPath == "bounce@example.com")
        #expect(m.replyTo == MailAddress(address: "help@example.com", displayName: "Help"))
        #expect(m.messageID == "<abc@x>")
        #expect(m.references == ["<1@x>", "<2@x>", "<3@x>", "<4@x>"])
        #expect(mail("Subject: x\n\n").returnPath == nil)
        #expect(mail("Return-Path: <>\n\n").returnPath == "")
    }

    @Test(arguments: [
        ("Auto-Submitted: auto-replied", AutomaticKind?.some(.autoReplied)),
        ("Auto-Submitted: auto-generated", .autoReplied),
        ("Auto-Submitted: No", nil),
        ("Auto-Submitted: no (human)", nil),
        ("Auto-Submitted: auto-notified", .autoReplied),
        ("X-Autoreply: yes", .autoReplied),
        ("X-Autorespond: yes", .autoReplied),
        ("X-Auto-Response-Suppress: All", .autoReplied),
        ("X-Auto-Response-Suppress: OOF, AutoReply", .autoReplied),
        ("Precedence: bulk", .bulk),
        ("Precedence: junk", .bulk),
        ("Precedence: list", .list),
        ("List-Id: <news.example.com>", .list),
        ("List-Unsubscribe: <mailto:u@example.com>", .list),
        ("List-Post: <mailto:l@example.com>", .list),
        ("Return-Path: <>", .bounce),
        ("From: MAILER-DAEMON@mx.example.com", .bounce),
        ("From: Mail System <Postmaster@example.com>", .bounce),
        ("Content-Type: multipart/report; report-type=delivery-status; boundary=x", .bounce),
        ("From: owner-list@example.com", .list),
        ("From: list-request@example.com", .list),
        ("X-Mailer: Outlook", nil),
        // iCloud's vacation responder sends no Auto-Submitted header.
        ("X-Apple-Action: VACATION", .autoReplied),
        ("X-Loop: vacation@example.com", .autoReplied),
        ("X-Mailer: Vacation 1.2", .autoReplied),
        // Auto-reply subjects in the languages of common responders.
        ("Subject: Auto reply: Показания", .autoReplied),
        ("Subject: Automatic reply: Readings", .autoReplied),
        ("Subject: Автоответ: Re: Показания", .autoReplied),
        ("Subject: =?UTF-8?B?0JDQstGC0L7QvtGC0LLQtdGCOiDQn9C+0LrQsNC30LDQvdC40Y8=?=", .autoReplied),
        ("Subject: Out of Office: 1234567 12345", .autoReplied),
        ("Subject: Abwesenheitsnotiz: Zähler", .autoReplied),
        ("Subject: Réponse automatique : Relevé", .autoReplied),
        ("Subject: Risposta automatica: Lettura", .autoReplied),
        ("Subject: Odpowiedź automatyczna: Odczyt", .autoReplied),
        ("Subject: RE: Auto-Reply: x", .autoReplied),
        // A person's subjects.
        ("Subject: Re: Показания 1234567 12345", nil),
        ("Subject: Показания за ноябрь", nil),
    ])
    func automatic(_ header: String, _ expected: AutomaticKind?) {
        #expect(mail(header + "\n\nbody").automatic == expected)
    }

    @Test func contentTypeParameters() {
        let ct = ContentType.parse("Text/HTML; CHARSET=\"KOI8-R\"; Format=flowed; name*0*=utf-8''%D0%9F; name*1*=%D0%BE; name*2=.txt")
        #expect(ct?.mimeType == "text/html")
        #expect(ct?.parameter("charset") == "KOI8-R")
        #expect(ct?.parameter("format") == "flowed")
        #expect(ct?.parameter("name") == "По.txt")
        #expect(ContentType.parse("text")?.mimeType == "text/plain")
        #expect(ContentType.parse("") == nil)
        #expect(ContentType.parse("multipart/mixed;boundary=abc;;junk; x = \"a\\\"b\"")?.parameters == ["boundary": "abc", "x": "a\"b"])
        #expect(ContentType.parse("image/jpeg (comment); name=a.jpg")?.parameter("name") == "a.jpg")
    }

    @Test func rfc2231FilenameInMessage() {
        let m = mail("""
        Content-Type: multipart/mixed; boundary=b

        --b
        Content-Type: text/plain

        1234567 12345
        --b
        Content-Type: application/pdf
        Content-Disposition: attachment; filename*=utf-8''%D1%81%D1%87%D0%B5%D1%82.pdf

        %PDF
        --b
        Content-Type: image/jpeg; name="=?utf-8?B?0YTQvtGC0L4=?=.jpg"

        x
        --b--
        """)
        #expect(m.root.children.map(\.filename) == [nil, "счет.pdf", "фото.jpg"])
        #expect(m.meaningfulText == "1234567 12345")
    }

    @Test func multipartEdgeCases() {
        // Missing close delimiter.
        let a = mail("Content-Type: multipart/mixed; boundary=\"b\"\n\n--b\n\n111\n--b\nContent-Type: text/html\n\n<b>x</b>")
        #expect(a.root.children.count == 2)
        #expect(a.defects == [.missingCloseDelimiter])
        #expect(a.bodyText == "111")
        // Part with no headers, parts with CRLF.
        let b = mail(crlf("Content-Type: multipart/alternative; boundary=zz\n\npre\n--zz\n\nplain 1\n--zz\nContent-Type: text/html\n\n<p>html</p>\n--zz--\nepi"))
        #expect(b.bodyText == "plain 1")
        #expect(b.defects.isEmpty)
        // Alternative with only html.
        let c = mail("Content-Type: multipart/alternative; boundary=zz\n\n--zz\nContent-Type: text/html\n\n<p>only&nbsp;html</p>\n--zz--\n")
        #expect(c.bodyText == "only html")
        // Nested: mixed > alternative > (plain, html) + attachment.
        let d = mail("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: multipart/alternative; boundary=i\n\n--i\nContent-Type: text/plain; charset=koi8-r\nContent-Transfer-Encoding: quoted-printable\n\n=F0=D2=C9=D7=C5=D4\n--i\nContent-Type: text/html\n\n<p>x</p>\n--i--\n--o\nContent-Type: text/plain\nContent-Disposition: attachment; filename=a.txt\n\nattached\n--o--\n")
        #expect(d.bodyText == "Привет")
        #expect(d.partCount == 5)
        // Forwarded message/rfc822 is skipped even when it comes first.
        let e = mail("Content-Type: multipart/mixed; boundary=o\n\n--o\nContent-Type: message/rfc822\n\nSubject: old\n\n999 999\n--o\nContent-Type: text/plain\n\nmine\n--o--\n")
        #expect(e.bodyText == "mine")
    }
}
