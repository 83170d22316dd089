import Foundation
import Ledger
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
        /// Counts the changes a waiting connection waits for (a recipient freed, a page fetched).
        var generation = 0
        /// Connections waiting for the next change.
        var waiters: [CheckedContinuation<Void, Never>] = []

        /// A change: every waiting connection looks again.
        mutating func changed() -> [CheckedContinuation<Void, Never>] {
            generation += 1
            defer { waiters = [] }
            return waiters
        }
    }

    let ledger: any OutboxQueue
    let channel: ChannelKind
    let pageSize: Int
    private let state = Mutex(State())

    init(ledger: any OutboxQueue, channel: ChannelKind, pageSize: Int = 200) {
        self.ledger = ledger
        self.channel = channel
        self.pageSize = pageSize
    }

    /// The next reply to send (its recipient now busy), or nil when nothing more is due.
    /// `admit` is asked once per reply (the loop guard); a reply it refuses is dropped here.
    func next(admit: @escaping @Sendable (StoredReply) async throws -> Bool) async throws -> StoredReply? {
        while true {
            try Task.checkCancellation()
            enum Step { case take(StoredReply), fetch(after: Int64), wait(generation: Int), done }
            let step = state.withLock { state -> Step in
                if let index = state.page.firstIndex(where: { !state.busy.contains($0.recipient) }) {
                    let reply = state.page.remove(at: index)
                    state.busy.insert(reply.recipient)
                    return .take(reply)
                }
                if state.fetching { return .wait(generation: state.generation) }
                if !state.exhausted, state.page.count < pageSize * 4 {
                    state.fetching = true
                    return .fetch(after: state.lastID)
                }
                if state.page.isEmpty { return .done }
                return .wait(generation: state.generation)  // only replies to busy recipients are left
            }
            switch step {
            case .take(let reply):
                let admitted: Bool
                do {
                    admitted = try await admit(reply)
                } catch {
                    release(reply.recipient)
                    throw error
                }
                if admitted { return reply }
                release(reply.recipient)
            case .fetch(let after):
                let fetched: [StoredReply]
                do {
                    fetched = try await ledger.dueReplies(channel: channel.rawValue, afterID: after, limit: pageSize)
                } catch {
                    resume(state.withLock { state in
                        state.fetching = false
                        return state.changed()
                    })
                    throw error
                }
                resume(state.withLock { state in
                    state.fetching = false
                    state.page += fetched
                    if let last = fetched.last { state.lastID = last.id }
                    if fetched.count < pageSize { state.exhausted = true }
                    return state.changed()
                })
            case .wait(let generation):
                // Accepted replies hold their recipients until committed: commit them now.
                try await flush()
                await waitForChange(after: generation)
            case .done:
                return nil
            }
        }
    }

    /// Returns at the first change after `generation` (at once when one happened meanwhile),
    /// or when the task is cancelled.
    private func waitForChange(after generation: Int) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let waiting = state.withLock { state -> Bool in
                    guard state.generation == generation, !Task.isCancelled else { return false }
                    state.waiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            resume(state.withLock { $0.changed() })
        }
    }

    private func resume(_ waiters: [CheckedContinuation<Void, Never>]) {
        for waiter in waiters { waiter.resume() }
    }

    /// Frees a recipient whose reply was settled without being sent (retry, failure, doubt).
    func release(_ recipient: String) {
        resume(state.withLock { state in
            state.busy.remove(recipient)
            return state.changed()
        })
    }

    /// The server accepted `reply`; its `sent` goes into the next commit.
    func accepted(_ reply: StoredReply) {
        state.withLock { $0.accepted.append(reply) }
    }

    /// Reply `id` is about to pass its point of no return: one durable commit of its mark and of
    /// the `sent` of every reply accepted meanwhile. Runs on the transfer's thread (blocking).
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
    func flush() async throws {
        let sent = state.withLock { state in
            defer { state.accepted = [] }
            return state.accepted
        }
        guard !sent.isEmpty else { return }
        do {
            try await ledger.markRepliesSent(sent.map(\.id))
        } catch {
            state.withLock { $0.accepted = sent + $0.accepted }
            throw error
        }
        releaseCommitted(sent)
    }

    private func releaseCommitted(_ replies: [StoredReply]) {
        guard !replies.isEmpty else { return }
        resume(state.withLock { state in
            for reply in replies { state.busy.remove(reply.recipient) }
            return state.changed()
        })
    }
}
