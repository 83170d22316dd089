import Foundation
import MeterCore

/// One mobile-originated message as Kannel's smsbox pushes it to its `get-url` / `post-url`.
///
/// Kannel's escapes, as the contract's example uses them:
/// `get-url = "http://127.0.0.1:8085/sms/kannel?from=%p&to=%P&text=%a&charset=%C&coding=%c"`,
/// optionally `&id=%I` (Kannel's message id: a re-sent push is then recognised) and
/// `&time=%T` (the SMSC's time, Unix seconds). Prefer `text=%b` (the message as received)
/// to `%a`: `%a` re-joins the words on the byte 0x20, which inside UTF-16BE is half of a
/// character (`–` U+2013 is `20 13`), so a UCS-2 text with a dash loses words (seen with
/// Kannel 1.4.5: `308967728 – 39103 – 11471` arrived without `39103`). With `post-url` the text is the body, its
/// charset in `Content-Type` (Kannel writes it quoted: `charset="UTF-16BE"`), and the fields
/// come in `X-Kannel-From`, `X-Kannel-To`, `X-Kannel-Coding`, `X-Kannel-Time`; query
/// parameters win over headers.
///
/// The text is bytes in the given charset, not necessarily UTF-8: a UCS-2 message arrives as
/// URL-encoded UTF-16BE with `charset=UTF-16BE&coding=2` unless smsbox has `mo-recode = true`
/// (observed with Kannel 1.4.5); decoding it as UTF-8 gives the `%00i%00s…` garbage other
/// gateways' users met. `coding=2` without a charset is UTF-16BE too.
public struct KannelMessage: Sendable, Hashable {
    public var from: String
    public var to: String?
    public var text: String
    public var messageID: String?
    public var time: Date?

    public init(from: String, to: String?, text: String, messageID: String?, time: Date?) {
        self.from = from
        self.to = to
        self.text = text
        self.messageID = messageID
        self.time = time
    }

    /// Why a push was refused (answered 400: Kannel's retries cannot fix it).
    public struct DecodingError: Error, Sendable, CustomStringConvertible, Equatable {
        public var description: String
    }

    /// Reads a push. `query` is the raw (still percent-encoded) query string; `headers` the
    /// request's headers by lower-case name; `body` the POST body (nil for GET).
    public static func decode(query: String?, headers: [String: String], body: [UInt8]?) throws -> KannelMessage {
        let parameters = KannelQuery.parse(query ?? "")
        // Kannel encodes every byte it substitutes: a `%` not followed by two hex digits in a
        // field we read means the URL was not written by Kannel's escapes (or was cut).
        for name in ["from", "to", "text", "charset", "coding", "time"] {
            if let value = KannelQuery.rawValue(of: name, in: query ?? ""), !KannelQuery.isWellEncoded(value) {
                throw DecodingError(description: "\(name)= has broken percent-encoding (a % not followed by two hex digits)")
            }
        }
        func field(_ name: String, header: String) -> String? {
            if let bytes = parameters[name] { return String(decoding: bytes, as: UTF8.self) }
            return headers[header]
        }
        guard let from = field("from", header: "x-kannel-from")?.trimmingCharacters(in: .whitespaces), !from.isEmpty else {
            throw DecodingError(description: "no sender: the get-url needs from=%p (post-url: send-sender = true)")
        }
        if Contact.isOverlongPhone(from) {
            throw DecodingError(description: "sender has more digits than a phone number can have (15)")
        }
        let coding = field("coding", header: "x-kannel-coding").flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        var charset = parameters["charset"].map { String(decoding: $0, as: UTF8.self) }
        let textBytes: [UInt8]
        if let bytes = parameters["text"] {
            textBytes = bytes
        } else if let body {
            textBytes = body
            if charset == nil { charset = headers["content-type"].flatMap(Self.charset(ofContentType:)) }
        } else {
            throw DecodingError(description: "no text: the get-url needs text=%b (or %a), or use post-url")
        }
        let text = try KannelCharset.decode(textBytes, charset: charset, coding: coding)
        let time = field("time", header: "x-kannel-time").flatMap { Self.time($0) }
        let id = field("id", header: "x-kannel-id").map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        return KannelMessage(
            from: from, to: field("to", header: "x-kannel-to").flatMap { $0.isEmpty ? nil : $0 }, text: text,
            messageID: id.flatMap { $0.hasPrefix("%") ? nil : $0 }, time: time)
    }

    /// `text/plain; charset="UTF-16BE"` → `UTF-16BE`.
    static func charset(ofContentType value: String) -> String? {
        for parameter in value.split(separator: ";").dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, pair[0].trimmingCharacters(in: .whitespaces).lowercased() == "charset" else { continue }
            return pair[1].trimmingCharacters(in: CharacterSet(charactersIn: " \t\""))
        }
        return nil
    }

    /// `%T` (Unix seconds) or `%t` (`YYYY-MM-DD HH:MM[:SS]`, taken as UTC).
    static func time(_ text: String) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Any number is kept as stated (`1e300`, `inf`, `-1` too): the processor replaces a
        // time outside its window by the time of receipt and logs it; nothing here converts it.
        if let seconds = Double(trimmed) { return Date(timeIntervalSince1970: seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        for format in ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm"] {
            formatter.dateFormat = format
            if let date = formatter.date(from: trimmed) { return date }
        }
        return nil
    }

    /// The message as the pipeline takes it. The external id is Kannel's message id when the
    /// URL passes one (`id=%I`); otherwise a hash of sender, recipient, time and text when the
    /// time is passed (a re-sent push is then the same message), else a fresh id.
    public func incoming(feed: String, now: Date, fresh: () -> String = { UUID().uuidString }) -> IncomingMessage {
        let key: String
        if let messageID {
            key = messageID
        } else if let time {
            var hash = FNV1a()
            for part in [from, to ?? "", String(time.timeIntervalSince1970), text] {
                hash.add(part)
                hash.add("\u{1F}")
            }
            key = "h" + hash.hex
        } else {
            key = "u" + fresh()
        }
        return IncomingMessage(
            channel: .sms, feed: feed, externalID: "kannel:\(feed):\(key)", sender: from, text: text,
            receivedAt: time ?? now)
    }
}

/// 64-bit FNV-1a, for a stable id from a message's fields.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// A raw query string split into parameters, each value percent-decoded to bytes (`+` is a
/// space, as Kannel's URL encoding writes it). A repeated name keeps its first value.
enum KannelQuery {
    static func parse(_ query: String) -> [String: [UInt8]] {
        var result: [String: [UInt8]] = [:]
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(decoding: percentDecode(parts[0]), as: UTF8.self)
            let value = parts.count > 1 ? percentDecode(parts[1]) : []
            if result[name] == nil { result[name] = value }
        }
        return result
    }

    /// The still-encoded value of the first parameter `name` in `query`.
    static func rawValue(of name: String, in query: String) -> Substring.UTF8View? {
        for pair in query.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            if String(decoding: percentDecode(parts[0]), as: UTF8.self) == name { return parts.count > 1 ? parts[1] : nil }
        }
        return nil
    }

    /// Every `%` is followed by two hex digits.
    static func isWellEncoded(_ bytes: some Collection<UInt8>) -> Bool {
        let bytes = Array(bytes)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%") {
                guard index + 2 < bytes.count,
                      bytes[index + 1].isHexDigit, bytes[index + 2].isHexDigit else { return false }
                index += 3
            } else {
                index += 1
            }
        }
        return true
    }

    static func percentDecode(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = bytes.startIndex
        func hexValue(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                output.append(0x20)
            } else if byte == UInt8(ascii: "%") {
                let first = bytes.index(after: index)
                if first != bytes.endIndex, bytes.index(after: first) != bytes.endIndex,
                   let high = hexValue(bytes[first]), let low = hexValue(bytes[bytes.index(after: first)]) {
                    output.append(high << 4 | low)
                    index = bytes.index(after: bytes.index(after: first))
                    continue
                }
                output.append(byte)
            } else {
                output.append(byte)
            }
            index = bytes.index(after: index)
        }
        return output
    }
}

/// The charsets Kannel writes in `%C`: `UTF-8` (GSM 7-bit text is recoded to it),
/// `UTF-16BE` (UCS-2), `WINDOWS-1252`/`ISO-8859-1` (`mo-recode` to Latin-1), and more rarely others.
enum KannelCharset {
    static func decode(_ bytes: [UInt8], charset: String?, coding: Int?) throws -> String {
        let name = charset?.trimmingCharacters(in: CharacterSet(charactersIn: " \"'")).uppercased() ?? ""
        switch name {
        case "UTF-16BE", "UCS-2", "UCS-2BE", "UTF-16", "UNICODEBIG", "ISO-10646-UCS-2":
            return utf16BE(bytes)
        case "UTF-16LE", "UCS-2LE":
            return utf16LE(bytes)
        case "", "UTF-8", "UTF8":
            if name.isEmpty, coding == 2 { return utf16BE(bytes) }
            // UCS-2 data under a UTF-8 label (the `%00i%00s…` case): every high byte of a
            // UTF-16BE unit of Latin or Cyrillic text is below 0x05, which as UTF-8 is a control
            // character no phone sends.
            let looksUTF16 = looksLikeUTF16BE(bytes)
            if let text = String(validating: bytes, as: UTF8.self) {
                let controls = bytes.contains { (byte: UInt8) -> Bool in byte < 0x20 && byte != 0x0A && byte != 0x0D && byte != 0x09 }
                return looksUTF16 && controls ? utf16BE(bytes) : text
            }
            // Not UTF-8 at all: UTF-16BE if it looks like it, else Latin-1 rather than lost.
            return looksUTF16 ? utf16BE(bytes) : latin1(bytes)
        case "ISO-8859-1", "LATIN1", "ISO_8859-1", "US-ASCII", "ASCII":
            return latin1(bytes)
        case "WINDOWS-1252", "CP1252":
            return String(data: Data(bytes), encoding: .windowsCP1252) ?? latin1(bytes)
        case "WINDOWS-1251", "CP1251":
            if let text = String(data: Data(bytes), encoding: .windowsCP1251) { return text }
            throw KannelMessage.DecodingError(description: "text is not valid \(name)")
        default:
            throw KannelMessage.DecodingError(description: "charset '\(name)' is not supported (use mo-recode = true for UTF-8)")
        }
    }

    static func looksLikeUTF16BE(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 2, bytes.count.isMultiple(of: 2) else { return false }
        var index = 0
        while index < bytes.count {
            if bytes[index] >= 0x05 { return false }
            index += 2
        }
        return true
    }

    static func latin1(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }

    static func utf16BE(_ bytes: [UInt8]) -> String {
        var units: [UInt16] = []
        units.reserveCapacity(bytes.count / 2)
        var index = 0
        while index + 1 < bytes.count {
            units.append(UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1]))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }

    static func utf16LE(_ bytes: [UInt8]) -> String {
        var units: [UInt16] = []
        var index = 0
        while index + 1 < bytes.count {
            units.append(UInt16(bytes[index + 1]) << 8 | UInt16(bytes[index]))
            index += 2
        }
        return String(decoding: units, as: UTF16.self)
    }
}

extension UInt8 {
    fileprivate var isHexDigit: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "F")).contains(self)
    }
}
