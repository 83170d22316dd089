import Foundation
import Ledger
import MeterCore

/// The console's pages as HTML text, from what the ledger returned. Pure: no I/O.
package enum ConsolePages {
    typealias E = HTML

    package static func signIn(token: String, message: String? = nil, isError: Bool = true) -> String {
        let note = message.map { "<p class=\"\(isError ? "error" : "note")\" id=\"message\">\(E.escape($0))</p>" } ?? ""
        return HTML.page(title: "Sign in", body: """
            \(note)
            <form method="post" action="/signin" id="signin">
            <input type="hidden" name="csrf" value="\(E.escape(token))">
            <p><label>Name<br><input type="text" name="name" id="name" autocomplete="username" required></label></p>
            <p><label>Password<br><input type="password" name="password" id="password" autocomplete="current-password" required></label></p>
            <p><button type="submit" id="signin-button">Sign in</button></p>
            </form>
            """)
    }

    package static func refused(_ reason: String) -> String {
        HTML.page(title: "Refused", body: "<p class=\"error\" id=\"message\">\(E.escape(reason))</p><p><a href=\"/search\">Back</a></p>")
    }

    package static func searchForm(csrf: String, query: String = "", status: String = "") -> String {
        let options = ([""] + ["accepted", "duplicate", "held", "rejected", "ignored", "answered"]).map {
            "<option value=\"\($0)\"\($0 == status ? " selected" : "")>\($0.isEmpty ? "any status" : $0)</option>"
        }.joined()
        return """
            <form method="post" action="/search" id="search">
            <input type="hidden" name="csrf" value="\(E.escape(csrf))">
            <input type="search" name="q" id="q" value="\(E.escape(query))" placeholder="phone in any spelling, e-mail, or UIN" required>
            <select name="status" id="status">\(options)</select>
            <button type="submit" id="search-button">Find</button>
            </form>
            """
    }

    /// A list of messages like `metergate messages`.
    package static func messageTable(_ records: [MessageRecord], timeZone: TimeZone) -> String {
        guard !records.isEmpty else { return "<p id=\"none\">No messages.</p>" }
        var rows = ""
        for record in records {
            let listing = MessageListing(record)
            let readings = listing.results.map { result in
                "\(E.escape(result.uin)): <span class=\"\(E.escape(result.status))\">\(E.escape(result.status))</span>"
                    + (result.reason.map { "/" + E.escape($0) } ?? "") + " " + E.escape(result.readings.joined(separator: " "))
            }.joined(separator: "<br>")
            let text = listing.textAsRead
            rows += """
                <tr><td><a href="/messages/\(record.id)" class="message-link">\(E.escape(Timestamp.iso8601(record.receivedAt, timeZone: timeZone)))</a></td>
                <td>\(E.escape(record.channel))</td><td>\(E.escape(record.sender ?? "-"))</td>
                <td>\(E.escape(String(text.prefix(120))))\(text.count > 120 ? "…" : "")</td>
                <td class="\(E.escape(record.status))">\(E.escape(record.status))\(record.reason.map { "/" + E.escape($0) } ?? "")</td>
                <td>\(readings)</td><td>\(E.escape(record.replyState ?? "none"))</td></tr>
                """
        }
        return """
            <table id="messages"><tr><th>Received</th><th>Channel</th><th>Sender</th><th>Text as read</th><th>Outcome</th><th>Results</th><th>Reply</th></tr>
            \(rows)</table>
            """
    }

    package static func message(
        _ record: MessageRecord, report: ParseReport, raw: [UInt8]?, timeZone: TimeZone
    ) -> String {
        let listing = MessageListing(record)
        var body = """
            <table id="summary">
            <tr><th>Received</th><td>\(E.escape(Timestamp.iso8601(record.receivedAt, timeZone: timeZone)))</td></tr>
            <tr><th>Channel</th><td>\(E.escape(record.channel)) (feed \(E.escape(record.feed)), id \(E.escape(record.externalID)))</td></tr>
            <tr><th>Sender</th><td>\(E.escape(record.sender ?? "-"))</td></tr>
            <tr><th>Outcome</th><td class="\(E.escape(record.status))" id="outcome">\(E.escape(record.status))\(record.reason.map { " / " + E.escape($0) } ?? "")</td></tr>
            </table>
            <h2>Text as read</h2><pre id="text">\(E.escape(listing.textAsRead))</pre>
            """
        let results = listing.results
        if !results.isEmpty {
            body += "<h2>Results</h2><table id=\"results\"><tr><th>UIN</th><th>Status</th><th>Readings</th><th>Replaced</th></tr>"
            for result in results {
                body += """
                    <tr><td><a href="/accounts/\(E.escape(result.uin.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))">\(E.escape(result.uin))</a></td>
                    <td class="\(E.escape(result.status))">\(E.escape(result.status))\(result.reason.map { " / " + E.escape($0) } ?? "")</td>
                    <td>\(E.escape(result.readings.joined(separator: " ")))</td><td>\(E.escape(result.replaces?.joined(separator: " ") ?? ""))</td></tr>
                    """
            }
            body += "</table>"
        }
        body += """
            <h2>How the parser read it</h2>
            <p id="verdict"><strong>\(E.escape(report.verdict))</strong></p>
            \(interpretations(report))
            <details><summary>Everything <code>metergate parse</code> prints</summary><pre id="parse">\(E.escape(report.text))</pre></details>
            """
        body += "<h2>Reply</h2>"
        if let reply = listing.replyText {
            body += "<p>State: <strong id=\"reply-state\">\(E.escape(record.replyState ?? "-"))</strong></p><pre id=\"reply\">\(E.escape(reply))</pre>"
        } else {
            body += "<p id=\"reply-state\">No reply (on purpose for ignored messages).</p>"
        }
        if !record.replies.isEmpty {
            body += "<h3>Delivery</h3><table id=\"delivery\"><tr><th>Reply</th><th>To</th><th>State</th><th>Attempts</th><th>Queued</th><th>Sent</th><th>Last error</th></tr>"
            for reply in record.replies {
                body += """
                    <tr><td>#\(reply.id)</td><td>\(E.escape(reply.recipient))</td><td>\(E.escape(reply.displayState))</td><td>\(reply.attempts)</td>
                    <td>\(E.escape(Timestamp.iso8601(reply.createdAt, timeZone: timeZone)))</td>
                    <td>\(E.escape(reply.sentAt.map { Timestamp.iso8601($0, timeZone: timeZone) } ?? "-"))</td>
                    <td>\(E.escape(reply.lastError ?? ""))</td></tr>
                    """
            }
            body += "</table>"
        }
        if let raw, !raw.isEmpty {
            let shown = String(decoding: raw.prefix(65536), as: UTF8.self)
            body += "<h2>Raw message</h2><pre id=\"raw\">\(E.escape(shown))\(raw.count > 65536 ? "\n… (\(raw.count) bytes in all)" : "")</pre>"
        }
        return body
    }

    /// The interpretations as a table: the submissions each yields, its penalty and its notes.
    static func interpretations(_ report: ParseReport) -> String {
        let result = report.result
        guard !result.interpretations.isEmpty else { return "" }
        var out = "<table id=\"interpretations\"><tr><th>#</th><th>Penalty</th><th>UIN and readings</th><th>Why</th></tr>"
        let best = result.interpretations.map(\.penalty).min()
        for (index, interpretation) in result.interpretations.enumerated() {
            let submissions = interpretation.submissions.map { submission in
                "UIN \(submission.uin)\(submission.uinLabeled ? " (labeled)" : ""): "
                    + submission.readings.map { ($0.zone.map { $0 + "=" } ?? "") + $0.value.description }.joined(separator: " ")
            }.joined(separator: "; ")
            let chosen = interpretation.penalty == best ? " (lowest penalty)" : ""
            out += """
                <tr><td>\(index + 1)</td><td>\(interpretation.penalty)\(chosen)</td><td>\(E.escape(submissions))</td>
                <td>\(interpretation.notes.map { E.escape("\($0)") }.joined(separator: "<br>"))</td></tr>
                """
        }
        let tokens = result.tokens.map { "\(E.escape(String(describing: $0.kind))) “\(E.escape($0.text))”" }.joined(separator: ", ")
        out += "</table><p>Tokens: \(tokens)</p>"
        if !result.diagnostics.isEmpty {
            out += "<p>Set aside: " + result.diagnostics.map { E.escape("\($0)") }.joined(separator: "; ") + "</p>"
        }
        return out
    }

    package static func account(
        uin: String, account: Account?, history: [AccountSubmission], messages: [MessageRecord], timeZone: TimeZone
    ) -> String {
        var body = ""
        if let account {
            let meters = zip(account.meters, account.meters.indices.map { $0 < account.previous.count ? account.previous[$0] ?? "?" : "?" })
                .map { "\($0.0) (billing's previous: \($0.1))" }.joined(separator: ", ")
            body += """
                <table id="account"><tr><th>UIN</th><td>\(E.escape(uin))</td></tr>
                <tr><th>Meters</th><td>\(E.escape(meters))</td></tr>
                <tr><th>Register digits</th><td>\(account.digits.map(String.init) ?? "-")</td></tr>
                <tr><th>Phones</th><td>\(E.escape(account.phones.joined(separator: ", ")))</td></tr>
                <tr><th>E-mail</th><td>\(E.escape(account.emails.joined(separator: ", ")))</td></tr></table>
                """
        } else {
            body += "<p class=\"error\">No account \(E.escape(uin)) in the accounts billing exported.</p>"
        }
        body += "<h2>History</h2>"
        if history.isEmpty {
            body += "<p>Nothing recorded.</p>"
        } else {
            body += "<table id=\"history\"><tr><th>Received</th><th>Period</th><th>Status</th><th>Readings</th><th>Channel</th><th>Message</th></tr>"
            for item in history {
                let status = item.superseded ? "superseded" : item.status
                body += """
                    <tr><td>\(E.escape(Timestamp.iso8601(item.receivedAt, timeZone: timeZone)))</td><td>\(E.escape(item.period))</td>
                    <td class="\(E.escape(item.status))">\(E.escape(status))\(item.reason.map { " / " + E.escape($0) } ?? "")</td>
                    <td>\(E.escape(zip(item.meters, item.values).map { "\($0)=\($1)" }.joined(separator: " ")))</td>
                    <td>\(E.escape(item.channel))</td><td><a href="/messages/\(item.messageID)">#\(item.messageID)</a></td></tr>
                    """
            }
            body += "</table>"
        }
        body += "<h2>Messages</h2>" + messageTable(messages, timeZone: timeZone)
        return body
    }

    package static func review(_ held: [HeldSubmission], csrf: String, notice: String? = nil) -> String {
        var body = notice.map { "<p class=\"note\" id=\"message\">\(E.escape($0))</p>" } ?? ""
        guard !held.isEmpty else { return body + "<p id=\"none\">No held readings wait for a decision.</p>" }
        body += "<table id=\"held\"><tr><th>#</th><th>UIN</th><th>Readings (previous)</th><th>Why held</th><th>Sender</th><th>Message</th><th>Decision</th></tr>"
        for item in held {
            let values = zip(item.meters, item.values).enumerated().map { index, pair in
                "\(pair.0)=\(pair.1) (\(index < item.previous.count ? item.previous[index] ?? "?" : "?"))"
            }.joined(separator: ", ")
            body += """
                <tr id="held-\(item.id)"><td>\(item.id)</td>
                <td><a href="/accounts/\(E.escape(item.uin.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))">\(E.escape(item.uin))</a></td>
                <td>\(E.escape(values))</td><td>\(E.escape(item.reason ?? "-"))</td>
                <td>\(E.escape(item.channel)) \(E.escape(item.sender ?? "-"))<br>\(E.escape(item.receivedAt))</td>
                <td><a href="/messages/\(item.messageID)">\(E.escape(String(item.text.prefix(160))))</a></td>
                <td><form method="post" action="/review/\(item.id)/approve" class="inline"><input type="hidden" name="csrf" value="\(E.escape(csrf))"><button type="submit" class="approve" id="approve-\(item.id)">Approve</button></form>
                <form method="post" action="/review/\(item.id)/reject" class="inline"><input type="hidden" name="csrf" value="\(E.escape(csrf))"><button type="submit" class="reject" id="reject-\(item.id)">Reject</button></form></td></tr>
                """
        }
        return body + "</table>"
    }
}
