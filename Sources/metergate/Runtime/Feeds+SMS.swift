import Foundation
import Logging
import MeterCore
import SMSChannels

/// Gammu SMSD feeds (`kind: gammu`): the inbox source and the outbox transport.
extension Run {
    static func gammuSource(
        _ feed: MetergateConfiguration.SMSFeed, _ configuration: MetergateConfiguration, logger: Logger
    ) -> (any MessageSource)? {
        guard let database = feed.database else { return nil }
        let seconds = feed.multipartWait.components
        return GammuSMSDSource(
            name: feed.name, database: GammuSMSDDatabase(path: database),
            multipartWait: TimeInterval(seconds.seconds) + TimeInterval(seconds.attoseconds) / 1e18,
            timeZone: configuration.policy.timeZone ?? .current)
    }

    /// Replies to messages of a `gammu` feed: rows in its SMSD's `outbox`.
    static func gammuTransport(_ feed: MetergateConfiguration.SMSFeed) -> (any ReplyTransport)? {
        guard let database = feed.database else { return nil }
        return GammuSMSDTransport(name: feed.name, database: GammuSMSDDatabase(path: database))
    }
}

/// Replies routed by feed are handed over in batches where the feed's transport takes them.
extension FeedRoutedTransport: BatchReplyTransport {
    func deliver(batch replies: [OutgoingReply]) async -> [DeliveryResult] {
        var results = [DeliveryResult?](repeating: nil, count: replies.count)
        var batches: [String: [Int]] = [:]
        for (index, reply) in replies.enumerated() {
            if let feed = try? ledger.replyFeed(outboxID: reply.id), byFeed[feed] is any BatchReplyTransport {
                batches[feed, default: []].append(index)
            } else {
                results[index] = await deliver(reply)
            }
        }
        for (feed, indices) in batches {
            guard let transport = byFeed[feed] as? any BatchReplyTransport else { continue }
            for (index, result) in zip(indices, await transport.deliver(batch: indices.map { replies[$0] })) {
                results[index] = result
            }
        }
        return results.map { $0 ?? .retry(reason: "not handed over") }
    }
}
