import Dispatch
import Foundation
import Ledger
import Logging
import PostgreSQL
import Synchronization

/// The feeds this instance holds, each valid (by this process's monotonic clock) until the
/// lease it last renewed would expire.
struct Leases {
    var held: [String: ContinuousClock.Instant] = [:]
    var durations: [String: Double] = [:]
}

/// A thread of its own that calls `beat` about every half second until stopped (not a task:
/// it makes blocking libpq calls). `stop` wakes it and waits, without blocking a thread, for
/// the beat in progress to end.
final class Heartbeat: Sendable {
    private struct State {
        var started = false
        var stopped = false
        var finished = false
        /// Callers of `stop` waiting for the thread to end.
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    /// Signalled by `stop`: the thread's pause between beats ends at once.
    private let wake = DispatchSemaphore(value: 0)
    static let interval: TimeInterval = 0.5
    /// How long `stop` waits for a beat in progress (a statement on a server that stopped answering).
    static let stopWait: TimeInterval = 2

    func start(_ beat: @escaping @Sendable () -> Bool) {
        state.withLock { $0.started = true }
        let thread = Thread { [self] in
            while !state.withLock({ $0.stopped }) {
                if !beat() { break }
                _ = wake.wait(timeout: .now() + Self.interval)
            }
            let waiters = state.withLock { state in
                state.finished = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
        thread.name = "metergate.ledger.heartbeat"
        thread.start()
    }

    /// Stops the beats; returns when the thread has ended, or after `stopWait` when a beat in
    /// progress is stuck on the server (it then ends on its own).
    func stop() async {
        let running = state.withLock { state in
            state.stopped = true
            return state.started && !state.finished
        }
        guard running else { return }
        wake.signal()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let waiting = state.withLock { state in
                if state.finished { return false }
                state.waiters.append(continuation)
                return true
            }
            guard waiting else { return continuation.resume() }
            DispatchQueue.global().asyncAfter(deadline: .now() + Self.stopWait) { [self] in
                let late = state.withLock { state in
                    defer { state.waiters = [] }
                    return state.waiters
                }
                for waiter in late { waiter.resume() }
            }
        }
    }
}

extension PostgresLedger: FeedLeasing {
    /// Renews this instance's heartbeat and every lease it holds, in one transaction; a feed
    /// whose lease another instance took is dropped. Every 20 beats, replies left in doubt by a
    /// dead instance are held. Returns false once the ledger is closed.
    func beat() -> Bool {
        let instance = instanceName
        let sent = ContinuousClock.now
        do {
            let renewed = try control.runBlocking(retry: .never) { link in
                try link.transaction { () throws -> [String: Double] in
                    // Never revives a stopped row: a beat still in flight when `close` marked the
                    // instance stopped (a slow server, a loaded machine) must not undo the mark.
                    // A restart under the same name clears `stopped_at` when it registers.
                    let updated = try link.query(
                        "UPDATE instance SET heartbeat_at = \(Self.serverNow) WHERE name = $1 AND stopped_at IS NULL", [.text(instance)])
                    if updated.affectedRows == 0 {
                        try link.query("""
                            INSERT INTO instance (name, host, pid, started_at, heartbeat_at)
                            VALUES ($1, $2, $3, \(Self.serverNow), \(Self.serverNow)) ON CONFLICT (name) DO NOTHING
                            """, [.text(instance), .text(ProcessInfo.processInfo.hostName), .of(Int(ProcessInfo.processInfo.processIdentifier))])
                    }
                    let rows = try link.query("""
                        UPDATE feed_lease SET expires_at = \(Self.serverNow) + duration
                        WHERE instance = $1 AND expires_at >= \(Self.serverNow) RETURNING feed, duration
                        """, [.text(instance)])
                    var feeds: [String: Double] = [:]
                    for row in 0..<rows.count { feeds[rows.string(row, 0)] = rows.double(row, 1) ?? 0 }
                    return feeds
                }
            }
            let lost = leases.withLock { leases -> [String] in
                var lost: [String] = []
                for feed in leases.held.keys {
                    if let duration = renewed[feed] {
                        leases.held[feed] = sent + .milliseconds(Int64(duration * 1000))
                    } else {
                        lost.append(feed)
                        leases.held[feed] = nil
                    }
                }
                return lost
            }
            for feed in lost {
                logger.warning("feed \(feed): its lease passed to another instance; \(instance) stops polling it",
                               metadata: ["mg.event": "feed-lost", "mg.feed": "\(feed)", "mg.instance": "\(instance)"])
            }
            beats += 1
            if beats % 20 == 1 { sweepDeadInstances() }
        } catch let error as PostgresError where error.message == "the store is closed" {
            return false
        } catch {
            // The database is out of reach: the leases run out by themselves (checked on each
            // poll), and the next beat tries again.
            if beats % 20 == 0 {
                logger.warning("store \(url): heartbeat failed: \(error)", metadata: ["mg.event": "heartbeat-failed", "mg.instance": "\(instance)"])
            }
            beats += 1
        }
        return true
    }

    private var beats: Int {
        get { heartbeatCount.load(ordering: .relaxed) }
        set { heartbeatCount.store(newValue, ordering: .relaxed) }
    }

    /// Replies a dead instance left in doubt (their end of data went to a server, no answer was
    /// recorded) are held, never sent again: never another live instance's.
    func sweepDeadInstances() {
        do {
            let held = try outbox.runBlocking { link in try Self.holdInDoubt(link, mine: nil, instance: self.instanceName) }
            for reply in held {
                logger.warning(
                    "reply \(reply.id) (\(reply.channel)) was in flight on an instance that died: its end of data went to the server at \(Timestamp.iso8601(reply.dataSentAt)) and no answer was recorded; held as failed (in doubt), not sent again",
                    metadata: ["mg.event": "reply-in-doubt", "mg.reply_id": "\(reply.id)", "mg.channel": "\(reply.channel)"])
            }
        } catch {
            logger.debug("store: in-doubt sweep failed: \(error)")
        }
    }

    public func holdFeed(_ feed: String, pollInterval: TimeInterval) async throws -> Bool {
        guard registered else { return false }
        let now = ContinuousClock.now
        if let until = leases.withLock({ $0.held[feed] }), until > now + .milliseconds(100) { return true }
        let instance = instanceName
        let duration = max(pollInterval, 1)
        let sent = ContinuousClock.now
        let holder = try await wrap("write") {
            try await control.run { link in
                let rows = try link.query("""
                    INSERT INTO feed_lease AS lease (feed, instance, expires_at, taken_at, duration)
                    VALUES ($1, $2, \(Self.serverNow) + $3, \(Self.serverNow), $3)
                    ON CONFLICT (feed) DO UPDATE SET instance = excluded.instance, expires_at = excluded.expires_at,
                        duration = excluded.duration,
                        taken_at = CASE WHEN lease.instance = excluded.instance THEN lease.taken_at ELSE excluded.taken_at END
                    WHERE lease.instance = excluded.instance OR lease.expires_at < excluded.taken_at
                    RETURNING instance
                    """, [.text(feed), .text(instance), .of(duration)])
                return rows.count > 0 ? rows.text(0, 0) : nil
            }
        }
        guard holder == instance else {
            leases.withLock { $0.held[feed] = nil }
            return false
        }
        leases.withLock { $0.held[feed] = sent + .milliseconds(Int64(duration * 1000)) }
        return true
    }

    public func instances() async throws -> [InstanceState] {
        try await read { link in
            let rows = try link.query("""
                SELECT i.name, i.host, i.pid, i.started_at, i.heartbeat_at, i.stopped_at,
                       i.stopped_at IS NULL AND i.heartbeat_at > \(Self.serverNow) - $1,
                       COALESCE((SELECT string_agg(l.feed, chr(10) ORDER BY l.feed) FROM feed_lease l
                                 WHERE l.instance = i.name AND l.expires_at >= \(Self.serverNow)), '')
                FROM instance i ORDER BY i.name
                """, [.of(Self.deadAfter)])
            return (0..<rows.count).map { row in
                InstanceState(
                    name: rows.string(row, 0), host: rows.string(row, 1), pid: Int(rows.int(row, 2) ?? 0),
                    startedAt: Self.date(rows.double(row, 3)) ?? .distantPast, heartbeatAt: Self.date(rows.double(row, 4)) ?? .distantPast,
                    stoppedAt: Self.date(rows.double(row, 5)), alive: rows.bool(row, 6) ?? false,
                    feeds: rows.string(row, 7).split(separator: "\n").map(String.init))
            }
        }
    }
}
