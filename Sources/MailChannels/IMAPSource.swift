import Curl
import Foundation
import Logging
import MeterCore

/// An IMAP mailbox polled through libcurl (`imap://`, `imaps://`, STARTTLS).
///
/// Messages are identified by (mailbox, UIDVALIDITY, UID) — `imap:<feed>:<mailbox>:<validity>:<uid>`
/// — never by `\Seen`. Each poll: `SELECT` (EXISTS, UIDVALIDITY, UIDNEXT, fresh even on a
/// connection that has the mailbox selected), `UID SEARCH UNSEEN` (for `/healthz`), the UIDs of
/// the messages from the cursor on by sequence number (`UID SEARCH a:b`, each window checked to
/// hold one UID per message), `UID FETCH set (UID RFC822.SIZE INTERNALDATE FLAGS)` in small
/// sets, then each message whole through
/// the URL `…/MAILBOX;UIDVALIDITY=v/;UID=n` (libcurl 7.88 returns only the first line of a
/// custom `UID FETCH … BODY[]`). A message larger than `maxMessageBytes` is fetched only up to
/// that size + 1 (`;PARTIAL=`), so the pipeline records it as too large.
///
/// `acknowledge` (called after the ledger commit) applies `after` (`\Seen`, `\Deleted` + `UID
/// EXPUNGE`, or `UID MOVE`) and then moves the cursor on. A crash anywhere before that means the
/// same UIDs are fetched again and the ledger sees their ids again: nothing twice.
///
/// A UIDVALIDITY change (the server rebuilt the mailbox) is logged; the messages present at that
/// moment are compared by Message-ID (or bytes) with what this feed recorded before, and those
/// already recorded are only acknowledged, not returned.
public actor IMAPSource: MessageSource, MailboxObserving {
    public nonisolated let name: String
    public nonisolated var channel: ChannelKind { .email }
    public let settings: MailboxSettings
    private let store: any MailboxStateStore
    private let handle: CurlHandle
    private let bodyHandles: [CurlHandle]
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
    /// The server's CAPABILITY words, asked once.
    private var capabilities: Set<String>?

    public init(
        name: String, settings: MailboxSettings, store: any MailboxStateStore,
        logger: Logger = Logger(label: "metergate.imap")
    ) {
        self.name = name
        self.settings = settings
        self.store = store
        handle = CurlHandle(label: "imap-\(name)")
        // Bodies are fetched over `fetchConnections` at once (libcurl has no pipelining: one round
        // trip per message and connection). Against a Maildir-backed Dovecot on loopback one is
        // fastest: every other session that sets \Seen makes the others rescan the folder (with
        // 10,000 mails: 0.6 s per 500 over one connection, 0.8–2.8 s over four, and 2.5 times
        // Dovecot's CPU); a distant server wants more, to overlap the round trips.
        bodyHandles = [handle] + (1..<settings.fetchConnections).map { CurlHandle(label: "imap-\(name)-fetch\($0)") }
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
        let parts = settings.parts
        base = parts.base
        let path = parts.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        mailbox = path.isEmpty ? "INBOX" : path
    }

    public var externalIDPrefix: String { "imap:\(name):\(mailbox):" }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        guard limit > 0 else { return [] }
        let login = try settings.login()
        try await loadCursor()
        let view = try await select(login)
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
        observation = await observe(login, view: view)

        // The messages whose UID is `next` or more are the last ones by sequence number (UIDs
        // ascend with it). They are listed in windows of sequence numbers, each of which must
        // come back with exactly one UID per message: a listing that does not add up is an
        // error (retried at the next poll), never a smaller set of new mail. Already-recorded
        // ones (a crash before the cursor moved) are set aside and do not count.
        pending = []
        polledThrough = cursor.next &- 1
        var messages: [IncomingMessage] = []
        var setAside: [UInt32] = []
        var sequence = view.exists &+ 1
        if view.uidNext > cursor.next, view.exists > 0 {
            sequence = try await firstSequence(login, view: view, atOrAbove: cursor.next)
        }
        observation?.listedNew = Int(view.exists) - Int(sequence) + 1
        while messages.count < limit, sequence <= view.exists {
            let high = min(view.exists, sequence &+ UInt32(min(Self.listWindow, limit - messages.count)) &- 1)
            let taken = try await uids(login, view: view, from: sequence, through: high)
            guard let first = taken.first, first >= cursor.next else {
                throw MailSourceError("\(base): the listing of \(mailbox) does not add up (messages \(sequence):\(high) have UIDs below \(cursor.next), the next one expected); will list again")
            }
            // Already recorded (a crash before the cursor moved): acknowledged, not fetched again.
            let known = try await store.knownExternalIDs(taken.map { externalID(validity: validity, uid: $0) })
            let wanted = taken.filter { !known.contains(externalID(validity: validity, uid: $0)) }
            setAside += taken.filter { known.contains(externalID(validity: validity, uid: $0)) }
            let metadata = try await fetchMetadata(login, validity: validity, uids: wanted)
            let bodies: [UInt32: [UInt8]]
            do {
                bodies = try await fetchMessages(login, validity: validity, uids: wanted, metadata: metadata)
            } catch {
                await unmarkSeen(login, validity: validity, uids: wanted.filter { metadata[$0]?.seen == false }, after: error)
                throw error
            }
            for uid in wanted {
                let item = metadata[uid]
                guard let raw = bodies[uid] else { throw MailSourceError("\(base): message UID \(uid) was not fetched", code: .incompleteMessage) }
                if uid < cursor.dedupeBelow, try await isRecordedBefore(raw) {
                    setAside.append(uid)
                    continue
                }
                messages.append(IncomingMessage(
                    channel: .email, feed: name, externalID: externalID(validity: validity, uid: uid), sender: nil,
                    raw: raw, receivedAt: item?.internalDate?.date ?? Date(), utcOffset: item?.internalDate?.offset))
            }
            pending.formUnion(taken)
            // The cursor may pass only UIDs listed here: every UID between two listed ones that
            // is not listed does not exist (the window held one UID per message).
            polledThrough = taken.last!
            sequence = high &+ 1
        }
        if !setAside.isEmpty {
            try await applyAfter(login, validity: validity, uids: setAside)
            pending.subtract(setAside)
        }
        if pending.isEmpty, polledThrough >= cursor.next { try await advance(through: polledThrough) }
        return messages
    }

    /// How many messages one listing asks for: at most ~11 KB of `* SEARCH` line with 10-digit
    /// UIDs, far inside the receive buffer.
    static let listWindow = 1000

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

    // MARK: - Steps

    private func externalID(validity: UInt32, uid: UInt32) -> String {
        "\(externalIDPrefix)\(validity):\(uid)"
    }

    private nonisolated var mailboxURL: String {
        base + "/" + (mailbox.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: ";?#%"))) ?? mailbox)
    }

    private nonisolated func request(_ url: String, _ login: CurlLogin, command: String? = nil) -> CurlMailRequest {
        CurlMailRequest(
            url: url, command: command, login: login, requireTLS: settings.startTLS, tls: settings.tls,
            timeout: settings.timeout, maxBodyBytes: settings.maxMessageBytes + (1 << 20))
    }

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

    /// `SELECT` of the mailbox, on every poll, even when the connection has it selected already:
    /// the server then reports its mailbox as it is now. (RFC 3501 §6.3.10: STATUS must not be
    /// used on the selected mailbox to check for new mail; Dovecot answers it from the
    /// connection's own, stale view, so a daemon whose connection stays open saw nothing new.)
    private func select(_ login: CurlLogin) async throws -> IMAPResponse.MailboxView {
        let response = try await handle.mail(request(base + "/", login, command: "SELECT \(IMAPResponse.quoted(mailbox))"))
        guard let view = IMAPResponse.mailboxView(response.lines) else {
            throw MailSourceError("\(base): SELECT \(mailbox) gave no EXISTS/UIDVALIDITY/UIDNEXT")
        }
        return view
    }

    /// The UIDs of the messages with sequence numbers `low...high` (all within the view's EXISTS),
    /// ascending; exactly one per message, each below UIDNEXT, or the listing is refused.
    private func uids(_ login: CurlLogin, view: IMAPResponse.MailboxView, from low: UInt32, through high: UInt32) async throws -> [UInt32] {
        let set = low == high ? "\(low)" : "\(low):\(high)"
        let response = try await handle.mail(request(
            mailboxURL + ";UIDVALIDITY=\(view.validity)", login, command: "UID SEARCH \(set)"))
        let lines = response.lines
        if lines.contains(where: IMAPResponse.isExpunge) {
            throw MailSourceError("\(base): messages of \(mailbox) were expunged while it was being listed; will list again")
        }
        let found = Array(Set(IMAPResponse.searchUIDs(lines))).sorted()
        let expected = Int(high - low) + 1
        guard lines.contains(where: { $0.hasPrefix("* SEARCH") }), found.count == expected, found.allSatisfy({ $0 < view.uidNext }) else {
            throw MailSourceError("\(base): the listing of \(mailbox) does not add up: messages \(set) gave \(found.count) UIDs below UIDNEXT \(view.uidNext), \(expected) expected; will list again")
        }
        return found
    }

    /// The sequence number of the first message whose UID is `next` or more (EXISTS + 1: none).
    private func firstSequence(_ login: CurlLogin, view: IMAPResponse.MailboxView, atOrAbove next: UInt32) async throws -> UInt32 {
        // The answer lies in low...high. With dense UIDs (the usual case) the new messages are the
        // last `UIDNEXT - next`, and one probe of two messages finds it.
        var low: UInt32 = 1
        var high = view.exists &+ 1
        let span = view.uidNext &- next
        let guess = span >= view.exists ? 1 : view.exists - span + 1
        let probeLow = guess > 1 ? guess - 1 : guess
        for (offset, uid) in try await uids(login, view: view, from: probeLow, through: guess).enumerated() {
            let sequence = probeLow + UInt32(offset)
            if uid >= next { high = min(high, sequence) } else { low = max(low, sequence + 1) }
        }
        while low < high {
            let middle = low + (high - low) / 2
            let uid = try await uids(login, view: view, from: middle, through: middle)[0]
            if uid >= next { high = middle } else { low = middle + 1 }
        }
        return low
    }

    /// The server's unseen messages (`\Seen` unset) that the ledger does not hold: each one taken
    /// is `\Seen` (or gone) after its poll, so one that stays is mail metergate does not fetch.
    /// Best effort: a failure leaves the observation without them, not the poll failed.
    private func observe(_ login: CurlLogin, view: IMAPResponse.MailboxView) async -> MailboxObservation {
        var result = MailboxObservation(serverMessages: Int(view.exists))
        do {
            if capabilities == nil {
                let response = try await handle.mail(request(base + "/", login, command: "CAPABILITY"))
                capabilities = IMAPResponse.capabilities(response.lines)
            }
            let url = mailboxURL + ";UIDVALIDITY=\(view.validity)"
            let count: Int
            let oldest: [UInt32]
            if capabilities?.contains("ESEARCH") == true {
                let response = try await handle.mail(request(url, login, command: "UID SEARCH RETURN (COUNT ALL) UNSEEN"))
                guard let answer = IMAPResponse.esearch(response.lines, first: Self.observedUnseen) else {
                    throw MailSourceError("no ESEARCH answer")
                }
                (count, oldest) = answer
            } else {
                let response = try await handle.mail(request(url, login, command: "UID SEARCH UNSEEN"))
                let all = Array(Set(IMAPResponse.searchUIDs(response.lines))).sorted()
                (count, oldest) = (all.count, Array(all.prefix(Self.observedUnseen)))
            }
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

    private func fetchMetadata(_ login: CurlLogin, validity: UInt32, uids: [UInt32]) async throws -> [UInt32: IMAPResponse.FetchItem] {
        var items: [UInt32: IMAPResponse.FetchItem] = [:]
        // Small sets: libcurl 7.88 (Debian) counts a transfer's response lines quadratically
        // (the rest of the buffer again at each line) and fails past 300 KiB: ~60 lines is safe.
        for set in IMAPResponse.sequenceSets(uids, chunk: 40) {
            let response = try await handle.mail(request(
                mailboxURL + ";UIDVALIDITY=\(validity)", login, command: "UID FETCH \(set) (UID RFC822.SIZE INTERNALDATE FLAGS)"))
            items.merge(IMAPResponse.fetchItems(response.lines)) { $1 }
        }
        return items
    }

    /// Fetches the bodies over `bodyHandles` at once (the first is the main connection), each
    /// connection taking every n-th UID.
    private func fetchMessages(
        _ login: CurlLogin, validity: UInt32, uids: [UInt32], metadata: [UInt32: IMAPResponse.FetchItem]
    ) async throws -> [UInt32: [UInt8]] {
        let lanes = min(bodyHandles.count, max(1, uids.count / 8))
        return try await withThrowingTaskGroup(of: [(UInt32, [UInt8])].self) { group in
            for lane in 0..<lanes {
                let share = stride(from: lane, to: uids.count, by: lanes).map { uids[$0] }
                let handle = bodyHandles[lane]
                group.addTask {
                    var fetched: [(UInt32, [UInt8])] = []
                    for uid in share {
                        fetched.append((uid, try await self.fetchMessage(
                            login, validity: validity, uid: uid, size: metadata[uid]?.size, on: handle)))
                    }
                    return fetched
                }
            }
            var bodies: [UInt32: [UInt8]] = [:]
            for try await fetched in group {
                for (uid, raw) in fetched { bodies[uid] = raw }
            }
            // The extra connections are closed: left selected, they would be told of every flag
            // change and expunge of the next batch at once (measured with 10,000 mails: Dovecot
            // spent about three times the CPU keeping four selected sessions in sync).
            for extra in bodyHandles.dropFirst().prefix(lanes - 1) { await extra.closeConnections() }
            return bodies
        }
    }

    private nonisolated func fetchMessage(
        _ login: CurlLogin, validity: UInt32, uid: UInt32, size: Int?, on handle: CurlHandle
    ) async throws -> [UInt8] {
        var url = mailboxURL + ";UIDVALIDITY=\(validity)/;UID=\(uid)"
        if let size, size > settings.maxMessageBytes {
            url += ";PARTIAL=0.\(settings.maxMessageBytes + 1)"
            logger.warning(
                "message UID \(uid) is \(size) bytes, over the limit of \(settings.maxMessageBytes): only its beginning is fetched",
                metadata: ["mg.mailbox": "\(mailbox)"])
        }
        var raw = try await handle.mail(request(url, login)).body
        if raw.count > settings.maxMessageBytes + 1 { raw.removeLast(raw.count - settings.maxMessageBytes - 1) }
        if let size, size <= settings.maxMessageBytes, raw.count != size {
            throw MailSourceError("\(base): message UID \(uid) in \(mailbox) came with \(raw.count) of \(size) bytes; will fetch it again", code: .incompleteMessage)
        }
        return raw
    }

    /// libcurl fetches with `BODY[]`, which sets `\Seen`: when the fetch failed (a connection
    /// dropped mid-body), the messages that were unseen before are made unseen again, so a failed
    /// poll leaves the mailbox as it was. Best effort: the failure being reported is the fetch's.
    private func unmarkSeen(_ login: CurlLogin, validity: UInt32, uids: [UInt32], after failure: any Error) async {
        guard !uids.isEmpty else { return }
        let url = mailboxURL + ";UIDVALIDITY=\(validity)"
        do {
            for set in IMAPResponse.sequenceSets(uids, chunk: 50) {
                _ = try await handle.mail(request(url, login, command: "UID STORE \(set) -FLAGS.SILENT (\\Seen)"))
            }
        } catch {
            logger.warning(
                "the fetch failed and \\Seen could not be taken back from \(uids.count) message(s) it touched: \(error)",
                metadata: ["mg.mailbox": "\(mailbox)"])
        }
    }

    private func isRecordedBefore(_ raw: [UInt8]) async throws -> Bool {
        if recordedFingerprints == nil { recordedFingerprints = try await store.recordedFingerprints(feed: name) }
        return recordedFingerprints!.contains(MessageFingerprint.of(raw))
    }

    private func applyAfter(_ login: CurlLogin, validity: UInt32, uids: [UInt32]) async throws {
        let url = mailboxURL + ";UIDVALIDITY=\(validity)"
        // EXPUNGE and MOVE answer one line per message: small sets (see fetchMetadata).
        for set in IMAPResponse.sequenceSets(uids, chunk: 50) {
            switch settings.after {
            case .seen:
                _ = try await handle.mail(request(url, login, command: "UID STORE \(set) +FLAGS.SILENT (\\Seen)"))
            case .delete:
                _ = try await handle.mail(request(url, login, command: "UID STORE \(set) +FLAGS.SILENT (\\Seen \\Deleted)"))
                do {
                    _ = try await handle.mail(request(url, login, command: "UID EXPUNGE \(set)"))
                } catch let error as CurlError where error.code == 21 {
                    _ = try await handle.mail(request(url, login, command: "EXPUNGE"))
                }
            case .move(let folder):
                do {
                    _ = try await handle.mail(request(url, login, command: "UID MOVE \(set) \(IMAPResponse.quoted(folder))"))
                } catch let error as CurlError where error.code == 21 && !(error.serverResponse ?? "").contains("TRYCREATE") {
                    // No MOVE capability: copy, then delete.
                    _ = try await handle.mail(request(url, login, command: "UID COPY \(set) \(IMAPResponse.quoted(folder))"))
                    _ = try await handle.mail(request(url, login, command: "UID STORE \(set) +FLAGS.SILENT (\\Seen \\Deleted)"))
                    _ = try await handle.mail(request(url, login, command: "UID EXPUNGE \(set)"))
                }
            }
        }
    }
}
