import Dispatch
import Foundation
import Ledger
import LedgerSQLite
import MeterCore
import Synchronization

/// The replies of one channel handed to the connections of a `ConcurrentReplyTransport`, and
/// their durable marks.
///
/// - Replies come from the ledger in pages, oldest first; a recipient has at most one reply in
///   flight, and its next one waits until the previous one's `sent` is committed (so the loop
///   guard counts it).
/// - Just before a reply's point of no return (`committing`, on the transfer's own thread), one
///   commit writes its `data_sent_at` together with the `sent` marks of every reply the server
///   accepted since the last commit: one fsync per reply instead of two, and a reply's answer is
///   never lost (a reply with `data_sent_at` and no `sent` is in doubt after a crash: held, not
///   sent again).
final class ReplyFlight: Sendable {
    private struct State {
        var page: [StoredReply] = []
        var lastID: Int64 = 0
        var exhausted = false
        var fetching = false
        /// Recipients with a reply in flight or accepted but not yet committed as sent.
        var busy: Set<String> = []
        /// Accepted by the server, `sent` not yet committed.
        var accepted: [StoredReply] = []
    }

    let ledger: SQLiteLedger
    let channel: ChannelKind
    let pageSize: Int
    private let state = Mutex(State())

    init(ledger: SQLiteLedger, channel: ChannelKind, pageSize: Int = 200) {
        self.ledger = ledger
        self.channel = channel
        self.pageSize = pageSize
    }

    /// The next reply to send (its recipient now busy), or nil when nothing more is due.
    /// `admit` is asked once per reply (the loop guard); a reply it refuses is dropped here.
    func next(admit: @escaping @Sendable (StoredReply) throws -> Bool) async throws -> StoredReply? {
        while true {
            enum Step { case take(StoredReply), fetch(after: Int64), wait, done }
            let step = state.withLock { state -> Step in
                if let index = state.page.firstIndex(where: { !state.busy.contains($0.recipient) }) {
                    let reply = state.page.remove(at: index)
                    state.busy.insert(reply.recipient)
                    return .take(reply)
                }
                if state.fetching { return .wait }
                if !state.exhausted, state.page.count < pageSize * 4 {
                    state.fetching = true
                    return .fetch(after: state.lastID)
                }
                if state.page.isEmpty { return .done }
                return .wait  // only replies to busy recipients are left
            }
            switch step {
            case .take(let reply):
                let admitted: Bool
                do {
                    admitted = try await Self.offPool { try admit(reply) }
                } catch {
                    release(reply.recipient)
                    throw error
                }
                if admitted { return reply }
                release(reply.recipient)
            case .fetch(let after):
                let fetched: [StoredReply]
                do {
                    let (ledger, channel, pageSize) = (ledger, channel, pageSize)
                    fetched = try await Self.offPool {
                        try ledger.dueReplies(channel: channel.rawValue, afterID: after, limit: pageSize)
                    }
                } catch {
                    state.withLock { $0.fetching = false }
                    throw error
                }
                state.withLock { state in
                    state.fetching = false
                    state.page += fetched
                    if let last = fetched.last { state.lastID = last.id }
                    if fetched.count < pageSize { state.exhausted = true }
                }
            case .wait:
                // Accepted replies hold their recipients until committed: commit them now.
                try await Self.offPool { try self.flush() }
                try await Task.sleep(for: .milliseconds(2))
            case .done:
                return nil
            }
        }
    }

    /// Runs blocking store work (GRDB's synchronous API, which waits while a message batch
    /// commits) on a global queue instead of a thread of the cooperative pool.
    static func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
        }
    }

    /// Frees a recipient whose reply was settled without being sent (retry, failure, doubt).
    func release(_ recipient: String) {
        _ = state.withLock { $0.busy.remove(recipient) }
    }

    /// The server accepted `reply`; its `sent` goes into the next commit.
    func accepted(_ reply: StoredReply) {
        state.withLock { $0.accepted.append(reply) }
    }

    /// Reply `id` is about to pass its point of no return: one durable commit of its mark and of
    /// the `sent` of every reply accepted meanwhile. Runs on the transfer's thread.
    func committing(_ id: Int64) throws {
        let sent = state.withLock { state in
            defer { state.accepted = [] }
            return state.accepted
        }
        do {
            try ledger.markReplyCommitting(id: id, sent: sent.map(\.id))
        } catch {
            state.withLock { $0.accepted = sent + $0.accepted }
            throw error
        }
        releaseCommitted(sent)
    }

    /// Commits the `sent` of the replies accepted since the last commit.
    func flush() throws {
        let sent = state.withLock { state in
            defer { state.accepted = [] }
            return state.accepted
        }
        guard !sent.isEmpty else { return }
        do {
            try ledger.markRepliesSent(sent.map(\.id))
        } catch {
            state.withLock { $0.accepted = sent + $0.accepted }
            throw error
        }
        releaseCommitted(sent)
    }

    private func releaseCommitted(_ replies: [StoredReply]) {
        guard !replies.isEmpty else { return }
        state.withLock { state in
            for reply in replies { state.busy.remove(reply.recipient) }
        }
    }
}
