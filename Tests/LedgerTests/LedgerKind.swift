import Foundation
import Ledger
import LedgerSQLite
import Testing

/// One implementation of the ledger's boundary, as the compatibility suite meets it: a fresh,
/// empty ledger for every test.
///
/// A new implementation joins by adding a kind to `all` (PostgreSQL: made from a database the
/// project's peer script started, and skipped, not passed, when that peer is missing).
struct LedgerKind: Sendable, CustomTestStringConvertible {
    let name: String
    let make: @Sendable () throws -> any LedgerDriver

    var testDescription: String { name }

    static let all: [LedgerKind] = [sqlite, memory]

    static let sqlite = LedgerKind(name: "sqlite") {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-compat-\(UUID().uuidString)")
        return try SQLiteStore.open(path: directory.appendingPathComponent("metergate.sqlite").path)
    }

    static let memory = LedgerKind(name: "memory") { InMemoryLedger() }
}

/// Runs blocking ledger calls (`markReplyCommitting`, account lookups) off the cooperative
/// pool, on a thread of their own, as a transfer's thread or the replay engine does.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}

func message(
    _ id: String, channel: String = "sms", feed: String = "test", sender: String? = "+79030000000", at date: Date = Date(),
    raw: [UInt8]? = nil, status: String = "accepted", reason: String? = nil
) -> NewMessage {
    NewMessage(
        channel: channel, externalID: id, feed: feed, sender: sender, receivedAt: date, subject: nil,
        text: "1234567 12345", raw: raw, status: status, reason: reason, outcomeJSON: "{}", reply: "ok")
}

func reply(_ recipient: String, channel: String = "email", body: String = "text", messageID: Int64? = nil, state: NewReply.State = .pending) -> NewReply {
    NewReply(
        messageID: messageID, channel: channel, recipient: recipient, subject: channel == "email" ? "Re: x" : nil,
        inReplyTo: "<1@b>", references: ["<0@b>", "<1@b>"], body: body, state: state)
}

func submission(_ messageID: Int64, uin: String = "1234567", status: String, period: String = "2026-11", values: [String]) -> NewSubmission {
    NewSubmission(
        messageID: messageID, uin: uin, period: period, status: status, reason: status == "held" ? "implausible" : nil,
        meters: ["T1", "T2"].prefix(values.count).map { $0 }, values: values, previous: values.map { _ in nil })
}
