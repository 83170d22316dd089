import Foundation

/// The reply outbox: due replies, their marks, the in-doubt protocol and the lifetime.
///
/// A reply is `pending` until it is `sent`, `failed` (for good, or held in doubt) or `expired`.
/// Before a transport's point of no return (SMTP's end of DATA) its `data_sent_at` is marked;
/// a reply with that mark and no answer is never due again (in doubt: held, not sent twice).
public protocol OutboxQueue: Sendable {
    /// Replies due on `channel` at `now`, oldest first, with ids above `afterID`.
    func dueReplies(channel: String, now: Date, afterID: Int64, limit: Int) async throws -> [StoredReply]
    func markReplySent(id: Int64, at date: Date) async throws
    /// Marks `ids` sent in one commit (a group commit of a server's answers).
    func markRepliesSent(_ ids: [Int64], at date: Date) async throws
    /// Schedules another attempt after `delay`, or marks the reply `failed` when `permanent`.
    func markReplyFailed(id: Int64, error: String, permanent: Bool, retryAfter delay: TimeInterval) async throws
    /// One commit: reply `id` is about to pass its point of no return, and the replies `sent`
    /// were accepted. Blocking: called on a transfer's own thread, never on the cooperative pool.
    func markReplyCommitting(id: Int64, sent: [Int64], at date: Date) throws
    /// A reply in doubt (end of data sent, no answer) is held: `failed` with `reason`.
    func holdReplyInDoubt(id: Int64, reason: String) async throws
    /// At start-up: replies a stopped process left in doubt are held; returns them for the log.
    func holdRepliesLeftInDoubt(now: Date) async throws -> [ReplyInDoubt]
    /// Pending replies older than `lifetime` become `expired`; returns them.
    func expireReplies(olderThan lifetime: TimeInterval, now: Date) async throws -> [ExpiredReply]
    /// Replies with exactly this body sent to `recipient` since `date` (the loop guard).
    func sameRepliesSent(recipient: String, body: String, since date: Date) async throws -> Int
    /// The feed of the message a reply answers (to send it back the same way).
    func replyFeed(outboxID: Int64) async throws -> String?
    /// Delivery attempts recorded for a reply (0 when unknown).
    func replyAttempts(outboxID: Int64) async throws -> Int
}

extension OutboxQueue {
    public func dueReplies(channel: String, afterID: Int64 = 0, limit: Int = 100) async throws -> [StoredReply] {
        try await dueReplies(channel: channel, now: Date(), afterID: afterID, limit: limit)
    }
}
