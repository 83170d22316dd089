/// The client addresses a push endpoint accepts: exact addresses (`127.0.0.1`, `::1`) or IPv4
/// networks (`10.0.0.0/8`). An IPv4 address seen as IPv4-mapped IPv6 (`::ffff:10.1.2.3`) is
/// matched as IPv4. The default is loopback only.
public struct AddressAllowList: Sendable, Hashable, CustomStringConvertible {
    enum Rule: Sendable, Hashable {
        case exact(String)
        case ipv4(network: UInt32, mask: UInt32)
    }

    let rules: [Rule]
    public let description: String

    public static let loopback = try! AddressAllowList(["127.0.0.0/8", "::1"])

    public struct InvalidEntry: Error, Sendable, CustomStringConvertible {
        public var entry: String
        public var description: String { "'\(entry)' is not an IP address or an IPv4 network like 10.0.0.0/8" }
    }

    public init(_ entries: [String]) throws {
        var rules: [Rule] = []
        for raw in entries {
            let entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if let slash = entry.firstIndex(of: "/") {
                guard let address = Self.ipv4(String(entry[..<slash])), let bits = Int(entry[entry.index(after: slash)...]),
                      (0...32).contains(bits) else { throw InvalidEntry(entry: raw) }
                let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - UInt32(bits))
                rules.append(.ipv4(network: address & mask, mask: mask))
            } else if let address = Self.ipv4(entry) {
                rules.append(.ipv4(network: address, mask: ~0))
            } else if entry.contains(":"), entry.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) {
                rules.append(.exact(entry))
            } else {
                throw InvalidEntry(entry: raw)
            }
        }
        self.rules = rules
        description = entries.joined(separator: ", ")
    }

    public func allows(_ address: String?) -> Bool {
        guard var address = address?.lowercased() else { return false }
        if address.hasPrefix("::ffff:"), Self.ipv4(String(address.dropFirst(7))) != nil { address.removeFirst(7) }
        let v4 = Self.ipv4(address)
        return rules.contains { rule in
            switch rule {
            case .exact(let value): value == address
            case .ipv4(let network, let mask): v4.map { $0 & mask == network } ?? false
            }
        }
    }

    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy(\.isASCII), let byte = UInt8(part) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
