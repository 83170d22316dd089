import Foundation

/// Secrets and plain-text credentials (issue 13):
/// - a password in a URL's user info (`imap://user:pw@host`) is refused: it would show in
///   `/healthz`, `status` and the ledger's errors; `password` | `password_file` | `password_env` instead;
/// - a secret is a YAML string: `0123`, `yes`, `12:30` unquoted (read by YAML as 83, true, 750)
///   are refused with a hint to quote them; an empty secret (inline, file or variable) is refused;
/// - `*_file` may start with `$CREDENTIALS_DIRECTORY/` (systemd's `LoadCredential=`);
/// - credentials over `imap://`, `pop3://`, `smtp://` to a host that is not loopback go only
///   with STARTTLS (the default there) or with `allow_plaintext: true`, which is logged at
///   every start.
extension MetergateConfiguration {
    /// Refuses `scheme://user:password@host…` in `url` (key `key`).
    static func refusePasswordInURL(_ url: String, key: String, file: String) throws {
        guard let marker = url.range(of: "://") else { return }
        let authority = url[marker.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        guard let at = authority.lastIndex(of: "@"), authority[..<at].contains(":") else { return }
        throw ConfigurationError(
            file: file, key: key,
            reason: "holds a password in the URL: remove it and give password, password_file or password_env (a URL shows in status, /healthz and errors)")
    }

    /// Checks `scheme://[user@]host[:port]/…` in `url` (key `key`): no password in it, a host,
    /// and a port, when one is given, of ASCII digits within 1…65535 (issue 13: `:nan`, `:-1`,
    /// `:65536` and `:18446744073709551616` are one clear line, never a trap or a silent default).
    static func checkNetworkURL(_ url: String, key: String, file: String) throws {
        try refusePasswordInURL(url, key: key, file: file)
        guard let marker = url.range(of: "://") else { return }
        var authority = Substring(url[marker.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var port: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw ConfigurationError(file: file, key: key, reason: "'\(url)': the IPv6 address has no closing ]")
            }
            let rest = authority[authority.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else {
                    throw ConfigurationError(file: file, key: key, reason: "'\(url)': only :PORT may follow the IPv6 address")
                }
                port = rest.dropFirst()
            }
        } else if let colon = authority.firstIndex(of: ":") {
            port = authority[authority.index(after: colon)...]
            authority = authority[..<colon]
        }
        guard !host(of: url).isEmpty else {
            throw ConfigurationError(file: file, key: key, reason: "'\(url)' names no host")
        }
        guard let port else { return }
        guard !port.isEmpty, port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }),
              let number = Int(port), (1...65535).contains(number) else {
            throw ConfigurationError(file: file, key: key, reason: "port '\(port.prefix(24))' must be a number from 1 to 65535")
        }
    }

    /// The host of `scheme://[user@]host[:port]/…`.
    static func host(of url: String) -> String {
        guard let marker = url.range(of: "://") else { return "" }
        var authority = String(url[marker.upperBound...].prefix { $0 != "/" && $0 != "?" && $0 != "#" })
        if let at = authority.lastIndex(of: "@") { authority = String(authority[authority.index(after: at)...]) }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            return String(authority[authority.index(after: authority.startIndex)..<close])
        }
        return String(authority.split(separator: ":", maxSplits: 1).first ?? "").lowercased()
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.") || host.hasSuffix(".localhost")
    }

    /// Whether credentials may go over a plain connection to `url`'s host; throws when they
    /// would without `allow_plaintext: true`. `startTLS` is the effective setting.
    static func checkPlaintext(
        url: String, plainSchemes: Set<String>, credentials: Bool, startTLS: Bool, allowPlaintext: Bool,
        key: String, file: String, warnings: inout [String]
    ) throws {
        let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
        guard credentials, plainSchemes.contains(scheme), !startTLS else { return }
        let host = host(of: url)
        guard !isLoopback(host) else { return }
        guard allowPlaintext else {
            throw ConfigurationError(
                file: file, key: key,
                reason: "credentials would go in plain text to \(host): use a TLS URL or starttls: true, or set allow_plaintext: true")
        }
        warnings.append("\(file): \(key): credentials go in plain text to \(host) (allow_plaintext: true)")
    }
}

extension ConfigTree {
    /// A secret as written inline: a YAML string, not empty.
    func secretString(_ node: [String: Any]?, _ key: String, at path: String) throws -> String? {
        guard let value = node?[key] else { return nil }
        switch value {
        case let text as String:
            guard !text.isEmpty else {
                throw ConfigurationError(file: file, key: path, reason: "is empty (an empty secret would turn authentication off)")
            }
            return text
        case is Int, is Double, is Bool, is Date:
            throw ConfigurationError(
                file: file, key: path,
                reason: "YAML reads this secret as a \(value is Bool ? "boolean" : value is Date ? "date" : "number"), not the text written: quote it (\(key): \"…\")")
        default:
            throw ConfigurationError(file: file, key: path, reason: "expected a text value (quoted)")
        }
    }
}
