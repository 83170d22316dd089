import Testing
@testable import MailMessage

/// The e-mail cases p060–p076 of the public corpus (`raw` copied verbatim into Fixtures/pNNN.eml).
struct PublicCorpusTests {
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var subject: String
        var meaningful: String
        var automatic: AutomaticKind?
        var description: String { file }
    }

    static let cases: [Case] = [
        Case(file: "p060.eml", subject: "406479026293 160928", meaningful: "", automatic: nil),
        Case(file: "p062.eml", subject: "Re: 706569181829 58886", meaningful: "", automatic: nil),
        Case(file: "p063.eml", subject: "", meaningful: "885987293 14004", automatic: nil),
        Case(file: "p064.eml", subject: "Показания", meaningful: "УИН 0054034\nПоказания: 22452 10658", automatic: nil),
        Case(file: "p065.eml", subject: "Re: Показания приняты", meaningful: "3796653 13211", automatic: nil),
        Case(file: "p066.eml", subject: "Показания", meaningful: "902936481179 23925 15061", automatic: nil),
        Case(file: "p067.eml", subject: "1355758 24737 13251", meaningful: "", automatic: nil),
        Case(file: "p068.eml", subject: "Показания счетчика", meaningful: "Добрый день!\nУИН 4827952\nПоказания: 65096", automatic: nil),
        Case(file: "p069.eml", subject: "Показания", meaningful: "0094786 11488 5314", automatic: nil),
        Case(file: "p070.eml", subject: "Показания", meaningful: "985284685835 17816\nФото счетчика во вложении.", automatic: nil),
        Case(file: "p071.eml", subject: "Показания", meaningful: "Добрый день!\nУИН 728504881\nдень 24588\nночь 15958", automatic: nil),
        Case(file: "p072.eml", subject: "Показания 666564965 8973", meaningful: "Спасибо.", automatic: nil),
        Case(file: "p073.eml", subject: "Показания по счету 048172052", meaningful: "Показания: 373242\nСпасибо", automatic: nil),
        Case(file: "p074.eml", subject: "Автоответ: 913244023 120734",
             meaningful: "Здравствуйте! Я в отпуске до 30.11.2026 и отвечу после возвращения.", automatic: .autoReplied),
        Case(file: "p075.eml", subject: "Напоминание: передайте показания до 25 числа",
             meaningful: "Уважаемые жильцы!\nНапоминаем, что показания нужно передать до 25 числа.\nПример сообщения: 6494181 213646", automatic: .bulk),
        Case(file: "p076.eml", subject: "Undelivered Mail Returned to Sender", meaningful: "", automatic: .bounce),
    ]

    @Test(arguments: cases)
    func subjectTextAndAutomatic(_ c: Case) {
        let m = Fixture.message(c.file)
        #expect(m.subject == c.subject)
        if c.file != "p076.eml" { #expect(m.meaningfulText == c.meaningful) }
        #expect(m.automatic == c.automatic)
        #expect(m.defects.isEmpty, "\(m.defects)")
    }

    @Test func p060FromDisplayNameAndIDs() {
        let m = Fixture.message("p060.eml")
        #expect(m.from == MailAddress(address: "egorov.76@example.com", displayName: "Татьяна Федорова"))
        #expect(m.messageID == "<20261120085643.00001@example.com>")
        #expect(m.returnPath == "egorov.76@example.com")
        #expect(m.bodyText == "")
    }

    @Test func p062ReplyPrefixStripped() {
        #expect(ReplySubject.stripPrefixes(Fixture.message("p062.eml").subject) == "706569181829 58886")
    }

    @Test func p066SignatureAndPhoneRemoved() {
        let m = Fixture.message("p066.eml")
        #expect(m.bodyText.contains("+7 903 555-12-34"))
        #expect(!m.meaningfulText.contains("903"))
        #expect(!m.meaningfulText.contains("Петров"))
    }

    @Test func p065QuoteRemoved() {
        let m = Fixture.message("p065.eml")
        #expect(m.bodyText.contains("20.10.2026 10:15, Показания <readings@example.test> пишет:"))
        #expect(!m.meaningfulText.contains("12723"))
    }

    @Test func p069PrefersPlainInAlternative() {
        let m = Fixture.message("p069.eml")
        #expect(m.partCount == 3)
        #expect(!m.bodyText.contains("<div"))
    }

    @Test func p070AttachmentIsNotText() {
        let m = Fixture.message("p070.eml")
        #expect(m.root.children.count == 2)
        #expect(m.root.children[1].filename == "IMG_20261120_093015.jpg")
        #expect(m.root.children[1].isAttachment)
        #expect(!m.bodyText.contains("/9j/"))
    }

    @Test func p071Cp1251Base64() {
        let m = Fixture.message("p071.eml")
        #expect(m.bodyText == "Добрый день!\nУИН 728504881\nдень 24588\nночь 15958\n")
    }

    @Test func p076BounceSkipsForwardedOriginal() {
        let m = Fixture.message("p076.eml")
        #expect(m.from?.localPart == "MAILER-DAEMON")
        #expect(m.from?.address == "MAILER-DAEMON@mx.example.ru")
        #expect(m.returnPath == "")
        #expect(m.partCount == 5)   // report, text, delivery-status, rfc822, its text
        #expect(m.bodyText.contains("User unknown"))
        #expect(!m.bodyText.contains("1877936"))
        #expect(!m.bodyText.contains("40384"))
    }
}
