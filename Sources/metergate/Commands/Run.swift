import ArgumentParser
import Channels
import Foundation
import LedgerStore
import Logging
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
        let pipeline = Pipeline(
            ledger: runtime.ledger, processor: processor, logger: logger, personalData: configuration.logPersonalData)
        let feeds = Self.makeSources(configuration, ledger: runtime.ledger, logger: logger)
        let dispatcher = OutboxDispatcher(
            ledger: runtime.ledger, transports: Self.makeTransports(configuration, logger: logger), logger: logger)
        if dispatcher.transports.isEmpty {
            logger.warning("no reply transport is configured (outbox.path, or SMTP/SMS senders in a later version): replies wait in the outbox")
        }
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
            for feed in feeds {
                do {
                    while try await pipeline.pollOnce(feed.source, limit: 500) == 500 {}
                    try runtime.ledger.recordPoll(feed: feed.source.name, error: nil)
                } catch {
                    try? runtime.ledger.recordPoll(feed: feed.source.name, error: "\(error)")
                    logger.error("feed \(feed.source.name) failed: \(error)")
                    throw CommandFailure(message: "feed \(feed.source.name) failed: \(error)", code: 1)
                }
            }
            let sent = try await dispatcher.deliverDue()
            logger.notice("run --once finished: \(sent) repl\(sent == 1 ? "y" : "ies") delivered")
            return
        }

        var services: [any Service] = feeds.map {
            PollingService(feed: $0.source, interval: $0.interval, pipeline: pipeline, ledger: runtime.ledger, logger: logger)
        }
        services.append(OutboxService(dispatcher: dispatcher, logger: logger))
        services.append(SignalService(sink: sink, logger: logger))
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
    var batch = 500
    var maximumBackoff: Duration = .seconds(300)

    func run() async throws {
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var wait = interval
            do {
                let count = try await pipeline.pollOnce(feed, limit: batch)
                if failures > 0 { logger.notice("feed \(feed.name) is up again after \(failures) failed poll(s)") }
                failures = 0
                try? ledger.recordPoll(feed: feed.name, error: nil)
                if count == batch { wait = .zero }
            } catch {
                failures += 1
                try? ledger.recordPoll(feed: feed.name, error: "\(error)")
                if failures == 1 { logger.error("feed \(feed.name) is down: \(error)") }
                wait = min(maximumBackoff, interval * (1 << min(failures, 10)))
            }
            if wait > .zero {
                let pause = wait
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }
}

/// Delivers due replies every second until shutdown, then once more.
struct OutboxService: Service {
    let dispatcher: OutboxDispatcher
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
    }
}

/// SIGHUP reopens the log file (logrotate).
struct SignalService: Service {
    let sink: MetergateLogHandler.Sink
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                sink.reopen()
                logger.notice("SIGHUP: log file reopened")
            }
        }
    }
}
