import Foundation
import Logging
import MeterCore
import Synchronization

/// The message processor `run` uses, replaced as a whole on SIGHUP. The pipeline reads it
/// once per batch, so a batch is never processed by two grammars.
package final class ProcessorBox: Sendable {
    private let box: Mutex<MessageProcessor>

    init(_ processor: MessageProcessor) {
        box = Mutex(processor)
    }

    var current: MessageProcessor { box.withLock { $0 } }

    /// Builds a new processor with `make` (grammar and templates read anew); on any error the
    /// old one stays and the error is logged as a warning. Returns whether it switched.
    @discardableResult
    func reload(logger: Logger, _ make: () throws -> MessageProcessor) -> Bool {
        do {
            let fresh = try make()
            box.withLock { $0 = fresh }
            logger.notice("SIGHUP: grammar and reply templates reloaded", metadata: ["mg.event": "reload"])
            return true
        } catch {
            logger.warning(
                "SIGHUP: grammar or reply templates are broken, keeping the ones in use: \(Self.describe(error))",
                metadata: ["mg.event": "reload-failed"])
            return false
        }
    }

    package static func describe(_ error: any Error) -> String {
        switch error {
        case let error as ConfigurationError: error.description
        default: "\(error)".replacingOccurrences(of: "\n", with: " ")
        }
    }
}
