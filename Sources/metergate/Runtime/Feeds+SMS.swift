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
