import Foundation
import Logging
import MeterCore
import Synchronization

/// What `metergate run` adds to the pipeline: metrics, the reloadable processor, and the
/// sender-limit notice (once per sender and window, not once per message).
package final class PipelineOperations: Sendable {
    let metrics: MetergateMetrics
    let processors: ProcessorBox
    let personalData: Bool
    /// Sender → when its limit notice was logged.
    private let limitNotices = Mutex<[String: Date]>([:])

    init(metrics: MetergateMetrics, processors: ProcessorBox, personalData: Bool) {
        self.metrics = metrics
        self.processors = processors
        self.personalData = personalData
    }

    /// `prepare` (the parse) for each message, timed one by one.
    func prepare(_ messages: [IncomingMessage], with processor: MessageProcessor) -> [PreparedMessage] {
        let clock = ContinuousClock()
        return messages.map { message in
            var prepared: PreparedMessage?
            let elapsed = clock.measure { prepared = processor.prepare(message) }
            metrics.parsed(in: elapsed)
            return prepared!
        }
    }

    /// Counts a committed batch; `polled` is when the source returned it.
    func recorded(_ results: [ProcessedMessage], since polled: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - polled
        var fresh = 0
        for result in results where result.isNew {
            fresh += 1
            metrics.messageRecorded(channel: result.channel.rawValue, feed: result.feed, outcome: result.outcome.status.rawValue)
            if result.outcome.reason == .rateLimited { metrics.senderLimitHit(channel: result.channel.rawValue) }
        }
        if fresh > 0 { metrics.processed(in: elapsed, count: fresh) }
    }

    /// Whether this result's line is logged quietly (debug): a message over the sender limit is,
    /// after one notice per sender and hour.
    func logsQuietly(_ result: ProcessedMessage, window: TimeInterval, logger: Logger, now: Date = Date()) -> Bool {
        guard result.outcome.reason == .rateLimited else { return false }
        let sender = result.sender ?? "-"
        let first = limitNotices.withLock { notices -> Bool in
            if notices.count > 10_000 { notices = notices.filter { now.timeIntervalSince($0.value) < window } }
            if let last = notices[sender], now.timeIntervalSince(last) < window { return false }
            notices[sender] = now
            return true
        }
        if first {
            let shown = personalData ? sender : Contact.mask(sender)
            logger.notice(
                "\(result.channel.rawValue) \(result.feed) \(shown) sender limit reached: further messages within the hour are ignored without a reply",
                metadata: ["mg.event": "sender-limit", "mg.channel": "\(result.channel.rawValue)", "mg.feed": "\(result.feed)",
                           "mg.sender": "\(shown)"])
        }
        return true
    }
}
