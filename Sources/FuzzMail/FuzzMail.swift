import MailMessage

#if FUZZING
/// libFuzzer entry: parse arbitrary bytes and touch everything derived from them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let m = MailMessage(raw: bytes)
    var sink = m.subject.utf8.count &+ m.bodyText.utf8.count &+ m.meaningfulText.utf8.count
    sink &+= m.automatic == nil ? 0 : 1
    sink &+= m.from?.address.utf8.count ?? 0
    sink &+= m.references.count &+ m.defects.count &+ m.partCount
    sink &+= ReplySubject.stripPrefixes(m.subject).utf8.count
    if let h = m.header("to") { sink &+= h.utf8.count }
    if sink == Int.min { print(sink) }
    return 0
}

#else
import Foundation

/// Replays files (fuzzer reproducers, fixtures) and prints a summary of each;
/// `--bench-html-reply N` times the MIME reading of a 100 KB HTML reply with a 20-level quote.
@main
struct FuzzMailReplay {
    /// A reply as Outlook/Gmail threads grow: the new text on top, then 20 nested quotes,
    /// each with its attribution, some paragraphs and a header block; about 100 KB in all.
    static func htmlReply(levels: Int = 20, targetBytes: Int = 100_000) -> [UInt8] {
        let paragraph = "<p style=\"margin:0\">Добрый день! Передаю показания счётчика за прошлый месяц, лицевой счёт 7654321, показания 99871. С уважением, Пётр.</p>\n"
        var inner = ""
        for level in (1...levels).reversed() {
            var block = "<div class=\"gmail_quote\"><div dir=\"ltr\">On Mon, Nov \(level), 2026 at 10:\(10 + level) AM Office &lt;office\(level)@example.test&gt; wrote:<br></div>"
            block += "<blockquote class=\"gmail_quote\" style=\"margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex\">"
            block += "<b>From:</b> Office &lt;office@example.test&gt;<br><b>Date:</b> Mon, \(level) Nov 2026 10:15<br><b>To:</b> ivan@example.ru<br>"
            block += String(repeating: paragraph, count: 2) + inner + "</blockquote></div>\n"
            inner = block
        }
        var body = "<html><head><style>p{margin:0}</style></head><body><div dir=\"ltr\">Добрый день! УИН 1234567 показания 12345</div>\n" + inner
        let filler = "<div style=\"color:#888\">" + String(repeating: "Это письмо и вложения конфиденциальны. ", count: 8) + "</div>\n"
        while body.utf8.count < targetBytes - 400 { body += filler }
        body += "</body></html>\n"
        let header = "From: Иван <ivan@example.ru>\r\nTo: readings@example.test\r\nSubject: Re: Показания\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        return Array((header + body).utf8)
    }

    static func benchHTMLReply(_ count: Int) {
        let raw = htmlReply()
        var sink = 0
        let first = MailMessage(raw: raw)
        var best = Double.infinity
        var total = 0.0
        for _ in 0..<count {
            let start = DispatchTime.now().uptimeNanoseconds
            let m = MailMessage(raw: raw)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
            best = min(best, ms)
            total += ms
            sink &+= m.meaningfulText.utf8.count
        }
        print("MIME reading of a \(raw.count)-byte HTML reply with a 20-level quote: mean \(String(format: "%.3f", total / Double(count))) ms, best \(String(format: "%.3f", best)) ms over \(count) runs; new text \(first.meaningfulText.debugDescription) [\(sink)]")
    }

    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--bench-html-reply" {
            benchHTMLReply(arguments.count > 1 ? Int(arguments[1]) ?? 200 : 200)
            return
        }
        for path in arguments {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                continue
            }
            let start = Date()
            let m = MailMessage(raw: [UInt8](data))
            let ms = Int(Date().timeIntervalSince(start) * 1000)
            print("""
            \(path): \(data.count) bytes, \(ms) ms, \(m.partCount) parts
              subject: \(m.subject.debugDescription)
              from: \(m.from?.address ?? "-") \(m.from?.displayName ?? "")
              automatic: \(m.automatic?.rawValue ?? "-")
              defects: \(m.defects)
              meaningfulText: \(String(m.meaningfulText.prefix(300)).debugDescription)
            """)
        }
    }
}
#endif
