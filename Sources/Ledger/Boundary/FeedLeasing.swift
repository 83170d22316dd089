import Foundation

/// A store shared by several instances (PostgreSQL, contract §7): each polled feed is polled by
/// the one instance that holds its lease, and every instance shows itself (`status`).
///
/// A ledger of one process (SQLite, memory) does not conform: every feed is its own.
public protocol FeedLeasing: Sendable {
    /// This instance's name (`instance.name`).
    var instanceName: String { get }
    /// Takes `feed` for this instance, or keeps it: true when this instance holds it now. The
    /// lease lasts `pollInterval` past the holder's last heartbeat (about every half second), so
    /// another instance asking once per poll interval takes a dead holder's feed within two.
    func holdFeed(_ feed: String, pollInterval: TimeInterval) async throws -> Bool
    /// Every instance that opened the store, with its heartbeat and the feeds it holds.
    func instances() async throws -> [InstanceState]
}

/// An instance sharing the store, as `status` shows it.
public struct InstanceState: Sendable, Hashable {
    public var name: String
    public var host: String
    public var pid: Int
    public var startedAt: Date
    public var heartbeatAt: Date
    /// When it stopped cleanly; nil while it runs (or when it died).
    public var stoppedAt: Date?
    /// Its heartbeat is recent (the server's clock).
    public var alive: Bool
    /// Feeds whose lease it holds now.
    public var feeds: [String]

    public init(name: String, host: String, pid: Int, startedAt: Date, heartbeatAt: Date, stoppedAt: Date?, alive: Bool, feeds: [String]) {
        self.name = name
        self.host = host
        self.pid = pid
        self.startedAt = startedAt
        self.heartbeatAt = heartbeatAt
        self.stoppedAt = stoppedAt
        self.alive = alive
        self.feeds = feeds
    }
}
