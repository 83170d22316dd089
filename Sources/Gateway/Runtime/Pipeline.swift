import Foundation
import Ledger
import Logging
import MeterCore

/// Takes a batch from a source through the processor into the ledger, then acknowledges it:
/// write, fsync (commit with `synchronous = FULL`), then acknowledge — never the other way.
package struct Pipeline: Sendable {
    package let ledger: any MessageRecording & FeedStateStore
    let processor: MessageProcessor
    let logger: Logger
    let personalData: Bool
    /// Metrics, the reloadable processor and the sender-limit notice (`metergate run`).
    package var operations: PipelineOperations?

    package init(
        ledger: any MessageRecording & FeedStateStore, processor: MessageProcessor, logger: Logger, personalData: Bool,
        operations: PipelineOperations? = nil
    ) {
        self.ledger = ledger
        self.processor = processor
        self.logger = logger
        self.personalData = personalData
        self.operations = operations
    }

    /// Polls `source` once and processes what it returned; returns how many messages came.
    package func pollOnce(_ source: any MessageSource, limit: Int) async throws -> Int {
        let messages = try await source.poll(limit: limit)
        guard !messages.isEmpty else { return 0 }
        try await ingest(messages)
        try await source.acknowledge(messages.map(\.externalID))
        return messages.count
    }

    /// Records `messages` in one ledger transaction, then logs each outcome; returns only
    /// after the commit (the push feeds answer their sender then, the polled ones acknowledge).
    @discardableResult
    package func ingest(_ messages: [IncomingMessage]) async throws -> [ProcessedMessage] {
        guard !messages.isEmpty else { return [] }
        let polled = ContinuousClock.now
        let processor = operations?.processors.current ?? self.processor
        let prepared = operations?.prepare(messages, with: processor) ?? messages.map(processor.prepare)
        var results: [ProcessedMessage] = []
        // Commits of at most `commitChunk` messages: the outbox's marks get the store in between.
        for start in stride(from: 0, to: prepared.count, by: Self.commitChunk) {
            let chunk = Array(prepared[start..<min(start + Self.commitChunk, prepared.count)])
            let recorded = try await ledger.transaction { ledger in
                try processor.record(chunk, in: ledger)
            }
            log(recorded, chunk, since: polled)
            results += recorded
        }
        return results
    }

    /// How many messages one ledger commit holds at most.
    static let commitChunk = 100

    private func log(_ results: [ProcessedMessage], _ prepared: [PreparedMessage], since polled: ContinuousClock.Instant) {
        operations?.recorded(results, since: polled)
        for (result, item) in zip(results, prepared) {
            let line = personalData
                ? OutcomeLogLine.text(result.outcome, channel: result.channel, feed: result.feed, sender: item.sender,
                                      replyQueued: result.replyQueued, personalData: true)
                : result.logLine
            var metadata: Logger.Metadata = [
                "mg.channel": "\(result.channel.rawValue)", "mg.feed": "\(result.feed)", "mg.id": "\(personalData ? result.externalID : Contact.maskID(result.externalID, sender: item.sender))",
                "mg.status": "\(result.outcome.status.rawValue)",
            ]
            if let reason = result.outcome.reason { metadata["mg.reason"] = "\(reason.rawValue)" }
            metadata["mg.sender"] = "\(personalData ? (item.sender ?? "-") : Contact.mask(item.sender))"
            metadata["mg.reply"] = "\(result.outcome.reply == nil ? "none" : (result.replyQueued ? "queued" : "unsendable"))"
            metadata["mg.results"] = .array(result.outcome.results.map { submission in
                var fields: Logger.Metadata = ["uin": "\(submission.uin)", "status": "\(submission.status.rawValue)"]
                if let reason = submission.reason { fields["reason"] = "\(reason.rawValue)" }
                fields["readings"] = .array(submission.readings.map { "\($0)" })
                if submission.meters.count == submission.readings.count {
                    fields["meters"] = .array(submission.meters.map { "\($0)" })
                }
                return .dictionary(fields)
            })
            if result.isNew, operations?.logsQuietly(result, window: 3600, logger: logger) != true {
                logger.info("\(line)", metadata: metadata)
            } else {
                logger.debug("\(line)", metadata: metadata)
            }
        }
    }
}
