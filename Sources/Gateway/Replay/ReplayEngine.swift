import Dispatch
import Foundation
import Ledger
import Logging
import MeterCore
import Synchronization

/// The replay engine's pure stage: a batch of lines decoded, parsed and looked up on every core.
package enum ReplayBatch {
    /// `prepare` on a thread outside the cooperative pool (it blocks on every core, and its
    /// account lookups are blocking reads).
    package static func prepareOffPool(
        _ lines: [(line: Int, bytes: ArraySlice<UInt8>)], _ processor: MessageProcessor, _ readers: [any AccountLookup]
    ) async -> (entries: [(line: Int, parsed: ReplayLine)], prepared: [PreparedMessage]) {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: prepare(lines, processor, readers)) }
        }
    }

    /// 2000-01-01T00:00:00Z: replay's earliest believable `received_at`.
    package static let earliestTime: TimeInterval = 946_684_800

    /// Decoding the lines, parsing, MIME and account lookups need no writer: they are spread
    /// over the cores, so the single writer only decides and writes.
    package static func prepare(
        _ lines: [(line: Int, bytes: ArraySlice<UInt8>)], _ processor: MessageProcessor, _ readers: [any AccountLookup]
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
            guard worker < readers.count, let found = try? readers[worker].accounts(named.flatMap(\.uins)) else { return }
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

/// Records and commits replay batches one behind the reader (at most two wait for the store),
/// and prints each batch's outcome lines after its commit, in input order, on a queue of their
/// own. Used from one task: the command's.
package final class ReplayWriter {
    private let printer = DispatchQueue(label: "metergate.replay.printer")
    /// Batches submitted and not yet awaited, oldest first; each commits after the one before.
    private var writes: [Task<Void, any Error>] = []
    let ledger: any MessageRecording
    let processor: MessageProcessor
    let logger: Logger
    let file: String

    package init(ledger: any MessageRecording, processor: MessageProcessor, logger: Logger, file: String) {
        self.ledger = ledger
        self.processor = processor
        self.logger = logger
        self.file = file
    }

    /// Queues a batch (waits while two are waiting); throws the writer's first error.
    package func submit(_ entries: [(line: Int, parsed: ReplayLine)], prepared: [PreparedMessage]) async throws {
        if writes.count >= 2 { try await writes.removeFirst().value }
        writes.append(Self.write(
            entries, prepared, after: writes.last, ledger: ledger, processor: processor, printer: printer, logger: logger,
            file: file))
    }

    private static func write(
        _ entries: [(line: Int, parsed: ReplayLine)], _ prepared: [PreparedMessage], after previous: Task<Void, any Error>?,
        ledger: any MessageRecording, processor: MessageProcessor, printer: DispatchQueue, logger: Logger, file: String
    ) -> Task<Void, any Error> {
        Task {
            // In input order; after a failed batch nothing more is written.
            try await previous?.value
            let processed = try await ledger.transaction { ledger in
                try processor.record(prepared, in: ledger)
            }
            // The batch is committed: its lines are printed on their own queue, in order, while
            // the store records the next batch.
            printer.async { printLines(entries, processed, logger: logger, file: file) }
        }
    }

    /// Waits for every queued batch and its lines; throws the writer's first error.
    package func finish() async throws {
        let writes = self.writes
        self.writes = []
        var failure: (any Error)?
        for write in writes {
            do { try await write.value } catch { failure = failure ?? error }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            printer.async { continuation.resume() }
        }
        if let failure { throw failure }
    }

    private static func printLines(
        _ entries: [(line: Int, parsed: ReplayLine)], _ processed: [ProcessedMessage], logger: Logger, file: String
    ) {
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
                if let stated = result.statedTime {
                    printError("\(file):\(entry.line): received_at \(Timestamp.iso8601(stated, timeZone: .gmt)) is before 2000 or more than a day ahead; the time of replay counts instead")
                }
                if logger.logLevel <= .debug { logger.debug("\(result.logLine)") }
            case .bad(let id, let reason):
                output += Outcome(id: id, status: .rejected, reason: .unparsed, results: [], reply: nil).jsonLine + "\n"
                printError("\(file):\(entry.line): \(reason)")
            }
        }
        FileHandle.standardOutput.write(Data(output.utf8))
    }
}

/// Pre-sized slots that concurrent workers fill at distinct indices. The slots live in memory
/// allocated once, never in a Swift array: workers writing distinct elements of one array
/// through a class property race on its copy-on-write check (a worker that sees the buffer
/// shared copies it, and the others' writes to the old buffer are lost).
final class ResultSlots<T>: @unchecked Sendable {
    private let storage: UnsafeMutableBufferPointer<T?>

    init(count: Int) {
        storage = .allocate(capacity: count)
        storage.initialize(repeating: nil)
    }

    deinit {
        storage.deinitialize()
        storage.deallocate()
    }

    func set(_ index: Int, _ value: T) { storage[index] = value }

    subscript(index: Int) -> T { storage[index]! }

    func update(_ index: Int, _ change: (inout T) -> Void) { change(&storage[index]!) }

    /// Every slot, once the workers are done (each must have set its slot).
    var values: [T] { storage.map { $0! } }
}

/// One line of a replay file.
package enum ReplayLine: Sendable {
    case message(IncomingMessage)
    case bad(id: String, reason: String)

    static func parse(_ bytes: ArraySlice<UInt8>, lineNumber: Int) -> ReplayLine {
        let fallbackID = "line-\(lineNumber)"
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
            return .bad(id: fallbackID, reason: "not a JSON object")
        }
        // Every field has one JSON type: `{"id": true}` is refused, never read as id "1" (which
        // would make a later real message 1 "already seen").
        let id: String
        switch object["id"] {
        case let text as String:
            guard !text.isEmpty else { return .bad(id: fallbackID, reason: "field \"id\" is empty") }
            id = text
        case let number as NSNumber where isInteger(number): id = number.stringValue
        case nil, is NSNull: return .bad(id: fallbackID, reason: "missing \"id\"")
        case let other?: return .bad(id: fallbackID, reason: "field \"id\" must be a string, not \(describe(other))")
        }
        var texts: [String: String] = [:]
        for key in ["channel", "from", "text", "subject", "raw", "raw_base64", "received_at"] {
            switch object[key] {
            case nil, is NSNull: continue
            case let text as String: texts[key] = text
            case let other?: return .bad(id: id, reason: "field \"\(key)\" must be a string, not \(describe(other))")
            }
        }
        var raw = texts["raw"].map { Array($0.utf8) }
        if let encoded = texts["raw_base64"] {
            guard raw == nil else { return .bad(id: id, reason: "give \"raw\" or \"raw_base64\", not both") }
            let compact = encoded.filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: compact) else {
                return .bad(id: id, reason: "field \"raw_base64\" is not base64")
            }
            raw = Array(data)
        }
        let subject = texts["subject"]
        let channelName = texts["channel"]?.lowercased() ?? (raw != nil || subject != nil ? "email" : "sms")
        guard let channel = ChannelKind(rawValue: channelName) else {
            return .bad(id: id, reason: "channel \(ConfigTree.quote(channelName)) must be sms or email")
        }
        var receivedAt = Date()
        var offset: Int?
        if let text = texts["received_at"] {
            guard let parsed = Timestamp.parse(text) else {
                return .bad(id: id, reason: "received_at \(ConfigTree.quote(text)) is not ISO 8601")
            }
            receivedAt = parsed.date
            offset = parsed.offset
        }
        return .message(IncomingMessage(
            channel: channel, feed: "replay", externalID: id, sender: texts["from"],
            text: texts["text"], subject: subject, raw: raw, receivedAt: receivedAt, utcOffset: offset))
    }

    /// A JSON integer (not `true`/`false`, which JSONSerialization also gives as NSNumber, not `1.5`).
    static func isInteger(_ number: NSNumber) -> Bool {
        ["i", "q", "l", "s"].contains(String(cString: number.objCType))
    }

    static func describe(_ value: Any) -> String {
        switch value {
        case let number as NSNumber: String(cString: number.objCType) == "c" ? "a boolean" : "a number"
        case is [Any]: "an array"
        case is [String: Any]: "an object"
        default: "a \(type(of: value))"
        }
    }
}

/// Reads a file line by line in large chunks (a replay file may hold millions of lines).
package struct LineReader {
    let handle: FileHandle
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where the search for the next newline resumes (bytes before it hold none).
    private var scanned = 0
    private var finished = false
    /// Why reading stopped early, if it did.
    package private(set) var error: (any Error)?

    package init(handle: FileHandle) { self.handle = handle }

    package mutating func next() -> ArraySlice<UInt8>? {
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
            // The throwing read: `readData(ofLength:)` traps on an error (a folder, an I/O error).
            let chunk: Data
            do {
                chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            } catch {
                self.error = error
                chunk = Data()
            }
            if chunk.isEmpty { finished = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
