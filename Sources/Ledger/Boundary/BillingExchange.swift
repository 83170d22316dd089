import Foundation

/// What billing and the ledger exchange: accounts in (billing's export), readings out.
public protocol BillingExchange: Sendable {
    /// Inserts or updates accounts in one transaction; with `replacing`, accounts absent from
    /// `accounts` are removed first. Returns how many were written.
    func importAccounts(_ accounts: [Account], replacing: Bool) async throws -> Int
    func accountCount() async throws -> Int
    func account(uin: String) async throws -> Account?
    /// Recorded readings (accepted, held, duplicate) received at or after `since`, one row
    /// per meter, oldest first, from the submission after `cursor`: a page of at most `limit`
    /// submissions and the cursor of the next page (nil at the end). A submission a later one
    /// of its period superseded is left out; with `includeSuperseded` it is listed too, with
    /// status `superseded` (`readings export --all`).
    func exportPage(since: Date?, after cursor: Int64, limit: Int, includeSuperseded: Bool) async throws -> ExportPage
    /// A lookup of accounts of its own (SQLite: a read-only connection), for one thread of
    /// the replay engine's pure stage while the writer records the batch before.
    func makeAccountLookup() throws -> any AccountLookup
}

extension BillingExchange {
    /// The current readings only: what billing reads (`readings export` without `--all`).
    public func exportPage(since: Date?, after cursor: Int64, limit: Int) async throws -> ExportPage {
        try await exportPage(since: since, after: cursor, limit: limit, includeSuperseded: false)
    }
}

/// Accounts looked up outside the writer's transaction, from one thread; blocking, so never
/// called from a task.
public protocol AccountLookup: Sendable {
    /// The accounts of `uins` (nil for an unknown UIN), read in one snapshot.
    func accounts(_ uins: [String]) throws -> [String: Account?]
}

/// A page of `readings export`.
public struct ExportPage: Sendable, Hashable {
    public var rows: [ExportRow]
    /// Where the next page starts; nil when this one is the last.
    public var next: Int64?

    public init(rows: [ExportRow], next: Int64?) {
        self.rows = rows
        self.next = next
    }
}
