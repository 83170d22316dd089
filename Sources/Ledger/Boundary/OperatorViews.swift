import Foundation

/// What the operator reads and decides: queue depths and counts (`status`, `/metrics`), the
/// review queue of held readings, and the counts of outcomes.
public protocol OperatorViews: Sendable {
    /// Outbox depth by state (`pending`, `sent`, `failed`, `expired`, `recorded`).
    func outboxCounts() async throws -> [String: Int]
    /// When the oldest reply due at `now` was created.
    func oldestDueReply(now: Date) async throws -> Date?
    /// Held readings waiting for an operator (not decided, not superseded by a later submission).
    func heldCount() async throws -> Int
    /// Held submissions not yet decided and not superseded, oldest first.
    func heldSubmissions() async throws -> [HeldSubmission]
    /// Approves or rejects a held submission and queues the reply `makeReply` returns, in one
    /// transaction; throws `LedgerError` `.notFound` when no such held reading waits. An
    /// approved one becomes the submission that counts in its period: every other one of the
    /// account's period is superseded by it (`LedgerTransaction.supersede`).
    func decide(
        submission id: Int64, _ decision: ReviewDecision, makeReply: @escaping @Sendable (HeldSubmission) -> NewReply?
    ) async throws -> HeldSubmission
    /// Messages processed since `date` by status and by `status:reason`.
    func messageCountsByReason(since date: Date) async throws -> [String: Int]
    /// Distinct senders with a message ignored over the sender limit since `date`.
    func rateLimitedSenders(since date: Date) async throws -> Int

    /// The support desk's look-up (`metergate messages`, the console): messages matching every
    /// condition of `query`, newest first (by time received, then by id), at most `query.limit`.
    /// A sender's messages come through an index, so a million messages answer at once.
    func messages(matching query: MessageQuery) async throws -> [MessageRecord]
    /// One message by the ledger's id, with its replies; nil when there is none.
    func message(id: Int64) async throws -> MessageRecord?
    /// The message's bytes as they arrived (a mail's whole RFC 5322 text); nil when not kept.
    func rawMessage(id: Int64) async throws -> [UInt8]?
    /// An account's recorded results (accepted, held, duplicate, rejected on review, superseded
    /// ones too), newest first, at most `limit`.
    func submissions(uin: String, limit: Int) async throws -> [AccountSubmission]
    /// Recorded results received since `date`, by day (`utcOffset` seconds east of UTC) and
    /// channel (`DailyCount.key`); superseded ones count too (each arrived).
    func submissionsPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount]
    /// Messages received since `date` by day and by `status` or `status:reason` (`DailyCount.key`).
    func messagesPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount]
}
