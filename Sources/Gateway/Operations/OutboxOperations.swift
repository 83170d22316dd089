import Foundation
import Ledger
import Logging
import MeterCore
import Synchronization

/// The outbox's limits in `metergate run`: the loop guard (the same reply text to the same
/// recipient at most `policy.max_same_reply` times per `policy.same_reply_window`), the
/// reply lifetime (`outbox.max_age`), and the reply counters.
package final class OutboxOperations: Sendable {
    let ledger: any OutboxQueue
    let metrics: MetergateMetrics?
    let settings: OperationsSettings
    let personalData: Bool
    let logger: Logger
    /// Recipient → when its loop-guard warning was logged (once per window).
    private let warned = Mutex<[String: Date]>([:])

    init(ledger: any OutboxQueue, metrics: MetergateMetrics?, settings: OperationsSettings, personalData: Bool, logger: Logger) {
        self.ledger = ledger
        self.metrics = metrics
        self.settings = settings
        self.personalData = personalData
        self.logger = logger
    }

    private func shown(_ recipient: String) -> String { personalData ? recipient : Contact.mask(recipient) }

    /// When this reply would be the same text to the same recipient once too often, marks it
    /// `failed` ("suppressed by the loop guard") and returns true: it is not sent.
    func suppresses(_ reply: StoredReply, now: Date = Date()) async throws -> Bool {
        let window = settings.sameReplyWindow.seconds
        let sent = try await ledger.sameRepliesSent(recipient: reply.recipient, body: reply.body, since: now.addingTimeInterval(-window))
        guard sent >= settings.maxSameReply else { return false }
        try await ledger.markReplyFailed(
            id: reply.id, error: "suppressed by the loop guard: the same reply was sent \(sent) times within \(Int(window))s",
            permanent: true, retryAfter: 0)
        metrics?.replySuppressed(channel: reply.channel)
        let first = warned.withLock { warned -> Bool in
            if warned.count > 10_000 { warned = warned.filter { now.timeIntervalSince($0.value) < window } }
            if let last = warned[reply.recipient], now.timeIntervalSince(last) < window { return false }
            warned[reply.recipient] = now
            return true
        }
        let metadata: Logger.Metadata = [
            "mg.event": "loop-guard", "mg.channel": "\(reply.channel)", "mg.recipient": "\(shown(reply.recipient))",
            "mg.reply_id": "\(reply.id)",
        ]
        if first {
            logger.warning(
                "\(reply.channel) \(shown(reply.recipient)) loop guard: the same reply already went \(sent) times within \(Self.describe(settings.sameReplyWindow)); further copies are not sent",
                metadata: metadata)
        } else {
            logger.debug("\(reply.channel) \(shown(reply.recipient)) reply \(reply.id) suppressed by the loop guard", metadata: metadata)
        }
        return true
    }

    func delivered(_ reply: StoredReply) { metrics?.replyDelivered(channel: reply.channel) }
    func retried(_ reply: StoredReply) {
        metrics?.replyRetried(channel: reply.channel)
        undelivered.withLock { $0 += 1 }
    }
    func failed(_ reply: StoredReply) {
        metrics?.replyFailed(channel: reply.channel)
        undelivered.withLock { $0 += 1 }
    }
    /// Delivery attempts that did not deliver (retried, failed, in doubt): `run --once` exits 1 on any.
    let undelivered = Mutex(0)

    /// Expires replies older than `outbox.max_age` and reports each one; returns how many.
    @discardableResult
    func expire(now: Date = Date()) async throws -> Int {
        let expired = try await ledger.expireReplies(olderThan: settings.outboxMaxAge.seconds, now: now)
        for reply in expired {
            logger.warning(
                "\(reply.channel) \(shown(reply.recipient)) reply \(reply.id) expired undelivered after \(Self.describe(settings.outboxMaxAge)) (\(reply.attempts) attempt(s)\(reply.lastError.map { ", last error: \($0)" } ?? ""))",
                metadata: ["mg.event": "reply-expired", "mg.channel": "\(reply.channel)", "mg.reply_id": "\(reply.id)",
                           "mg.recipient": "\(shown(reply.recipient))"])
        }
        if !expired.isEmpty { metrics?.repliesExpired(expired.count) }
        return expired.count
    }

    package static func describe(_ duration: Duration) -> String {
        let seconds = Int(duration.seconds)
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
