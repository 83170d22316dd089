/// A PostgreSQL connection URL, `postgres://` or `postgresql://` (libpq's URI form):
/// `postgresql://[user[:password]@][host][:port][/database][?keyword=value&…]`.
///
/// Parsed here rather than by libpq so that the password can come from elsewhere (a secret
/// file or variable), the URL can be shown without it, and a bad URL is refused when the
/// configuration is read, not at the first poll. `host` may be a unix socket folder, written
/// percent-encoded (`postgresql://%2Fvar%2Frun%2Fpostgresql/smsd`) or as `?host=/path`; an
/// IPv6 address goes in brackets. Query keywords are libpq connection parameters
/// (`sslmode`, `connect_timeout`, `application_name`, …) and are passed on unchanged.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public var user: String?
    public var password: String?
    public var host: String?
    public var port: Int?
    /// Several servers (`postgres://db1:5432,db2:5433/…`): libpq's comma-separated `host` and
    /// `port` lists, tried in order (with `target_session_attrs=read-write`, until a primary
    /// answers). `host` then holds the hosts joined by commas, `port` is nil.
    public var ports: String?
    public var database: String?
    /// libpq keywords from the query string, in their order.
    public var parameters: [(key: String, value: String)]

    public init(user: String? = nil, password: String? = nil, host: String? = nil, port: Int? = nil,
                database: String? = nil, parameters: [(key: String, value: String)] = []) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.parameters = parameters
    }

    /// True for text that names a PostgreSQL database rather than a file.
    public static func isPostgresURL(_ text: String) -> Bool {
        let lowered = text.lowercased()
        return lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://")
    }

    public init(parsing text: String) throws(PostgresError) {
        func invalid(_ why: String) -> PostgresError {
            PostgresError(code: .invalidURL, message: why)
        }
        let lowered = text.lowercased()
        let scheme = lowered.hasPrefix("postgresql://") ? "postgresql://" : lowered.hasPrefix("postgres://") ? "postgres://" : nil
        guard let scheme else { throw invalid("must start with postgres:// or postgresql://") }
        var rest = Substring(text.dropFirst(scheme.count))
        var query: Substring = ""
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path: Substring?
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        // The authority: the last '@' ends the user information (a password may hold '@' only
        // percent-encoded, but be lenient).
        var hostPort = rest
        if let at = rest.lastIndex(of: "@") {
            let info = rest[..<at]
            hostPort = rest[rest.index(after: at)...]
            if let colon = info.firstIndex(of: ":") {
                user = try Self.decode(info[..<colon], "user")
                password = try Self.decode(info[info.index(after: colon)...], "password")
            } else {
                user = try Self.decode(info, "user")
            }
            if user?.isEmpty == true { user = nil }
        }
        var portText: Substring?
        if hostPort.contains(",") {
            // Several hosts, each with an optional port (an IPv6 address in brackets).
            var hosts: [String] = []
            var portList: [String] = []
            for entry in hostPort.split(separator: ",", omittingEmptySubsequences: false) {
                var name = entry
                var entryPort: Substring = ""
                if entry.hasPrefix("[") {
                    guard let close = entry.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
                    name = entry[entry.index(after: entry.startIndex)..<close]
                    let after = entry[entry.index(after: close)...]
                    if !after.isEmpty {
                        guard after.hasPrefix(":") else { throw invalid("unexpected text after ']' in the host") }
                        entryPort = after.dropFirst()
                    }
                } else if let colon = entry.lastIndex(of: ":") {
                    name = entry[..<colon]
                    entryPort = entry[entry.index(after: colon)...]
                }
                guard !name.isEmpty else { throw invalid("an empty host in the list '\(hostPort)'") }
                if !entryPort.isEmpty {
                    guard let value = Int(entryPort), (1...65535).contains(value) else {
                        throw invalid("port '\(entryPort)' is not a number from 1 to 65535")
                    }
                }
                hosts.append(try Self.decode(name, "host"))
                portList.append(String(entryPort))
            }
            host = hosts.joined(separator: ",")
            if portList.contains(where: { !$0.isEmpty }) {
                // libpq: an empty entry takes the default port.
                ports = portList.map { $0.isEmpty ? "5432" : $0 }.joined(separator: ",")
            }
        } else if hostPort.hasPrefix("[") {
            guard let close = hostPort.firstIndex(of: "]") else { throw invalid("unclosed '[' in the host") }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let after = hostPort[hostPort.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw invalid("unexpected text after ']' in the host") }
                portText = after.dropFirst()
            }
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = try Self.decode(hostPort[..<colon], "host")
            portText = hostPort[hostPort.index(after: colon)...]
        } else if !hostPort.isEmpty {
            host = try Self.decode(hostPort, "host")
        }
        if host?.isEmpty == true { host = nil }
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else {
                throw invalid("port '\(portText)' is not a number from 1 to 65535")
            }
            port = value
        }
        if let path, !path.isEmpty {
            guard !path.contains("/") else { throw invalid("the database name holds a '/'") }
            database = try Self.decode(path, "database")
        }
        parameters = []
        for pair in query.split(separator: "&") where !pair.isEmpty {
            guard let equals = pair.firstIndex(of: "=") else { throw invalid("query item '\(pair)' has no '='") }
            let key = try Self.decode(pair[..<equals], "query keyword")
            let value = try Self.decode(pair[pair.index(after: equals)...], "query value")
            guard !key.isEmpty, key.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw invalid("'\(key)' is not a connection keyword")
            }
            switch key {
            case "password": password = value
            case "user": user = value
            case "host": host = value
            case "dbname": database = value
            case "port":
                guard let number = Int(value), (1...65535).contains(number) else { throw invalid("port '\(value)' is not a number from 1 to 65535") }
                port = number
            default: parameters.append((key, value))
            }
        }
    }

    /// The URL without its password (for logs and errors).
    public var description: String {
        var text = "postgresql://"
        if let user { text += Self.encode(user) + (password == nil ? "" : ":***") + "@" }
        if let host, host.contains(",") {
            let portList = ports?.split(separator: ",", omittingEmptySubsequences: false).map(String.init) ?? []
            text += host.split(separator: ",").enumerated().map { index, name in
                let shown = name.contains(":") ? "[\(name)]" : Self.encode(String(name))
                return index < portList.count && !portList[index].isEmpty ? "\(shown):\(portList[index])" : shown
            }.joined(separator: ",")
        } else if let host {
            text += host.contains(":") ? "[\(host)]" : Self.encode(host)
        }
        if let port { text += ":\(port)" }
        if let database { text += "/" + Self.encode(database) }
        if !parameters.isEmpty {
            text += "?" + parameters.map { "\(Self.encode($0.key))=\(Self.encode($0.value))" }.joined(separator: "&")
        }
        return text
    }

    /// libpq's keywords and values for `PQconnectdbParams` (with `expand_dbname` off, so no value
    /// is read as a URL again). `password` replaces the URL's own when given.
    public func keywords(password override: String? = nil) -> [(key: String, value: String)] {
        var keywords: [(key: String, value: String)] = []
        if let host { keywords.append(("host", host)) }
        if let port { keywords.append(("port", String(port))) } else if let ports { keywords.append(("port", ports)) }
        if let user { keywords.append(("user", user)) }
        if let password = override ?? password { keywords.append(("password", password)) }
        if let database { keywords.append(("dbname", database)) }
        keywords += parameters
        if !parameters.contains(where: { $0.key == "client_encoding" }) { keywords.append(("client_encoding", "UTF8")) }
        return keywords
    }

    public static func == (lhs: PostgresURL, rhs: PostgresURL) -> Bool {
        lhs.user == rhs.user && lhs.password == rhs.password && lhs.host == rhs.host && lhs.port == rhs.port
            && lhs.ports == rhs.ports && lhs.database == rhs.database && lhs.parameters.map { "\($0.key)=\($0.value)" } == rhs.parameters.map { "\($0.key)=\($0.value)" }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(description)
        hasher.combine(password)
    }

    private static func decode(_ text: Substring, _ part: String) throws(PostgresError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8)[...]
        while let byte = iterator.popFirst() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard iterator.count >= 2, let high = hexValue(iterator.removeFirst()), let low = hexValue(iterator.removeFirst()) else {
                throw PostgresError(code: .invalidURL, message: "bad percent-encoding in the \(part)")
            }
            bytes.append(high << 4 | low)
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw PostgresError(code: .invalidURL, message: "the \(part) is not UTF-8")
        }
        return decoded
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func encode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if byte < 0x80, scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || "-._~".unicodeScalars.contains(scalar) {
                encoded.unicodeScalars.append(scalar)
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
