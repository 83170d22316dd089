/// A Maildir file name: `<unique>[:2,<flags>]` (the `info` part only appears in `cur/`).
package struct MaildirFileName: Sendable, Hashable {
    package var unique: Substring
    /// The flags after `:2,`, empty when the name has none.
    package var flags: Substring

    package init(_ name: String) {
        if let colon = name.firstIndex(of: ":") {
            unique = name[..<colon]
            let info = name[name.index(after: colon)...]
            flags = info.hasPrefix("2,") ? info.dropFirst(2) : ""
        } else {
            unique = name[...]
            flags = ""
        }
    }

    /// The name for `cur/` once the message is handled: the `S` (seen) flag added, flags
    /// kept in ASCII order as the Maildir specification asks.
    package var seenName: String {
        var set = Set(flags)
        set.insert("S")
        return "\(unique):2,\(String(set.sorted()))"
    }
}
