import CoreMetrics
import Foundation
import Metrics
import Prometheus

/// The daemon's metrics (swift-metrics API, exported by swift-prometheus on `/metrics`).
///
/// Names (all prefixed `metergate_`):
/// - `messages_total{channel,feed,outcome}` counter: new messages by outcome status
/// - `parse_duration_seconds` histogram: time to parse one message (the pure step)
/// - `processing_duration_seconds` histogram: poll returned → batch committed, per message
/// - `outbox_pending`, `outbox_failed`, `outbox_expired` gauges (replies by state),
///   `outbox_oldest_due_age_seconds` gauge (0 when nothing is due)
/// - `replies_delivered_total{channel}`, `replies_retried_total{channel}`,
///   `replies_failed_total{channel}`, `replies_expired_total`, `replies_suppressed_total{channel}` counters
/// - `feed_errors_total{feed}` counter, `feed_up{feed}` gauge (1/0),
///   `feed_consecutive_failures{feed}` gauge, `feed_last_success_timestamp_seconds{feed}` gauge (unix seconds)
/// - `mailbox_messages{feed}`, `mailbox_server_unseen{feed}` (IMAP), `mailbox_server_unfetched{feed}`
///   gauges: the server's counts at the last poll (messages; unseen; those the ledger does not
///   hold), next to ours, `mailbox_listed_new{feed}` (new by the feed's own listing), and
///   `mailbox_unfetched_polls{feed}` (polls in a row the oldest unfetched message was there)
/// - `review_held` gauge: held readings waiting for an operator
/// - `sender_limit_hits_total{channel}` counter: messages ignored over the sender limit
/// - `limit_sender_messages_per_hour`, `limit_message_bytes`, `limit_same_reply_max`,
///   `limit_same_reply_window_seconds`, `limit_outbox_max_age_seconds` gauges: the configured limits
///
/// With a shared store (contract §7) every series carries `instance_name` (`instance.name`), so
/// the instances' series stay apart however they are scraped (Prometheus keeps `instance` for
/// the scrape target's address).
package final class MetergateMetrics: Sendable {
    let registry: PrometheusCollectorRegistry
    let factory: PrometheusMetricsFactory
    /// `instance_name="…"`, ready to go into a label set; nil: no such label.
    let instanceLabel: String?

    init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), instance: String? = nil) {
        self.registry = registry
        instanceLabel = instance.map { name in
            let escaped = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
            return "instance_name=\"\(escaped)\""
        }
        var factory = PrometheusMetricsFactory(registry: registry)
        let fast: [Duration] = [
            .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1),
            .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
        ]
        factory.durationHistogramBuckets = [
            "metergate_parse_duration_seconds": fast,
            "metergate_processing_duration_seconds": fast.suffix(6) + [
                .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5),
            ],
        ]
        self.factory = factory
    }

    /// Makes this the process's metrics backend (`metergate run` only; once per process).
    package func bootstrap() {
        MetricsSystem.bootstrap(factory)
    }

    /// The Prometheus text exposition of every metric.
    func exposition() -> String {
        let text = registry.emitToString()
        guard let label = instanceLabel else { return text }
        return Self.labelled(text, with: label)
    }

    /// Every sample line of `text` with `label` first in its label set (comments unchanged).
    static func labelled(_ text: String, with label: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard !line.isEmpty, !line.hasPrefix("#") else { return String(line) }
            let space = line.firstIndex(of: " ") ?? line.endIndex
            guard let brace = line[..<space].firstIndex(of: "{") else {
                return line[..<space] + "{" + label + "}" + line[space...]
            }
            let after = line.index(after: brace)
            return line[...brace] + label + (after < line.endIndex && line[after] == "}" ? "" : ",") + line[after...]
        }.joined(separator: "\n")
    }

    // MARK: messages

    func messageRecorded(channel: String, feed: String, outcome: String) {
        CoreMetrics.Counter(label: "metergate_messages_total", dimensions: [("channel", channel), ("feed", feed), ("outcome", outcome)], factory: factory)
            .increment()
    }

    func parsed(in duration: Duration) {
        Metrics.Timer(label: "metergate_parse_duration_seconds", factory: factory).record(duration: duration)
    }

    func processed(in duration: Duration, count: Int) {
        let timer = Metrics.Timer(label: "metergate_processing_duration_seconds", factory: factory)
        for _ in 0..<count { timer.record(duration: duration) }
    }

    func senderLimitHit(channel: String) {
        CoreMetrics.Counter(label: "metergate_sender_limit_hits_total", dimensions: [("channel", channel)], factory: factory).increment()
    }

    // MARK: feeds

    func feedPolled(_ feed: String, at date: Date) {
        gauge("metergate_feed_up", [("feed", feed)]).record(1)
        gauge("metergate_feed_consecutive_failures", [("feed", feed)]).record(0)
        gauge("metergate_feed_last_success_timestamp_seconds", [("feed", feed)]).record(date.timeIntervalSince1970.rounded(.down))
        // Present from the first poll, so `rate()` sees the 0 before the first error.
        CoreMetrics.Counter(label: "metergate_feed_errors_total", dimensions: [("feed", feed)], factory: factory).increment(by: 0)
    }

    func feedFailed(_ feed: String, consecutiveFailures: Int) {
        CoreMetrics.Counter(label: "metergate_feed_errors_total", dimensions: [("feed", feed)], factory: factory).increment()
        gauge("metergate_feed_up", [("feed", feed)]).record(0)
        gauge("metergate_feed_consecutive_failures", [("feed", feed)]).record(consecutiveFailures)
    }

    /// What a mailbox's last successful poll saw on the server, next to ours.
    func mailboxObserved(_ feed: String, messages: Int, unseen: Int?, unfetched: Int?, listedNew: Int, unfetchedPolls: Int) {
        gauge("metergate_mailbox_messages", [("feed", feed)]).record(messages)
        if let unseen { gauge("metergate_mailbox_server_unseen", [("feed", feed)]).record(unseen) }
        if let unfetched { gauge("metergate_mailbox_server_unfetched", [("feed", feed)]).record(unfetched) }
        gauge("metergate_mailbox_listed_new", [("feed", feed)]).record(listedNew)
        gauge("metergate_mailbox_unfetched_polls", [("feed", feed)]).record(unfetchedPolls)
    }

    /// A feed that has never polled yet: known, down, never successful.
    func feedConfigured(_ feed: String) {
        gauge("metergate_feed_up", [("feed", feed)]).record(0)
        gauge("metergate_feed_consecutive_failures", [("feed", feed)]).record(0)
        CoreMetrics.Counter(label: "metergate_feed_errors_total", dimensions: [("feed", feed)], factory: factory).increment(by: 0)
    }

    // MARK: outbox

    func replyDelivered(channel: String) { replyCounter("metergate_replies_delivered_total", channel).increment() }
    func replyRetried(channel: String) { replyCounter("metergate_replies_retried_total", channel).increment() }
    func replyFailed(channel: String) { replyCounter("metergate_replies_failed_total", channel).increment() }
    func replySuppressed(channel: String) { replyCounter("metergate_replies_suppressed_total", channel).increment() }

    func repliesExpired(_ count: Int) {
        CoreMetrics.Counter(label: "metergate_replies_expired_total", factory: factory).increment(by: count)
    }

    /// Queue gauges, read from the ledger when `/metrics` is scraped.
    func queues(_ snapshot: QueueSnapshot) {
        gauge("metergate_outbox_pending").record(snapshot.pending)
        gauge("metergate_outbox_failed").record(snapshot.failed)
        gauge("metergate_outbox_expired").record(snapshot.expired)
        gauge("metergate_outbox_oldest_due_age_seconds").record(snapshot.oldestDueAge.rounded(.down))
        gauge("metergate_review_held").record(snapshot.held)
    }

    func limits(_ settings: OperationsSettings, senderPerHour: Int, messageBytes: Int) {
        gauge("metergate_limit_sender_messages_per_hour").record(senderPerHour)
        gauge("metergate_limit_message_bytes").record(messageBytes)
        gauge("metergate_limit_same_reply_max").record(settings.maxSameReply)
        gauge("metergate_limit_same_reply_window_seconds").record(settings.sameReplyWindow.seconds)
        gauge("metergate_limit_outbox_max_age_seconds").record(settings.outboxMaxAge.seconds)
        // The counters the alert rules use, present at 0 from the start.
        CoreMetrics.Counter(label: "metergate_replies_expired_total", factory: factory).increment(by: 0)
    }

    private func gauge(_ label: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        CoreMetrics.Gauge(label: label, dimensions: dimensions, factory: factory)
    }

    private func replyCounter(_ label: String, _ channel: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: label, dimensions: [("channel", channel)], factory: factory)
    }
}

/// Queue depths at one instant (outbox by state, oldest due reply, held readings).
struct QueueSnapshot: Sendable {
    var pending = 0
    var failed = 0
    var expired = 0
    var held = 0
    /// Seconds since the oldest reply due now was created; 0 when none is due.
    var oldestDueAge: Double = 0
}

extension Duration {
    /// Whole and fractional seconds.
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
