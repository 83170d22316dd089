import ArgumentParser
import Channels
import Foundation
import LedgerStore
import Logging
import MailChannels
import MailMessage
import MeterCore
import ServiceLifecycle
import UnixSignals

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The daemon: poll every feed, record, answer. Without --config: the embedded default in ./metergate-data/.")

    @OptionGroup var options: ConfigOption
    @Flag(name: .long, help: "One poll of every feed, process everything, drain the reply outbox, exit 0.")
    var once = false

    func run() async throws {
        let configuration = try options.load()
        let sink = Runtime.bootstrapLogging(configuration)
        var logger = Logger(label: "metergate")
        logger.logLevel = configuration.logLevel
        for warning in configuration.warnings { logger.warning("\(warning)") }
        let runtime = try Runtime.open(configuration)
        let processor = try runtime.makeProcessor(replyState: .pending)
        var pipeline = Pipeline(
            ledger: runtime.ledger, processor: processor, logger: logger, personalData: configuration.logPersonalData)
        let feeds = Self.makeSources(configuration, ledger: runtime.ledger, logger: logger)
            + (try Self.makeProviderSources(configuration, ledger: runtime.ledger, logger: logger))
        let transports = try Self.withProviderTransports(
            Self.makeTransports(configuration, logger: logger), configuration, ledger: runtime.ledger, logger: logger)
        var dispatcher = OutboxDispatcher(ledger: runtime.ledger, transports: transports, logger: logger)
        let operations = Operations(configuration, runtime: runtime, processor: processor, feeds: feeds.map(\.source.name), logger: logger)
        pipeline.operations = operations.pipeline
        dispatcher.operations = operations.outbox
        if dispatcher.transports.isEmpty {
            logger.warning("no reply transport is configured (outbox.path, or SMTP/SMS senders in a later version): replies wait in the outbox")
        }
        try dispatcher.holdRepliesLeftInDoubt()
        logger.notice("metergate started: store \(configuration.storePath), \(feeds.count) feed(s): \(feeds.map(\.source.name).joined(separator: ", "))")

        if once {
            // SMS files younger than the settle interval wait for the next poll (Gammu writes
            // them in place); --once waits for them once rather than leave them behind.
            let settling = configuration.sms.contains { feed in
                guard feed.kind == "files", let inbox = feed.inbox else { return false }
                let names = (try? FileManager.default.contentsOfDirectory(atPath: inbox)) ?? []
                return names.contains { !$0.hasPrefix(".") }
            }
            if settling { try await Task.sleep(for: .milliseconds(2500)) }
            Self.logPushFeedsSkipped(configuration, logger: logger)
            let sent = try await Self.runOnce(feeds, pipeline: pipeline, dispatcher: dispatcher, ledger: runtime.ledger, logger: logger)
            logger.notice("run --once finished: \(sent) repl\(sent == 1 ? "y" : "ies") delivered")
            return
        }

        operations.metrics.bootstrap()
        var services: [any Service] = feeds.map {
            PollingService(feed: $0.source, interval: $0.interval, pipeline: pipeline, ledger: runtime.ledger, logger: logger,
                           health: operations.health, metrics: operations.metrics)
        }
        services += try Self.makePushServices(configuration, pipeline: pipeline, logger: logger)
        services.append(OutboxService(dispatcher: dispatcher, logger: logger))
        let reloadLogger = logger
        services.append(SignalService(sink: sink, logger: logger, reload: { operations.reload(runtime, logger: reloadLogger) }))
        if let http = operations.httpService(runtime, logger: logger) { services.append(http) }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        logger.notice("metergate stopped")
    }
}

/// Polls one feed forever; backs off (bounded, exponential) while it fails, logging only
/// the changes of state ("down", "up"), not every failed poll.
struct PollingService: Service {
    let feed: any MessageSource
    let interval: Duration
    let pipeline: Pipeline
    let ledger: SQLiteLedger
    let logger: Logger
    var health: HealthState?
    var metrics: MetergateMetrics?
    var batch = 500
    var maximumBackoff: Duration = .seconds(300)

    func run() async throws {
        var failures = 0
        var downSince = Date()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var wait = interval
            do {
                let count = try await pipeline.pollOnce(feed, limit: batch)
                if failures > 0 { FeedStateLog.up(feed.name, failures: failures, since: downSince, logger: logger) }
                failures = 0
                health?.pollSucceeded(feed.name)
                metrics?.feedPolled(feed.name, at: Date())
                await observeMailbox()
                storeWritten { try ledger.recordPoll(feed: feed.name, error: nil) }
                if count == batch { wait = .zero }
            } catch {
                failures += 1
                health?.pollFailed(feed.name, error: FeedStateLog.oneLine(error))
                metrics?.feedFailed(feed.name, consecutiveFailures: failures)
                storeWritten { try ledger.recordPoll(feed: feed.name, error: FeedStateLog.oneLine(error)) }
                wait = min(max(maximumBackoff, interval), interval * (1 << min(failures, 10)))
                if failures == 1 {
                    downSince = Date()
                    FeedStateLog.down(feed.name, error: error, retry: wait, logger: logger)
                }
            }
            if wait > .zero {
                let pause = wait
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }
}

extension PollingService {
    /// A mailbox's view of the server after a successful poll: metrics, and `/healthz` when the
    /// same message stays unfetched poll after poll.
    func observeMailbox() async {
        guard let mailbox = feed as? any MailboxObserving, let seen = await mailbox.lastObservation() else { return }
        let polls = health?.mailboxObserved(feed.name, oldestUnfetched: seen.oldestUnfetched) ?? 0
        metrics?.mailboxObserved(
            feed.name, messages: seen.serverMessages, unseen: seen.serverUnseen, unfetched: seen.serverUnfetched,
            listedNew: seen.listedNew, unfetchedPolls: polls)
    }
}

/// Delivers due replies every second until shutdown, then once more; expires old ones each minute.
struct OutboxService: Service {
    let dispatcher: OutboxDispatcher
    let logger: Logger

    func run() async throws {
        var lastExpiry = ContinuousClock.now - .seconds(60)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if ContinuousClock.now - lastExpiry >= .seconds(60) {
                lastExpiry = .now
                do { try dispatcher.operations?.expire() } catch { logger.error("outbox: \(error)") }
            }
            do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
    }
}

/// SIGHUP reopens the log file (logrotate) and reloads the grammar and reply templates.
struct SignalService: Service {
    let sink: MetergateLogHandler.Sink
    let logger: Logger
    var reload: @Sendable () -> Void = {}

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                sink.reopen()
                if sink.path != nil { logger.notice("SIGHUP: log file reopened", metadata: ["mg.event": "log-reopened"]) }
                reload()
            }
        }
    }
}
