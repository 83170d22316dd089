import Foundation
import SMSChannels

/// The `sms[]` keys of the Kannel and SMSC-style kinds (contract §3):
/// - `kind: kannel`: `listen` (`127.0.0.1:8085`; the endpoint is `/sms/kannel`), `secret` |
///   `secret_file` | `secret_env` (none: requests need `&secret=` when set),
///   `allowed_addresses` (list or comma-separated; IPs or IPv4 networks; default loopback
///   only), `sendsms_url` (`http://127.0.0.1:13013/cgi-bin/sendsms`), `username`,
///   `password` | `password_file` | `password_env`, `number` (our number: sent as `from`
///   when set), `tls_verify` (true), `ca_file`.
/// - `kind: smsc`: `base_url` (`https://smsc.ru`), `login` (required), `password` |
///   `password_file` | `password_env` (required), `poll_interval` (5s), `tls_verify` (true),
///   `ca_file`.
extension MetergateConfiguration {
    package struct KannelSettings {
        package var host: String
        package var port: Int
        package var secret: SecretReference?
        package var allowed: AddressAllowList
        package var sendsmsURL: String
        package var username: String?
        package var tlsVerify: Bool
        package var caFile: String?
    }

    package struct SMSCSettings {
        package var baseURL: String
        package var login: String
        package var tlsVerify: Bool
        package var caFile: String?
    }

    static func kannelSettings(_ tree: ConfigTree, _ item: [String: Any], at: String) throws -> KannelSettings {
        let listen = try tree.string(item, "listen", at: at + ".listen") ?? "127.0.0.1:8085"
        guard let (host, port) = Self.hostAndPort(listen) else {
            throw ConfigurationError(file: tree.file, key: at + ".listen", reason: "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:8085)")
        }
        var allowed = AddressAllowList.loopback
        if let value = item["allowed_addresses"] {
            let entries: [String]
            if let list = value as? [Any] {
                entries = list.map { "\($0)" }
            } else if let text = try tree.string(item, "allowed_addresses", at: at + ".allowed_addresses") {
                entries = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            } else {
                entries = []
            }
            do {
                allowed = try AddressAllowList(entries)
            } catch {
                throw ConfigurationError(file: tree.file, key: at + ".allowed_addresses", reason: "\(error)")
            }
        }
        let sendsms = try tree.string(item, "sendsms_url", at: at + ".sendsms_url") ?? "http://127.0.0.1:13013/cgi-bin/sendsms"
        guard sendsms.hasPrefix("http://") || sendsms.hasPrefix("https://") else {
            throw ConfigurationError(file: tree.file, key: at + ".sendsms_url", reason: "'\(sendsms)' must start with http:// or https://")
        }
        try Self.checkNetworkURL(sendsms, key: at + ".sendsms_url", file: tree.file)
        return KannelSettings(
            host: host, port: port, secret: try Self.secret(tree, item, key: "secret", at: at), allowed: allowed,
            sendsmsURL: sendsms, username: try tree.string(item, "username", at: at + ".username"),
            tlsVerify: try tree.bool(item, "tls_verify", at: at + ".tls_verify") ?? true,
            caFile: try tree.string(item, "ca_file", at: at + ".ca_file"))
    }

    static func smscSettings(_ tree: ConfigTree, _ item: [String: Any], at: String) throws -> SMSCSettings {
        let base = try tree.string(item, "base_url", at: at + ".base_url") ?? "https://smsc.ru"
        guard base.hasPrefix("http://") || base.hasPrefix("https://") else {
            throw ConfigurationError(file: tree.file, key: at + ".base_url", reason: "'\(base)' must start with https:// (or http://)")
        }
        try Self.checkNetworkURL(base, key: at + ".base_url", file: tree.file)
        guard let login = try tree.string(item, "login", at: at + ".login"), !login.isEmpty else {
            throw ConfigurationError(file: tree.file, key: at + ".login", reason: "missing: the provider's API login")
        }
        if try Self.secret(tree, item, key: "password", at: at) == nil {
            throw ConfigurationError(file: tree.file, key: at + ".password", reason: "missing: give password, password_file or password_env")
        }
        return SMSCSettings(
            baseURL: base, login: login, tlsVerify: try tree.bool(item, "tls_verify", at: at + ".tls_verify") ?? true,
            caFile: try tree.string(item, "ca_file", at: at + ".ca_file"))
    }

    /// `127.0.0.1:8085`, `[::1]:8085`, `localhost:8085`.
    static func hostAndPort(_ text: String) -> (String, Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
              (0...65535).contains(port) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return host.isEmpty ? nil : (host, port)
    }
}
