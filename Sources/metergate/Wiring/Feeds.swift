import Channels
import Foundation
import Gateway
import Ledger
import Logging
import MailChannels
import MailMessage
import MeterCore
import SMSChannels

/// The feeds and reply transports `run` builds from the configuration, one case per kind.
extension Run {
    static func makeSources(
        _ configuration: MetergateConfiguration, ledger: any LedgerDriver, logger: Logger
    ) -> [(source: any MessageSource, interval: Duration)] {
        var sources: [(source: any MessageSource, interval: Duration)] = []
        for mailbox in configuration.mailboxes {
            if mailbox.scheme == "maildir", let path = mailbox.path {
                sources.append((MaildirSource(
                    name: mailbox.name, directory: URL(fileURLWithPath: path),
                    maxMessageBytes: max(configuration.policy.maxMessageBytes, 10 << 20)), mailbox.pollInterval))
            } else if let source = makeMailSource(mailbox, configuration, ledger: ledger, logger: logger) {
                sources.append((source, mailbox.pollInterval))
            }
        }
        for feed in configuration.sms {
            if feed.kind == "files", let inbox = feed.inbox {
                let inboxURL = URL(fileURLWithPath: inbox)
                let processed = feed.processed.map { URL(fileURLWithPath: $0) }
                    ?? inboxURL.deletingLastPathComponent().appendingPathComponent("processed")
                sources.append((GammuFilesSource(name: feed.name, inbox: inboxURL, processed: processed,
                                                 timeZone: configuration.policy.timeZone ?? .current), feed.pollInterval))
            } else if feed.kind == "gammu", let source = gammuSource(feed, configuration, logger: logger) {
                sources.append((source, feed.pollInterval))
            } else if feed.kind == "kannel" || feed.kind == "smsc" {
                continue  // SMSProviderFeeds.swift: makePushServices, makeProviderSources
            } else {
                logger.error("sms \(feed.name): kind \(feed.kind) is not available in this version; feed skipped")
            }
        }
        return sources
    }

    static func makeTransports(_ configuration: MetergateConfiguration, logger: Logger) -> [ChannelKind: any ReplyTransport] {
        let smtp = makeSMTPTransport(configuration, logger: logger)
        guard let path = configuration.outboxPath else { return smtp.map { [.email: $0] } ?? [:] }
        let from = configuration.smtpFrom ?? "metergate <readings@metergate.invalid>"
        let transport = FileOutboxTransport(directory: URL(fileURLWithPath: path), from: from)
        return [.email: smtp ?? transport, .sms: transport]
    }
}
