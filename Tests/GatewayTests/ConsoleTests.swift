import Foundation
@testable import Gateway
import Ledger
import Synchronization
import Testing

/// The console's security logic without a server: sessions, CSRF, lock-out, cookies, escaping,
/// the users file and bcrypt, and the phone spellings the look-up accepts.
@Suite("Console: sessions, CSRF, lock-out, escaping, phone spellings")
struct ConsoleTests {
    final class Clock: Sendable {
        let date = Mutex(Date(timeIntervalSince1970: 1_790_000_000))
        func advance(_ seconds: TimeInterval) { date.withLock { $0 = $0.addingTimeInterval(seconds) } }
        var now: Date { date.withLock { $0 } }
    }

    @Test("five wrong passwords lock the name; the right one then does not open it until the lock-out ends")
    func lockOut() {
        let clock = Clock()
        let sessions = ConsoleSessions(lockoutFailures: 5, lockout: 900, idle: 1800, now: { clock.now })
        for left in (1...4).reversed() {
            #expect(sessions.signIn("anna") { false } == .wrongPassword(failuresLeft: left))
        }
        guard case .locked(let until) = sessions.signIn("anna", passwordMatches: { false }) else {
            Issue.record("the fifth wrong password did not lock")
            return
        }
        #expect(until == clock.now.addingTimeInterval(900))
        var asked = false
        #expect(sessions.signIn("anna") { asked = true; return true } == .locked(until: until))
        #expect(!asked, "a locked name's password is not even checked")
        // Another name is not locked by anna's failures.
        if case .signedIn = sessions.signIn("boris", passwordMatches: { true }) {} else { Issue.record("boris was refused") }
        clock.advance(901)
        guard case .signedIn(let token) = sessions.signIn("anna", passwordMatches: { true }) else {
            Issue.record("the lock-out did not end")
            return
        }
        #expect(sessions.session(token)?.operator_ == "anna")
        // A success clears the count: four more failures do not lock.
        for _ in 1...4 { _ = sessions.signIn("anna") { false } }
        if case .wrongPassword = sessions.signIn("anna", passwordMatches: { false }) {
            Issue.record("the count survived a success")
        }
    }

    @Test("a session has its own CSRF token, ends when idle and at sign-out")
    func sessionsAndCSRF() throws {
        let clock = Clock()
        let sessions = ConsoleSessions(idle: 1800, now: { clock.now })
        guard case .signedIn(let token) = sessions.signIn("anna", passwordMatches: { true }),
              case .signedIn(let other) = sessions.signIn("boris", passwordMatches: { true })
        else { Issue.record("not signed in"); return }
        #expect(token.count == 64 && token.allSatisfy(\.isHexDigit))
        #expect(token != other)
        let session = try #require(sessions.session(token))
        let second = try #require(sessions.session(other))
        #expect(session.csrf != second.csrf)
        #expect(ConsoleSessions.csrfMatches(session.csrf, session))
        #expect(!ConsoleSessions.csrfMatches(second.csrf, session))
        #expect(!ConsoleSessions.csrfMatches(nil, session))
        #expect(!ConsoleSessions.csrfMatches("", session))
        #expect(!ConsoleSessions.csrfMatches(String(session.csrf.dropLast()), session))
        #expect(sessions.session("nonsense") == nil)
        #expect(sessions.session(nil) == nil)
        clock.advance(1700)
        #expect(sessions.session(token) != nil, "used within the idle time")
        clock.advance(1801)
        #expect(sessions.session(token) == nil, "idle too long")
        #expect(sessions.session(other) == nil)
        guard case .signedIn(let third) = sessions.signIn("anna", passwordMatches: { true }) else { return }
        sessions.signOut(third)
        #expect(sessions.session(third) == nil)
    }

    @Test("cookies: HttpOnly and SameSite=Strict always, Secure behind TLS, removed with Max-Age=0")
    func cookies() {
        let plain = ConsoleSessions.cookie(name: "mg_console", "abc", secure: false)
        #expect(plain == "mg_console=abc; Path=/; HttpOnly; SameSite=Strict")
        #expect(ConsoleSessions.cookie(name: "mg_console", "abc", secure: true).hasSuffix("; Secure"))
        #expect(ConsoleSessions.cookie(name: "mg_console", nil, secure: false).contains("Max-Age=0"))
    }

    @Test("HTML escaping of text and attributes; a form body decoded")
    func escaping() {
        #expect(HTML.escape("<script>alert('x')</script> & \"q\"") == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;")
        let page = HTML.page(title: "<b>", body: "", operator: "a\"b", csrf: "\"><x")
        #expect(!page.contains("<b>·") && page.contains("&lt;b&gt;"))
        #expect(!page.contains("\"><x"))
        let form = HTML.form("q=8+%28903%29+123-45-67&csrf=ab%26c&empty=&flag")
        #expect(form["q"] == "8 (903) 123-45-67")
        #expect(form["csrf"] == "ab&c")
        #expect(form["empty"] == "")
        #expect(form["flag"] == "")
    }

    @Test("the phone spellings people type find the stored E.164 number", arguments: [
        "+79031234567", "89031234567", "8 (903) 123-45-67", "+7 (903) 123-45-67", "7 903 123 45 67", "9031234567",
        "8-903-123-45-67", " 8\u{00A0}903\u{2011}123\u{2011}45\u{2011}67 ",
    ])
    func phoneSpellings(_ typed: String) {
        #expect(MessageListing.senderKey(typed) == "+79031234567")
    }

    @Test("an address is matched lower-cased")
    func addresses() {
        #expect(MessageListing.senderKey(" Ivanov@Example.RU ") == "ivanov@example.ru")
    }

    @Test("bcrypt through libcrypt: made, verified, refused; $2y$ hashes (htpasswd -B) verify too")
    func bcrypt() throws {
        let hash = try PasswordHash.make("correct horse", cost: 4)
        #expect(hash.hasPrefix("$2b$04$") && hash.count == 60)
        #expect(PasswordHash.verify("correct horse", hash: hash))
        #expect(!PasswordHash.verify("correct horsf", hash: hash))
        #expect(!PasswordHash.verify("correct horse", hash: "plain"))
        let y = "$2y" + hash.dropFirst(3)
        #expect(PasswordHash.verify("correct horse", hash: y))
        #expect(PasswordHash.decoy.count == 60)
    }

    @Test("the users file: parsed, written 0600, refused when others may read it")
    func usersFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("console-users-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("users").path
        var settings = ConsoleSettings(listenHost: "127.0.0.1", listenPort: 0, usersFile: path)
        #expect(settings.usersFileProblem(file: "c.yaml")?.contains("does not exist") == true)
        var users = ConsoleUsers()
        users.set("anna", hash: try PasswordHash.make("secret-1", cost: 4))
        try users.save(path: path)
        var status = stat()
        stat(path, &status)
        #expect(status.st_mode & 0o777 == 0o600)
        #expect(settings.usersFileProblem(file: "c.yaml") == nil)
        #expect(try ConsoleUsers.load(path: path).hashes.keys.sorted() == ["anna"])
        chmod(path, 0o644)
        #expect(settings.usersFileProblem(file: "c.yaml")?.contains("readable or writable by others") == true)
        settings.listenHost = nil
        #expect(settings.usersFileProblem(file: "c.yaml") == nil, "a console that is off needs no users file")
        #expect(throws: ConsoleUsers.Problem.self) { try ConsoleUsers.parse("anna:plain\n", path: "u") }
        #expect(throws: ConsoleUsers.Problem.self) { try ConsoleUsers.parse("a b:\(PasswordHash.decoy)\n", path: "u") }
        #expect(try ConsoleUsers.parse("# operators\n\nanna:\(PasswordHash.decoy)\n", path: "u").hashes.count == 1)
    }
}
