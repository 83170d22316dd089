import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Ledger
import LedgerSQLite
import MeterCore
import Logging
import Synchronization

/// One line per event, to standard error (for journald) or a file: `text` reads at a glance
/// (`2026-11-20T10:15:02+03:00 sms gateway +7903***2204 uin=… accepted …`), `json` is complete.
package struct MetergateLogHandler: LogHandler {
    enum Format: String { case text, json }

    package final class Sink: Sendable {
        private let state: Mutex<UnsafeMutablePointer<FILE>?>
        package let path: String?

        init(path: String?) {
            self.path = path
            state = Mutex(path.flatMap { fopen($0, "a") } ?? fdopen(2, "a"))
        }

        func write(_ line: String) {
            state.withLock { file in
                guard let file else { return }
                fputs(line, file)
                fflush(file)
            }
        }

        /// Reopens the file (after logrotate moved it), on SIGHUP.
        package func reopen() {
            guard let path else { return }
            state.withLock { file in
                if let file { fclose(file) }
                file = fopen(path, "a") ?? fdopen(2, "a")
            }
        }
    }

    let label: String
    let format: Format
    let sink: Sink
    package var logLevel: Logger.Level
    /// `log.personal_data`: when false, addresses and phone numbers are masked (`LogRedaction`).
    var personalData = false
    package var metadata: Logger.Metadata = [:]
    package var metadataProvider: Logger.MetadataProvider?

    package subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    package func log(event: LogEvent) {
        let timestamp = Timestamp.iso8601(Date())
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        // Outcome lines (`mg.status`) are masked by the pipeline itself; a 12-digit UIN is no phone.
        let masksPersonalData = !personalData && all["mg.status"] == nil
        let message = Self.redacted(event.message.description, personalData: masksPersonalData)
        for (key, value) in all { if case .string(let text) = value { all[key] = .string(Self.redacted(text, personalData: masksPersonalData)) } }
        switch format {
        case .text:
            var line = timestamp
            if event.level != .info { line += " " + event.level.rawValue.uppercased() }
            // No value starts a line of its own or reaches the terminal raw: control characters
            // and newlines escaped (outcome lines, `mg.status`, come escaped by the pipeline).
            line += " " + (all["mg.status"] == nil ? OutcomeLogLine.escaped(message) : message)
            let shown = all.filter { !$0.key.hasPrefix("mg.") }.sorted { $0.key < $1.key }
            for (key, value) in shown { line += " \(OutcomeLogLine.escaped(key))=\(OutcomeLogLine.escaped("\(value)"))" }
            sink.write(line + "\n")
        case .json:
            var object: [String: LogJSON.Value] = [
                "time": .string(timestamp), "level": .string(event.level.rawValue), "message": .string(message),
            ]
            for (key, value) in all { object[key.hasPrefix("mg.") ? String(key.dropFirst(3)) : key] = Self.json(value) }
            sink.write(LogJSON.encode(object) + "\n")
        }
    }

    static func redacted(_ text: String, personalData: Bool) -> String {
        let clean = LogRedaction.secrets(text)
        return personalData ? LogRedaction.personalData(clean) : clean
    }

    private static func json(_ value: Logger.MetadataValue) -> LogJSON.Value {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let convertible): .string(convertible.description)
        case .array(let items): .array(items.map(json))
        case .dictionary(let dictionary): .object(dictionary.mapValues(json))
        }
    }
}
