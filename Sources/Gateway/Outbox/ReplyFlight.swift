import Foundation
import Ledger
import MeterCore
import Synchronization

/// The replies of one channel handed to the connections of a `ConcurrentReplyTransport`, and
/// their durable marks: `ReplyFlightStateMachine` under a mutex, its actions performed here.
///
/// Just before a reply's point of no return (`committing`, on the transfer's own thread), one
/// commit writes its `data_sent_at` together with the `sent` marks of every reply the server
/// accepted since the last commit: one fsync per reply instead of two, and a reply's answer is
/// never lost (a reply with `data_sent_at` and no `sent` is in doubt after a crash: held, not
/// sent again).
final class ReplyFlight: Sendable {
    private struct State {
        var machine: ReplyFlightStateMachine
        /// Connections waiting for the next change of `machine.generation`.
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    let ledger: any OutboxQueue
    let channel: ChannelKind
    private let now: @Sendable () -> Date
    private let state: Mutex<State>

    init(ledger: any OutboxQueue, channel: ChannelKind, pageSize: Int = 200, now: @escaping @Sendable () -> Date = { Date() }) {
        self.ledger = ledger
        self.channel = channel
        self.now = now
        state = Mutex(State(machine: ReplyFlightStateMachine(pageSize: pageSize)))
    }

    /// Applies `event` to the machine; the connections waiting for a change look again.
    private func update<T>(_ event: (inout ReplyFlightStateMachine) -> T) -> T {
        let (result, waiters) = state.withLock { state in
            let generation = state.machine.generation
            let result = event(&state.machine)
            guard state.machine.generation != generation else { return (result, [CheckedContinuation<Void, Never>]()) }
            defer { state.waiters = [] }
            return (result, state.waiters)
        }
        for waiter in waiters { waiter.resume() }
        return result
    }

    /// The next reply to send (its recipient now busy), or nil when nothing more is due.
    /// `admit` is asked once per reply (the loop guard); a reply it refuses is dropped here.
    /// With `waiting: false`, nil also when no reply can be taken now (every one left is to a
    /// busy recipient, or another connection is reading the next page).
    func next(waiting: Bool = true, admit: @escaping @Sendable (StoredReply) async throws -> Bool) async throws -> StoredReply? {
        while true {
            try Task.checkCancellation()
            let action = update { $0.next() }
            if case .wait = action, !waiting { return nil }
            switch action {
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
                    fetched = try await ledger.dueReplies(
                        channel: channel.rawValue, now: now(), afterID: after, limit: state.withLock { $0.machine.pageSize })
                } catch {
                    update { $0.fetchFailed() }
                    throw error
                }
                update { $0.fetched(fetched) }
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
                    guard state.machine.generation == generation, !Task.isCancelled else { return false }
                    state.waiters.append(continuation)
                    return true
                }
                if !waiting { continuation.resume() }
            }
        } onCancel: {
            update { $0.wakeAll() }
        }
    }

    /// Frees a recipient whose reply was settled without being sent (retry, failure, doubt).
    func release(_ recipient: String) {
        update { $0.released(recipient) }
    }

    /// The server accepted `reply`; its `sent` goes into the next commit.
    func accepted(_ reply: StoredReply) {
        update { $0.accepted(reply) }
    }

    /// Reply `id` is about to pass its point of no return: one durable commit of its mark and of
    /// the `sent` of every reply accepted meanwhile. Runs on the transfer's thread (blocking).
    func committing(_ id: Int64) throws {
        let sent = update { $0.takeAccepted() }
        do {
            try ledger.markReplyCommitting(id: id, sent: sent.map(\.id), at: now())
        } catch {
            update { $0.commitFailed(sent) }
            throw error
        }
        update { $0.committed(sent) }
    }

    /// Commits the `sent` of the replies accepted since the last commit.
    func flush() async throws {
        let sent = update { $0.takeAccepted() }
        guard !sent.isEmpty else { return }
        do {
            try await ledger.markRepliesSent(sent.map(\.id), at: now())
        } catch {
            update { $0.commitFailed(sent) }
            throw error
        }
        update { $0.committed(sent) }
    }
}
