import Foundation
import Ledger
import Logging
import MailChannels
import MeterCore
import Synchronization

/// `run --once`: every feed polled until drained while the outbox sends what each committed
/// batch queued; it ends when the feeds are drained and nothing more is due.
package enum RunOnce {
    package static func run(
        _ feeds: [(source: any MessageSource, interval: Duration)], pipeline: Pipeline, dispatcher: OutboxDispatcher,
        ledger: any FeedStateStore, logger: Logger
    ) async throws -> Int {
        let progress = OnceProgress()
        // A signal per committed poll (and the end of the feeds), for the outbox to wait on.
        let (committed, signal) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let sent = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                defer {
                    progress.finish()
                    signal.finish()
                }
                for feed in feeds {
                    do {
                        var held = false
                        var skipped = false
                        while true {
                            // A shared store: a feed another instance holds is that instance's to poll.
                            if let leasing = ledger as? any FeedLeasing {
                                let seconds = Double(feed.interval.components.seconds) + Double(feed.interval.components.attoseconds) / 1e18
                                guard try await leasing.holdFeed(feed.source.name, pollInterval: seconds) else {
                                    logger.notice(
                                        "feed \(feed.source.name): another instance holds it; run --once leaves it to that instance",
                                        metadata: ["mg.event": "feed-skipped", "mg.feed": "\(feed.source.name)", "mg.instance": "\(leasing.instanceName)"])
                                    skipped = true
                                    break
                                }
                                if !held { FeedStateLog.lease(feed.source.name, held: true, instance: leasing.instanceName, logger: logger) }
                                held = true
                            }
                            let count = try await pipeline.pollOnce(feed.source, limit: 500)
                            if count > 0 { signal.yield() }
                            // A mailbox's small first batch (IMAP) is not the end of its backlog.
                            let more = await (feed.source as? any MailboxWaiting)?.hasBacklog() ?? false
                            if count < 500, !more { break }
                        }
                        if !skipped { try await ledger.recordPoll(feed: feed.source.name, error: nil) }
                    } catch {
                        try? await ledger.recordPoll(feed: feed.source.name, error: "\(error)")
                        logger.error("feed \(feed.source.name) failed: \(error)")
                        // What was recorded before the failure is still answered, and the other
                        // feeds are still polled; the command then exits 1.
                        progress.fail(CommandFailure(message: "feed \(feed.source.name) failed: \(error)", code: 1))
                    }
                }
                return 0
            }
            group.addTask {
                var sent = 0
                var commits = committed.makeAsyncIterator()
                while true {
                    // Read before delivering: everything committed before the feeds finished is seen.
                    let finished = progress.isFinished
                    let count = try await dispatcher.deliverDue()
                    sent += count
                    if finished { return sent }
                    // Nothing due: wait for the next commit, or the end of the feeds.
                    if count == 0 { _ = await commits.next() }
                }
            }
            return try await group.reduce(0, +)
        }
        if let failure = progress.failure { throw failure }
        let undelivered = dispatcher.operations?.undelivered.withLock { $0 } ?? 0
        if undelivered > 0 {
            throw CommandFailure(message: "\(undelivered) repl\(undelivered == 1 ? "y" : "ies") could not be delivered (see the log; kept in the outbox)", code: 1)
        }
        return sent
    }
}

/// Whether the feeds of `--once` are done, and how they failed.
final class OnceProgress: Sendable {
    private let state = Mutex<(finished: Bool, failure: (any Error)?)>((false, nil))

    var isFinished: Bool { state.withLock { $0.finished } }
    var failure: (any Error)? { state.withLock { $0.failure } }

    func finish() { state.withLock { $0.finished = true } }
    /// The first failure is kept: the command's one line names it.
    func fail(_ error: any Error) { state.withLock { if $0.failure == nil { $0.failure = error } } }
}
