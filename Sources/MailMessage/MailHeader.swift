/// One header field: its name as written and its value unfolded (line breaks removed, the
/// whitespace after them kept, ends trimmed). Raw 8-bit values are charset-guessed; RFC 2047
/// encoded words are left as they are (see `MailMessage.header(_:)` for the decoded form).
public struct MailHeader: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// Splits an entity into its header block and body.
enum HeaderBlock {
    struct Result {
        var headers: [MailHeader]
        var bodyStart: Int
    }

    /// Parses headers at the start of `bytes`. A blank line ends them; so does a line that is not a
    /// header (recorded as `.missingHeaderBodySeparator`, the line then starts the body).
    static func parse(_ bytes: ArraySlice<UInt8>, limits: MailLimits, defects: inout [MailDefect], isTopLevel: Bool) -> Result {
        var headers: [MailHeader] = []
        var i = bytes.startIndex
        let end = bytes.endIndex
        var currentName: ArraySlice<UInt8>? = nil
        var currentValue: [UInt8] = []
        var first = true

        func flush() {
            guard let name = currentName else { return }
            currentName = nil
            if headers.count >= limits.maxHeaders {
                defects.record(.headerLimit)
                currentValue.removeAll(keepingCapacity: true)
                return
            }
            let raw = trimWSP(currentValue[...])
            let value: String
            if raw.contains(where: { $0 >= 0x80 }) {
                let guess = CharsetGuess.guess(raw)
                if guess != "UTF-8" { defects.record(.unencoded8BitHeader(guess)) }
                value = Charset.iconvDecode(raw, from: guess)?.text ?? String(decoding: raw, as: UTF8.self)
            } else {
                value = String(decoding: raw, as: UTF8.self)
            }
            headers.append(MailHeader(name: String(decoding: name, as: UTF8.self), value: value))
            currentValue.removeAll(keepingCapacity: true)
        }

        while i < end {
            // Find the end of this line.
            var lineEnd = i
            while lineEnd < end, bytes[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            var contentEnd = lineEnd
            if contentEnd > i, bytes[contentEnd - 1] == 0x0D { contentEnd -= 1 }
            let line = bytes[i..<contentEnd]
            defer { first = false }

            if line.isEmpty {
                flush()
                return Result(headers: headers, bodyStart: next)
            }
            let c0 = line[line.startIndex]
            if c0 == 0x20 || c0 == 0x09 {
                if currentName != nil {
                    currentValue.append(contentsOf: line)
                } else if first {
                    defects.record(.firstHeaderLineIsContinuation)
                } else {
                    // Continuation after a dropped header: ignore.
                }
                i = next
                continue
            }
            // An mbox "From " envelope line at the very start is skipped.
            if first, isTopLevel, line.count >= 5, line.prefix(5).elementsEqual("From ".utf8) {
                i = next
                continue
            }
            if let colon = headerColon(line) {
                flush()
                currentName = trimWSP(line[line.startIndex..<colon])
                currentValue.append(contentsOf: line[(colon + 1)...])
                i = next
                continue
            }
            // Not a header: the body starts here.
            flush()
            defects.record(.missingHeaderBodySeparator)
            return Result(headers: headers, bodyStart: i)
        }
        flush()
        return Result(headers: headers, bodyStart: end)
    }

    /// Index of the colon when `line` starts with a field name (printable ASCII, no spaces except
    /// before the colon), else nil.
    static func headerColon(_ line: ArraySlice<UInt8>) -> Int? {
        var sawName = false
        var sawSpace = false
        for j in line.indices {
            let b = line[j]
            if b == 0x3A { return sawName ? j : nil }
            if b == 0x20 || b == 0x09 {
                if !sawName { return nil }
                sawSpace = true
                continue
            }
            if b <= 0x20 || b >= 0x7F || sawSpace { return nil }
            sawName = true
            if j - line.startIndex > 200 { return nil }
        }
        return nil
    }

    static func trimWSP(_ s: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var a = s.startIndex, b = s.endIndex
        while a < b, s[a] == 0x20 || s[a] == 0x09 || s[a] == 0x0D || s[a] == 0x0A { a += 1 }
        while b > a, s[b - 1] == 0x20 || s[b - 1] == 0x09 || s[b - 1] == 0x0D || s[b - 1] == 0x0A { b -= 1 }
        return s[a..<b]
    }
}

extension Array where Element == MailHeader {
    func first(named name: String) -> String? {
        first(where: { $0.name.equalsIgnoringASCIICase(name) })?.value
    }

    func all(named name: String) -> [String] {
        filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }
}

extension String {
    /// ASCII case-insensitive equality without allocating (header names are ASCII).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        var a = utf8.makeIterator(), b = other.utf8.makeIterator()
        while true {
            switch (a.next(), b.next()) {
            case (nil, nil): return true
            case let (x?, y?):
                let lx = x >= 0x41 && x <= 0x5A ? x | 0x20 : x
                let ly = y >= 0x41 && y <= 0x5A ? y | 0x20 : y
                if lx != ly { return false }
            default: return false
            }
        }
    }
}
