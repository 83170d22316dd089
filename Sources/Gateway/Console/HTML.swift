import Foundation

/// Server-rendered HTML: every text that did not come from this file goes through `escape`.
package enum HTML {
    /// Escapes `&`, `<`, `>`, `"` and `'` (text and attribute values alike).
    package static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\u{0}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A `application/x-www-form-urlencoded` body as fields (the last value of a repeated name).
    package static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                String(part).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first else { continue }
            fields[decode(name)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }

    /// The whole page around `body`: the menu when an operator is signed in, with the sign-out form.
    package static func page(title: String, body: String, operator name: String? = nil, csrf: String? = nil) -> String {
        var menu = ""
        if let name, let csrf {
            menu = """
                <nav><a href="/search">Look-up</a> <a href="/review">Review queue</a> <a href="/month">Month at a glance</a>
                <form method="post" action="/signout" class="signout"><input type="hidden" name="csrf" value="\(escape(csrf))">
                <span class="who">\(escape(name))</span> <button type="submit" id="signout">Sign out</button></form></nav>
                """
        }
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · metergate</title>
            <style>\(style)</style></head>
            <body><header><strong>metergate</strong> support desk</header>\(menu)
            <main><h1>\(escape(title))</h1>
            \(body)
            </main></body></html>
            """
    }

    static let style = """
        body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2327;background:#f6f7f7}
        header{background:#1d3557;color:#fff;padding:.6em 1em}
        nav{background:#e9edf2;padding:.5em 1em;display:flex;gap:1.2em;align-items:center}
        nav form{margin-left:auto} main{padding:1em 1.5em;max-width:72em}
        table{border-collapse:collapse;background:#fff;margin:.5em 0 1.2em} td,th{border:1px solid #ccd;padding:.3em .6em;text-align:left;vertical-align:top}
        th{background:#eef} pre{background:#fff;border:1px solid #ccd;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}
        .accepted{color:#146c2e}.rejected{color:#a4161a}.held{color:#9c6500}.ignored,.duplicate,.answered{color:#555}
        .error{background:#fde2e1;border:1px solid #a4161a;padding:.5em} .note{background:#e7f5e9;border:1px solid #146c2e;padding:.5em}
        form.inline{display:inline} input[type=text],input[type=password],input[type=search]{padding:.3em;min-width:18em}
        button{padding:.3em .9em} .charts{display:flex;flex-wrap:wrap;gap:1.5em} svg{background:#fff;border:1px solid #ccd}
        """
}
