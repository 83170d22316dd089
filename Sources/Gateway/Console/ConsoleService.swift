import Foundation
import HTTPTypes
import Hummingbird
import Ledger
import Logging
import MeterCore
import NIOCore
import ReadingsGrammar
import ServiceLifecycle

/// The operators' web console on `console.listen`, one service of `metergate run`'s group:
/// server-rendered HTML, no script. Every page but sign-in needs a session; every change is a
/// POST with the session's CSRF token; every action is logged with the operator's name.
/// Phone numbers and addresses never go into a URL: the look-up is a POST, pages are named by
/// the ledger's ids and by UIN.
package struct ConsoleService: Service {
    let settings: ConsoleSettings
    let ledger: any LedgerDriver
    let templates: ReplyTemplates
    let parser: MessageParser
    let timeZone: TimeZone
    let configuredFeeds: [String]
    let sessions: ConsoleSessions
    let logger: Logger

    static let sessionCookie = "mg_console"
    static let signInCookie = "mg_signin"

    package init(
        settings: ConsoleSettings, ledger: any LedgerDriver, templates: ReplyTemplates, parser: MessageParser, timeZone: TimeZone,
        configuredFeeds: [String], logger: Logger
    ) {
        self.settings = settings
        self.ledger = ledger
        self.templates = templates
        self.parser = parser
        self.timeZone = timeZone
        self.configuredFeeds = configuredFeeds
        self.sessions = ConsoleSessions(
            lockoutFailures: settings.lockoutFailures, lockout: Double(settings.lockout.components.seconds),
            idle: Double(settings.sessionIdle.components.seconds))
        self.logger = logger
    }

    package func run() async throws {
        guard let host = settings.listenHost else { return }
        let router = Router()
        let console = self
        router.get("/") { _, _ in Self.redirect("/search") }
        router.get("signin") { request, _ in console.signInPage(request) }
        router.post("signin") { request, _ in try await console.signIn(request) }
        router.post("signout") { request, _ in try await console.withSession(request, post: true) { session, _, token in
            console.sessions.signOut(token)
            console.log("signed out", session)
            var response = Self.redirect("/signin")
            response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.cookie(name: Self.sessionCookie, nil, secure: Self.secure(request))))
            return response
        } }
        router.get("search") { request, _ in try await console.withSession(request) { session, _, _ in
            Self.html(.ok, HTML.page(title: "Look-up", body: ConsolePages.searchForm(csrf: session.csrf), operator: session.operator_, csrf: session.csrf))
        } }
        router.post("search") { request, _ in try await console.withSession(request, post: true) { session, form, _ in
            try await console.search(session, form)
        } }
        router.get("messages/:id") { request, context in try await console.withSession(request) { session, _, _ in
            try await console.messagePage(session, id: context.parameters.get("id", as: Int64.self))
        } }
        router.get("accounts/:uin") { request, context in try await console.withSession(request) { session, _, _ in
            try await console.accountPage(session, uin: context.parameters.get("uin") ?? "")
        } }
        router.get("review") { request, _ in try await console.withSession(request) { session, _, _ in
            console.log("opened the review queue", session)
            return try await console.reviewPage(session, notice: nil)
        } }
        router.post("review/:id/:decision") { request, context in try await console.withSession(request, post: true) { session, _, _ in
            try await console.decide(
                session, id: context.parameters.get("id", as: Int64.self), decision: context.parameters.get("decision") ?? "")
        } }
        router.get("month") { request, _ in try await console.withSession(request) { session, _, _ in
            try await console.monthPage(session)
        } }

        let port = settings.listenPort
        try await HTTPService.serve(
            router, host: host, port: port, logger: logger, listening: "console-listening", down: "console-down",
            running: { "console: operators' web console on \($0)" },
            failed: { "console: cannot listen on \(host):\(port): \($0); retrying every 30s" })
    }

    // MARK: Sessions

    /// Runs `body` for a request with a live session; without one, the sign-in page (401). A
    /// POST must carry the session's CSRF token in its form, else it is refused (403).
    func withSession(
        _ request: Request, post: Bool = false,
        _ body: (ConsoleSessions.Session, [String: String], String) async throws -> Response
    ) async throws -> Response {
        let token = request.cookies[Self.sessionCookie]?.value
        guard let token, let session = sessions.session(token) else {
            return signInPage(request, status: .unauthorized, message: "Sign in first.")
        }
        var form: [String: String] = [:]
        if post {
            var request = request
            let buffer = try await request.collectBody(upTo: 64 * 1024)
            form = HTML.form(String(buffer: buffer))
            guard ConsoleSessions.csrfMatches(form["csrf"], session) else {
                log("refused a form without its CSRF token (\(request.uri.path))", session, level: .warning)
                return Self.html(.forbidden, ConsolePages.refused("This form is out of date or did not come from the console (no valid CSRF token). Nothing was changed."))
            }
        }
        return try await body(session, form, token)
    }

    func signInPage(_ request: Request, status: HTTPResponse.Status = .ok, message: String? = nil, isError: Bool = true) -> Response {
        let token = ConsoleSessions.randomToken()
        var response = Self.html(status, ConsolePages.signIn(token: token, message: message, isError: isError))
        response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.cookie(name: Self.signInCookie, token, secure: Self.secure(request))))
        return response
    }

    func signIn(_ request: Request) async throws -> Response {
        var request = request
        let form = HTML.form(String(buffer: try await request.collectBody(upTo: 16 * 1024)))
        // The sign-in form's own CSRF token: a random value in a cookie and in the form (double submit).
        guard let cookie = request.cookies[Self.signInCookie]?.value, !cookie.isEmpty, form["csrf"] == cookie else {
            logger.warning("console: refused a sign-in without its CSRF token", metadata: ["mg.event": "console-csrf"])
            return Self.html(.forbidden, ConsolePages.refused("The sign-in form is out of date (no valid CSRF token). Open the sign-in page again."))
        }
        let name = (form["name"] ?? "").trimmingCharacters(in: .whitespaces)
        let password = form["password"] ?? ""
        let users = (try? ConsoleUsers.load(path: settings.usersFile)) ?? ConsoleUsers()
        let hash = users.hashes[name]
        let outcome = sessions.signIn(name) {
            // An unknown name is checked against a decoy, so that it takes as long as a known one.
            let matches = PasswordHash.verify(password, hash: hash ?? PasswordHash.decoy)
            return matches && hash != nil
        }
        let shown = ConsoleUsers.isValidName(name) ? name : "?"
        switch outcome {
        case .signedIn(let token):
            logger.notice("console: \(shown) signed in", metadata: ["mg.event": "console-sign-in", "mg.operator": "\(shown)"])
            var response = Self.redirect("/search")
            response.headers.append(HTTPField(name: .setCookie, value: ConsoleSessions.cookie(name: Self.sessionCookie, token, secure: Self.secure(request))))
            return response
        case .wrongPassword(let left):
            logger.warning("console: wrong password for \(shown) (\(left) more before the lock-out)",
                           metadata: ["mg.event": "console-sign-in-failed", "mg.operator": "\(shown)"])
            return signInPage(request, status: .unauthorized, message: "Wrong name or password.")
        case .locked(let until):
            logger.warning("console: \(shown) is locked out until \(Timestamp.iso8601(until))",
                           metadata: ["mg.event": "console-locked", "mg.operator": "\(shown)"])
            return signInPage(
                request, status: .tooManyRequests,
                message: "Too many wrong passwords: this account is locked until \(Timestamp.iso8601(until, timeZone: timeZone)).")
        }
    }

    func log(_ action: String, _ session: ConsoleSessions.Session, level: Logger.Level = .notice) {
        logger.log(level: level, "console: \(session.operator_) \(action)", metadata: ["mg.event": "console-action", "mg.operator": "\(session.operator_)"])
    }

    // MARK: Pages

    func page(_ title: String, _ body: String, _ session: ConsoleSessions.Session, status: HTTPResponse.Status = .ok) -> Response {
        Self.html(status, HTML.page(title: title, body: body, operator: session.operator_, csrf: session.csrf))
    }

    func search(_ session: ConsoleSessions.Session, _ form: [String: String]) async throws -> Response {
        let typed = (form["q"] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let status = form["status"].flatMap { $0.isEmpty ? nil : $0 }
        var records: [MessageRecord] = []
        var kind = "sender"
        if !typed.isEmpty {
            var queries = [MessageQuery(sender: MessageListing.senderKey(typed), status: status, limit: 100)]
            if typed.allSatisfy({ $0.isASCII && $0.isNumber }) {
                // Digits alone may be a UIN as well as a phone number: both are looked up.
                queries.append(MessageQuery(uin: typed, status: status, limit: 100))
                kind = "sender or UIN"
            }
            var seen = Set<Int64>()
            for query in queries {
                for record in try await ledger.messages(matching: query) where seen.insert(record.id).inserted { records.append(record) }
            }
            records.sort { ($0.receivedAt, $0.id) > ($1.receivedAt, $1.id) }
        }
        log("looked up messages by \(kind) \(Contact.mask(MessageListing.senderKey(typed))) (\(records.count) found)", session)
        let body = ConsolePages.searchForm(csrf: session.csrf, query: typed, status: status ?? "")
            + "<p id=\"count\">\(records.count) message\(records.count == 1 ? "" : "s") for <strong>\(HTML.escape(typed))</strong>, newest first.</p>"
            + ConsolePages.messageTable(records, timeZone: timeZone)
        return page("Look-up", body, session)
    }

    func messagePage(_ session: ConsoleSessions.Session, id: Int64?) async throws -> Response {
        guard let id, let record = try await ledger.message(id: id) else {
            return page("No such message", "<p class=\"error\">No such message.</p>", session, status: .notFound)
        }
        log("opened message #\(id)", session)
        let text = MessageListing(record).textAsRead
        let report = ParseReport(text: text, parser: parser)
        let raw = try await ledger.rawMessage(id: id)
        return page("Message #\(id)", ConsolePages.message(record, report: report, raw: raw, timeZone: timeZone), session)
    }

    func accountPage(_ session: ConsoleSessions.Session, uin: String) async throws -> Response {
        log("opened account \(uin)", session)
        let account = try await ledger.account(uin: uin)
        let history = try await ledger.submissions(uin: uin, limit: 100)
        let messages = try await ledger.messages(matching: MessageQuery(uin: uin, limit: 50))
        return page("Account \(uin)", ConsolePages.account(uin: uin, account: account, history: history, messages: messages, timeZone: timeZone), session)
    }

    func reviewPage(_ session: ConsoleSessions.Session, notice: String?) async throws -> Response {
        let held = try await ledger.heldSubmissions()
        return page("Review queue", ConsolePages.review(held, csrf: session.csrf, notice: notice), session)
    }

    func decide(_ session: ConsoleSessions.Session, id: Int64?, decision: String) async throws -> Response {
        guard let id, let choice: ReviewDecision = decision == "approve" ? .approve : decision == "reject" ? .reject : nil else {
            return page("Review queue", "<p class=\"error\">No such decision.</p>", session, status: .badRequest)
        }
        do {
            let held = try await ReviewDesk.decide(id, choice, ledger: ledger, templates: templates)
            let values = zip(held.meters, held.values).map { "\($0)=\($1)" }.joined(separator: " ")
            log("\(choice == .approve ? "approved" : "rejected") held reading #\(held.id) uin=\(held.uin) \(values)", session)
            return try await reviewPage(session, notice: "\(choice == .approve ? "Approved" : "Rejected") #\(held.id) (UIN \(held.uin): \(values)); reply queued.")
        } catch let error as LedgerError where error.code == .notFound {
            return try await reviewPage(session, notice: error.message)
        }
    }

    func monthPage(_ session: ConsoleSessions.Session) async throws -> Response {
        log("opened the month at a glance", session)
        let now = Date()
        let offset = timeZone.secondsFromGMT(for: now)
        let today = Int(((now.timeIntervalSince1970 + Double(offset)) / 86400).rounded(.down))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let lastMonth = calendar.date(byAdding: .month, value: -1, to: now) ?? now.addingTimeInterval(-30 * 86400)
        let sameDay = Int(((lastMonth.timeIntervalSince1970 + Double(offset)) / 86400).rounded(.down))
        let first = min(today - 29, sameDay)
        let since = Date(timeIntervalSince1970: Double(first) * 86400 - Double(offset))
        let month = ConsolePages.Month(
            today: today, days: Array((today - 29)...today), sameDayLastMonth: sameDay,
            readings: try await ledger.submissionsPerDay(since: since, utcOffset: offset),
            messages: try await ledger.messagesPerDay(since: since, utcOffset: offset),
            feeds: try await ledger.feedStates(), configuredFeeds: configuredFeeds, outbox: try await ledger.outboxCounts(),
            held: try await ledger.heldCount())
        return page("The month at a glance", ConsolePages.month(month, timeZone: timeZone), session)
    }

    // MARK: Responses

    static func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers: HTTPFields = [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"]
        headers[HTTPField.Name("Content-Security-Policy")!] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// Behind TLS (a proxy that says so), cookies are `Secure`.
    static func secure(_ request: Request) -> Bool {
        request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
    }
}
