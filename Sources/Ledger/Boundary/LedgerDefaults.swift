import Foundation

// The boundary's calls at the current time.

extension OutboxQueue {
    public func markReplySent(id: Int64) async throws {
        try await markReplySent(id: id, at: Date())
    }

    public func markRepliesSent(_ ids: [Int64]) async throws {
        try await markRepliesSent(ids, at: Date())
    }

    public func markReplyCommitting(id: Int64, sent: [Int64]) throws {
        try markReplyCommitting(id: id, sent: sent, at: Date())
    }

    public func holdRepliesLeftInDoubt() async throws -> [ReplyInDoubt] {
        try await holdRepliesLeftInDoubt(now: Date())
    }
}

extension FeedStateStore {
    public func recordPoll(feed: String, error: String?) async throws {
        try await recordPoll(feed: feed, error: error, at: Date())
    }
}

extension OperatorViews {
    public func oldestDueReply() async throws -> Date? {
        try await oldestDueReply(now: Date())
    }
}
