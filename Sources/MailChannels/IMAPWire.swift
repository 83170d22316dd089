import Foundation

/// Bytes to and from an IMAP server: a `CurlStream` opened and logged in by libcurl, or a
/// scripted transcript in tests.
protocol IMAPTransport: AnyObject {
    func send(_ bytes: [UInt8]) throws
    /// What arrived within `wait`; nil when nothing did. A closed connection throws.
    func receive(wait: Duration) throws -> [UInt8]?
}

/// One server response: `* …`, `+ …` or `TAG …`, as segments of text, each but the last ending
/// in a literal's `{n}` and followed by that literal (`literals[i]` comes after `segments[i]`).
struct IMAPServerResponse: Sendable {
    var segments: [[UInt8]]
    var literals: [[UInt8]]

    /// The text with each literal left out (`{n}` stays): for status lines and simple data.
    var text: String { String(decoding: Array(segments.joined(separator: [0x20])), as: UTF8.self) }
    var isUntagged: Bool { segments.first?.first == UInt8(ascii: "*") }
    var isContinuation: Bool { segments.first?.first == UInt8(ascii: "+") }
}

/// Reads server responses from a transport as they stream, literals and all.
final class IMAPReader {
    private let transport: any IMAPTransport
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the next CRLF goes on (bytes before it were searched already).
    private var scanned = 0
    /// A literal larger than this ends the session: a server's number is not a memory budget.
    let maxLiteral: Int

    init(_ transport: any IMAPTransport, maxLiteral: Int) {
        self.transport = transport
        self.maxLiteral = maxLiteral
    }

    /// The next whole response; nil when nothing more came within `wait` (a response begun is
    /// waited for within the same `wait` of each read, then fails as timed out).
    func next(wait: Duration) throws -> IMAPServerResponse? {
        var segments: [[UInt8]] = []
        var literals: [[UInt8]] = []
        while true {
            guard let line = try line(wait: wait, begun: !segments.isEmpty) else { return nil }
            if let size = Self.literalSize(line) {
                guard size <= maxLiteral else {
                    throw MailSourceError("the server announced a literal of \(size) bytes, over the limit of \(maxLiteral)")
                }
                try fill(size, wait: wait)
                segments.append(line)
                literals.append(Array(buffer[start..<start + size]))
                start += size
                scanned = start
            } else {
                segments.append(line)
                return IMAPServerResponse(segments: segments, literals: literals)
            }
        }
    }

    /// `…{123}` or `…{123+}` at the end of a line: the size of the literal that follows.
    static func literalSize(_ line: [UInt8]) -> Int? {
        guard line.last == UInt8(ascii: "}"), let open = line.lastIndex(of: UInt8(ascii: "{")) else { return nil }
        var digits = line[(open + 1)..<(line.count - 1)]
        if digits.last == UInt8(ascii: "+") { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }

    /// One line without its CRLF (a bare LF also ends it).
    private func line(wait: Duration, begun: Bool) throws -> [UInt8]? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                var end = newline
                if end > start, buffer[end - 1] == 0x0D { end -= 1 }
                let line = Array(buffer[start..<end])
                start = newline + 1
                scanned = start
                return line
            }
            scanned = buffer.count
            guard try read(wait: wait) else {
                if begun || start < buffer.count { throw timedOut(wait) }
                return nil
            }
        }
    }

    private func fill(_ count: Int, wait: Duration) throws {
        while buffer.count - start < count {
            guard try read(wait: wait) else { throw timedOut(wait) }
        }
    }

    private func read(wait: Duration) throws -> Bool {
        if start > 0, start >= buffer.count / 2 {
            buffer.removeFirst(start)
            scanned -= start
            start = 0
        }
        guard let bytes = try transport.receive(wait: wait) else { return false }
        buffer += bytes
        return true
    }

    private func timedOut(_ wait: Duration) -> MailSourceError {
        MailSourceError("the server stopped in the middle of a response (nothing for \(wait))")
    }
}

/// A value in a server response (RFC 3501 §4): an atom or number, a string (quoted or literal),
/// a parenthesized list, or NIL.
indirect enum IMAPValue: Sendable, Equatable {
    case atom(String)
    case string([UInt8])
    case list([IMAPValue])
    case none

    var atom: String? { if case .atom(let text) = self { text } else { nil } }
    var number: UInt64? { atom.flatMap { UInt64($0) } }

    /// The values of `response` after its first word (`*`), e.g. `12`, `FETCH`, `(…)`.
    static func parse(_ response: IMAPServerResponse) throws -> [IMAPValue] {
        var parser = Parser(response: response)
        return try parser.values(closing: nil)
    }

    private struct Parser {
        let response: IMAPServerResponse
        var segment = 0
        var index = 0

        init(response: IMAPServerResponse) {
            self.response = response
            // Skip the tag word (`*`).
            let first = response.segments[0]
            index = (first.firstIndex(of: 0x20) ?? first.count)
        }

        var current: [UInt8] { response.segments[segment] }

        mutating func values(closing: UInt8?) throws -> [IMAPValue] {
            var values: [IMAPValue] = []
            while true {
                while index < current.count, current[index] == 0x20 { index += 1 }
                guard index < current.count else {
                    if closing == nil { return values }
                    throw MailSourceError("an unclosed list in a server response")
                }
                let byte = current[index]
                if byte == closing {
                    index += 1
                    return values
                }
                switch byte {
                case UInt8(ascii: "("):
                    index += 1
                    values.append(.list(try self.values(closing: UInt8(ascii: ")"))))
                case UInt8(ascii: ")"):
                    throw MailSourceError("an unexpected `)` in a server response")
                case UInt8(ascii: "\""):
                    values.append(.string(try quoted()))
                case UInt8(ascii: "{") where IMAPReader.literalSize(Array(current[index...])) != nil:
                    guard segment < response.literals.count else { throw MailSourceError("a literal without its bytes") }
                    values.append(.string(response.literals[segment]))
                    segment += 1
                    index = 0
                default:
                    let word = atom()
                    values.append(word.uppercased() == "NIL" ? .none : .atom(word))
                }
            }
        }

        mutating func quoted() throws -> [UInt8] {
            index += 1
            var bytes: [UInt8] = []
            while index < current.count {
                let byte = current[index]
                index += 1
                if byte == UInt8(ascii: "\"") { return bytes }
                if byte == UInt8(ascii: "\\"), index < current.count {
                    bytes.append(current[index])
                    index += 1
                } else {
                    bytes.append(byte)
                }
            }
            throw MailSourceError("an unclosed quoted string in a server response")
        }

        /// An atom: up to a space or a parenthesis outside `[…]` (`BODY[]<0>`, `\Seen`).
        mutating func atom() -> String {
            let begin = index
            var depth = 0
            while index < current.count {
                let byte = current[index]
                if byte == UInt8(ascii: "[") { depth += 1 }
                if byte == UInt8(ascii: "]") { depth = max(0, depth - 1) }
                if depth == 0, byte == 0x20 || byte == UInt8(ascii: "(") || byte == UInt8(ascii: ")") { break }
                index += 1
            }
            return String(decoding: current[begin..<index], as: UTF8.self)
        }
    }
}

/// A command that the server refused (`NO`, `BAD`).
struct IMAPCommandError: Error, Sendable, CustomStringConvertible {
    var command: String
    var answer: String
    var description: String { "\(command): \(answer)" }
    /// `[TRYCREATE]`: the target folder does not exist.
    var tryCreate: Bool { answer.uppercased().contains("[TRYCREATE]") }
}

/// One message of a `UID FETCH … BODY.PEEK[]`.
struct IMAPFetchedMessage: Sendable {
    var uid: UInt32
    var size: Int?
    var internalDate: (date: Date, offset: Int)?
    var body: [UInt8]
}

/// The IMAP conversation of a logged-in, pipelining client (RFC 3501 §5.5: several commands
/// sent at once, each answer read as it streams). Blocking: run on the session's own queue.
final class IMAPClient {
    private let transport: any IMAPTransport
    private let reader: IMAPReader
    /// How long a response may take to begin or to go on.
    let timeout: Duration
    private var tagNumber = 0
    private var finished: [String: (ok: Bool, text: String)] = [:]
    /// `* n EXISTS` came outside a `SELECT`: new mail since the mailbox was selected.
    private(set) var newMail = false
    private(set) var capabilities: Set<String> = []

    init(_ transport: any IMAPTransport, timeout: Duration, maxLiteral: Int) {
        self.transport = transport
        self.timeout = timeout
        reader = IMAPReader(transport, maxLiteral: maxLiteral)
    }

    /// Sends the commands in one write; their tags, in order.
    func send(_ commands: [String]) throws -> [String] {
        var bytes: [UInt8] = []
        var tags: [String] = []
        for command in commands {
            tagNumber += 1
            let tag = "M\(tagNumber)"
            tags.append(tag)
            bytes += Array("\(tag) \(command)\r\n".utf8)
        }
        try transport.send(bytes)
        return tags
    }

    /// Reads until `tag` completes, handing every untagged response to `untagged`; throws when
    /// the command was refused (`IMAPCommandError`) or the server said BYE.
    func complete(_ tag: String, command: String, untagged: (IMAPServerResponse) throws -> Void = { _ in }) throws {
        while finished[tag] == nil {
            guard let response = try reader.next(wait: timeout) else {
                throw MailSourceError("no answer to \(command) within \(timeout)")
            }
            try take(response, untagged: untagged)
        }
        let (ok, text) = finished.removeValue(forKey: tag)!
        guard ok else { throw IMAPCommandError(command: command, answer: text) }
    }

    private func take(_ response: IMAPServerResponse, untagged: (IMAPServerResponse) throws -> Void) throws {
        let text = response.segments[0]
        if response.isUntagged {
            let words = response.text.split(separator: " ", maxSplits: 3)
            if words.count >= 2, words[1].uppercased() == "BYE" {
                throw MailSourceError("the server ended the session: \(response.text)")
            }
            if words.count >= 3, words[2].uppercased() == "EXISTS" { newMail = true }
            if words.count >= 2, words[1].uppercased() == "CAPABILITY" {
                capabilities = Set(response.text.split(separator: " ").dropFirst(2).map { $0.uppercased() })
            }
            try untagged(response)
        } else if response.isContinuation {
            throw MailSourceError("the server asked for more of a command that was complete: \(response.text)")
        } else {
            let words = String(decoding: text, as: UTF8.self).split(separator: " ", maxSplits: 2)
            guard words.count >= 2 else { throw MailSourceError("an unreadable answer: \(response.text)") }
            finished[String(words[0])] = (words[1].uppercased() == "OK", words.count > 2 ? String(words[2]) : "")
        }
    }

    /// Sends the commands at once and reads their answers in order.
    func run(_ commands: [String], untagged: (IMAPServerResponse) throws -> Void = { _ in }) throws {
        let tags = try send(commands)
        var failure: (any Error)?
        for (tag, command) in zip(tags, commands) {
            do {
                try complete(tag, command: command, untagged: untagged)
            } catch let error as IMAPCommandError {
                // The others are still read, so the connection stays in step.
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
    }

    func capability() throws -> Set<String> {
        try run(["CAPABILITY"])
        return capabilities
    }

    /// The mailbox this connection selected last, as `SELECT` reported it.
    private(set) var selected: (mailbox: String, view: IMAPResponse.MailboxView)?

    /// `SELECT`, and with it (same round trip) the unseen messages (`UID SEARCH … UNSEEN`).
    func select(_ mailbox: String, unseen esearch: Bool?) throws -> (view: IMAPResponse.MailboxView, unseen: (count: Int, uids: [UInt32])?) {
        selected = nil
        var selectLines: [Substring] = []
        var searchLines: [Substring] = []
        newMail = false
        let select = "SELECT \(IMAPResponse.quoted(mailbox))"
        var commands = [select]
        if let esearch { commands.append(esearch ? "UID SEARCH RETURN (COUNT ALL) UNSEEN" : "UID SEARCH UNSEEN") }
        let tags = try send(commands)
        try complete(tags[0], command: select) { selectLines.append(Substring($0.text)) }
        newMail = false
        var unseen: (count: Int, uids: [UInt32])?
        if tags.count > 1 {
            do {
                try complete(tags[1], command: commands[1]) { searchLines.append(Substring($0.text)) }
                if esearch == true {
                    unseen = IMAPResponse.esearch(searchLines, first: IMAPSource.observedUnseen)
                } else {
                    let all = Array(Set(IMAPResponse.searchUIDs(searchLines))).sorted()
                    unseen = (all.count, Array(all.prefix(IMAPSource.observedUnseen)))
                }
            } catch is IMAPCommandError {}
        }
        guard let view = IMAPResponse.mailboxView(selectLines) else {
            throw MailSourceError("SELECT \(mailbox) gave no EXISTS/UIDVALIDITY/UIDNEXT")
        }
        selected = (mailbox, view)
        return (view, unseen)
    }

    /// `UID SEARCH UID low:high`: the UIDs that exist in the range, ascending.
    func existingUIDs(from low: UInt32, through high: UInt32, matching criteria: String = "") throws -> [UInt32] {
        var lines: [Substring] = []
        try run(["UID SEARCH UID \(low):\(high)\(criteria.isEmpty ? "" : " " + criteria)"]) { lines.append(Substring($0.text)) }
        return Array(Set(IMAPResponse.searchUIDs(lines).filter { (low...high).contains($0) })).sorted()
    }

    /// `UID FETCH low:high (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.maxBytes+1>)`: each message
    /// as it arrives (the partial fetch keeps a message over the limit to its first
    /// `maxBytes + 1` bytes, so the pipeline records it as too large).
    func fetch(from low: UInt32, through high: UInt32, maxBytes: Int, each: (IMAPFetchedMessage) throws -> Void) throws {
        let command = "UID FETCH \(low == high ? "\(low)" : "\(low):\(high)") (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.\(maxBytes + 1)>)"
        try run([command]) { response in
            guard let message = try Self.fetched(response) else { return }
            try each(message)
        }
    }

    /// A `* n FETCH (…)` response with a body; nil for anything else (flag updates, EXISTS, …).
    static func fetched(_ response: IMAPServerResponse) throws -> IMAPFetchedMessage? {
        let head = response.segments[0].prefix(40)
        guard head.count > 8, String(decoding: head, as: UTF8.self).uppercased().contains(" FETCH ") else { return nil }
        let values = try IMAPValue.parse(response)
        guard values.count == 3, values[1].atom?.uppercased() == "FETCH", case .list(let items) = values[2] else { return nil }
        var uid: UInt32?
        var size: Int?
        var date: (Date, Int)?
        var body: [UInt8]?
        var index = 0
        while index + 1 < items.count {
            let name = items[index].atom?.uppercased() ?? ""
            let value = items[index + 1]
            switch name {
            case "UID": uid = value.number.flatMap { UInt32(exactly: $0) }
            case "RFC822.SIZE": size = value.number.flatMap { Int(exactly: $0) }
            case "INTERNALDATE":
                if case .string(let bytes) = value { date = IMAPResponse.internalDate(Substring(String(decoding: bytes, as: UTF8.self))) }
            default:
                if name.hasPrefix("BODY[]") {
                    switch value {
                    case .string(let bytes): body = bytes
                    case .none: body = []
                    default: throw MailSourceError("a message body that is neither a string nor NIL")
                    }
                }
            }
            index += 2
        }
        guard let body else { return nil }
        guard let uid, uid > 0 else { throw MailSourceError("a fetched message without its UID") }
        return IMAPFetchedMessage(uid: uid, size: size, internalDate: date, body: body)
    }

    /// Waits in `IDLE` (RFC 2177) until the server reports new mail (`EXISTS`), `upTo` passes or
    /// `stop()` says so; then `DONE`. Returns whether new mail was reported.
    func idle(upTo: Duration, stop: () -> Bool) throws -> Bool {
        if newMail { return true }
        let tags = try send(["IDLE"])
        // The continuation `+ idling` first (untagged responses may come before it).
        var waiting = true
        while waiting {
            guard let response = try reader.next(wait: timeout) else { throw MailSourceError("no answer to IDLE within \(timeout)") }
            if response.isContinuation { waiting = false } else {
                try take(response) { _ in }
                if let (ok, text) = finished[tags[0]] {
                    finished[tags[0]] = nil
                    throw IMAPCommandError(command: "IDLE", answer: ok ? "ended at once: \(text)" : text)
                }
            }
        }
        let deadline = ContinuousClock.now + upTo
        while !newMail, !stop(), ContinuousClock.now < deadline {
            let left = deadline - ContinuousClock.now
            if let response = try reader.next(wait: min(left, .milliseconds(250))) {
                try take(response) { _ in }
            }
        }
        try transport.send(Array("DONE\r\n".utf8))
        try complete(tags[0], command: "IDLE")
        return newMail
    }

    /// Best-effort goodbye.
    func logout() {
        _ = try? send(["LOGOUT"])
    }
}
