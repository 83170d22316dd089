import Testing
import TestSupport
@testable import MailMessage

struct HTMLTextTests {
    @Test(arguments: [
        ("<p>УИН 123</p><p>456</p>", "УИН 123\n456"),
        ("a<br>b<br/>c<BR />d", "a\nb\nc\nd"),
        ("<div>a</div><div>b</div>", "a\nb"),
        ("<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1 2\n3"),
        ("<ul><li>one<li>two</ul>", "one\ntwo"),
        ("<head><title>T</title><style>p{x:1}</style></head><body>ok</body>", "ok"),
        ("<script>var a = '<p>no</p>';</script>yes", "yes"),
        ("x<!-- hidden <b>no</b> -->y", "xy"),
        ("keep<blockquote>quoted <blockquote>deeper</blockquote> still</blockquote>after", "keep\nafter"),
        ("<div>123</div><div class=\"gmail_quote\"><div>On Mon wrote:</div><blockquote>old 999</blockquote></div>", "123"),
        ("<div>123</div><div class=\"moz-cite-prefix\">20.10.2026 пишет:<br></div><blockquote type=\"cite\">old</blockquote>", "123"),
        ("a&nbsp;b &laquo;c&raquo; &amp; &lt;d&gt; &quot;e&quot;", "a b «c» & <d> \"e\""),
        ("&#1055;&#x43E; &#X41;", "По A"),
        ("&unknown; &#; & x &amp", "&unknown; &#; & x &"),
        ("&#0; &#x110000; &#xD800;", "\u{FFFD} \u{FFFD} \u{FFFD}"),
        ("  many \n\n  spaces\t here  ", "many spaces here"),
        ("a < b and c > d", "a < b and c > d"),
        ("<p>unclosed <b", "unclosed"),
        ("<!DOCTYPE html><html><body><p>x</p></body></html>", "x"),
        ("<html><head><meta charset=utf-8><title>T<body>1234567 12345</body>", "1234567 12345"),   // unclosed head/title
        ("<style>p{}</style><p>a</p><script>never closed", "a"),
    ])
    func converts(_ html: String, _ expected: String) {
        #expect(HTMLText.toText(html) == expected)
    }

    @Test func manyUnclosedTagsStayLinear() {
        let html = String(repeating: "<a", count: 200_000)
        let t = threadCPUTime { _ = HTMLText.toText(html) }
        #expect(t < .seconds(2))
    }

    @Test func htmlOnlyMessageQuoteRemoved() {
        let m = mail("""
        Content-Type: text/html; charset=utf-8

        <div dir="ltr">5551234 777</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">Пт, 20 нояб. 2026 г. в 10:15, Показания &lt;readings@example.test&gt;:<br></div><blockquote class="gmail_quote">5551234 700</blockquote></div>
        """)
        #expect(m.meaningfulText == "5551234 777")
    }

    /// Bottom-posting in an HTML-only mail: the attribution, the quote in a blockquote, the new
    /// text below. The dropped quote leaves a `>` line, so the attribution introduces a quote and
    /// is dropped alone, as in plain text (it cut the new text off before: nothing was read).
    @Test(arguments: [
        "<div>Op ma 16 nov. 2026 om 16:37 schreef Ivan Petrov &lt;ivan@example.ru&gt;:</div><div><br></div><blockquote>5551234 700</blockquote><div>5551234 777</div>",
        "<div>On Mon, Nov 16, 2026 at 4:37 PM Office &lt;office@example.test&gt; wrote:</div><div class=\"gmail_quote\">5551234 700</div><div><br></div><div>5551234 777</div>",
    ])
    func htmlOnlyBottomPostedReplyKeepsNewText(_ body: String) {
        let m = mail("Content-Type: text/html; charset=utf-8\n\n" + body)
        #expect(m.meaningfulText == "5551234 777")
        // The public conversion is unchanged: no marks.
        #expect(!HTMLText.toText(body).contains("\n>"))
    }
}
