import ArgumentParser
import Channels
import Foundation
import Gateway
import ReadingsGrammar
import Ledger
import LedgerSQLite
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

    /// How long the services may take to stop in order at SIGTERM before the rest is cancelled.
    static let gracefulShutdownLimit: Duration = .seconds(20)

    func run() async throws {
        let configuration = try options.load()
        let sink = Runtime.bootstrapLogging(configuration)
        var logger = Logger(label: "metergate")
        logger.logLevel = configuration.logLevel
        for warning in configuration.warnings { logger.warning("\(warning)") }
        if !once, let problem = configuration.console.usersFileProblem(file: configuration.file) {
            // The console must not start with a users file anyone can read or none at all.
            throw CommandFailure(message: problem, code: 2)
        }
        let runtime = try await Runtime.open(configuration, instance: true)
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
        try await dispatcher.holdRepliesLeftInDoubt()
        logger.notice("metergate started: store \(configuration.storeURL == nil ? configuration.storePath : "\(runtime.ledger.location) as instance \(configuration.instanceName)"), \(feeds.count) feed(s): \(feeds.map(\.source.name).joined(separator: ", "))")

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
            let sent: Int
            do {
                sent = try await RunOnce.run(feeds, pipeline: pipeline, dispatcher: dispatcher, ledger: runtime.ledger, logger: logger)
            } catch {
                try? await runtime.ledger.close()
                throw error
            }
            // A shared store: this instance's leases go back at once, and it shows as stopped.
            try? await runtime.ledger.close()
            logger.notice("run --once finished: \(sent) repl\(sent == 1 ? "y" : "ies") delivered")
            return
        }

        operations.metrics.bootstrap()
        // Shutdown runs backwards through this list: the pollers and push endpoints stop first,
        // then the outbox drains, then the store closes.
        var services: [any Service] = [LedgerService(ledger: runtime.ledger, logger: logger)]
        if let http = operations.httpService(runtime, logger: logger) { services.append(http) }
        if configuration.console.enabled {
            services.append(ConsoleService(
                settings: configuration.console, ledger: runtime.ledger,
                templates: try Runtime.loadTemplates(path: configuration.repliesPath),
                parser: MessageParser(grammar: try Runtime.loadGrammar(path: configuration.grammarPath)),
                timeZone: configuration.policy.timeZone ?? .current, configuredFeeds: feeds.map(\.source.name), logger: logger))
        }
        let reloadLogger = logger
        services.append(SignalService(sink: sink, logger: logger, reload: { operations.reload(runtime, logger: reloadLogger) }))
        services.append(OutboxService(dispatcher: dispatcher, logger: logger))
        services += try Self.makePushServices(configuration, pipeline: pipeline, logger: logger)
        services += feeds.map {
            PollingService(feed: $0.source, interval: $0.interval, pipeline: pipeline, ledger: runtime.ledger, logger: logger,
                           health: operations.health, metrics: operations.metrics)
        }
        var group = ServiceGroupConfiguration(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // Within systemd's TimeoutStopSec (30 s): 20 s to stop in order, then 5 s for the
        // cancelled rest (a stalled transfer is aborted by its cancellation).
        group.maximumGracefulShutdownDuration = Self.gracefulShutdownLimit
        group.maximumCancellationDuration = .seconds(5)
        try await ServiceGroup(configuration: group).run()
        logger.notice("metergate stopped")
    }
}
