import Curl
import Foundation
import Logging
import MeterCore

/// An IMAP mailbox, fetched in batches over one pipelined connection.
///
/// libcurl opens the connection, sets up TLS (implicit or STARTTLS) and logs in
/// (`CURLOPT_CONNECT_ONLY`); metergate then speaks IMAP itself over that stream
/// (`IMAPClient`: libcurl 7.88 cannot send a `UID FETCH` of many bodies through its URL
/// interface). Messages are identified by (mailbox, UIDVALIDITY, UID) — `imap:<feed>:<mailbox>:<validity>:<uid>`
/// — never by `\Seen`. Each poll: `SELECT` (EXISTS, UIDVALIDITY, UIDNEXT, fresh even on a
/// connection that has the mailbox selected) together with `UID SEARCH … UNSEEN` (for `/healthz`),
/// then `UID FETCH a:b (UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.max+1>)` over UID windows
/// from the cursor on, each body taken as it streams. `b` stays below the UIDNEXT that `SELECT`
/// reported, so when the fetch is answered every message in `a:b` was returned: the cursor may
/// pass `b`. A message larger than `maxMessageBytes` comes only up to that size + 1 (the
/// pipeline records it as too large); a smaller one must come whole (`RFC822.SIZE`), or the poll
/// fails and fetches it again. `BODY.PEEK` leaves `\Seen` alone.
///
/// The first poll of a backlog takes at most `firstBatch` messages (and no window starts after
/// 1 s), so the first commit and the first replies come at once; `hasBacklog` tells the poller
/// to go on without waiting. Between polls, `waitForMail` waits in `IDLE` when the server has it.
///
/// `acknowledge` (called after the ledger commit) applies `after` for the whole batch in one
/// round trip (`UID STORE +FLAGS.SILENT (\Seen)`, `\Deleted` + `UID EXPUNGE`, or `UID MOVE`
/// when the server has MOVE) and then moves the cursor on. A crash anywhere before that means
/// the same UIDs are fetched again and the ledger sees their ids again: nothing twice.
///
/// A UIDVALIDITY change (the server rebuilt the mailbox) is logged; the messages present at that
/// moment are compared by Message-ID (or bytes) with what this feed recorded before, and those
/// already recorded are only acknowledged, not returned.
public actor IMAPSource: MessageSource, MailboxObserving, MailboxWaiting {
    public nonisolated let name: String
    public nonisolated var channel: ChannelKind { .email }
    public let settings: MailboxSettings
    private let store: any MailboxStateStore
    private let session: IMAPSession
    private let logger: Logger
    private let base: String
    private let mailbox: String

    private var cursor: IMAPCursor?
    private var cursorLoaded = false
    /// The UIDs the last poll returned or set aside, and how far it looked.
    private var pending: Set<UInt32> = []
    private var polledThrough: UInt32 = 0
    private var recordedFingerprints: Set<String>?
    private var observation: MailboxObservation?
    /// The last poll stopped before UIDNEXT (a batch of its own size, or its time was up).
    private var backlog = false
    /// The server's CAPABILITY words (after login), from the last session.
    private var capabilities: Set<String> = []
    /// The next window of a backlog, fetched while the caller records (and answers) the batch
    /// before it; the next poll takes it. Nothing durable depends on it: it is only bytes.
    private var prefetch: Prefetch?

    private struct Prefetch {
        var validity: UInt32
        var low: UInt32
        var high: UInt32
        var task: Task<[IMAPFetchedMessage], any Error>
    }

    public init(
        name: String, settings: MailboxSettings, store: any MailboxStateStore,
        logger: Logger = Logger(label: "metergate.imap")
    ) {
        self.name = name
        self.settings = settings
        self.store = store
        session = IMAPSession(label: name)
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
        let parts = settings.parts
        base = parts.base
        let path = parts.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        mailbox = path.isEmpty ? "INBOX" : path
    }

    public var externalIDPrefix: String { "imap:\(name):\(mailbox):" }

    /// The first poll of a backlog takes at most this many messages: its commit and its replies
    /// come after a round trip or two, not after a whole batch.
    static let firstBatch = 50
    /// No new fetch window starts this long after the poll began (when it has messages).
    static let batchTime: Duration = .seconds(1)

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        guard limit > 0 else { return [] }
        let login = try settings.login()
        try await loadCursor()
        let started = ContinuousClock.now
        let mailbox = self.mailbox
        let continuing = backlog
        typealias Opened = (view: IMAPResponse.MailboxView, unseen: (count: Int, uids: [UInt32])?, capabilities: Set<String>, fresh: Bool)
        let opened: Opened = try await session.run(connection(login), maxLiteral: maxLiteral) { client -> Opened in
            // A poll that goes on with a backlog on the same connection keeps the view of the
            // last SELECT: every UID below its UIDNEXT is still valid, and what came since is
            // taken by the poll after the backlog (one round trip less per batch).
            if continuing, let selected = client.selected, selected.mailbox == mailbox {
                return (selected.view, nil, client.capabilities, false)
            }
            let (view, unseen) = try client.select(mailbox, unseen: client.capabilities.contains("ESEARCH"))
            return (view, unseen, client.capabilities, true)
        }
        let (view, unseen, capabilities, fresh) = opened
        self.capabilities = capabilities
        let validity = view.validity
        var cursor: IMAPCursor
        if let known = self.cursor, known.validity == validity {
            cursor = known
        } else {
            if let known = self.cursor {
                logger.warning(
                    "UIDVALIDITY of \(mailbox) changed from \(known.validity) to \(validity): the messages now in the mailbox are checked against the ones already recorded (by Message-ID) and not answered again",
                    metadata: ["mg.mailbox": "\(mailbox)"])
                cursor = IMAPCursor(mailbox: mailbox, validity: validity, next: 1, dedupeBelow: view.uidNext)
            } else {
                cursor = IMAPCursor(mailbox: mailbox, validity: validity, next: 1, dedupeBelow: 0)
            }
            try await store.saveCursor(cursor.encoded, feed: name)
            self.cursor = cursor
            pending = []
        }
        if fresh { observation = await observe(view: view, unseen: unseen) }

        // UID windows from the cursor on, each below UIDNEXT. Already-recorded messages (a crash
        // before the cursor moved) are set aside and do not count.
        pending = []
        polledThrough = cursor.next &- 1
        let batch = backlog ? limit : min(limit, Self.firstBatch)
        var messages: [IncomingMessage] = []
        var setAside: [UInt32] = []
        var low = max(cursor.next, 1)
        var window = batch
        while messages.count < batch, low < view.uidNext {
            if !messages.isEmpty, ContinuousClock.now - started >= Self.batchTime { break }
            let last = UInt64(view.uidNext) - 1
            let end = UInt64(low) + UInt64(window) - 1
            var high = UInt32(min(last, end))
            let fetched: [IMAPFetchedMessage]
            if let ahead = await takePrefetch(validity: validity, low: low, atMost: high) {
                high = ahead.high
                fetched = try await ahead.task.value
            } else {
                fetched = try await fetch(login, from: low, through: high)
            }
            let taken = fetched.map(\.uid)
            let known = try await store.knownExternalIDs(taken.map { externalID(validity: validity, uid: $0) })
            for message in fetched {
                let id = externalID(validity: validity, uid: message.uid)
                var recorded = known.contains(id)
                if !recorded, message.uid < cursor.dedupeBelow { recorded = try await isRecordedBefore(message.body) }
                if recorded {
                    setAside.append(message.uid)
                    continue
                }
                messages.append(IncomingMessage(
                    channel: .email, feed: name, externalID: id, sender: nil, raw: message.body,
                    receivedAt: message.internalDate?.date ?? Date(), utcOffset: message.internalDate?.offset))
            }
            pending.formUnion(taken)
            // Every message in low...high that exists was in the answer.
            polledThrough = high
            low = high &+ 1
            window = max(1, batch - messages.count)
            if fetched.isEmpty, low < view.uidNext {
                // A gap (UIDs expunged long ago, or a server that starts high): one UID SEARCH
                // says where mail resumes, so the next window holds at most `window` messages.
                // (A window grown over the gap would fetch everything behind it at once.)
                let from = low
                let existing = try await session.run(connection(login), maxLiteral: maxLiteral) { client in
                    try client.existingUIDs(from: from, through: UInt32(UInt64(view.uidNext) - 1))
                }
                guard let next = existing.first else {
                    polledThrough = UInt32(UInt64(view.uidNext) - 1)
                    low = view.uidNext
                    break
                }
                polledThrough = next &- 1
                low = next
            }
        }
        backlog = low < view.uidNext
        await dropPrefetch()
        if backlog {
            // The next window goes on streaming while this batch is recorded and answered.
            let high = UInt32(min(UInt64(view.uidNext) - 1, UInt64(low) + UInt64(limit) - 1))
            let from = low
            prefetch = Prefetch(validity: validity, low: from, high: high, task: Task { try await self.fetch(login, from: from, through: high) })
        }
        observation?.listedNew = messages.count + setAside.count
        if !setAside.isEmpty {
            try await applyAfter(login, validity: validity, uids: setAside)
            pending.subtract(setAside)
        }
        if pending.isEmpty, polledThrough >= cursor.next { try await advance(through: polledThrough) }
        return messages
    }

    /// Whether the last poll left mail on the server for the next one (poll again at once).
    public func hasBacklog() -> Bool { backlog }

    /// Waits in `IDLE` until the server reports new mail or `upTo` passes (at most 25 minutes:
    /// servers end an IDLE after 30, RFC 2177 says 29); without IDLE, or when it fails, sleeps.
    public func waitForMail(upTo: Duration) async {
        guard upTo > .zero else { return }
        if capabilities.contains("IDLE"), let login = try? settings.login() {
            let cancellation = session.cancellation
            let limit = min(upTo, Self.longestIdle)
            do {
                _ = try await session.run(connection(login), maxLiteral: maxLiteral) { client in
                    try client.idle(upTo: limit) { cancellation.isCancelled }
                }
                return
            } catch {
                if Task.isCancelled { return }
                logger.debug("IDLE on \(mailbox) ended: \(error); polling after the interval")
            }
        }
        try? await Task.sleep(for: upTo)
    }

    static let longestIdle: Duration = .seconds(25 * 60)

    /// What the last poll saw of the server, for `/metrics` and `/healthz`.
    public func lastObservation() -> MailboxObservation? { observation }

    public func acknowledge(_ externalIDs: [String]) async throws {
        guard let cursor else { return }
        let prefix = externalIDPrefix + "\(cursor.validity):"
        let uids = externalIDs.compactMap { id -> UInt32? in
            id.hasPrefix(prefix) ? UInt32(id.dropFirst(prefix.count)) : nil
        }
        guard !uids.isEmpty else { return }
        try await applyAfter(try settings.login(), validity: cursor.validity, uids: uids)
        pending.subtract(uids)
        if pending.isEmpty {
            try await advance(through: polledThrough)
        } else if let first = pending.min(), first > 0 {
            try await advance(through: first - 1)
        }
    }

    /// Logs out (the daemon stops).
    public func close() async {
        prefetch?.task.cancel()
        await dropPrefetch()
        await session.close()
    }

    /// The window fetched ahead when it is the one that starts at `low` and ends at most at
    /// `atMost`; any other is dropped (awaited, so the connection is in step again).
    private func takePrefetch(validity: UInt32, low: UInt32, atMost high: UInt32) async -> Prefetch? {
        guard let ahead = prefetch else { return nil }
        if ahead.validity == validity, ahead.low == low, ahead.high <= high {
            prefetch = nil
            return ahead
        }
        await dropPrefetch()
        return nil
    }

    private func dropPrefetch() async {
        guard let ahead = prefetch else { return }
        prefetch = nil
        _ = try? await ahead.task.value
    }

    // MARK: - Steps

    private func externalID(validity: UInt32, uid: UInt32) -> String {
        "\(externalIDPrefix)\(validity):\(uid)"
    }

    /// The connection libcurl opens and logs in: the server's URL (its path is not used).
    private nonisolated func connection(_ login: CurlLogin) -> CurlMailRequest {
        CurlMailRequest(url: base + "/", login: login, requireTLS: settings.startTLS, tls: settings.tls, timeout: settings.timeout)
    }

    private nonisolated var maxLiteral: Int { settings.maxMessageBytes + (1 << 20) }

    private func loadCursor() async throws {
        guard !cursorLoaded else { return }
        cursor = IMAPCursor.decode(try await store.cursor(feed: name)).flatMap { $0.mailbox == mailbox ? $0 : nil }
        cursorLoaded = true
    }

    private func advance(through uid: UInt32) async throws {
        guard var cursor, uid &+ 1 > cursor.next else { return }
        cursor.next = uid &+ 1
        try await store.saveCursor(cursor.encoded, feed: name)
        self.cursor = cursor
    }

    /// The messages of UIDs `low...high`, each checked: in the window, once, and whole (its
    /// `RFC822.SIZE`) unless over the limit.
    private func fetch(_ login: CurlLogin, from low: UInt32, through high: UInt32) async throws -> [IMAPFetchedMessage] {
        let maxBytes = settings.maxMessageBytes
        let fetched = try await session.run(connection(login), maxLiteral: maxLiteral) { client in
            var messages: [IMAPFetchedMessage] = []
            try client.fetch(from: low, through: high, maxBytes: maxBytes) { messages.append($0) }
            return messages
        }
        var seen: Set<UInt32> = []
        var checked: [IMAPFetchedMessage] = []
        for var message in fetched.sorted(by: { $0.uid < $1.uid }) {
            guard (low...high).contains(message.uid) else {
                throw MailSourceError("\(base): UID FETCH \(low):\(high) in \(mailbox) answered with UID \(message.uid); will fetch again")
            }
            guard seen.insert(message.uid).inserted else { continue }
            guard let size = message.size else {
                throw MailSourceError("\(base): message UID \(message.uid) in \(mailbox) came without its RFC822.SIZE; will fetch it again")
            }
            if message.body.count > maxBytes + 1 { message.body.removeLast(message.body.count - maxBytes - 1) }
            if size > maxBytes {
                logger.warning(
                    "message UID \(message.uid) is \(size) bytes, over the limit of \(maxBytes): only its beginning is fetched",
                    metadata: ["mg.mailbox": "\(mailbox)"])
            } else if message.body.count != size {
                throw MailSourceError("\(base): message UID \(message.uid) in \(mailbox) came with \(message.body.count) of \(size) bytes; will fetch it again", code: .incompleteMessage)
            }
            checked.append(message)
        }
        return checked
    }

    /// The server's unseen messages (`\Seen` unset) that the ledger does not hold: each one taken
    /// is `\Seen` (or gone) after its poll, so one that stays is mail metergate does not fetch.
    /// Best effort: without an answer, the observation goes without them.
    private func observe(view: IMAPResponse.MailboxView, unseen: (count: Int, uids: [UInt32])?) async -> MailboxObservation {
        var result = MailboxObservation(serverMessages: Int(view.exists))
        guard let (count, oldest) = unseen else { return result }
        do {
            let ids = oldest.map { externalID(validity: view.validity, uid: $0) }
            let known = try await store.knownExternalIDs(ids)
            result.serverUnseen = count
            result.serverUnfetched = count - known.count
            result.oldestUnfetched = ids.first { !known.contains($0) }
        } catch {
            logger.debug("unseen messages of \(mailbox) not counted: \(error)")
        }
        return result
    }

    /// How many of the oldest unseen UIDs are checked against the ledger at each poll.
    static let observedUnseen = 200

    private func isRecordedBefore(_ raw: [UInt8]) async throws -> Bool {
        if recordedFingerprints == nil { recordedFingerprints = try await store.recordedFingerprints(feed: name) }
        return recordedFingerprints!.contains(MessageFingerprint.of(raw))
    }

    /// `after` for the whole batch, every command sent at once (one round trip).
    private func applyAfter(_ login: CurlLogin, validity: UInt32, uids: [UInt32]) async throws {
        let sets = IMAPResponse.sequenceSets(uids, chunk: 500)
        let after = settings.after
        try await session.run(connection(login), maxLiteral: maxLiteral) { client in
            let uidplus = client.capabilities.contains("UIDPLUS")
            var commands: [String] = []
            switch after {
            case .seen:
                commands = sets.map { "UID STORE \($0) +FLAGS.SILENT (\\Seen)" }
            case .delete:
                for set in sets {
                    commands.append("UID STORE \(set) +FLAGS.SILENT (\\Seen \\Deleted)")
                    if uidplus { commands.append("UID EXPUNGE \(set)") }
                }
                if !uidplus { commands.append("EXPUNGE") }
            case .move(let folder):
                for set in sets {
                    if client.capabilities.contains("MOVE") {
                        commands.append("UID MOVE \(set) \(IMAPResponse.quoted(folder))")
                    } else {
                        // No MOVE capability: copy, then delete.
                        commands.append("UID COPY \(set) \(IMAPResponse.quoted(folder))")
                        commands.append("UID STORE \(set) +FLAGS.SILENT (\\Seen \\Deleted)")
                        if uidplus { commands.append("UID EXPUNGE \(set)") }
                    }
                }
                if !uidplus, !client.capabilities.contains("MOVE") { commands.append("EXPUNGE") }
            }
            try client.run(commands)
        }
    }
}

/// A mailbox that can tell the poller to go on at once, and wait for new mail between polls.
public protocol MailboxWaiting: Sendable {
    /// The last poll left mail for the next one (it took a smaller batch than it was allowed).
    func hasBacklog() async -> Bool
    /// Returns when new mail may be there: reported by the server (IMAP IDLE), or after `upTo`.
    func waitForMail(upTo: Duration) async
}
