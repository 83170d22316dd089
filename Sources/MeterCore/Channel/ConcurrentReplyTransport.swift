/// A transport that sends over several connections at once and says when a reply passes its
/// point of no return (SMTP: the end of the DATA), so the outbox can record that moment durably.
///
/// The dispatcher calls `deliver(_:connection:beforeCommit:)` with each connection index in
/// `0..<connections` used by one call at a time. `beforeCommit` runs just before the step after
/// which the peer may have accepted the reply; until it returns, the reply surely was not sent.
/// When it throws, the transport must not take that step (the attempt ends as `.retry`).
public protocol ConcurrentReplyTransport: ReplyTransport {
    /// How many replies may be in flight at once (one connection each).
    var connections: Int { get }

    func deliver(
        _ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt
}

/// The outcome of one attempt of a `ConcurrentReplyTransport`.
public enum DeliveryAttempt: Sendable, Hashable {
    /// The peer's answer settled it.
    case settled(DeliveryResult)
    /// The point of no return passed and no answer came (the connection died, a timeout): the peer
    /// may or may not have accepted the reply.
    case inDoubt(DeliveryFailure)
}
