import Testing
@testable import MailMessage

/// Replies and forwards in the formats real mail clients write, re-created in our own words
/// (our readings, names and addresses) from the public test suites of reply-extraction
/// libraries. Each case cites the fixture whose *format* it copies:
///
/// - crisp-oss/email-reply-parser `test/fixtures/` (MIT), commit 0b3704c: `email_zoho.txt`,
///   `email_italian.txt`, `email_french_2.txt`, `email_russian.txt`, `email_portuguese.txt`,
///   `email_finnish.txt`, `email_fr_multiline.txt`, `email_en_multiline_2.txt`,
///   `email_gmail_split_line_from.txt`, `email_outlook_split_line_from.txt`,
///   `email_german_outlook.txt`, `email_ios_outlook_fr.txt`, `email_danish_dash_separator.txt`,
///   `email_msn.txt`;
/// - mailgun/talon `tests/fixtures/html_replies/` (Apache-2.0), commit 71d9b6e: `gmail.html`,
///   `thunderbird.html`, `yandex_ru.html`, `mail_ru.html`, `hotmail.html`, `ms_outlook_2010.html`.
///
/// In every case the sender's new text holds `1234567 12345`; the quoted or forwarded mail holds
/// other readings (`99871`, `7654321`) that must never reach the parser.
struct RealClientQuoteTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var client: String
        var source: String
        /// A whole RFC 5322 message (LF line ends; CRLF is tested elsewhere).
        var raw: String
        var testDescription: String { client }
    }

    static let new = "Добрый день! УИН 1234567 показания 12345"

    static func plain(_ body: String, subject: String = "Re: Показания") -> String {
        "From: Иван <ivan@example.ru>\nTo: readings@example.test\nSubject: \(subject)\nContent-Type: text/plain; charset=utf-8\n\n\(body)\n"
    }

    static func html(_ body: String, subject: String = "Re: Показания") -> String {
        "From: Иван <ivan@example.ru>\nTo: readings@example.test\nSubject: \(subject)\nContent-Type: text/html; charset=utf-8\n\n\(body)\n"
    }

    static let cases: [Case] = [
        // Gmail (web, English UI): attribution wrapped inside the address, '>' quote.
        Case(client: "Gmail en, attribution wrapped inside the address", source: "crisp email_gmail_split_line_from.txt",
             raw: plain("\(new)\n\nOn Mon, Nov 16, 2026 at 4:37 PM Readings Office <\nreadings-office@example.test> wrote:\n\n> УИН 7654321 показания 99871\n>")),
        // Gmail (web, Russian UI): no verb, only "дата, имя <адрес>:".
        Case(client: "Gmail ru, attribution without a verb", source: "crisp email_russian.txt",
             raw: plain("\(new)\n\nср, 18 нояб. 2026 г. в 15:19, Иван Петров <ivan@example.ru>:\n\nУИН 7654321 показания 99871")),
        // Gmail HTML: gmail_quote container.
        Case(client: "Gmail HTML gmail_quote", source: "talon html_replies/gmail.html",
             raw: html("<div dir=\"ltr\"><div>\(new)</div></div><div class=\"gmail_extra\"><br><div class=\"gmail_quote\">On Thu, Nov 19, 2026 at 2:14 PM, Office <span dir=\"ltr\">&lt;<a href=\"mailto:o@example.test\">o@example.test</a>&gt;</span> wrote:<br><blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex\"><div>УИН 7654321 показания 99871</div></blockquote></div></div>")),
        // Gmail for Android: "On Fri, 20 Nov 2026, 12:34 pm Name <addr>\nwrote:" (verb wrapped), unmarked quote.
        Case(client: "Gmail Android, verb on the next line", source: "crisp email_en_multiline_2.txt",
             raw: plain("\(new)\n\n\nOn Tue, 17 Nov 2026, 12:34 pm Readings - Office <readings@example.test>\nwrote:\n\nУИН 7654321 показания 99871\n")),
        // Outlook desktop (English): underscores, then a From/Sent/To/Subject block.
        Case(client: "Outlook desktop en header block", source: "crisp email_msn.txt",
             raw: plain("\(new)\n________________________________\nFrom: Readings Office <readings@example.test>\nSent: Wednesday, November 18, 2026 5:45 PM\nTo: ivan@example.ru <ivan@example.ru>\nSubject: Показания\n\nУИН 7654321 показания 99871")),
        // Outlook desktop, the From value wrapped onto the next line, no separator line.
        Case(client: "Outlook header block with a wrapped From", source: "crisp email_outlook_split_line_from.txt",
             raw: plain("\(new)\n\nFrom: Readings Office \n<a-really-long-address+1234@example.test> \nSent: Monday, November 16, 2026 4:37 PM\nTo: Ivan <ivan@example.ru>\nSubject: Показания\n\nУИН 7654321 показания 99871")),
        // Outlook (German UI) after "-----Ursprüngliche Nachricht-----": Von/An/Betreff/Datum.
        Case(client: "Outlook de Ursprüngliche Nachricht", source: "crisp email_german_outlook.txt",
             raw: plain("\(new)\n\n-----Ursprüngliche Nachricht-----\nVon: Max Muster <max@example.de>\nAn: Ivan <ivan@example.ru>\nBetreff: Zähler\nDatum: 16.11.2026 15:00\n\nУИН 7654321 показания 99871")),
        // Outlook header block with bold labels (as a plain-text copy of HTML renders them).
        Case(client: "Outlook bold labels", source: "talon html_replies/ms_outlook_2010.html (bold From:/Sent:)",
             raw: plain("\(new)\n\n*From:* Readings Office [mailto:readings@example.test]\n*Sent:* Friday, November 20, 2026 10:15 AM\n*To:* Ivan\n*Subject:* Показания\n\nУИН 7654321 показания 99871")),
        // Outlook for iOS (French UI): footer, underscores and an English header block.
        Case(client: "Outlook iOS fr", source: "crisp email_ios_outlook_fr.txt",
             raw: plain("\(new)\n\nEnvoyé à partir de Outlook pour iOS<https://aka.ms/o0ukef>\n________________________________\nFrom: Readings <readings@example.test>\nSent: Thursday, November 19, 2026 11:35:12 AM\nTo: Ivan <ivan@example.ru>\nSubject: Показания\n\nУИН 7654321 показания 99871")),
        // Outlook.com / Hotmail HTML: <hr id="stopSpelling"> then a block that starts with Date:.
        Case(client: "Hotmail HTML, header block starting with Date:", source: "talon html_replies/hotmail.html",
             raw: html("<div dir='ltr'>\(new)<div><br></div><div><hr id=\"stopSpelling\">Date: Thu, 19 Nov 2026 13:53:45 +0300<br>Subject: Показания<br>From: office@example.test<br>To: ivan@example.ru<br><br><div>УИН 7654321 показания 99871</div></div></div>")),
        // The same block as plain text, without the <hr>: found by its shape alone.
        Case(client: "Header block starting with Date:, plain", source: "talon html_replies/hotmail.html (text rendering)",
             raw: plain("\(new)\n\nDate: Thu, 19 Nov 2026 13:53:45 +0300\nSubject: Показания\nFrom: office@example.test\nTo: ivan@example.ru\n\nУИН 7654321 показания 99871")),
        // Apple Mail / iOS Mail: "On 20 Nov 2026, at 10:15, Name <addr> wrote:" then '>' lines.
        Case(client: "Apple Mail / iOS Mail", source: "crisp email_french_2.txt (Apple Mail's '>'-quoted attribution)",
             raw: plain("\(new)\n\n> On 18 Nov 2026, at 11:11, Readings Office <readings@example.test> wrote:\n> УИН 7654321 показания 99871\n")),
        // Apple Mail with the new line directly followed by the quoted attribution (no blank line).
        Case(client: "Apple Mail, no blank line before the quote", source: "crisp email_french_2.txt",
             raw: plain("\(new)\n> Le 18 nov. 2026 à 11:11, Office <office@example.test> a écrit :\n> УИН 7654321 показания 99871\n")),
        // Thunderbird HTML: moz-cite-prefix + blockquote type=cite.
        Case(client: "Thunderbird HTML", source: "talon html_replies/thunderbird.html",
             raw: html("<html><body>\(new)<br><div class=\"moz-cite-prefix\">On 18.11.2026 14:41, Readings Office\n wrote:<br></div><blockquote type=\"cite\"><div>УИН 7654321 показания 99871</div></blockquote></body></html>")),
        // Thunderbird (Russian UI), plain text: "18.11.2026 14:41, Имя пишет:" (no address).
        Case(client: "Thunderbird ru plain", source: "crisp email_russian.txt (Russian attribution)",
             raw: plain("\(new)\n\n18.11.2026 14:41, Служба показаний пишет:\n> УИН 7654321 показания 99871\n")),
        // Yahoo HTML: yahoo_quoted container.
        Case(client: "Yahoo HTML", source: "talon html_replies (Yahoo's yahoo_quoted container, as in html_quotations.py)",
             raw: html("<div>\(new)</div><div class=\"yahoo_quoted\"><div>On Friday, November 20, 2026, 10:15:00 AM GMT+3, Office &lt;o@example.test&gt; wrote:</div><div>УИН 7654321 показания 99871</div></div>")),
        // Zoho Mail: "---- On … wrote ----".
        Case(client: "Zoho Mail", source: "crisp email_zoho.txt",
             raw: plain("\(new)\n\n---- On Wed, 18 Nov 2026 14:02:50 +0300 office@example.test wrote ----\n\nУИН 7654321 показания 99871")),
        // Zimbra: "----- Original Message -----" with From/To/Sent.
        Case(client: "Zimbra", source: "crisp email_danish_dash_separator.txt (dashed separator in another language)",
             raw: plain("\(new)\n\n-------- Oprindelig besked --------\nFra: Office <office@example.test>\nDato: 04.11.2026  17.45  (GMT+03:00)\nTil: ivan@example.ru\nEmne: Показания\n\nУИН 7654321 показания 99871")),
        // Yandex web: "18.11.2026, 14:41, "Name" <addr>:" then blockquote (HTML).
        Case(client: "Yandex HTML", source: "talon html_replies/yandex_ru.html",
             raw: html("<p>\(new)<br /><br />18.11.2026, 14:41, \"Служба показаний\" &lt;<a href=\"mailto:readings@example.test\">readings@example.test</a>&gt;:</p><blockquote> УИН 7654321 показания 99871</blockquote>")),
        // Yandex plain text: the same attribution, '>' lines.
        Case(client: "Yandex plain", source: "talon html_replies/yandex_ru.html (text rendering)",
             raw: plain("\(new)\n\n18.11.2026, 14:41, \"Служба показаний\" <readings@example.test>:\n> УИН 7654321 показания 99871")),
        // Mail.ru web HTML: "… от Имя <addr>:" then a bordered blockquote.
        Case(client: "Mail.ru HTML", source: "talon html_replies/mail_ru.html",
             raw: html("<HTML><BODY><p>\(new)</p><br><br>Wed, 18 Nov 2026 14:00:51 +0300 от Office &lt;office@example.test&gt;:<br>\n<blockquote style=\"border-left:1px solid #0857A6; margin:10px; padding:0 0 0 10px;\"><div class=\"js-helper js-readmsg-msg\"><div>УИН 7654321 показания 99871</div></div></blockquote></BODY></HTML>")),
        // Mail.ru plain: Russian weekday and month, "от … :" unmarked quote.
        Case(client: "Mail.ru plain", source: "talon html_replies/mail_ru.html (text rendering)",
             raw: plain("\(new)\n\nСреда, 18 ноября 2026, 14:00 +03:00 от Служба показаний <readings@example.test>:\n\nУИН 7654321 показания 99871")),
        // Other UI languages.
        Case(client: "Italian attribution", source: "crisp email_italian.txt",
             raw: plain("\(new)\n\nIn data 11 novembre 2026 21:11:31 \"Ufficio\" <ufficio@example.test> ha scritto:\n\nУИН 7654321 показания 99871")),
        Case(client: "Portuguese attribution wrapped in the parenthesis", source: "crisp email_portuguese.txt",
             raw: plain("\(new)\n\nEm 10 de novembro de 2026 às 16:32:35, Office - Readings (\noffice@example.test) escreveu:\n\nУИН 7654321 показания 99871")),
        Case(client: "Finnish attribution, time with a dot", source: "crisp email_finnish.txt",
             raw: plain("\(new)\n\npe 20. marraskuuta 2026 klo 17.50 Office Readings\n<office@example.test> kirjoitti:\n\nУИН 7654321 показания 99871")),
        Case(client: "French attribution, verb wrapped", source: "crisp email_fr_multiline.txt",
             raw: plain("\(new)\n\nLe lun. 16 nov. 2026 à 19:42, Office - Readings <office@example.test>\na écrit :\n\nУИН 7654321 показания 99871")),
        Case(client: "Polish attribution", source: "crisp email_french_2.txt (format), Polish wording of Thunderbird",
             raw: plain("\(new)\n\nW dniu 16.11.2026 o 10:15, Biuro <biuro@example.test> pisze:\n> УИН 7654321 показания 99871")),
        Case(client: "Ukrainian attribution (Gmail uk)", source: "crisp email_russian.txt (format), Ukrainian wording",
             raw: plain("\(new)\n\nпт, 20 лист. 2026 р. о 10:15 Офіс <office@example.test> написав:\n\nУИН 7654321 показания 99871")),
    ]

    @Test(arguments: cases)
    func theNewTextIsKeptAndTheQuoteIsNot(_ c: Case) {
        let message = MailMessage(raw: Array(c.raw.utf8))
        let text = message.meaningfulText
        #expect(text.contains("1234567") && text.contains("12345"), "\(c.client): the new text was lost: \(text)")
        #expect(!text.contains("99871") && !text.contains("7654321"), "\(c.client): quoted text kept: \(text)")
    }

    /// Bottom-posting (interleaved replies): the attribution and '>' lines go, the text after stays.
    @Test func bottomPostedTextAfterTheQuoteIsKept() {
        let text = ReplyStripper.meaningfulText("On Wed, Nov 18, 2026 at 10:15 AM Office <o@example.test> wrote:\n> Ваш УИН и показания?\n> 7654321 99871\n\n1234567 12345")
        #expect(text == "1234567 12345")
    }

    /// An attribution wrapped over three lines, the date split from the time: all three go, and a
    /// reading line right above it stays.
    @Test func threeLineAttribution() {
        let text = ReplyStripper.meaningfulText("1234567 12345\nOn Mon, Nov 16, 2026 at\n4:37 PM Readings Office <\nreadings@example.test> wrote:\n\n> 7654321 99871")
        #expect(text == "1234567 12345")
        let dated = ReplyStripper.meaningfulText("Показания на 20.11.2026: 1234567 12345\n16.11.2026 16:37, Иван Петров пишет:\n> 7654321 99871")
        #expect(dated == "Показания на 20.11.2026: 1234567 12345")
    }

    /// A line of the new text that merely ends with ':' and has a date is not an attribution:
    /// it is followed by more of the sender's text, not by a quote.
    @Test func aDatedLineOfTheNewTextIsKept() {
        let text = ReplyStripper.meaningfulText("Показания на 20.11.2026:\n1234567 12345")
        #expect(text == "Показания на 20.11.2026:\n1234567 12345")
    }

    /// Three "Label: value" lines without an address or a date are the sender's own text.
    @Test func labelledReadingsAreNotAHeaderBlock() {
        let text = ReplyStripper.meaningfulText("УИН: 1234567\nДень: 12345\nНочь: 6789")
        #expect(text == "УИН: 1234567\nДень: 12345\nНочь: 6789")
    }

    /// Forwards by subject prefix in several languages.
    @Test(arguments: ["Fwd: 1234567 12345", "FW: x", "Пересл: x", "WG: x", "TR: x", "RE: Fwd: x"])
    func forwardSubjects(_ s: String) { #expect(ReplySubject.isForward(s)) }

    @Test(arguments: ["Re: 1234567 12345", "Показания", "Fwdx: y", "Ответ: x"])
    func notForwardSubjects(_ s: String) { #expect(!ReplySubject.isForward(s)) }
}
