import Foundation
import Testing

/// The operator queue of held readings: `review list`, `review approve ID`, `review reject ID`.
@Suite("review round trip")
struct ReviewTests {
    /// `#12 uin=…` → (12, the line).
    static func listed(_ text: String) -> [(id: String, line: String)] {
        text.split(separator: "\n").compactMap { line in
            guard let match = line.range(of: #"#[0-9]+"#, options: .regularExpression) else { return nil }
            return (String(line[match].dropFirst()), String(line))
        }
    }

    @Test("held → listed → approved (export: accepted) / rejected (never accepted); unknown id fails")
    func roundTrip() async throws {
        let sandbox = try Sandbox("review")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let (replay, outcomes) = try await sandbox.replay([
            try sms("h1", "2000001 7000", from: "+79037770001"),
            try sms("h2", "2000002 9999", from: "+79037770002"),
            try sms("ok", "7654321 600", from: "+79811567352"),
        ], config: config)
        #expect(replay.status == 0, "\(replay)")
        try #require(outcomes.count == 3)
        #expect(outcomes[0].status == "held" && outcomes[0].anyReason == "implausible", "\(outcomes[0])")
        #expect(outcomes[1].status == "held" && outcomes[1].anyReason == "implausible", "\(outcomes[1])")
        #expect(outcomes[2].status == "accepted", "\(outcomes[2])")
        for outcome in outcomes.prefix(2) {
            let reply = outcome.reply.flatMap { $0 } ?? ""
            #expect(!reply.isEmpty && SMSSegment.problem(reply) == nil, "held reply: \(outcome)")
        }

        let list = try await sandbox.run(["review", "list", "--config", config])
        #expect(list.status == 0, "\(list)")
        let items = Self.listed(list.stdoutText)
        #expect(items.count == 2, "two held readings: \(list.stdoutText)")
        let first = try #require(items.first { $0.line.contains("2000001") }, "2000001 not listed: \(list.stdoutText)")
        let second = try #require(items.first { $0.line.contains("2000002") }, "2000002 not listed: \(list.stdoutText)")
        #expect(first.line.contains("7000"), "the list shows the value: \(first.line)")
        #expect(!list.stdoutText.contains("7654321"), "an accepted reading is not in the review queue")

        let (before, _, rowsBefore) = try await sandbox.exportRows(config: config)
        try #require(before.status == 0)
        #expect(rowsBefore.first { $0["uin"] == "2000001" }?["status"] == "held", "\(before.stdoutText)")

        let approve = try await sandbox.run(["review", "approve", first.id, "--config", config])
        #expect(approve.status == 0, "\(approve)")
        let reject = try await sandbox.run(["review", "reject", second.id, "--config", config])
        #expect(reject.status == 0, "\(reject)")

        // Both decisions queue a reply to the sender (replay's own replies are never queued).
        let status = try await sandbox.run(["status", "--config", config])
        #expect(status.stdoutText.contains("outbox: pending 2,"), "approve and reject each queue a reply: \(status.stdoutText)")

        let (after, _, rows) = try await sandbox.exportRows(config: config)
        #expect(after.status == 0)
        let approved = rows.filter { $0["uin"] == "2000001" }
        #expect(approved.count == 1 && approved.first?["status"] == "accepted" && approved.first?["value"] == "7000",
                "approved → accepted: \(after.stdoutText)")
        #expect(!rows.contains { $0["uin"] == "2000002" && $0["status"] == "accepted" }, "rejected must not be accepted: \(after.stdoutText)")
        #expect(!rows.contains { $0["uin"] == "2000002" && $0["status"] == "held" }, "a rejected reading is no longer held: \(after.stdoutText)")
        #expect(rows.contains { $0["uin"] == "7654321" && $0["status"] == "accepted" })

        let empty = try await sandbox.run(["review", "list", "--config", config])
        #expect(empty.status == 0)
        #expect(Self.listed(empty.stdoutText).isEmpty, "the queue is empty after the decisions: \(empty.stdoutText)")

        // Deciding twice, or an id that never existed, fails.
        let twice = try await sandbox.run(["review", "approve", first.id, "--config", config])
        #expect(twice.status != 0, "approving an already decided reading: \(twice)")
        let unknown = try await sandbox.run(["review", "approve", "987654", "--config", config])
        #expect(unknown.status != 0, "\(unknown)")
        #expect(!unknown.stderr.isEmpty, "the failure says why")
        let unknownReject = try await sandbox.run(["review", "reject", "987654", "--config", config])
        #expect(unknownReject.status != 0, "\(unknownReject)")

        // The approved value is the next period's baseline: a smaller reading then is decreasing
        // (within its own period a smaller one would be a correction).
        let (_, later) = try await sandbox.replay([
            try sms("h3", "2000001 6000", from: "+79037770001", at: "2026-12-01T10:00:00+03:00"),
        ], config: config, name: "later.jsonl")
        #expect(later.first?.status == "rejected" && later.first?.anyReason == "decreasing", "\(later)")
    }
}
