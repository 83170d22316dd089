/// A parsed RFC 5322 / MIME message. Pure: no I/O, no logging. Never throws, never traps:
/// every tolerated problem is recorded in `defects`.
public struct MailMessage: Sendable {
    public var headers: [MailHeader]
    public var subject: String
    public var from: MailAddress?
    public var replyTo: MailAddress?
    public var returnPath: String?
    public var messageID: String?
    public var references: [String]
    public var automatic: AutomaticKind?
    public var bodyText: String
    public var meaningfulText: String
    /// Lines that may be quoted text or the sender's (see `ReplyStripper.split`); not in
    /// `meaningfulText`. Numbers here that the sender's text lacks make the message ambiguous.
    public var uncertainText: String
    public var defects: [MailDefect]
    /// The MIME tree (the root is the message itself).
    public var root: MIMEPart
    /// Entities parsed, the root included.
    public var partCount: Int { root.partCount }

    public init(raw: [UInt8], limits: MailLimits = .init(), words: MailWords = .builtIn) {
        var parser = MIMEParser(limits: limits)
        let root = parser.parseEntity(raw[...], depth: 0, defaultType: .textPlain, isTopLevel: true)
        var defects = parser.defects
        self.root = root
        self.headers = root.headers

        self.subject = root.headers.first(named: "subject").map { EncodedWord.decode($0, defects: &defects).trimmingASCIIWhitespace() } ?? ""
        self.from = root.headers.first(named: "from").flatMap(MailAddress.parse)
        self.replyTo = root.headers.first(named: "reply-to").flatMap(MailAddress.parse)
        self.returnPath = root.headers.first(named: "return-path").map(Self.parseReturnPath)
        self.messageID = root.headers.first(named: "message-id").flatMap { Self.messageIDs(in: $0).first ?? nilIfEmpty($0.trimmingASCIIWhitespace()) }
        var refs = root.headers.all(named: "references").flatMap(Self.messageIDs(in:))
        for id in root.headers.all(named: "in-reply-to").flatMap(Self.messageIDs(in:)) where !refs.contains(id) {
            refs.append(id)
        }
        self.references = refs
        // The declared type counts (a multipart/report whose parts could not be split is still a report).
        let declaredType = root.headers.first(named: "content-type").flatMap(ContentType.parse) ?? root.contentType
        self.automatic = AutomaticKind.detect(headers: root.headers, subject: subject, from: from, returnPath: returnPath, contentType: declaredType,
                                              words: words)
        let body = BodySelector(limits: limits).text(of: root, defects: &defects)
        self.bodyText = body
        (self.meaningfulText, self.uncertainText) = ReplyStripper.split(body, words: words)
        self.defects = defects
    }

    /// First header of that name (case-insensitive), unfolded and RFC 2047 decoded.
    public func header(_ name: String) -> String? {
        headers.first(named: name).map { EncodedWord.decode($0) }
    }

    /// Every header of that name, in order, unfolded and RFC 2047 decoded.
    public func headers(_ name: String) -> [String] {
        headers.all(named: name).map { EncodedWord.decode($0) }
    }

    /// `<>` → "", `<a@b>` → "a@b", `a@b` → "a@b".
    static func parseReturnPath(_ value: String) -> String {
        var v = value.trimmingASCIIWhitespace()
        if let lt = v.firstIndex(of: "<") {
            v = String(v[v.index(after: lt)...].prefix { $0 != ">" })
        }
        return v.trimmingASCIIWhitespace()
    }

    /// `<id>` tokens in order; when there are none, whitespace-separated words.
    static func messageIDs(in value: String) -> [String] {
        var ids: [String] = []
        var current: [Character]? = nil
        for c in value {
            if c == "<" { current = ["<"]; continue }
            if c == ">", var cur = current { cur.append(">"); if cur.count > 2 { ids.append(String(cur)) }; current = nil; continue }
            if current != nil { if c == " " || c == "\t" { continue }; current!.append(c) }
        }
        if ids.isEmpty {
            ids = value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init).filter { $0.contains("@") }
        }
        return ids
    }
}

@inline(__always) func nilIfEmpty(_ s: String) -> String? { s.isEmpty ? nil : s }
