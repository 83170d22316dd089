import Foundation
import Ledger
import LedgerSQLite
import Logging
import MeterCore
import ServiceLifecycle

/// The operations side of `metergate run`, built once from the configuration: metrics,
/// health, the reloadable processor, the outbox's limits and the HTTP server.
package struct Operations: Sendable {
    let settings: OperationsSettings
    package let metrics: MetergateMetrics
    package let health: HealthState
    let processors: ProcessorBox
    package let pipeline: PipelineOperations
    package let outbox: OutboxOperations

    package init(_ configuration: MetergateConfiguration, runtime: Runtime, processor: MessageProcessor, feeds: [String], logger: Logger) {
        settings = configuration.operations
        metrics = MetergateMetrics(instance: configuration.storeURL == nil ? nil : configuration.instanceName)
        health = HealthState(
            feeds: feeds, storePath: configuration.storeURL == nil ? configuration.storePath : runtime.ledger.location, failedPollsLimit: settings.unhealthyAfterFailedPolls,
            silenceLimit: settings.unhealthyAfter)
        processors = ProcessorBox(processor)
        pipeline = PipelineOperations(metrics: metrics, processors: processors, personalData: configuration.logPersonalData)
        outbox = OutboxOperations(
            ledger: runtime.ledger, metrics: metrics, settings: settings, personalData: configuration.logPersonalData,
            logger: logger)
        metrics.limits(
            settings, senderPerHour: configuration.policy.maxMessagesPerSenderPerHour,
            messageBytes: configuration.policy.maxMessageBytes)
        for feed in feeds { metrics.feedConfigured(feed) }
    }

    /// SIGHUP: grammar and templates read anew; the old processor stays when they are broken.
    package func reload(_ runtime: Runtime, logger: Logger) {
        processors.reload(logger: logger) { try runtime.makeProcessor(replyState: .pending) }
    }

    package func httpService(_ runtime: Runtime, logger: Logger) -> HTTPService? {
        guard let host = settings.listenHost else { return nil }
        return HTTPService(host: host, port: settings.listenPort, metrics: metrics, health: health, ledger: runtime.ledger, logger: logger)
    }
}

/// The feed's "down" and "up" lines: one per change of state, never one per failed poll.
enum FeedStateLog {
    static func down(_ feed: String, error: any Error, retry: Duration, logger: Logger) {
        logger.error(
            "feed \(feed) down: \(oneLine(error)); retrying in \(OutboxOperations.describe(retry)), backing off",
            metadata: ["mg.event": "feed-down", "mg.feed": "\(feed)"])
    }

    static func up(_ feed: String, failures: Int, since: Date, logger: Logger) {
        let seconds = Int(Date().timeIntervalSince(since))
        logger.notice(
            "feed \(feed) up after \(failures) failed poll\(failures == 1 ? "" : "s") (down \(seconds)s)",
            metadata: ["mg.event": "feed-up", "mg.feed": "\(feed)"])
    }

    /// This instance took a feed's lease (it polls the feed now) or lost it (another instance does).
    static func lease(_ feed: String, held: Bool, instance: String, logger: Logger) {
        if held {
            logger.notice("feed \(feed) taken: instance \(instance) polls it now",
                          metadata: ["mg.event": "feed-taken", "mg.feed": "\(feed)", "mg.instance": "\(instance)"])
        } else {
            logger.notice("feed \(feed) released: another instance holds it; instance \(instance) stands by",
                          metadata: ["mg.event": "feed-released", "mg.feed": "\(feed)", "mg.instance": "\(instance)"])
        }
    }

    /// An error as one line (a multi-line error would break the one-line-per-event log).
    static func oneLine(_ error: any Error) -> String {
        "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    }
}

extension PollingService {
    /// Runs a ledger write of the poller's bookkeeping; its failure makes `/healthz` report the store.
    func storeWritten(_ write: () async throws -> Void) async {
        do {
            try await write()
            health?.storeWrite(failed: nil)
        } catch {
            health?.storeWrite(failed: FeedStateLog.oneLine(error))
            logger.error("store: cannot record the poll of feed \(feed.name): \(FeedStateLog.oneLine(error))",
                         metadata: ["mg.event": "store-error", "mg.feed": "\(feed.name)"])
        }
    }
}
