import ArgumentParser
import Foundation
import Gateway
import Ledger
import Logging
import MeterCore

struct Replay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process messages from a JSONL file exactly as if they had arrived on a channel; print one outcome line per message.",
        discussion: """
            Each input line: {"id", "channel": "sms"|"email", "from", "text", "subject", "raw", "received_at"}.
            Replies are recorded in the outbox but never sent. Messages are committed in groups
            before their outcome lines are printed.
            """)

    @Argument(help: "The JSONL file ('-' for standard input).") var file: String
    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "Messages per transaction (group commit).") var batch = 16384

    func run() async throws {
        let configuration = try options.load()
        _ = Runtime.bootstrapLogging(configuration, level: configuration.logLevel > .info ? configuration.logLevel : .notice)
        let logger = Logger(label: "metergate.replay")
        let runtime = try await Runtime.open(configuration)
        var processor = try runtime.makeProcessor(replyState: .recorded)
        // A replay file may hold an archive: its times are believed back to 2000-01-01 (the
        // daemon's feeds: 366 days), and up to a day ahead of now.
        processor.pastLimit = Date().timeIntervalSince1970 - ReplayBatch.earliestTime

        let handle: FileHandle
        if file == "-" {
            handle = .standardInput
        } else {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: file, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CommandFailure(message: "\(file): is a folder, not a replay file", code: 1)
            }
            guard let opened = FileHandle(forReadingAtPath: file) else {
                throw CommandFailure(message: "\(file): cannot read the replay file", code: 1)
            }
            handle = opened
        }
        var lines = LineReader(handle: handle)
        var lineNumber = 0
        var pending: [(line: Int, bytes: ArraySlice<UInt8>)] = []
        var badLines = 0
        let writer = ReplayWriter(ledger: runtime.ledger, processor: processor, logger: logger, file: file)
        // One account reader per core; without them the writer looks accounts up itself.
        let readers = (0..<ProcessInfo.processInfo.activeProcessorCount).compactMap { _ in
            try? runtime.ledger.makeAccountLookup()
        }

        // Reading, decoding and preparing batch N+1 overlaps recording and committing batch N.
        func submit() async throws {
            let batch = await ReplayBatch.prepareOffPool(pending, processor, readers)
            badLines += batch.entries.count(where: { if case .bad = $0.parsed { true } else { false } })
            try await writer.submit(batch.entries, prepared: batch.prepared)
            pending.removeAll(keepingCapacity: true)
        }
        while let line = lines.next() {
            lineNumber += 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            pending.append((lineNumber, line))
            if pending.count >= max(1, batch) { try await submit() }
        }
        if !pending.isEmpty { try await submit() }
        try await writer.finish()
        if let error = lines.error {
            throw CommandFailure(message: "\(file): cannot read past line \(lineNumber): \(error.localizedDescription)", code: 1)
        }
        if badLines > 0 {
            throw CommandFailure(message: "\(file): \(badLines) line(s) were not valid messages (each named above); the others were processed", code: 1)
        }
    }
}
