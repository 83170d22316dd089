import Curl
import Foundation
import Logging
import MeterCore

/// An IMAP mailbox polled through libcurl (`imap://`, `imaps://`, STARTTLS).
///
/// Messages are identified by (mailbox, UIDVALIDITY, UID) — `imap:<feed>:<mailbox>:<validity>:<uid>`
/// — never by `\Seen`. Each poll: `STATUS` (UIDVALIDITY, UIDNEXT), `UID SEARCH UID next:…` in
/// windows, one `UID FETCH set (UID RFC822.SIZE INTERNALDATE)`, then each message whole through
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
public actor IMAPSource: MessageSource {
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
        let status = try await self.status(login)
        guard let validity = status["UIDVALIDITY"], let uidNext = status["UIDNEXT"] else {
            throw MailSourceError("\(base): STATUS \(mailbox) gave no UIDVALIDITY/UIDNEXT")
        }
        var cursor: IMAPCursor
        if let known = self.cursor, known.validity == validity {
            cursor = known
        } else {
            if let known = self.cursor {
                logger.warning(
                    "UIDVALIDITY of \(mailbox) changed from \(known.validity) to \(validity): the messages now in the mailbox are checked against the ones already recorded (by Message-ID) and not answered again",
                    metadata: ["mg.mailbox": "\(mailbox)"])
                cursor = IMAPCursor(mailbox: mailbox, validity: validity, next: 1, dedupeBelow: uidNext)
            } else {
                cursor = IMAPCursor(mailbox: mailbox, validity: validity, next: 1, dedupeBelow: 0)
            }
            try await store.saveCursor(cursor.encoded, feed: name)
            self.cursor = cursor
            pending = []
        }

        // The UIDs from `next` on, in windows (7.88 cuts long untagged lines), until `limit`
        // messages are in hand; already-recorded ones are set aside and do not count.
        pending = []
        polledThrough = cursor.next &- 1
        var messages: [IncomingMessage] = []
        var setAside: [UInt32] = []
        var low = cursor.next
        while messages.count < limit, low < uidNext {
            let high = min(low &+ 1999, uidNext - 1)
            let found = try await search(login, validity: validity, low: low, high: high)
            let taken = Array(found.prefix(limit - messages.count))
            let scanned = taken.count < found.count ? taken.last! : high
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
                guard let raw = bodies[uid] else { throw MailSourceError("\(base): message UID \(uid) was not fetched") }
                if uid < cursor.dedupeBelow, try await isRecordedBefore(raw) {
                    setAside.append(uid)
                    continue
                }
                messages.append(IncomingMessage(
                    channel: .email, feed: name, externalID: externalID(validity: validity, uid: uid), sender: nil,
                    raw: raw, receivedAt: item?.internalDate?.date ?? Date(), utcOffset: item?.internalDate?.offset))
            }
            pending.formUnion(taken)
            polledThrough = scanned
            low = scanned &+ 1
        }
        if !setAside.isEmpty {
            try await applyAfter(login, validity: validity, uids: setAside)
            pending.subtract(setAside)
        }
        if pending.isEmpty, polledThrough >= cursor.next { try await advance(through: polledThrough) }
        return messages
    }

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

    private func status(_ login: CurlLogin) async throws -> [String: UInt32] {
        let response = try await handle.mail(request(
            base + "/", login, command: "STATUS \(IMAPResponse.quoted(mailbox)) (UIDVALIDITY UIDNEXT MESSAGES)"))
        return IMAPResponse.statusItems(response.lines)
    }

    private func search(_ login: CurlLogin, validity: UInt32, low: UInt32, high: UInt32) async throws -> [UInt32] {
        let response = try await handle.mail(request(
            mailboxURL + ";UIDVALIDITY=\(validity)", login, command: "UID SEARCH UID \(low):\(high)"))
        return IMAPResponse.searchUIDs(response.lines).filter { $0 >= low && $0 <= high }.sorted()
    }

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
            throw MailSourceError("\(base): message UID \(uid) in \(mailbox) came with \(raw.count) of \(size) bytes; will fetch it again")
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
