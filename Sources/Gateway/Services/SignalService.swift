import Logging
import ServiceLifecycle
import UnixSignals

/// SIGHUP reopens the log file (logrotate) and reloads the grammar and reply templates.
package struct SignalService: Service {
    let sink: MetergateLogHandler.Sink
    let logger: Logger
    var reload: @Sendable () -> Void = {}

    package init(sink: MetergateLogHandler.Sink, logger: Logger, reload: @escaping @Sendable () -> Void = {}) {
        self.sink = sink
        self.logger = logger
        self.reload = reload
    }

    package func run() async throws {
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
