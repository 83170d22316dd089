/// RFC 4180 CSV over UTF-8 bytes: quoted fields, doubled quotes, CRLF or LF, a BOM.
/// Yields each record with the line number it starts on.
public struct CSVReader: Sequence, IteratorProtocol {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1

    public init(bytes: [UInt8]) {
        self.bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
    }

    public struct Record {
        public var line: Int
        public var fields: [String]
        /// A quote was left open or stray characters followed a closing quote.
        public var malformed: Bool
    }

    public mutating func next() -> Record? {
        guard index < bytes.count else { return nil }
        let startLine = line
        var fields: [String] = []
        var field: [UInt8] = []
        var malformed = false
        var quoted = false
        var afterQuote = false
        /// The first line end inside a quoted field: where to resume if the quote never closes.
        var firstQuotedNewline: (index: Int, line: Int)?
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if quoted {
                if byte == 0x22 {
                    if index < bytes.count, bytes[index] == 0x22 {
                        field.append(0x22)
                        index += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    if byte == 0x0A {
                        line += 1
                        if firstQuotedNewline == nil { firstQuotedNewline = (index, line) }
                    }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case 0x2C:
                fields.append(String(decoding: field, as: UTF8.self))
                field.removeAll(keepingCapacity: true)
                afterQuote = false
            case 0x0A:
                line += 1
                if field.last == 0x0D { field.removeLast() }
                fields.append(String(decoding: field, as: UTF8.self))
                return Record(line: startLine, fields: fields, malformed: malformed)
            case 0x0D where afterQuote:
                continue
            case 0x22 where field.isEmpty && !afterQuote:
                quoted = true
            default:
                if afterQuote { malformed = true }
                field.append(byte)
            }
        }
        if quoted {
            // An unterminated quote: this record is bad, and the rows after it are read
            // again from the line end where the quoted field started to swallow them.
            if let resume = firstQuotedNewline {
                index = resume.index
                line = resume.line
            }
            fields.append(String(decoding: field, as: UTF8.self))
            return Record(line: startLine, fields: fields, malformed: true)
        }
        if field.last == 0x0D { field.removeLast() }
        fields.append(String(decoding: field, as: UTF8.self))
        return Record(line: startLine, fields: fields, malformed: malformed)
    }
}
