import Foundation
import Ledger
import Logging
import MeterCore

/// Delivers due replies through each channel's transport; what each attempt leads to is
/// `OutboxRetry`'s decision, performed here against the ledger.
package struct OutboxDispatcher: Sendable {
    package let ledger: any OutboxQueue
    package let transports: [ChannelKind: any ReplyTransport]
    let logger: Logger
    /// Backoff between attempts.
    package var retry = OutboxRetry()
    /// The wall clock of the outbox's marks and due times (tests pass one they move).
    package var now: @Sendable () -> Date = { Date() }
    /// The loop guard, the reply lifetime and the reply counters (`metergate run`).
    package var operations: OutboxOperations?

    package init(ledger: any OutboxQueue, transports: [ChannelKind: any ReplyTransport], logger: Logger) {
        self.ledger = ledger
        self.transports = transports
        self.logger = logger
    }

    /// How many due replies one look at the outbox takes: a batching transport (the file outbox)
    /// makes each page durable with one sync and marks it sent with one commit, so a larger page
    /// costs fewer syncs (one `syncfs` took 10–200 ms on the shared test machine).
    static let page = 500

    /// Delivers every reply due now; returns how many were delivered.
    @discardableResult
    package func deliverDue() async throws -> Int {
        var delivered = 0
        for (channel, transport) in transports.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            if let concurrent = transport as? any ConcurrentReplyTransport {
                delivered += try await deliverConcurrently(channel, concurrent)
                continue
            }
            while true {
                let due = try await ledger.dueReplies(channel: channel.rawValue, now: now(), afterID: 0, limit: Self.page)
                if due.isEmpty { break }
                var progressed = false
                // A batching transport gets each recipient at most once per batch, so the loop
                // guard still sees every earlier reply to a number as sent.
                var batch: [StoredReply] = []
                for stored in due {
                    if transport is any BatchReplyTransport, batch.contains(where: { $0.recipient == stored.recipient }) {
                        let count = try await deliver(batch, channel, transport)
                        delivered += count
                        if count > 0 { progressed = true }
                        batch = []
                    }
                    if try await operations?.suppresses(stored, now: now()) == true {
                        progressed = true
                        continue
                    }
                    batch.append(stored)
                    if !(transport is any BatchReplyTransport) {
                        let count = try await deliver(batch, channel, transport)
                        delivered += count
                        if count > 0 { progressed = true }
                        batch = []
                    }
                }
                let count = try await deliver(batch, channel, transport)
                delivered += count
                if count > 0 { progressed = true }
                if !progressed { break }
            }
        }
        return delivered
    }

    /// Hands `batch` to `transport` and records each result; returns how many were delivered.
    private func deliver(_ batch: [StoredReply], _ channel: ChannelKind, _ transport: any ReplyTransport) async throws -> Int {
        guard !batch.isEmpty else { return 0 }
        let replies = batch.map { Self.outgoing($0, channel) }
        var results: [DeliveryResult] = []
        if let batching = transport as? any BatchReplyTransport {
            results = await batching.deliver(batch: replies)
        } else {
            for reply in replies { results.append(await transport.deliver(reply)) }
        }
        // The delivered ones are marked sent in one commit (a batch of reply files: one sync).
        var sent: [StoredReply] = []
        var others: [(OutboxRetry.Action, StoredReply)] = []
        for (stored, result) in zip(batch, results) {
            let action = retry.settle(.settled(result), attempts: stored.attempts)
            if action == .markSent { sent.append(stored) } else { others.append((action, stored)) }
        }
        if sent.count == 1 {
            try await ledger.markReplySent(id: sent[0].id, at: now())
        } else if !sent.isEmpty {
            try await ledger.markRepliesSent(sent.map(\.id), at: now())
        }
        for stored in sent { operations?.delivered(stored) }
        for (action, stored) in others { try await perform(action, stored, transport) }
        return sent.count
    }

    /// Records an attempt that did not deliver: `retry`, `fail` or `holdInDoubt` (`markSent` is
    /// the caller's: a concurrent transport commits it with the next point of no return).
    func perform(_ action: OutboxRetry.Action, _ stored: StoredReply, _ transport: any ReplyTransport) async throws {
        switch action {
        case .markSent:
            try await ledger.markReplySent(id: stored.id, at: now())
            operations?.delivered(stored)
        case .retry(let delay, let failure):
            try await ledger.markReplyFailed(id: stored.id, error: failure.description, permanent: false, retryAfter: delay.seconds)
            operations?.retried(stored)
            logger.warning(
                "reply \(stored.id) via \(transport.name) will be retried in \(Int(delay.seconds))s: \(failure)",
                metadata: Self.metadata(stored, failure))
        case .fail(let failure):
            try await ledger.markReplyFailed(id: stored.id, error: failure.description, permanent: true, retryAfter: 0)
            operations?.failed(stored)
            logger.error("reply \(stored.id) via \(transport.name) failed for good: \(failure)", metadata: Self.metadata(stored, failure))
        case .holdInDoubt(let failure):
            try await ledger.holdReplyInDoubt(id: stored.id, reason: "in doubt: \(failure); not sent again")
            operations?.failed(stored)
            var metadata = Self.metadata(stored, failure)
            metadata["mg.event"] = "reply-in-doubt"
            logger.error(
                "reply \(stored.id) via \(transport.name) is in doubt (the server may have accepted it): held, not sent again: \(failure)",
                metadata: metadata)
        }
    }

    static func metadata(_ stored: StoredReply, _ failure: DeliveryFailure) -> Logger.Metadata {
        ["mg.reply_id": "\(stored.id)", "mg.failure": "\(failure.code)", "mg.raised_at": "\(failure.file):\(failure.line)"]
    }

    static func outgoing(_ stored: StoredReply, _ channel: ChannelKind) -> OutgoingReply {
        OutgoingReply(
            id: stored.id, channel: channel, recipient: stored.recipient, subject: stored.subject,
            inReplyTo: stored.inReplyTo, references: stored.references, body: stored.body, createdAt: stored.createdAt)
    }
}
