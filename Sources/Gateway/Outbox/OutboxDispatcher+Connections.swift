import Foundation
import Ledger
import Logging
import MailChannels
import MeterCore

/// Delivery over a transport with several connections and a point of no return (SMTP).
extension OutboxDispatcher {
    /// Delivers every reply of `channel` due now over all of the transport's connections at once;
    /// returns how many the server accepted. See `ReplyFlight` for the durable steps.
    func deliverConcurrently(_ channel: ChannelKind, _ transport: any ConcurrentReplyTransport) async throws -> Int {
        let flight = ReplyFlight(ledger: ledger, channel: channel, now: now)
        let delivered = try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in 0..<max(1, transport.connections) {
                group.addTask { try await self.deliverOver(connection, transport, channel, flight) }
            }
            var total = 0
            do {
                for try await count in group { total += count }
            } catch {
                // The other connections finish their reply; what they got accepted is committed.
                group.cancelAll()
                while (try? await group.next()) != nil {}
                try? await flight.flush()
                throw error
            }
            return total
        }
        try await flight.flush()
        return delivered
    }

    private func deliverOver(
        _ connection: Int, _ transport: any ConcurrentReplyTransport, _ channel: ChannelKind, _ flight: ReplyFlight
    ) async throws -> Int {
        var delivered = 0
        let admit: @Sendable (StoredReply) async throws -> Bool = { [now, operations] in try await operations?.suppresses($0, now: now()) != true }
        // The reply this connection sends next, taken before the current one's end (its
        // envelope goes out with that end: one round trip per reply instead of two).
        var upcoming: StoredReply?
        defer {
            // Taken and never handed over (cancelled, or a failure below): its recipient is free.
            if let upcoming { flight.release(upcoming.recipient) }
        }
        while !Task.isCancelled {
            let stored: StoredReply
            if let taken = upcoming {
                stored = taken
                upcoming = nil
            } else if let taken = try await flight.next(admit: admit) {
                stored = taken
            } else {
                break
            }
            let attempt: DeliveryAttempt
            let beforeCommit: @Sendable () throws -> Void = { try flight.committing(stored.id) }
            if let early = transport as? any NextReplyTransport {
                upcoming = try await flight.next(waiting: false, admit: admit)
                attempt = await early.deliver(
                    Self.outgoing(stored, channel), connection: connection, next: upcoming.map { Self.outgoing($0, channel) },
                    beforeCommit: beforeCommit)
            } else {
                attempt = await transport.deliver(Self.outgoing(stored, channel), connection: connection, beforeCommit: beforeCommit)
            }
            let action = retry.settle(attempt, attempts: stored.attempts)
            if action == .markSent {
                // Its `sent` goes into the next commit (the next point of no return or a flush).
                flight.accepted(stored)
                operations?.delivered(stored)
                delivered += 1
                continue
            }
            try await perform(action, stored, transport)
            flight.release(stored.recipient)
        }
        return delivered
    }

    /// At start-up: replies a previous process left in doubt (end of data sent, no answer
    /// recorded) are held, each logged; they are not sent again (the server most likely has them).
    package func holdRepliesLeftInDoubt() async throws {
        for reply in try await ledger.holdRepliesLeftInDoubt() {
            logger.warning(
                "reply \(reply.id) (\(reply.channel)) was in flight when metergate stopped: its end of data went to the server at \(Timestamp.iso8601(reply.dataSentAt)) and no answer was recorded; held as failed (in doubt), not sent again",
                metadata: ["mg.event": "reply-in-doubt", "mg.reply_id": "\(reply.id)", "mg.channel": "\(reply.channel)"])
        }
    }
}
