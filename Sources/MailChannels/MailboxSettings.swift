import Curl
import Foundation
import Ledger
import Synchronization

/// What to do with a message at the server once it is safely in the ledger.
public enum MailboxAfter: Sendable, Hashable, CustomStringConvertible {
    /// IMAP: set `\Seen`; POP3: leave it on the server.
    case seen
    /// IMAP: `\Deleted` + expunge; POP3: `DELE` (final at `QUIT`).
    case delete
    /// IMAP only: `UID MOVE` into this folder.
    case move(String)

    /// `seen`, `delete`, `move:FOLDER`; nil for anything else.
    public init?(_ text: String) {
        switch text {
        case "seen": self = .seen
        case "delete": self = .delete
        default:
            guard text.hasPrefix("move:"), text.count > 5 else { return nil }
            self = .move(String(text.dropFirst(5)))
        }
    }

    public var description: String {
        switch self {
        case .seen: "seen"
        case .delete: "delete"
        case .move(let folder): "move:\(folder)"
        }
    }
}

/// A mailbox on an IMAP or POP3 server, as configured.
public struct MailboxSettings: Sendable {
    /// `imap://host:port/MAILBOX`, `imaps://…`, `pop3://host:port`, `pop3s://…`.
    public var url: String
    public var username: String?
    /// Read at each poll (a rotated password file is picked up); never logged.
    public var password: (@Sendable () throws -> String?)?
    /// A file holding an OAuth2 access token, re-read at each poll so that an external refresher
    /// can rotate it; when set, login is XOAUTH2/OAUTHBEARER instead of the password.
    public var oauth2TokenFile: String?
    /// STARTTLS required on a plain `imap://` / `pop3://` URL.
    public var startTLS: Bool
    public var tls: CurlTLS
    public var after: MailboxAfter
    /// A larger message is kept only up to this many bytes (+1, so the pipeline sees it is too large).
    public var maxMessageBytes: Int
    public var timeout: Duration
    /// IMAP: accepted, unused (the batched fetch pipelines over one connection).
    public var fetchConnections: Int

    public init(
        url: String, username: String? = nil, password: (@Sendable () throws -> String?)? = nil,
        oauth2TokenFile: String? = nil, startTLS: Bool = false, tls: CurlTLS = .init(), after: MailboxAfter = .seen,
        maxMessageBytes: Int = 10 << 20, timeout: Duration = .seconds(120), fetchConnections: Int = 1
    ) {
        self.fetchConnections = max(1, fetchConnections)
        self.url = url
        self.username = username
        self.password = password
        self.oauth2TokenFile = oauth2TokenFile
        self.startTLS = startTLS
        self.tls = tls
        self.after = after
        self.maxMessageBytes = maxMessageBytes
        self.timeout = timeout
    }

    /// The credentials for this poll: the bearer token read from its file now, or the password.
    func login() throws -> CurlLogin {
        if let file = oauth2TokenFile {
            let token: String
            do {
                token = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw MailSourceError("cannot read the OAuth2 token file \(file)", code: .credentials, cause: error)
            }
            guard !token.isEmpty else { throw MailSourceError("the OAuth2 token file \(file) is empty", code: .credentials) }
            return CurlLogin(username: username, bearer: token)
        }
        return CurlLogin(username: username, password: try password?())
    }

    /// `scheme://authority` and the path (percent-decoded) of `url`.
    var parts: (base: String, path: String) {
        guard let schemeEnd = url.range(of: "://") else { return (url, "") }
        let rest = url[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/") else { return (url, "") }
        let path = String(rest[rest.index(after: slash)...])
        return (String(url[..<slash]), path.removingPercentEncoding ?? path)
    }
}

/// A mail source's own failure (a transfer error is a `CurlError`): what kind, the operator's
/// words, the error underneath, and where it was raised.
public struct MailSourceError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case unexpectedAnswer = "unexpected answer"
            case incompleteMessage = "incomplete message"
            case credentials = "credentials"
        }

        private let kind: Kind

        /// The server's answers do not add up (a listing, a missing EXISTS); the next poll lists again.
        public static let unexpectedAnswer = Code(kind: .unexpectedAnswer)
        /// A message came shorter than its stated size; it is fetched again.
        public static let incompleteMessage = Code(kind: .incompleteMessage)
        /// The credentials could not be read (an OAuth2 token file).
        public static let credentials = Code(kind: .credentials)

        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    public var cause: (any Error)?
    public var file: String
    public var line: Int

    public init(_ message: String, code: Code = .unexpectedAnswer, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { cause.map { "\(message): \($0)" } ?? message }
}

/// Where a mail source keeps what must survive a restart: its cursor (IMAP: UIDVALIDITY and the
/// next UID), and what the ledger already holds (so nothing is recorded or answered twice):
/// the ledger's feed state, as for every other feed.
public typealias MailboxStateStore = FeedStateStore

extension FeedStateStore {
    /// Which of these external ids the ledger holds (e-mail channel).
    func knownExternalIDs(_ ids: [String]) async throws -> Set<String> {
        try await knownExternalIDs(channel: "email", ids)
    }

    /// Fingerprints (`MessageFingerprint`) of the e-mails this feed recorded.
    func recordedFingerprints(feed: String) async throws -> Set<String> {
        let fingerprints = Mutex<Set<String>>([])
        try await forEachRawMessage(feed: feed, channel: "email") { raw in
            let fingerprint = MessageFingerprint.of(raw)
            fingerprints.withLock { _ = $0.insert(fingerprint) }
        }
        return fingerprints.withLock { $0 }
    }
}

/// What identifies a message again when its UID no longer does (after a UIDVALIDITY change):
/// its Message-ID, or else its bytes.
public enum MessageFingerprint {
    public static func of(_ raw: [UInt8]) -> String {
        if let id = messageID(raw) { return "id:" + id }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in raw {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return "raw:\(raw.count):" + String(hash, radix: 16)
    }

    /// The Message-ID header's value (lower-cased, angle brackets kept), from the header block only.
    public static func messageID(_ raw: [UInt8]) -> String? {
        var lineStart = 0
        var index = 0
        let count = raw.count
        while index <= count {
            if index == count || raw[index] == 0x0A {
                var end = index
                if end > lineStart, raw[end - 1] == 0x0D { end -= 1 }
                if end == lineStart { return nil }   // blank line: end of the header block
                let line = raw[lineStart..<end]
                if line.count >= 11, line.prefix(11).map({ $0 | 0x20 }) == Array("message-id:".utf8) {
                    var value = String(decoding: line.dropFirst(11), as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    // A folded value continues on the next line.
                    var next = index + 1
                    while value.isEmpty, next < count, raw[next] == 0x20 || raw[next] == 0x09 {
                        var lineEnd = next
                        while lineEnd < count, raw[lineEnd] != 0x0A { lineEnd += 1 }
                        value = String(decoding: raw[next..<lineEnd], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                        next = lineEnd + 1
                    }
                    return value.isEmpty ? nil : value.lowercased()
                }
                lineStart = index + 1
            }
            index += 1
        }
        return nil
    }
}
