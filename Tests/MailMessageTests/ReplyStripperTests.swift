import Testing
@testable import MailMessage

struct ReplyStripperTests {
    static let reading = "1234567 12345"

    @Test(arguments: [
        // quoted lines, any depth, leading spaces
        "> old 999\n>> older 888\n   > indented 777",
        // quote headers
        "20.10.2026 10:15, Показания <readings@example.test> пишет:\n> 999",
        "Пт, 20 нояб. 2026 г. в 10:15, Показания <readings@example.test>:\n> 999",
        "20.10.2026, 10:15 Показания написал(а):\n> 999",
        "Показания написал:\n999",
        "On Fri, Oct 20, 2026 at 10:15 AM Readings <readings@example.test> wrote:\n> 999",
        "On Fri, Oct 20, 2026 at 10:15 AM Readings <\nreadings@example.test> wrote:\n> 999",
        "-----Original Message-----\nFrom: readings\n999",
        "----- Исходное сообщение -----\nОт: readings\n999",
        "-------- Пересылаемое сообщение --------\n999",
        "---------- Forwarded message ---------\n999",
        "________________________________\nОт: Показания\nОтправлено: 20 октября 2026 г. 10:15\n999",
        "From: Readings <readings@example.test>\nSent: Friday, October 20, 2026 10:15 AM\nTo: me\nSubject: 999",
        "От: Показания <readings@example.test>\nДата: 20.10.2026\nТема: 999",
        // Outlook inside one organisation: display names, no address (issue 11)
        "From: Petrov, Ivan\nSent: Monday, November 16, 2026 4:37 PM\nTo: Readings Office\nSubject: RE: Показания\n\n1234567 999",
        "De : Petrov Ivan\nEnvoyé : lundi 16 novembre 2026 16:37\nÀ : Relevés\nObjet : RE: compteur\n\n999",
        // signatures
        "-- \nИван Петров\nтел. +7 903 555-12-34",
        "--\nИван\n8 903 555 12 34",
        "С уважением,\nИван Петров\n+7 903 555-12-34",
        // mobile footers
        "Отправлено с iPhone",
        "Отправлено из мобильной Почты Mail.ru",
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Отправлено с моего Samsung Galaxy",
        "Get Outlook for Android",
        "Яндекс.Почта для мобильных: http://m.ya.ru/ymail",
        "Отправлено из мобильной Яндекс Почты",
        "Отправлено с моего Huawei",
    ])
    func removes(_ tail: String) {
        let text = "\n\n" + Self.reading + "  \n\n" + tail + "\n"
        let out = ReplyStripper.meaningfulText(text)
        #expect(out == Self.reading)
        #expect(!out.contains("999"))
        #expect(!out.contains("903"))
    }

    @Test func interleavedReplyKeepsOwnLines() {
        let text = "> Ваш УИН?\n1234567\n> Показания?\n12345"
        #expect(ReplyStripper.meaningfulText(text) == "1234567\n12345")
    }

    @Test func crlfAndBlankLines() {
        #expect(ReplyStripper.meaningfulText("\r\n\r\n  a  \r\n\r\n\r\nb\r\n\r\n") == "a\n\n\nb")
    }

    /// "Label: value" lines of the abonent's own, with a date but no address: not an earlier
    /// mail's headers when a value holds a UIN or a reading.
    @Test func ownLabelLinesWithReadingsAreKept() {
        let text = "Абонент: Иван Петров\nДата: 20.11.2026\nУИН: 1234567\nПоказания: 12345"
        #expect(ReplyStripper.meaningfulText(text) == text)
    }

    @Test func signOffWithDigitsIsKept() {
        #expect(ReplyStripper.meaningfulText("С уважением 1234567 12345") == "С уважением 1234567 12345")
    }

    @Test func plainTextHelper() {
        #expect(MailText.meaningfulText(ofPlainBody: "1 2\n-- \nsig") == "1 2")
    }

    @Test(arguments: [
        ("Re: Fwd: RE[2]: Отв: Ответ: FW: Пересл: AW: WG: SV: TR: 1234567 12345", "1234567 12345"),
        ("re:1234567", "1234567"),
        ("RE: RE: Re(3): Re^2: x", "x"),
        ("Fwd:  Показания", "Показания"),
        ("Ответ：тест", "тест"),
        ("Reading 1234567", "Reading 1234567"),
        ("Re 1234567", "Re 1234567"),
        ("Показания: 1234567", "Показания: 1234567"),
        ("", ""),
    ])
    func subjectPrefixes(_ s: String, _ expected: String) {
        #expect(ReplySubject.stripPrefixes(s) == expected)
    }
}
