/// A parsed `Content-Type` (or `Content-Disposition`) value: lower-cased type/subtype and parameters.
///
/// Parameters: names are case-insensitive (stored lower-case), values quoted or not; RFC 2231
/// extended values (`name*=utf-8''%D0%90`) and continuations (`name*0*=`, `name*1=`) are joined and
/// decoded. Missing semicolons and stray junk are skipped.
public struct ContentType: Sendable, Hashable {
    public var type: String
    public var subtype: String
    public var parameters: [String: String]

    public var mimeType: String { type + "/" + subtype }
    public var isMultipart: Bool { type == "multipart" }
    public func parameter(_ name: String) -> String? { parameters[name.lowercased()] }

    public init(type: String, subtype: String, parameters: [String: String] = [:]) {
        self.type = type
        self.subtype = subtype
        self.parameters = parameters
    }

    static let textPlain = ContentType(type: "text", subtype: "plain")
    static let messageRFC822 = ContentType(type: "message", subtype: "rfc822")

    /// Parses a header value; nil when there is no usable `type/subtype` (a bare `text` is text/plain).
    public static func parse(_ value: String) -> ContentType? {
        let u = Array(value.utf8)
        var i = 0
        skipCFWS(u, &i)
        let typeStart = i
        while i < u.count, u[i] != 0x3B, u[i] != 0x2F, u[i] > 0x20 { i += 1 }
        let type = String(decoding: u[typeStart..<i], as: UTF8.self).lowercased()
        skipCFWS(u, &i)
        var subtype = ""
        if i < u.count, u[i] == 0x2F {
            i += 1
            skipCFWS(u, &i)
            let s = i
            while i < u.count, u[i] != 0x3B, u[i] > 0x20, u[i] != 0x28 { i += 1 }
            subtype = String(decoding: u[s..<i], as: UTF8.self).lowercased()
        }
        let params = parseParameters(u, from: i)
        if type.isEmpty || !type.utf8.allSatisfy(isTokenByte) { return nil }
        if subtype.isEmpty {
            if type == "text" { return ContentType(type: "text", subtype: "plain", parameters: params) }
            return nil
        }
        guard subtype.utf8.allSatisfy(isTokenByte) else { return nil }
        return ContentType(type: type, subtype: subtype, parameters: params)
    }

    /// Only the parameters (for Content-Disposition, whose first token is not type/subtype).
    static func parseDisposition(_ value: String) -> (kind: String, parameters: [String: String]) {
        let u = Array(value.utf8)
        var i = 0
        skipCFWS(u, &i)
        let s = i
        while i < u.count, u[i] != 0x3B, u[i] > 0x20 { i += 1 }
        return (String(decoding: u[s..<i], as: UTF8.self).lowercased(), parseParameters(u, from: i))
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        b > 0x20 && b < 0x7F && !"()<>@,;:\\\"/[]?=".utf8.contains(b)
    }

    static func skipCFWS(_ u: [UInt8], _ i: inout Int) {
        while i < u.count {
            if u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0D || u[i] == 0x0A { i += 1; continue }
            if u[i] == 0x28 { // comment, nested
                var depth = 0
                while i < u.count {
                    if u[i] == 0x5C { i += 2; continue }
                    if u[i] == 0x28 { depth += 1 }
                    if u[i] == 0x29 { depth -= 1; if depth == 0 { i += 1; break } }
                    i += 1
                }
                continue
            }
            break
        }
        if i > u.count { i = u.count }
    }

    private struct Piece { var index: Int; var extended: Bool; var value: [UInt8] }

    static func parseParameters(_ u: [UInt8], from start: Int) -> [String: String] {
        var simple: [String: String] = [:]
        var pieces: [String: [Piece]] = [:]
        var i = start
        var count = 0
        while i < u.count, count < 64 {
            // Skip to a parameter name.
            while i < u.count, u[i] == 0x3B || u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0D || u[i] == 0x0A || u[i] == 0x28 {
                if u[i] == 0x28 { skipCFWS(u, &i) } else { i += 1 }
            }
            let nameStart = i
            while i < u.count, u[i] != 0x3D, u[i] != 0x3B, u[i] > 0x20 { i += 1 }
            let rawName = String(decoding: u[nameStart..<i], as: UTF8.self).lowercased()
            var j = i
            while j < u.count, u[j] == 0x20 || u[j] == 0x09 { j += 1 }
            guard j < u.count, u[j] == 0x3D, !rawName.isEmpty else {
                // Junk without '=': skip to the next ';'.
                while i < u.count, u[i] != 0x3B { i += 1 }
                if i == nameStart { i += 1 }
                continue
            }
            i = j + 1
            while i < u.count, u[i] == 0x20 || u[i] == 0x09 || u[i] == 0x0D || u[i] == 0x0A { i += 1 }
            var value: [UInt8] = []
            if i < u.count, u[i] == 0x22 {
                i += 1
                while i < u.count, u[i] != 0x22 {
                    if u[i] == 0x5C, i + 1 < u.count { i += 1 }
                    value.append(u[i])
                    i += 1
                }
                i += 1
                // Junk after the closing quote.
                while i < u.count, u[i] != 0x3B { i += 1 }
            } else {
                while i < u.count, u[i] != 0x3B { value.append(u[i]); i += 1 }
                value = Array(HeaderBlock.trimWSP(value[...]))
            }
            count += 1
            // RFC 2231: name*  name*N  name*N*
            if let star = rawName.firstIndex(of: "*") {
                let base = String(rawName[..<star])
                var rest = rawName[rawName.index(after: star)...]
                var extended = false
                if rest.hasSuffix("*") { extended = true; rest = rest.dropLast() }
                if rest.isEmpty {
                    pieces[base, default: []].append(Piece(index: 0, extended: true, value: value))
                } else if let n = Int(rest), n >= 0, n < 1000 {
                    pieces[base, default: []].append(Piece(index: n, extended: extended, value: value))
                } else {
                    if simple[rawName] == nil { simple[rawName] = String(decoding: value, as: UTF8.self) }
                }
            } else if simple[rawName] == nil {
                simple[rawName] = String(decoding: value, as: UTF8.self)
            }
        }
        for (name, list) in pieces {
            let sorted = list.sorted { $0.index < $1.index }
            var charset: String? = nil
            var bytes: [UInt8] = []
            for (k, p) in sorted.enumerated() {
                var v = p.value[...]
                if p.extended {
                    if k == 0 {
                        // charset'language'value
                        if let q1 = v.firstIndex(of: 0x27), let q2 = v[(q1 + 1)...].firstIndex(of: 0x27) {
                            charset = String(decoding: v[v.startIndex..<q1], as: UTF8.self)
                            v = v[(q2 + 1)...]
                        }
                    }
                    bytes += percentDecode(v)
                } else {
                    bytes += v
                }
            }
            var ignored: [MailDefect] = []
            let text = Charset.decode(bytes[...], declared: charset, defects: &ignored)
            simple[name] = text   // the RFC 2231 form wins over a plain one
        }
        return simple
    }

    static func percentDecode(_ v: ArraySlice<UInt8>) -> [UInt8] {
        var out: [UInt8] = []
        var i = v.startIndex
        while i < v.endIndex {
            if v[i] == 0x25, v.endIndex - i >= 3, let h = QuotedPrintable.hex(v[i + 1]), let l = QuotedPrintable.hex(v[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(v[i])
                i += 1
            }
        }
        return out
    }
}
