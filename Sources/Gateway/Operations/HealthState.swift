import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// What `/healthz` judges: each feed's run of failures and last success, and the store's
/// last write. Updated by the pollers and the pipeline, read by the HTTP server.
package final class HealthState: Sendable {
    struct Feed: Sendable {
        var consecutiveFailures = 0
        var lastSuccess: Date?
        var lastError: String?
        /// A mailbox: its oldest message the ledger does not hold, and at how many successful
        /// polls in a row it was still there.
        var oldestUnfetched: String?
        var unfetchedPolls = 0
    }

    /// `/healthz` fails once a mailbox's oldest unfetched message has been there at more than
    /// this many successful polls in a row (it waited this many poll intervals: mail the feed
    /// sees on the server but does not take). Documented in README.md and Deploy/CONFIGURATION.md.
    static let unfetchedPollsLimit = 5

    private struct State {
        var feeds: [String: Feed] = [:]
        var storeError: String?
    }

    private let state: Mutex<State>
    let startedAt: Date
    let storePath: String
    let failedPollsLimit: Int
    let silenceLimit: TimeInterval

    init(feeds: [String], storePath: String, failedPollsLimit: Int, silenceLimit: Duration, startedAt: Date = Date()) {
        var initial = State()
        for feed in feeds { initial.feeds[feed] = Feed() }
        state = Mutex(initial)
        self.startedAt = startedAt
        self.storePath = storePath
        self.failedPollsLimit = failedPollsLimit
        self.silenceLimit = silenceLimit.seconds
    }

    func pollSucceeded(_ feed: String, at date: Date = Date()) {
        state.withLock { state in
            state.feeds[feed, default: Feed()].consecutiveFailures = 0
            state.feeds[feed, default: Feed()].lastSuccess = date
            state.feeds[feed, default: Feed()].lastError = nil
        }
    }

    /// A mailbox's successful poll reported `oldest` as its oldest message not in the ledger
    /// (nil: none); returns at how many polls in a row that message has been seen.
    @discardableResult
    func mailboxObserved(_ feed: String, oldestUnfetched oldest: String?) -> Int {
        state.withLock { state in
            var entry = state.feeds[feed, default: Feed()]
            if oldest == nil {
                entry.unfetchedPolls = 0
            } else if oldest == entry.oldestUnfetched {
                entry.unfetchedPolls += 1
            } else {
                entry.unfetchedPolls = 1
            }
            entry.oldestUnfetched = oldest
            state.feeds[feed] = entry
            return entry.unfetchedPolls
        }
    }

    /// Returns the feed's run of failures, this one included.
    @discardableResult
    func pollFailed(_ feed: String, error: String) -> Int {
        state.withLock { state in
            state.feeds[feed, default: Feed()].consecutiveFailures += 1
            state.feeds[feed, default: Feed()].lastError = error
            return state.feeds[feed, default: Feed()].consecutiveFailures
        }
    }

    /// The result of the last write to the store (nil: it succeeded).
    func storeWrite(failed error: String?) {
        state.withLock { $0.storeError = error }
    }

    func feed(_ name: String) -> Feed? { state.withLock { $0.feeds[name] } }

    /// nil when healthy, else one line saying why not (the first problem found).
    func problem(now: Date = Date()) -> String? {
        let snapshot = state.withLock { $0 }
        if let error = snapshot.storeError { return "store \(storePath) is not writable: \(error)" }
        // A PostgreSQL store (its URL here) has no folder to check: a failed write says it.
        if !storePath.contains("://"), let reason = Self.unwritable(storePath) { return reason }
        for (name, feed) in snapshot.feeds.sorted(by: { $0.key < $1.key }) {
            if feed.consecutiveFailures >= failedPollsLimit {
                return "feed \(name) failed \(feed.consecutiveFailures) polls in a row: \(feed.lastError ?? "?")"
            }
            if feed.unfetchedPolls > Self.unfetchedPollsLimit, let oldest = feed.oldestUnfetched {
                return "feed \(name) polls but does not fetch: \(oldest) has been on the server, not in the ledger, at \(feed.unfetchedPolls) successful polls in a row (limit \(Self.unfetchedPollsLimit))"
            }
            let since = feed.lastSuccess ?? startedAt
            let silent = now.timeIntervalSince(since)
            if silent > silenceLimit {
                let when = feed.lastSuccess.map { "since \(Int(now.timeIntervalSince($0)))s" } ?? "since start"
                return "feed \(name) has not polled successfully \(when) (limit \(Int(silenceLimit))s)"
            }
        }
        return nil
    }

    /// The store's file and folder must be writable (SQLite writes the WAL next to it).
    static func unwritable(_ path: String) -> String? {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        if access(folder, W_OK) != 0 { return "store folder \(folder) is not writable" }
        if access(path, F_OK) == 0, access(path, W_OK) != 0 { return "store \(path) is not writable" }
        var stats = statvfs()
        if statvfs(folder, &stats) == 0, stats.f_bavail == 0 { return "no space left for the store in \(folder)" }
        return nil
    }
}
