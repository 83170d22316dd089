import Foundation
import Logging
import MeterCore

/// Sends SMS replies through Gammu SMSD: one row in `outbox` per reply (`CreatorID =
/// 'metergate'`, `MultiPart = 'false'`, `Coding` `Default_No_Compression` for GSM-7 text,
/// `Unicode_No_Compression` otherwise), inserted together with a row in our own table
/// `metergate_replies` in the same SMSD transaction — so a reply handed over before a crash is
/// never handed over again — and followed up in `sentitems` (`GammuSMSDStore.checkSentItems`).
/// SQLite or PostgreSQL alike (`GammuSMSDStore.handOver`).
public struct GammuSMSDTransport: BatchReplyTransport {
    public let name: String
    public let database: any GammuSMSDStore
    public static let creatorID = "metergate"
    private let logger: Logger

    public init(name: String, database: any GammuSMSDStore, logger: Logger = Logger(label: "metergate.sms.gammu")) {
        self.name = name
        self.database = database
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
    }

    public func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        await deliver(batch: [reply])[0]
    }

    /// All of `replies` in one SMSD transaction: SMSD's own SQLite connection waits for no
    /// lock (it fails the statement and reconnects a second later), so we take the database
    /// as seldom and as briefly as we can.
    public func deliver(batch replies: [OutgoingReply]) async -> [DeliveryResult] {
        var results = [DeliveryResult](repeating: .delivered, count: replies.count)
        var sendable: [(index: Int, recipient: String, coding: String)] = []
        for (index, reply) in replies.enumerated() {
            let recipient = Contact.normalizePhone(reply.recipient)
            guard Contact.isReplyablePhone(recipient) else {
                results[index] = .failed(DeliveryFailure(.invalidRecipient, "\(Contact.mask(recipient)) is not a phone number SMSD can send to"))
                continue
            }
            let coding = SMSText.coding(of: reply.body) == .gsm7 ? "Default_No_Compression" : "Unicode_No_Compression"
            sendable.append((index, recipient, coding))
        }
        guard !sendable.isEmpty else { return results }
        do {
            try await database.handOver(sendable.map { item in
                GammuOutboxReply(replyID: replies[item.index].id, recipient: item.recipient, text: replies[item.index].body,
                                 coding: item.coding)
            }, feed: name)
        } catch {
            for item in sendable { results[item.index] = .retry(DeliveryFailure(.localFailure, "cannot hand the replies to gammu-smsd", cause: error)) }
            return results
        }
        _ = try? await database.checkSentItems(logger: logger, force: false)
        return results
    }
}
