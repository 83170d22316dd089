import Foundation
import Synchronization

/// The console's sessions, CSRF tokens and lock-outs, in memory (a restart signs everyone out).
///
/// A session is a random 256-bit token in an `HttpOnly`, `SameSite=Strict` cookie; it carries
/// its own CSRF token, which every POST must send back. `lockoutFailures` wrong passwords in a
/// row lock the name for `lockout`, known or not (so that the answer does not tell which names
/// exist); a right password during the lock-out does not open it.
package final class ConsoleSessions: Sendable {
    package struct Session: Sendable, Hashable {
        package var operator_: String
        package var csrf: String
        package var createdAt: Date
        package var lastSeen: Date
    }

    package enum SignIn: Sendable, Equatable {
        /// Signed in: the session's cookie token.
        case signedIn(token: String)
        case wrongPassword(failuresLeft: Int)
        case locked(until: Date)
    }

    struct State {
        var sessions: [String: Session] = [:]
        var failures: [String: (count: Int, lockedUntil: Date?)] = [:]
    }

    private let state = Mutex(State())
    let lockoutFailures: Int
    let lockout: TimeInterval
    let idle: TimeInterval
    /// A session ends this long after sign-in, however busy.
    let maximumAge: TimeInterval = 12 * 3600
    let now: @Sendable () -> Date

    package init(lockoutFailures: Int = 5, lockout: TimeInterval = 900, idle: TimeInterval = 1800, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lockoutFailures = lockoutFailures
        self.lockout = lockout
        self.idle = idle
        self.now = now
    }

    /// 256 random bits as 64 hex digits (the system's cryptographic generator).
    package static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in
            let word = generator.next() as UInt64
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Signs `name` in when `passwordMatches` (asked only when the name is not locked out).
    package func signIn(_ name: String, passwordMatches: () -> Bool) -> SignIn {
        let date = now()
        if let until = state.withLock({ $0.failures[name]?.lockedUntil }), until > date {
            return .locked(until: until)
        }
        let matches = passwordMatches()
        return state.withLock { state in
            if matches {
                state.failures[name] = nil
                let token = Self.randomToken()
                state.sessions[token] = Session(operator_: name, csrf: Self.randomToken(), createdAt: date, lastSeen: date)
                return .signedIn(token: token)
            }
            var entry = state.failures[name] ?? (0, nil)
            if let until = entry.lockedUntil, until <= date { entry = (0, nil) }
            entry.count += 1
            if entry.count >= lockoutFailures {
                let until = date.addingTimeInterval(lockout)
                state.failures[name] = (entry.count, until)
                return .locked(until: until)
            }
            state.failures[name] = entry
            return .wrongPassword(failuresLeft: lockoutFailures - entry.count)
        }
    }

    /// The session of `token`, touched; nil when unknown or expired (then it is forgotten).
    package func session(_ token: String?) -> Session? {
        guard let token, !token.isEmpty else { return nil }
        let date = now()
        return state.withLock { state in
            guard var session = state.sessions[token] else { return nil }
            if date.timeIntervalSince(session.lastSeen) > idle || date.timeIntervalSince(session.createdAt) > maximumAge {
                state.sessions[token] = nil
                return nil
            }
            session.lastSeen = date
            state.sessions[token] = session
            return session
        }
    }

    package func signOut(_ token: String) {
        _ = state.withLock { $0.sessions.removeValue(forKey: token) }
    }

    /// Whether a POST's `csrf` field is the session's token (compared in constant time).
    package static func csrfMatches(_ sent: String?, _ session: Session) -> Bool {
        guard let sent else { return false }
        let a = Array(sent.utf8)
        let b = Array(session.csrf.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }

    /// The `Set-Cookie` value of a session (`token` nil: the cookie removed).
    package static func cookie(name: String, _ token: String?, secure: Bool) -> String {
        var cookie = "\(name)=\(token ?? ""); Path=/; HttpOnly; SameSite=Strict"
        if token == nil { cookie += "; Max-Age=0" }
        if secure { cookie += "; Secure" }
        return cookie
    }
}
