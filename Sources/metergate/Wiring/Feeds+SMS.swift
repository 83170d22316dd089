import Foundation
import Gateway
import Logging
import MeterCore
import PostgreSQL
import SMSChannels

/// Gammu SMSD feeds (`kind: gammu`): the inbox source and the outbox transport.
extension Run {
    static func gammuSource(
        _ feed: MetergateConfiguration.SMSFeed, _ configuration: MetergateConfiguration, logger: Logger
    ) -> (any MessageSource)? {
        let store: any GammuSMSDStore
        do {
            guard let made = try gammuStore(feed, configuration, role: "inbox") else { return nil }
            store = made
        } catch {
            logger.error("sms \(feed.name): \(error); feed skipped")
            return nil
        }
        let seconds = feed.multipartWait.components
        return GammuSMSDSource(
            name: feed.name, database: store,
            multipartWait: TimeInterval(seconds.seconds) + TimeInterval(seconds.attoseconds) / 1e18,
            timeZone: configuration.policy.timeZone ?? .current)
    }

    /// Replies to messages of a `gammu` feed: rows in its SMSD's `outbox`.
    static func gammuTransport(
        _ feed: MetergateConfiguration.SMSFeed, _ configuration: MetergateConfiguration
    ) throws -> (any ReplyTransport)? {
        guard let store = try gammuStore(feed, configuration, role: "outbox") else { return nil }
        return GammuSMSDTransport(name: feed.name, database: store)
    }

    /// SMSD's database: an SQLite file, or a PostgreSQL URL (its password from the URL or the
    /// feed's `password`/`password_file`/`password_env`). Each role (inbox, outbox) has a
    /// connection of its own: the inbox's holds its claim open between poll and acknowledgement.
    static func gammuStore(
        _ feed: MetergateConfiguration.SMSFeed, _ configuration: MetergateConfiguration, role: String
    ) throws -> (any GammuSMSDStore)? {
        guard let database = feed.database else { return nil }
        guard GammuSMSDPostgres.isURL(database) else { return GammuSMSDDatabase(path: database) }
        let password = try feed.secret?.resolve(ProcessInfo.processInfo.environment)
        // Replies are keyed by the ledger that numbers them: one file on one host, or the shared
        // PostgreSQL store of every instance (its outbox ids are the same for all of them).
        let key: String
        if let url = configuration.storeURL, let parsed = try? PostgresURL(parsing: url) {
            key = "store:" + parsed.description
        } else {
            key = ProcessInfo.processInfo.hostName + ":" + URL(fileURLWithPath: configuration.storePath).standardizedFileURL.path
        }
        return try GammuSMSDPostgres(database, password: password, instance: key, label: "\(feed.name).\(role)")
    }
}

/// Replies routed by feed are handed over in batches where the feed's transport takes them.
extension FeedRoutedTransport: BatchReplyTransport {
    func deliver(batch replies: [OutgoingReply]) async -> [DeliveryResult] {
        var results = [DeliveryResult?](repeating: nil, count: replies.count)
        var batches: [String: [Int]] = [:]
        for (index, reply) in replies.enumerated() {
            if let feed = try? await ledger.replyFeed(outboxID: reply.id), byFeed[feed] is any BatchReplyTransport {
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
        return results.map { $0 ?? .retry(DeliveryFailure(.localFailure, "not handed over")) }
    }
}
