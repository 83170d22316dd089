import Curl
import Foundation
import Logging
import MeterCore

/// A POP3 mailbox polled through libcurl (`pop3://`, `pop3s://`, STLS).
///
/// Messages are identified by UIDL — `pop3:<feed>:<uidl>`. Each poll opens a new session (a
/// POP3 session never sees mail that arrived after it began), lists `UIDL` and `LIST` (sizes,
/// which must name the same messages 1…n), leaves out the ids the ledger already holds, and `RETR`s the rest
/// (message numbers are only valid within that session: when libcurl had to reconnect, the batch
/// stops there). `acknowledge` (after the ledger commit) does nothing with `after: seen` (the
/// mail stays on the server, the ledger remembers it); with `after: delete` it lists UIDL again,
/// `DELE`s those messages and ends the session with `QUIT`, which makes the deletions final.
/// A crash before `QUIT` rolls them back: they are fetched again, and the ledger knows them.
public actor POP3Source: MessageSource, MailboxObserving {
    public nonisolated let name: String
    public nonisolated var channel: ChannelKind { .email }
    public let settings: MailboxSettings
    private let store: any MailboxStateStore
    private let handle: CurlHandle
    private let logger: Logger
    private let base: String
    /// UIDLs known to be in the ledger (not asked again); the ledger is the truth after a restart.
    private var recorded: Set<String> = []
    /// UIDL → the byte count of its last fetch that came shorter than its `LIST` size.
    private var shortFetches: [String: Int] = [:]
    private var observation: MailboxObservation?

    public init(
        name: String, settings: MailboxSettings, store: any MailboxStateStore,
        logger: Logger = Logger(label: "metergate.pop3")
    ) {
        self.name = name
        self.settings = settings
        self.store = store
        handle = CurlHandle(label: "pop3-\(name)")
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
        base = settings.parts.base
    }

    public var externalIDPrefix: String { "pop3:\(name):" }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        try await poll(limit: limit, deletingRecorded: settings.after == .delete)
    }

    /// What the last poll saw of the server, for `/metrics` and `/healthz`.
    public func lastObservation() -> MailboxObservation? { observation }

    private func poll(limit: Int, deletingRecorded: Bool) async throws -> [IncomingMessage] {
        guard limit > 0 else { return [] }
        let login = try settings.login()
        // A POP3 session sees the maildrop as it was when it began (RFC 1939): each poll starts
        // a new one (QUIT, then USER/PASS), or a daemon would never see new mail.
        await handle.closeConnections()
        let listing = try await uidList(login)
        observation = MailboxObservation(serverMessages: listing.count, serverUnfetched: 0)
        guard !listing.isEmpty else { return [] }
        let sizes = try await sizeList(login, count: listing.count)
        var unknown = listing.filter { !recorded.contains($0.uidl) }
        if !unknown.isEmpty {
            let known = try await store.knownExternalIDs(unknown.map { externalIDPrefix + $0.uidl })
            let knownUIDLs = Set(known.map { String($0.dropFirst(externalIDPrefix.count)) })
            recorded.formUnion(knownUIDLs)
            unknown.removeAll { knownUIDLs.contains($0.uidl) }
            observation?.serverUnfetched = unknown.count
            observation?.listedNew = unknown.count
            observation?.oldestUnfetched = unknown.first.map { externalIDPrefix + $0.uidl }
            if deletingRecorded, !knownUIDLs.isEmpty {
                // Recorded earlier but not deleted (a crash before QUIT): delete them now, then
                // list again in the new session.
                try await delete(Array(knownUIDLs), login)
                return try await poll(limit: limit, deletingRecorded: false)
            }
        }
        var messages: [IncomingMessage] = []
        for entry in unknown.prefix(limit) {
            let size = sizes[entry.number]
            var request = request(base + "/\(entry.number)", login)
            if let size, size > settings.maxMessageBytes {
                request.truncateAt = settings.maxMessageBytes + 1
                logger.warning("message \(entry.uidl) is \(size) bytes, over the limit of \(settings.maxMessageBytes): only its beginning is kept")
            }
            let response = try await handle.mail(request)
            if response.newConnections > 0 {
                // A new session: message numbers may have moved. Stop here; the rest comes next poll.
                logger.notice("POP3 session was re-opened during a batch; the batch stops at \(messages.count) messages")
                break
            }
            if let size, size <= settings.maxMessageBytes, !response.truncated {
                try checkComplete(response.body, uidl: entry.uidl, size: size)
            }
            messages.append(IncomingMessage(
                channel: .email, feed: name, externalID: externalIDPrefix + entry.uidl, sender: nil,
                raw: response.body, receivedAt: Date()))
            if response.truncated {
                await handle.closeConnections()
                break
            }
        }
        return messages
    }

    public func acknowledge(_ externalIDs: [String]) async throws {
        let uidls = externalIDs.compactMap { id -> String? in
            id.hasPrefix(externalIDPrefix) ? String(id.dropFirst(externalIDPrefix.count)) : nil
        }
        guard !uidls.isEmpty else { return }
        recorded.formUnion(uidls)
        if settings.after == .delete {
            try await delete(uidls, try settings.login())
        }
    }

    // MARK: - Steps

    /// libcurl 7.88 ends a `RETR` without an error when the connection closes before the
    /// terminating `.`: a message shorter than its `LIST` size, or not ending in CRLF (libcurl
    /// keeps the CRLF before the `.`), was cut off. A server whose `LIST` size is simply too large
    /// gives the same whole message twice: then it is taken.
    private func checkComplete(_ body: [UInt8], uidl: String, size: Int) throws {
        let endsWithLine = body.isEmpty || body.suffix(2).elementsEqual([13, 10])
        guard body.count < size || !endsWithLine else {
            shortFetches[uidl] = nil
            return
        }
        if endsWithLine, shortFetches[uidl] == body.count {
            shortFetches[uidl] = nil
            logger.warning("message \(uidl) came twice with \(body.count) bytes, though the server's LIST says \(size): taken as whole")
            return
        }
        shortFetches[uidl] = body.count
        throw MailSourceError("\(base): message \(uidl) came with \(body.count) of \(size) bytes\(endsWithLine ? "" : ", cut in the middle of a line") (the connection ended early?); will fetch it again", code: .incompleteMessage)
    }

    private func request(_ url: String, _ login: CurlLogin, command: String? = nil) -> CurlMailRequest {
        CurlMailRequest(
            url: url, command: command, login: login, requireTLS: settings.startTLS, tls: settings.tls,
            timeout: settings.timeout, maxBodyBytes: settings.maxMessageBytes + (1 << 20))
    }

    /// `UIDL`: one line per message, numbered 1…n in order with distinct UIDLs, or the listing
    /// is refused (retried at the next poll), never taken as less mail.
    private func uidList(_ login: CurlLogin) async throws -> [(number: Int, uidl: String)] {
        let response = try await handle.mail(request(base + "/", login, command: "UIDL"))
        guard let listing = Self.uidlListing(response.lines) else {
            throw MailSourceError("\(base): the UIDL listing does not add up (\(response.lines.count) lines, not messages 1…n with distinct ids of 1–70 printable characters); will list again")
        }
        return listing
    }

    /// The lines of a `UIDL` answer as (number, UIDL), or nil unless they are messages 1…n in
    /// order with distinct UIDLs of 1–70 printable ASCII characters (RFC 1939, section 7): a
    /// hostile number (`-1`, `2^64`, `nan`) or id is no listing, never a trap.
    static func uidlListing(_ lines: [Substring]) -> [(number: Int, uidl: String)]? {
        var listing: [(number: Int, uidl: String)] = []
        listing.reserveCapacity(lines.count)
        for (offset, line) in lines.enumerated() {
            let words = line.split(separator: " ", maxSplits: 1)
            guard words.count == 2, let number = decimal(words[0]), number == offset + 1 else { return nil }
            let uidl = words[1].trimmingCharacters(in: .whitespaces)
            guard (1...70).contains(uidl.utf8.count), uidl.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
            listing.append((number, uidl))
        }
        guard Set(listing.map(\.uidl)).count == listing.count else { return nil }
        return listing
    }

    /// `LIST` in the same session as `UIDL`: the same messages 1…`count`.
    private func sizeList(_ login: CurlLogin, count: Int) async throws -> [Int: Int] {
        let response = try await handle.mail(request(base + "/", login))
        guard response.newConnections == 0, let sizes = Self.sizeListing(response.lines, count: count) else {
            throw MailSourceError("\(base): LIST does not give the \(count) messages UIDL gave\(response.newConnections > 0 ? " (the session was re-opened in between)" : ""); will list again")
        }
        return sizes
    }

    /// The lines of a `LIST` answer as number → size, or nil unless they name exactly the
    /// messages 1…`count`. A size that is not a number from 0 to 2^62 is unknown (the message
    /// is still fetched, within `max_message_bytes`), never a trap.
    /// A number of ASCII digits only (no sign, no `nan`), within Int; nil otherwise.
    static func decimal(_ text: Substring) -> Int? {
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }

    static func sizeListing(_ lines: [Substring], count: Int) -> [Int: Int]? {
        var sizes: [Int: Int] = [:]
        var listed: Set<Int> = []
        for line in lines {
            let words = line.split(separator: " ")
            guard words.count >= 2, let number = decimal(words[0]), (1...max(1, count)).contains(number),
                  listed.insert(number).inserted else { return nil }
            if let size = decimal(words[1]), size <= 1 << 62 { sizes[number] = size }
        }
        return listed.count == count ? sizes : nil
    }

    /// `DELE` by UIDL within one session, then `QUIT` (closing the connection) to make it final.
    private func delete(_ uidls: [String], _ login: CurlLogin) async throws {
        let wanted = Set(uidls)
        for _ in 0..<3 {
            let listing = try await uidList(login)
            var sessionChanged = false
            for entry in listing where wanted.contains(entry.uidl) {
                var dele = request(base + "/\(entry.number)", login, command: "DELE")
                dele.noBody = true
                let response = try await handle.mail(dele)
                if response.newConnections > 0 {
                    sessionChanged = true
                    break
                }
            }
            if !sessionChanged {
                await handle.closeConnections()
                return
            }
            // The session was re-opened: earlier DELEs rolled back, numbers may differ. Again.
            await handle.closeConnections()
        }
        throw MailSourceError("\(base): the POP3 session kept being re-opened; messages not deleted yet (they will be next poll)")
    }
}
