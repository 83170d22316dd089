import Ledger

/// The bookkeeping of a `ReplyFlight` as a value whose events return what to do next
/// (swift-nio's state machines): which reply a connection takes, when a page is fetched, which
/// accepted replies go into the next commit. No I/O, no clock, no locks: `ReplyFlight` holds it
/// under a mutex and performs the actions.
///
/// - Replies come in pages, oldest first; at most `pageSize × 4` wait in memory.
/// - A recipient has at most one reply in flight, and its next one waits until the previous
///   one's `sent` is committed (so the loop guard counts it).
/// - `generation` counts the changes a waiting connection waits for (a recipient freed, a page
///   fetched); a connection told to `.wait` looks again at the next change.
package struct ReplyFlightStateMachine: Sendable {
    /// What a connection asking for its next reply does.
    package enum NextAction: Sendable, Hashable {
        /// Send this reply (its recipient is now busy).
        case take(StoredReply)
        /// Fetch the next page of due replies with ids above `afterID`, then ask again.
        case fetch(afterID: Int64)
        /// Commit what was accepted (it holds recipients), then wait for a change after `generation`.
        case wait(generation: Int)
        /// Nothing more is due.
        case done
    }

    package let pageSize: Int
    private(set) var page: [StoredReply] = []
    private var lastID: Int64 = 0
    private var exhausted = false
    private var fetching = false
    /// Recipients with a reply in flight or accepted but not yet committed as sent.
    private(set) var busy: Set<String> = []
    /// Accepted by the server, `sent` not yet committed.
    private(set) var accepted: [StoredReply] = []
    package private(set) var generation = 0

    package init(pageSize: Int) {
        self.pageSize = max(1, pageSize)
    }

    /// A connection asks for its next reply.
    package mutating func next() -> NextAction {
        if let index = page.firstIndex(where: { !busy.contains($0.recipient) }) {
            let reply = page.remove(at: index)
            busy.insert(reply.recipient)
            return .take(reply)
        }
        if fetching { return .wait(generation: generation) }
        if !exhausted, page.count < pageSize * 4 {
            fetching = true
            return .fetch(afterID: lastID)
        }
        if page.isEmpty { return .done }
        return .wait(generation: generation)  // only replies to busy recipients are left
    }

    /// The page asked for by `.fetch` came.
    package mutating func fetched(_ replies: [StoredReply]) {
        fetching = false
        page += replies
        if let last = replies.last { lastID = last.id }
        if replies.count < pageSize { exhausted = true }
        generation += 1
    }

    /// The page asked for by `.fetch` could not be read.
    package mutating func fetchFailed() {
        fetching = false
        generation += 1
    }

    /// A reply was settled without being sent (retry, failure, doubt, refused by the loop
    /// guard): its recipient is free.
    package mutating func released(_ recipient: String) {
        busy.remove(recipient)
        generation += 1
    }

    /// The server accepted `reply`; its `sent` goes into the next commit (its recipient stays busy).
    package mutating func accepted(_ reply: StoredReply) {
        accepted.append(reply)
    }

    /// The replies whose `sent` the next commit writes; they leave the machine until
    /// `committed(_:)` or `commitFailed(_:)`.
    package mutating func takeAccepted() -> [StoredReply] {
        defer { accepted = [] }
        return accepted
    }

    /// The commit of `replies` failed: they go into the next one.
    package mutating func commitFailed(_ replies: [StoredReply]) {
        accepted = replies + accepted
    }

    /// `replies` are committed as sent: their recipients are free.
    package mutating func committed(_ replies: [StoredReply]) {
        guard !replies.isEmpty else { return }
        for reply in replies { busy.remove(reply.recipient) }
        generation += 1
    }

    /// Cancellation: every waiting connection looks again (and sees that it is cancelled).
    package mutating func wakeAll() {
        generation += 1
    }
}
