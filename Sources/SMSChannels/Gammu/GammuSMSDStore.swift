import Logging

/// Gammu SMSD's SQL database, as the inbox source and the outbox transport use it: one narrow
/// protocol, two implementations with the same semantics — `GammuSMSDDatabase` (SQLite,
/// `driver = sqlite3`) and `GammuSMSDPostgres` (`driver = native_pgsql`).
///
/// The life of an inbox row: `unprocessed` reads it (`Processed = 'false'`), `claim` takes it
/// for this instance (so that another metergate polling the same database does not take it
/// too), the pipeline records it in the ledger, then `markProcessed` sets `Processed = 'true'`
/// and ends the claim. `releaseClaims` ends a claim without marking (a poll that returned
/// nothing, a failed ledger write: the rows are polled again).
public protocol GammuSMSDStore: Sendable {
    /// The database for messages: a file path, or a URL without its password.
    var label: String { get }

    /// Up to `limit` unprocessed rows in `ID` order, and the already processed rows with IDs from
    /// `lookback` before the first of them up to the last (to recognise an SMS SMSD stored twice).
    /// Ends any claim still open (from a poll whose batch was never acknowledged).
    func unprocessed(limit: Int, lookback: Int64) async throws -> (rows: [GammuInboxRow], earlier: [GammuInboxRow])

    /// Takes `ids` for this instance until `markProcessed` or `releaseClaims`; returns the IDs
    /// it got: the rest are another instance's or were processed meanwhile.
    func claim(_ ids: [Int64]) async throws -> Set<Int64>

    /// `Processed = 'true'` on `ids` (at once, or as the end of the open claim).
    func markProcessed(_ ids: [Int64]) async throws

    /// Ends the open claim, if any, leaving its rows unprocessed.
    func releaseClaims() async

    /// Puts replies in `outbox` (`CreatorID = 'metergate'`), each noted in `metergate_replies` in
    /// the same transaction; a reply noted there before (handed over before a crash) is skipped.
    func handOver(_ replies: [GammuOutboxReply], feed: String) async throws

    /// Reads the fate of handed-over replies from `sentitems`; logs and returns the failures.
    @discardableResult
    func checkSentItems(logger: Logger, force: Bool) async throws -> [(replyID: Int64, status: String)]
}

/// One row of SMSD's `inbox`, as both databases give it.
public struct GammuInboxRow: Sendable {
    public var id: Int64
    public var sender: String
    public var text: String
    /// `YYYY-MM-DD HH:MM:SS`, SMSD's local time.
    public var receivedAt: String
    public var udh: String
    /// The `Text` column (hex of what the network sent).
    public var raw: String
    /// Seconds since SMSD stored (or last updated) the row, by the database's clock.
    public var age: Double
    /// `MessageID`/`SequencePosition`/`PartCount`, where the schema has them and the row is a part.
    public var multipart: (message: Int64, sequence: Int, total: Int)?

    public init(id: Int64, sender: String, text: String, receivedAt: String, udh: String, raw: String, age: Double,
                multipart: (message: Int64, sequence: Int, total: Int)? = nil) {
        self.id = id
        self.sender = sender
        self.text = text
        self.receivedAt = receivedAt
        self.udh = udh
        self.raw = raw
        self.age = age
        self.multipart = multipart
    }
}

/// One reply for SMSD's `outbox`.
public struct GammuOutboxReply: Sendable {
    /// The ledger's outbox id.
    public var replyID: Int64
    /// E.164.
    public var recipient: String
    public var text: String
    /// `Default_No_Compression` (GSM-7) or `Unicode_No_Compression`.
    public var coding: String

    public init(replyID: Int64, recipient: String, text: String, coding: String) {
        self.replyID = replyID
        self.recipient = recipient
        self.text = text
        self.coding = coding
    }
}

extension GammuSMSDStore {
    /// A failed reply's status in `sentitems`.
    static func failed(_ status: String) -> Bool {
        status == "SendingError" || status == "Error" || status == "DeliveryFailed"
    }
}
