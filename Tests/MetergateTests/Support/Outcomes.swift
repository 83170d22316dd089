import Foundation

/// One outcome line of `metergate replay` (contract §5).
struct OutcomeLine: Sendable, CustomStringConvertible {
    struct Result: Sendable {
        var uin: String?
        var status: String?
        var reason: String?
        var readings: [String]?
    }

    var id: String
    var status: String?
    var reason: String?
    var results: [Result]
    /// nil when the key is absent; `.some(nil)` for JSON null.
    var reply: String??
    var line: String

    var description: String { line.count > 600 ? String(line.prefix(600)) + "…" : line }

    /// The first reason given, at the top or in a result (as score.py reads it).
    var anyReason: String? { reason ?? results.compactMap(\.reason).first }

    static func parse(_ line: String) throws -> OutcomeLine {
        guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw HarnessError(description: "outcome line is not a JSON object: \(line.prefix(300))")
        }
        let id: String
        switch object["id"] {
        case let text as String: id = text
        case let number as NSNumber: id = number.stringValue
        default: throw HarnessError(description: "outcome line without id: \(line.prefix(300))")
        }
        let top = object["status"] as? String
        let results = (object["results"] as? [Any] ?? []).compactMap { $0 as? [String: Any] }.map { item in
            Result(
                uin: item["uin"].map { "\($0)" },
                status: (item["status"] as? String) ?? top,
                reason: item["reason"] as? String,
                readings: (item["readings"] as? [Any])?.map { "\($0)" })
        }
        let reply: String??
        if let value = object["reply"] {
            reply = .some(value as? String)
        } else {
            reply = .none
        }
        return OutcomeLine(
            id: id, status: top, reason: object["reason"] as? String, results: results, reply: reply, line: line)
    }
}

/// Readings equal as decimals (score.py's `same_readings`).
func sameReadings(_ got: [String]?, _ want: [String]) -> Bool {
    guard let got, got.count == want.count else { return false }
    for (g, w) in zip(got, want) {
        guard let gd = Decimal(string: g.trimmingCharacters(in: .whitespaces), locale: Locale(identifier: "en_US_POSIX")),
              let wd = Decimal(string: w, locale: Locale(identifier: "en_US_POSIX")),
              // Decimal(string:) accepts a prefix ("12abc" → 12): insist on the whole text.
              g.trimmingCharacters(in: .whitespaces).allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }),
              gd == wd else { return false }
    }
    return true
}

/// A normalised decimal string (contract §5): no leading zeros, `.` as the decimal point.
func isNormalisedDecimal(_ text: String) -> Bool {
    text.range(of: #"^(0|[1-9][0-9]*)(\.[0-9]+)?$"#, options: .regularExpression) != nil
}

enum SMSSegment {
    static let gsmBasic = Set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
        + "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
    static let gsmExtension = Set("^{}\\[~]|€\u{0C}")

    /// nil when the text fits one SMS segment, else why not (score.py's rule).
    static func problem(_ text: String) -> String? {
        if text.allSatisfy({ gsmBasic.contains($0) || gsmExtension.contains($0) }) {
            let septets = text.reduce(0) { $0 + (gsmExtension.contains($1) ? 2 : 1) }
            return septets <= 160 ? nil : "GSM-7 reply of \(septets) septets > 160"
        }
        let units = text.utf16.count
        return units <= 70 ? nil : "UCS-2 reply of \(units) UTF-16 units > 70"
    }
}

/// Builds one replay input line from a dictionary.
func replayLine(_ object: [String: Any]) throws -> String {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.withoutEscapingSlashes, .sortedKeys])
    return String(decoding: data, as: UTF8.self)
}

/// `bytes` decoded as UTF-8 with every ill-formed sequence replaced by U+FFFD, like
/// `String(decoding:as:)` — done by hand because the standard library's repair throws (and
/// Swift Testing captures a backtrace for) every bad byte: minutes on 10 MB of random bytes.
func lossyUTF8(_ bytes: [UInt8]) -> String {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
    var index = 0
    let count = bytes.count
    while index < count {
        let lead = bytes[index]
        if lead < 0x80 {
            out.append(lead)
            index += 1
            continue
        }
        var length = 0
        var low: UInt8 = 0x80, high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: length = 0
        }
        if length == 0 {
            out.append(contentsOf: replacement)
            index += 1
            continue
        }
        // Maximal subpart: consume the valid prefix, replace it once when incomplete.
        var taken = 1
        while taken < length, index + taken < count {
            let byte = bytes[index + taken]
            let (min, max) = taken == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
            guard byte >= min, byte <= max else { break }
            taken += 1
        }
        if taken == length {
            out.append(contentsOf: bytes[index..<(index + length)])
        } else {
            out.append(contentsOf: replacement)
        }
        index += taken
    }
    return String(decoding: out, as: UTF8.self)
}

/// A JSON object line of string fields, escaped byte by byte (fast on megabytes).
func fastJSONLine(_ fields: [(String, String)]) -> String {
    var out: [UInt8] = [UInt8(ascii: "{")]
    let hex = Array("0123456789abcdef".utf8)
    func append(_ text: String) {
        out.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(byte)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: Array("\\u00".utf8))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            default:
                out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
    for (index, field) in fields.enumerated() {
        if index > 0 { out.append(UInt8(ascii: ",")) }
        append(field.0)
        out.append(UInt8(ascii: ":"))
        append(field.1)
    }
    out.append(UInt8(ascii: "}"))
    return String(decoding: out, as: UTF8.self)
}

/// Parses `readings export` CSV (RFC 4180, no multi-line fields expected) into dictionaries.
func parseExportCSV(_ text: String) -> (header: [String], rows: [[String: String]]) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    guard let first = lines.first else { return ([], []) }
    let header = splitCSV(first)
    let rows = lines.dropFirst().map { line -> [String: String] in
        let fields = splitCSV(line)
        var row: [String: String] = [:]
        for (index, name) in header.enumerated() where index < fields.count { row[name] = fields[index] }
        row["_fields"] = String(fields.count)
        return row
    }
    return (header, rows)
}

func splitCSV(_ line: String) -> [String] {
    var fields: [String] = []
    var field = ""
    var quoted = false
    var characters = Array(line.replacingOccurrences(of: "\r", with: ""))
    var index = 0
    while index < characters.count {
        let character = characters[index]
        if quoted {
            if character == "\"" {
                if index + 1 < characters.count, characters[index + 1] == "\"" {
                    field.append("\"")
                    index += 1
                } else {
                    quoted = false
                }
            } else {
                field.append(character)
            }
        } else if character == "\"" && field.isEmpty {
            quoted = true
        } else if character == "," {
            fields.append(field)
            field = ""
        } else {
            field.append(character)
        }
        index += 1
    }
    fields.append(field)
    characters.removeAll()
    return fields
}

/// Minimal RFC 2047 / quoted-printable decoding for checking reply files.
enum MailDecoding {
    /// Unfolded header value of `name` (first occurrence), or nil.
    static func header(_ name: String, in message: String) -> String? {
        let headerPart = message.components(separatedBy: "\r\n\r\n").first ?? message
        let unfolded = headerPart.replacingOccurrences(of: "\r\n ", with: " ").replacingOccurrences(of: "\r\n\t", with: " ")
            .replacingOccurrences(of: "\n ", with: " ").replacingOccurrences(of: "\n\t", with: " ")
        for line in unfolded.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            if line[..<colon].trimmingCharacters(in: .whitespaces).lowercased() == name.lowercased() {
                return line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    static func body(of message: String) -> String {
        guard let range = message.range(of: "\r\n\r\n") ?? message.range(of: "\n\n") else { return "" }
        return String(message[range.upperBound...])
    }

    /// Decodes RFC 2047 encoded words (B and Q, UTF-8 and ASCII charsets); whitespace between
    /// adjacent encoded words is dropped. Returns nil on a malformed word.
    static func decodeEncodedWords(_ value: String) -> String? {
        let pattern = try! NSRegularExpression(pattern: #"=\?([^?]+)\?([bBqQ])\?([^?]*)\?="#)
        let ns = value as NSString
        var output = ""
        var last = 0
        var previousWasWord = false
        for match in pattern.matches(in: value, range: NSRange(location: 0, length: ns.length)) {
            let between = ns.substring(with: NSRange(location: last, length: match.range.location - last))
            if !(previousWasWord && between.allSatisfy(\.isWhitespace)) { output += between }
            let encoding = ns.substring(with: match.range(at: 2)).lowercased()
            let payload = ns.substring(with: match.range(at: 3))
            var bytes: [UInt8]
            if encoding == "b" {
                var padded = payload
                while padded.count % 4 != 0 { padded += "=" }
                guard let data = Data(base64Encoded: padded) else { return nil }
                bytes = Array(data)
            } else {
                guard let decoded = qDecode(payload.replacingOccurrences(of: "_", with: " ")) else { return nil }
                bytes = decoded
            }
            guard let text = String(bytes: bytes, encoding: .utf8) else { return nil }
            output += text
            last = match.range.location + match.range.length
            previousWasWord = true
        }
        output += ns.substring(from: last)
        return output
    }

    static func qDecode(_ text: String) -> [UInt8]? {
        var bytes: [UInt8] = []
        let source = Array(text.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "="), index + 2 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return bytes
    }

    /// Quoted-printable body decoding (soft line breaks removed).
    static func quotedPrintable(_ text: String) -> String {
        let joined = text.replacingOccurrences(of: "=\r\n", with: "").replacingOccurrences(of: "=\n", with: "")
        return String(decoding: qDecode(joined) ?? Array(joined.utf8), as: UTF8.self)
    }
}
