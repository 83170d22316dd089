import ArgumentParser
import Dispatch
import Foundation
import LedgerStore
import Logging
import MeterCore
import Synchronization

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
        let runtime = try Runtime.open(configuration)
        let processor = try runtime.makeProcessor(replyState: .recorded)

        let handle: FileHandle
        if file == "-" {
            handle = .standardInput
        } else {
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
            try? runtime.ledger.makeAccountReader()
        }

        // Reading, decoding and preparing batch N+1 overlaps recording and committing batch N.
        func submit() throws {
            let batch = Self.prepare(pending, processor, readers)
            badLines += batch.entries.count(where: { if case .bad = $0.parsed { true } else { false } })
            try writer.submit(batch.entries, prepared: batch.prepared)
            pending.removeAll(keepingCapacity: true)
        }
        while let line = lines.next() {
            lineNumber += 1
            if line.allSatisfy({ $0 == 32 || $0 == 9 || $0 == 13 }) { continue }
            pending.append((lineNumber, line))
            if pending.count >= max(1, batch) { try submit() }
        }
        if !pending.isEmpty { try submit() }
        try writer.finish()
        if badLines > 0 { printError("\(file): \(badLines) line(s) were not valid messages") }
    }

    /// Decoding the lines, parsing, MIME and account lookups need no writer: they are spread
    /// over the cores, so the single writer only decides and writes.
    static func prepare(
        _ lines: [(line: Int, bytes: ArraySlice<UInt8>)], _ processor: MessageProcessor, _ readers: [AccountReader]
    ) -> (entries: [(line: Int, parsed: ReplayLine)], prepared: [PreparedMessage]) {
        let decoded = ResultSlots<ReplayLine>(count: lines.count)
        let prepared = ResultSlots<PreparedMessage?>(count: lines.count)
        let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, lines.count / 16))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            // The messages of this worker that name UINs, with those UINs.
            var named: [(index: Int, uins: [String])] = []
            var index = worker
            while index < lines.count {
                let line = ReplayLine.parse(lines[index].bytes, lineNumber: lines[index].line)
                decoded.set(index, line)
                if case .message(let message) = line {
                    let message = processor.prepare(message)
                    let uins = message.candidateUINs
                    if !uins.isEmpty { named.append((index, uins)) }
                    prepared.set(index, message)
                } else {
                    prepared.set(index, nil)
                }
                index += workers
            }
            // A failed lookup is not an error here: the writer then looks the account up itself.
            guard worker < readers.count, let found = try? readers[worker].accounts(named.lazy.flatMap(\.uins)) else { return }
            for (index, uins) in named {
                prepared.update(index) { message in
                    for uin in uins { if let account = found[uin] { message!.accounts[uin] = account } }
                }
            }
        }
        let entries = zip(lines, decoded.values).map { (line: $0.line, parsed: $1) }
        return (entries, prepared.values.compactMap { $0 })
    }
}

/// Records and commits replay batches on its own serial queue, one batch behind the reader,
/// and prints each batch's outcome lines after its commit, in input order (on a queue of their own).
final class ReplayWriter: Sendable {
    private let queue = DispatchQueue(label: "metergate.replay.writer")
    private let printer = DispatchQueue(label: "metergate.replay.printer")
    private let inFlight = DispatchSemaphore(value: 2)
    private let failure = Mutex<(any Error)?>(nil)
    let ledger: SQLiteLedger
    let processor: MessageProcessor
    let logger: Logger
    let file: String

    init(ledger: SQLiteLedger, processor: MessageProcessor, logger: Logger, file: String) {
        self.ledger = ledger
        self.processor = processor
        self.logger = logger
        self.file = file
    }

    /// Queues a batch (waits while two are in flight); throws the writer's first error.
    func submit(_ entries: [(line: Int, parsed: ReplayLine)], prepared: [PreparedMessage]) throws {
        if let error = failure.withLock({ $0 }) { throw error }
        inFlight.wait()
        queue.async { [self] in
            defer { inFlight.signal() }
            guard failure.withLock({ $0 }) == nil else { return }
            do {
                try write(entries, prepared)
            } catch {
                failure.withLock { $0 = error }
            }
        }
    }

    /// Waits for every queued batch and its lines; throws the writer's first error.
    func finish() throws {
        queue.sync {}
        printer.sync {}
        if let error = failure.withLock({ $0 }) { throw error }
    }

    private func write(_ entries: [(line: Int, parsed: ReplayLine)], _ prepared: [PreparedMessage]) throws {
        let processor = self.processor
        let processed = try ledger.transaction { ledger in
            try prepared.map { try processor.record($0, in: ledger) }
        }
        // The batch is committed: its lines are printed on their own queue, in order, while
        // this one records the next batch.
        printer.async { [self] in printLines(entries, processed) }
    }

    private func printLines(_ entries: [(line: Int, parsed: ReplayLine)], _ processed: [ProcessedMessage]) {
        var output = ""
        output.reserveCapacity(processed.count * 200)
        var index = 0
        for entry in entries {
            switch entry.parsed {
            case .message:
                let result = processed[index]
                index += 1
                output += result.outcomeJSON
                output += "\n"
                if logger.logLevel <= .debug { logger.debug("\(result.logLine)") }
            case .bad(let id, let reason):
                output += Outcome(id: id, status: .rejected, reason: .unparsed, results: [], reply: nil).jsonLine + "\n"
                printError("\(file):\(entry.line): \(reason)")
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}

/// Pre-sized slots that concurrent workers fill at distinct indices.
final class ResultSlots<T>: @unchecked Sendable {
    private var storage: [T?]

    init(count: Int) { storage = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: T) { storage[index] = value }

    subscript(index: Int) -> T { storage[index]! }

    func update(_ index: Int, _ change: (inout T) -> Void) { change(&storage[index]!) }

    var values: [T] { storage.map { $0! } }
}

/// One line of a replay file.
enum ReplayLine {
    case message(IncomingMessage)
    case bad(id: String, reason: String)

    static func parse(_ bytes: ArraySlice<UInt8>, lineNumber: Int) -> ReplayLine {
        let fallbackID = "line-\(lineNumber)"
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return .bad(id: fallbackID, reason: "not a JSON object")
        }
        let id: String
        switch object["id"] {
        case let text as String: id = text
        case let number as NSNumber: id = number.stringValue
        default: return .bad(id: fallbackID, reason: "missing \"id\"")
        }
        let raw = object["raw"] as? String
        let subject = object["subject"] as? String
        let channelName = (object["channel"] as? String)?.lowercased() ?? (raw != nil || subject != nil ? "email" : "sms")
        guard let channel = ChannelKind(rawValue: channelName) else {
            return .bad(id: id, reason: "channel '\(channelName)' must be sms or email")
        }
        var receivedAt = Date()
        var offset: Int?
        if let text = object["received_at"] as? String {
            guard let parsed = Timestamp.parse(text) else {
                return .bad(id: id, reason: "received_at '\(text)' is not ISO 8601")
            }
            receivedAt = parsed.date
            offset = parsed.offset
        }
        return .message(IncomingMessage(
            channel: channel, feed: "replay", externalID: id, sender: object["from"] as? String,
            text: object["text"] as? String, subject: subject, raw: raw.map { Array($0.utf8) }, receivedAt: receivedAt,
            utcOffset: offset))
    }
}

/// Reads a file line by line in large chunks (a replay file may hold millions of lines).
struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the next newline resumes (bytes before it hold none).
    private var scanned = 0
    private var finished = false

    init(handle: FileHandle) { self.handle = handle }

    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            if let newline = buffer[max(start, scanned)...].firstIndex(of: 10) {
                let line = buffer[start..<newline]
                start = newline + 1
                scanned = start
                return line
            }
            scanned = buffer.count
            if finished {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            scanned -= start
            start = 0
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
