import Foundation
import Ledger
import Logging
import PostgreSQL
import Synchronization

/// The ledger in PostgreSQL, shared by any number of `metergate run` instances (contract §7).
///
/// Four connections, each on a serial queue of its own (libpq blocks; never on the
/// cooperative pool): the writer (message transactions, imports, review), the outbox (due
/// replies and their marks, which must not wait behind a batch), the reader (views, export), and
/// the control connection (this instance's heartbeat and feed leases). A transaction returns
/// after its COMMIT (`synchronous_commit` as the server has it: on by default): a source may be
/// acknowledged then, never before. A transaction whose connection was lost runs again, from the
/// start, on a new connection (on the new primary after a fail-over); it asks first whether each
/// message is already recorded, so a COMMIT whose answer never came is never recorded twice.
public final class PostgresLedger: Sendable {
    let writer: PostgresLink
    let outbox: PostgresLink
    let reader: PostgresLink
    let control: PostgresLink
    let url: PostgresURL
    let password: String?
    public let instanceName: String
    let logger: Logger
    let leases = Mutex(Leases())
    let heartbeat: Heartbeat
    let heartbeatCount = Atomic<Int>(0)

    /// How long an instance's heartbeat may be silent before it counts as dead (its outbox claims
    /// and replies in doubt are then another instance's to take or hold).
    static let deadAfter: Double = 10
    /// How long a reply fetched for sending stays with its instance (renewed when fetched again).
    static let claimLease: Double = 120

    /// Whether this process is a running instance (`metergate run`): its heartbeat, leases and
    /// claims; a command (`status`, `accounts import`, …) is none and leaves them alone.
    let registered: Bool

    /// Connects and migrates; with `register`, announces `instance` and starts its heartbeat.
    public init(
        url: PostgresURL, password: String?, instance: String, register: Bool = true, reconnectFor: TimeInterval = 30, logger: Logger
    ) throws {
        registered = register
        self.url = url
        self.password = password
        instanceName = instance
        self.logger = logger
        let application = "metergate \(instance)".prefix(63)
        func link(_ label: String) -> PostgresLink {
            PostgresLink(url: url, password: password, label: label, applicationName: String(application), reconnectFor: reconnectFor)
        }
        writer = link("writer")
        outbox = link("outbox")
        reader = link("reader")
        control = link("control")
        heartbeat = Heartbeat()
        do {
            try control.runAtOpen { link in try PostgresMigrations.migrate(link) }
        } catch let error as LedgerError {
            throw error
        } catch let error as PostgresError where error.isConnectionProblem {
            throw LedgerError(.open, "cannot open the store \(url)", underlying: error)
        } catch {
            throw LedgerError(.migrate, "cannot migrate the store \(url)", underlying: error)
        }
        guard register else { return }
        _ = try wrap("write") { try control.runAtOpen { link in
            try link.query("""
                INSERT INTO instance (name, host, pid, started_at, heartbeat_at)
                VALUES ($1, $2, $3, extract(epoch FROM clock_timestamp()), extract(epoch FROM clock_timestamp()))
                ON CONFLICT (name) DO UPDATE SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
                    heartbeat_at = excluded.heartbeat_at, stopped_at = NULL
                """, [.text(instance), .text(ProcessInfo.processInfo.hostName), .of(Int(ProcessInfo.processInfo.processIdentifier))])
        } }
        heartbeat.start { [weak self] in self?.beat() ?? false }
    }

    /// Runs `body` in one write transaction on the writer's connection (group commit: any number
    /// of messages), blocking the calling thread (a thread of its own, never a task).
    public func transactionBlocking<T>(_ body: (any LedgerTransaction) throws -> T) throws -> T {
        let instance = instanceName
        let registered = registered
        return try wrap("write") {
            try writer.runBlocking { link in
                try link.transaction {
                    let transaction = PostgresBatchTransaction(link: link, instance: instance, lockSenders: registered)
                    let value = try body(transaction)
                    try transaction.flush()
                    return value
                }
            }
        }
    }

    /// A failure as the boundary names it: the store and the operation, PostgreSQL's words.
    func wrap<T>(_ operation: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as PostgresError {
            throw LedgerError(operation == "read" ? .read : .write, "the store \(url) refused the \(operation)", underlying: error)
        }
    }

    func wrap<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError {
            throw LedgerError(operation == "read" ? .read : .write, "the store \(url) refused the \(operation)", underlying: error)
        }
    }

    /// Reads on the reader's connection.
    func read<T: Sendable>(_ body: @escaping @Sendable (PostgresLink) throws -> T) async throws -> T {
        try await wrap("read") { try await reader.run(body) }
    }

    /// One transaction on the writer's connection.
    func write<T: Sendable>(_ body: @escaping @Sendable (PostgresLink) throws -> T) async throws -> T {
        try await wrap("write") { try await writer.run { link in try link.transaction { try body(link) } } }
    }

    /// One statement (or transaction) on the outbox's connection.
    func onOutbox<T: Sendable>(_ body: @escaping @Sendable (PostgresLink) throws -> T) async throws -> T {
        try await wrap("write") { try await outbox.run(body) }
    }

    /// The server's clock, in seconds since 1970 (leases and heartbeats never trust an instance's).
    static let serverNow = "extract(epoch FROM clock_timestamp())::double precision"
}

extension PostgresLedger: LedgerDriver {
    /// The URL without its password.
    public var location: String { url.description }

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any LedgerTransaction) throws -> T) async throws -> T {
        let instance = instanceName
        let registered = registered
        return try await wrap("write") {
            try await writer.run { link in
                try link.transaction {
                    let transaction = PostgresBatchTransaction(link: link, instance: instance, lockSenders: registered)
                    let value = try body(transaction)
                    try transaction.flush()
                    return value
                }
            }
        }
    }

    /// Stops the heartbeat, gives up this instance's feeds and unsent claims (another instance
    /// takes them at once), marks it stopped, and closes the connections.
    public func close() async throws {
        await heartbeat.stop()
        let instance = instanceName
        if registered { _ = try? await control.run(retry: .never) { link in
            try link.transaction {
                try link.query("DELETE FROM feed_lease WHERE instance = $1", [.text(instance)])
                try link.query(
                    "UPDATE outbox SET claimed_by = NULL, claim_until = NULL WHERE claimed_by = $1 AND state = 'pending' AND data_sent_at IS NULL",
                    [.text(instance)])
                try link.query("UPDATE instance SET stopped_at = \(Self.serverNow) WHERE name = $1", [.text(instance)])
            }
        } }
        leases.withLock { $0.held = [:] }
        for link in [writer, outbox, reader, control] { await link.close() }
    }
}

/// Opens the ledger in PostgreSQL: the one way in for code outside this module.
public enum PostgresStore {
    /// Connects to `url` (`postgres://…`, several hosts with `target_session_attrs=read-write`),
    /// migrates the schema, and registers `instance`.
    /// `register`: this process is a running instance (`metergate run`), not a command.
    public static func open(
        url: String, password: String? = nil, instance: String, register: Bool, logger: Logger
    ) throws -> any LedgerDriver & FeedLeasing {
        let parsed: PostgresURL
        do {
            parsed = try PostgresURL(parsing: url)
        } catch {
            throw LedgerError(.open, "store.url is not a PostgreSQL URL", underlying: error)
        }
        return try PostgresLedger(url: parsed, password: password, instance: instance, register: register, logger: logger)
    }
}

extension PostgresLedger {
    static func joined(_ values: [String]) -> String { values.joined(separator: ";") }
    static func joined(_ values: [String?]) -> String { values.map { $0 ?? "" }.joined(separator: ";") }
    static func split(_ text: String) -> [String] {
        text.isEmpty ? [] : text.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
    }
    static func splitOptional(_ text: String) -> [String?] {
        split(text).map { $0.isEmpty ? nil : $0 }
    }
    static func date(_ seconds: Double?) -> Date? { seconds.map(Date.init(timeIntervalSince1970:)) }
}
