import Foundation
import Ledger
import Logging
import MailChannels
import MeterCore
import ServiceLifecycle

/// Polls one feed forever; backs off (bounded, exponential) while it fails, logging only
/// the changes of state ("down", "up"), not every failed poll.
package struct PollingService: Service {
    let feed: any MessageSource
    let interval: Duration
    let pipeline: Pipeline
    let ledger: any FeedStateStore
    let logger: Logger
    var health: HealthState?
    var metrics: MetergateMetrics?
    var batch = 500
    var maximumBackoff: Duration = .seconds(300)

    package init(
        feed: any MessageSource, interval: Duration, pipeline: Pipeline, ledger: any FeedStateStore, logger: Logger,
        health: HealthState? = nil, metrics: MetergateMetrics? = nil
    ) {
        self.feed = feed
        self.interval = interval
        self.pipeline = pipeline
        self.ledger = ledger
        self.logger = logger
        self.health = health
        self.metrics = metrics
    }

    package func run() async throws {
        var failures = 0
        var downSince = Date()
        var holding = false
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            var wait = interval
            // A shared store: only the instance holding the feed's lease polls it.
            if let leasing = ledger as? any FeedLeasing {
                let held = await holdsLease(leasing)
                if held != holding { FeedStateLog.lease(feed.name, held: held, instance: leasing.instanceName, logger: logger) }
                holding = held
                if !held {
                    // Standing by is this instance's whole duty for the feed: not a silent feed.
                    health?.pollSucceeded(feed.name)
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
                    continue
                }
            }
            do {
                // At shutdown a poll in progress is cancelled (its transfer aborted): what it
                // fetched was not acknowledged, so the next start fetches it again.
                let (pipeline, feed, batch) = (pipeline, feed, batch)
                let count = try await cancelWhenGracefulShutdown { try await pipeline.pollOnce(feed, limit: batch) }
                if failures > 0 { FeedStateLog.up(feed.name, failures: failures, since: downSince, logger: logger) }
                failures = 0
                health?.pollSucceeded(feed.name)
                metrics?.feedPolled(feed.name, at: Date())
                await observeMailbox()
                await storeWritten { try await ledger.recordPoll(feed: feed.name, error: nil) }
                if count == batch { wait = .zero }
                if let mailbox = feed as? any MailboxWaiting {
                    // A mailbox that took a small first batch goes on at once; one that is drained
                    // waits for new mail (IMAP IDLE) up to the poll interval, then polls anyway.
                    if await mailbox.hasBacklog() {
                        wait = .zero
                    } else if wait > .zero {
                        let interval = wait
                        try? await cancelWhenGracefulShutdown { await mailbox.waitForMail(upTo: interval) }
                        wait = .zero
                    }
                }
            } catch {
                if Task.isShuttingDownGracefully || Task.isCancelled { break }
                failures += 1
                health?.pollFailed(feed.name, error: FeedStateLog.oneLine(error))
                metrics?.feedFailed(feed.name, consecutiveFailures: failures)
                await storeWritten { try await ledger.recordPoll(feed: feed.name, error: FeedStateLog.oneLine(error)) }
                wait = min(max(maximumBackoff, interval), interval * (1 << min(failures, 10)))
                if failures == 1 {
                    downSince = Date()
                    FeedStateLog.down(feed.name, error: error, retry: wait, logger: logger)
                }
            }
            if wait > .zero {
                let pause = wait
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
            }
        }
    }
}

extension PollingService {
    /// Whether this instance holds the feed now (taking it when free); false when the store cannot say.
    func holdsLease(_ leasing: any FeedLeasing) async -> Bool {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        do {
            return try await leasing.holdFeed(feed.name, pollInterval: seconds)
        } catch {
            logger.debug("feed \(feed.name): cannot renew its lease: \(error)")
            return false
        }
    }

    /// A mailbox's view of the server after a successful poll: metrics, and `/healthz` when the
    /// same message stays unfetched poll after poll.
    func observeMailbox() async {
        guard let mailbox = feed as? any MailboxObserving, let seen = await mailbox.lastObservation() else { return }
        let polls = health?.mailboxObserved(feed.name, oldestUnfetched: seen.oldestUnfetched) ?? 0
        metrics?.mailboxObserved(
            feed.name, messages: seen.serverMessages, unseen: seen.serverUnseen, unfetched: seen.serverUnfetched,
            listedNew: seen.listedNew, unfetchedPolls: polls)
    }
}
