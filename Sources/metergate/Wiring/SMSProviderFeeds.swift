import Foundation
import Gateway
import Ledger
import Logging
import MeterCore
import ServiceLifecycle
import SMSChannels

/// The Kannel (pushed) and SMSC-style (polled) SMS feeds and their reply transports (and
/// Gammu SMSD's, Feeds+SMS.swift).
extension Run {
    /// Polled provider feeds (`kind: smsc`); their cursor lives in the ledger.
    static func makeProviderSources(
        _ configuration: MetergateConfiguration, ledger: any LedgerDriver, logger: Logger
    ) throws -> [(source: any MessageSource, interval: Duration)] {
        let environment = ProcessInfo.processInfo.environment
        return try configuration.sms.compactMap { feed in
            guard feed.kind == "smsc", let settings = feed.smsc else { return nil }
            let client = CurlSMSHTTPClient(label: "smsc.\(feed.name)", verifyTLS: settings.tlsVerify, caFile: settings.caFile)
            let source = SMSCSource(
                name: feed.name, baseURL: settings.baseURL, login: settings.login,
                password: try feed.secret?.resolve(environment) ?? "", cursor: ledger, client: client, logger: logger)
            return (source, feed.pollInterval)
        }
    }

    /// Push feeds (`kind: kannel`): one HTTP endpoint each, recording through `pipeline`.
    static func makePushServices(_ configuration: MetergateConfiguration, pipeline: Pipeline, logger: Logger) throws -> [any Service] {
        let environment = ProcessInfo.processInfo.environment
        return try configuration.sms.compactMap { feed -> (any Service)? in
            guard feed.kind == "kannel", let settings = feed.kannel else { return nil }
            let ledger = pipeline.ledger
            let name = feed.name
            // A push is this feed's "poll": `status` shows when it last recorded and its last error.
            let queue = IngestQueue(logger: logger) { messages in
                do {
                    try await pipeline.ingest(messages)
                } catch {
                    try? await ledger.recordPoll(feed: name, error: "\(error)")
                    throw error
                }
                try? await ledger.recordPoll(feed: name, error: nil)
            }
            return KannelEndpoint(
                configuration: .init(
                    feed: feed.name, host: settings.host, port: settings.port,
                    secret: try settings.secret?.resolve(environment), allowed: settings.allowed),
                queue: queue, logger: logger)
        }
    }

    /// `--once` polls; a push feed has nothing to poll.
    static func logPushFeedsSkipped(_ configuration: MetergateConfiguration, logger: Logger) {
        for feed in configuration.sms where feed.kind == "kannel" {
            logger.notice("sms \(feed.name): kind kannel is a push feed, served only by the daemon (metergate run without --once)")
        }
    }

    /// `transports` with the SMS replies of Kannel and SMSC feeds sent back through the feed
    /// their message came from; other SMS replies keep the transport they had.
    static func withProviderTransports(
        _ transports: [ChannelKind: any ReplyTransport], _ configuration: MetergateConfiguration, ledger: any LedgerDriver,
        logger: Logger
    ) throws -> [ChannelKind: any ReplyTransport] {
        let environment = ProcessInfo.processInfo.environment
        var byFeed: [String: any ReplyTransport] = [:]
        for feed in configuration.sms {
            if feed.kind == "gammu", let transport = try gammuTransport(feed, configuration) {
                byFeed[feed.name] = transport
            } else if feed.kind == "kannel", let settings = feed.kannel {
                let client = CurlSMSHTTPClient(label: "kannel.\(feed.name)", verifyTLS: settings.tlsVerify, caFile: settings.caFile)
                byFeed[feed.name] = KannelSendSMSTransport(
                    name: "kannel sendsms (\(feed.name))", url: settings.sendsmsURL, username: settings.username,
                    password: try feed.secret?.resolve(environment), sender: feed.number, client: client)
            } else if feed.kind == "smsc", let settings = feed.smsc {
                let client = CurlSMSHTTPClient(label: "smsc.\(feed.name)", verifyTLS: settings.tlsVerify, caFile: settings.caFile)
                byFeed[feed.name] = SMSCTransport(
                    name: "smsc send (\(feed.name))", baseURL: settings.baseURL, login: settings.login,
                    password: try feed.secret?.resolve(environment) ?? "", client: client, logger: logger,
                    attempts: { id in (try? await ledger.replyAttempts(outboxID: id)) ?? 0 })
            }
        }
        guard !byFeed.isEmpty else { return transports }
        var result = transports
        let routed = FeedRoutedTransport(byFeed: byFeed, fallback: transports[.sms], ledger: ledger)
        // A feed whose transport has a point of no return (Kannel) needs the concurrent path,
        // where the outbox marks it; the others keep the one-at-a-time path they had.
        result[.sms] = byFeed.values.contains { $0 is any ConcurrentReplyTransport } ? ConcurrentFeedRoutedTransport(routed: routed) : routed
        return result
    }
}

/// Sends each SMS reply through the transport of the feed its message came from.
struct FeedRoutedTransport: ReplyTransport {
    let byFeed: [String: any ReplyTransport]
    let fallback: (any ReplyTransport)?
    let ledger: any OutboxQueue

    var name: String { "sms (by feed)" }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        switch await route(reply) {
        case .success(let transport): await transport.deliver(reply)
        case .failure(let failure): .retry(failure)
        }
    }

    func route(_ reply: OutgoingReply) async -> Result<any ReplyTransport, DeliveryFailure> {
        let feed: String?
        do {
            feed = try await ledger.replyFeed(outboxID: reply.id)
        } catch {
            return .failure(DeliveryFailure(.localFailure, "cannot read the reply's feed", cause: error))
        }
        if let feed, let transport = byFeed[feed] { return .success(transport) }
        if let fallback { return .success(fallback) }
        return .failure(DeliveryFailure(.notConfigured, "no reply transport for feed \(feed ?? "?")"))
    }
}

/// `FeedRoutedTransport` when a feed's transport has a point of no return (Kannel's sendsms):
/// replies go out over several connections, that transport's mark made before each request;
/// the other feeds' transports deliver as they would alone.
struct ConcurrentFeedRoutedTransport: ConcurrentReplyTransport {
    let routed: FeedRoutedTransport

    var name: String { routed.name }

    var connections: Int { 4 }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        await routed.deliver(reply)
    }

    func deliver(_ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void) async -> DeliveryAttempt {
        switch await routed.route(reply) {
        case .success(let transport as any ConcurrentReplyTransport):
            await transport.deliver(reply, connection: connection, beforeCommit: beforeCommit)
        case .success(let transport): .settled(await transport.deliver(reply))
        case .failure(let failure): .settled(.retry(failure))
        }
    }
}
