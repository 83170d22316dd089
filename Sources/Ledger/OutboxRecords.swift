import Foundation

/// A reply whose delivery a stopped process left unsettled.
public struct ReplyInDoubt: Sendable, Hashable {
    public var id: Int64
    public var channel: String
    public var recipient: String
    public var dataSentAt: Date

    public init(id: Int64, channel: String, recipient: String, dataSentAt: Date) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.dataSentAt = dataSentAt
    }
}

/// A reply the outbox gave up on after its lifetime.
public struct ExpiredReply: Sendable, Hashable {
    public var id: Int64
    public var channel: String
    public var recipient: String
    public var attempts: Int
    public var lastError: String?

    public init(id: Int64, channel: String, recipient: String, attempts: Int, lastError: String?) {
        self.id = id
        self.channel = channel
        self.recipient = recipient
        self.attempts = attempts
        self.lastError = lastError
    }
}

/// An operator's decision on a held reading.
public enum ReviewDecision: String, Sendable { case approve, reject }
