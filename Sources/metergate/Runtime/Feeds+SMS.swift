import Foundation
import Logging
import MeterCore
import SMSChannels

/// SMS feeds and the transport that sends SMS replies (when `outbox.path` does not take them).
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

    /// Replies to SMS go out through the first feed that can send them (in the order of `sms:`).
    static func smsTransports(_ configuration: MetergateConfiguration, logger: Logger) -> [ChannelKind: any ReplyTransport] {
        for feed in configuration.sms {
            if feed.kind == "gammu", let database = feed.database {
                return [.sms: GammuSMSDTransport(name: feed.name, database: GammuSMSDDatabase(path: database))]
            }
        }
        return [:]
    }
}
