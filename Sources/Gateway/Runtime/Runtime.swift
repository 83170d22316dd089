import DefaultFiles
import Foundation
import Ledger
import LedgerPostgres
import LedgerSQLite
import Logging
import MeterCore
import ReadingsGrammar

/// The pieces every command shares, built from the configuration.
package struct Runtime {
    let configuration: MetergateConfiguration
    package let ledger: any LedgerDriver

    package static func loadGrammar(path: String?) throws -> Grammar {
        if let path {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError(file: path, key: "grammar.path", reason: "not a folder of grammar files")
            }
            return try Grammar.load(directory: URL(fileURLWithPath: path))
        }
        return try Grammar.load(files: DefaultFiles.grammar.map { ($0.name, $0.contents) })
    }

    package static func loadTemplates(path: String?) throws -> ReplyTemplates {
        if let path {
            return try ReplyTemplates.load(directory: URL(fileURLWithPath: path))
        }
        return try ReplyTemplates.load(files: DefaultFiles.templates.map { ($0.name, $0.contents) })
    }

    /// `instance`: the process is `metergate run`, one of the instances sharing a PostgreSQL store
    /// (its heartbeat, feed leases and outbox claims); other commands only read and write the ledger.
    package static func open(_ configuration: MetergateConfiguration, instance: Bool = false) async throws -> Runtime {
        if let url = configuration.storeURL {
            let password = try configuration.storeSecret?.resolve(ProcessInfo.processInfo.environment)
            let name = configuration.instanceName
            // Connecting and migrating block: on a thread of their own, off the cooperative pool.
            let ledger = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any LedgerDriver, any Error>) in
                DispatchQueue.global().async {
                    continuation.resume(with: Result {
                        try PostgresStore.open(url: url, password: password, instance: name, register: instance, logger: Logger(label: "metergate.store"))
                    })
                }
            }
            return Runtime(configuration: configuration, ledger: ledger)
        }
        return Runtime(configuration: configuration, ledger: try await SQLiteStore.open(path: configuration.storePath))
    }

    package func makeProcessor(replyState: NewReply.State) throws -> MessageProcessor {
        let grammar = try Self.loadGrammar(path: configuration.grammarPath)
        let templates = try Self.loadTemplates(path: configuration.repliesPath)
        var processor = MessageProcessor(
            parser: MessageParser(grammar: grammar), templates: templates, policy: configuration.policy,
            ownSenders: configuration.ownSenders, replyState: replyState)
        for mailbox in configuration.mailboxes {
            if let id = mailbox.authservID { processor.trustedAuthServIDs[mailbox.name] = id }
        }
        return processor
    }

    /// Bootstraps logging once per process.
    package static func bootstrapLogging(_ configuration: MetergateConfiguration?, level override: Logger.Level? = nil) -> MetergateLogHandler.Sink {
        let sink = MetergateLogHandler.Sink(path: configuration?.logFile)
        let format = MetergateLogHandler.Format(rawValue: configuration?.logFormat ?? "text") ?? .text
        let level = override ?? configuration?.logLevel ?? .info
        LoggingSystem.bootstrap { label in
            var handler = MetergateLogHandler(label: label, format: format, sink: sink, logLevel: level)
            handler.personalData = configuration?.logPersonalData ?? false
            return handler
        }
        return sink
    }
}
