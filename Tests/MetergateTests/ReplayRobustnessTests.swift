import Foundation
import Testing

@Suite("Replay: re-replay and hostile input")
struct ReplayRobustnessTests {
    @Test("replaying the same file again: every outcome ignored, nothing recorded twice")
    func reReplay() async throws {
        let sandbox = try Sandbox("rereplay")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("accounts.csv", try Fixture.data("accounts.csv"))
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let cases = try await CorpusCase.all()
        try sandbox.write("input.jsonl", cases.map(\.input).joined(separator: "\n") + "\n")

        let first = try await sandbox.run(["replay", "input.jsonl", "--config", config], timeout: 120)
        try #require(first.status == 0, "\(first)")
        let firstOutcomes = try first.stdoutLines.map(OutcomeLine.parse)
        #expect(firstOutcomes.count == cases.count)
        #expect(firstOutcomes.contains { $0.status == "accepted" }, "the first replay accepted nothing")
        let (export1, _, rows1) = try await sandbox.exportRows(config: config)
        try #require(export1.status == 0, "\(export1)")
        #expect(rows1.count > 50, "the corpus records more than 50 meter readings, export has \(rows1.count)")

        let second = try await sandbox.run(["replay", "input.jsonl", "--config", config], timeout: 120)
        #expect(second.status == 0, "\(second)")
        let outcomes = try second.stdoutLines.map(OutcomeLine.parse)
        #expect(outcomes.map(\.id) == cases.map(\.id), "one outcome per input line, in order")
        for outcome in outcomes {
            #expect(outcome.status == "ignored", "already seen: \(outcome)")
            #expect(outcome.reply.map { $0 == nil } == true, "ignored → reply null: \(outcome)")
        }
        let (export2, _, rows2) = try await sandbox.exportRows(config: config)
        #expect(export2.status == 0)
        #expect(rows2.count == rows1.count, "export rows \(rows1.count) before, \(rows2.count) after re-replay")
        #expect(export2.stdoutText == export1.stdoutText, "the export changed after a re-replay")
    }

    /// One hostile message: exactly one outcome line, exit 0, done in seconds.
    struct Hostile: Sendable, CustomTestStringConvertible {
        var name: String
        var make: @Sendable () throws -> String
        var allowed: Set<String>
        var reasons: Set<String>?
        var channel = "sms"
        var testDescription: String { name }
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { buffer in
            let words = buffer.bindMemory(to: UInt64.self)
            for index in words.indices {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                words[index] = state ^ (state >> 29)
            }
        }
        return bytes
    }

    static func nestedMultipart(depth: Int) -> String {
        var raw = "From: deep@example.ru\r\nTo: readings@example.test\r\nSubject: nested\r\nMessage-ID: <deep@example.ru>\r\nMIME-Version: 1.0\r\n"
        raw += "Content-Type: multipart/mixed; boundary=\"b0\"\r\n\r\n"
        for level in 1..<depth {
            raw += "--b\(level - 1)\r\nContent-Type: multipart/mixed; boundary=\"b\(level)\"\r\n\r\n"
        }
        raw += "--b\(depth - 1)\r\nContent-Type: text/plain\r\n\r\n1234567 12100 6050\r\n"
        for level in stride(from: depth - 1, through: 0, by: -1) { raw += "--b\(level)--\r\n" }
        return raw
    }

    static let hostile: [Hostile] = [
        Hostile(name: "SMS of 10 MB random bytes (lossy UTF-8)", make: {
            // Built by hand: JSONSerialization takes half a minute over 10 MB in a debug build.
            fastJSONLine([("id", "big"), ("channel", "sms"), ("from", "+79031234567"),
                          ("text", lossyUTF8(randomBytes(10 << 20, seed: 42)))])
        }, allowed: ["rejected"], reasons: ["too_large", "unparsed"]),
        Hostile(name: "100 KB line of digits and spaces", make: {
            var text = ""
            var state: UInt64 = 7
            while text.utf8.count < 100_000 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let length = Int((state >> 33) % 9) + 1
                text += String(String(state >> 20).prefix(length)) + " "
            }
            return try sms("digits", text)
        }, allowed: ["rejected", "held", "accepted", "duplicate"], reasons: nil),
        Hostile(name: "separators only", make: {
            try sms("seps", ",,,;;;---   ///")
        }, allowed: ["rejected"], reasons: ["unparsed"]),
        Hostile(name: "e-mail with multiparts nested 10,000 deep", make: {
            fastJSONLine([("id", "deep"), ("channel", "email"), ("raw", nestedMultipart(depth: 10_000))])
        }, allowed: ["rejected", "accepted", "held", "ignored"], reasons: nil, channel: "email"),
        Hostile(name: "e-mail raw of 2 MB", make: {
            var raw = "From: big@example.ru\r\nTo: readings@example.test\r\nSubject: 1234567 12100 6050\r\nMessage-ID: <big@example.ru>\r\n\r\n"
            let line = String(repeating: "x", count: 998) + "\r\n"
            while raw.utf8.count < 2 << 20 { raw += line }
            return fastJSONLine([("id", "bigmail"), ("channel", "email"), ("raw", raw)])
        }, allowed: ["rejected"], reasons: ["too_large"], channel: "email"),
        Hostile(name: "binary garbage as raw e-mail", make: {
            fastJSONLine([("id", "garbage"), ("channel", "email"), ("raw", lossyUTF8(randomBytes(64 << 10, seed: 9)))])
        }, allowed: ["rejected", "ignored"], reasons: nil, channel: "email"),
    ]

    @Test("hostile message", arguments: hostile)
    func hostileMessage(_ item: Hostile) async throws {
        let sandbox = try Sandbox("hostile")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let line = try item.make()
        let (result, outcomes) = try await sandbox.replay([line], config: config, timeout: 120)
        #expect(!result.timedOut, "replay hung: \(result)")
        #expect(result.status == 0, "\(result)")
        // Bounded work: a few seconds of CPU in a debug build. The wall-clock bound is generous
        // because a parallel suite shares 2 cores with several daemons; a hang is caught above
        // (killed after 120 s) and by this bound all the same.
        #expect(result.elapsed < 60, "replay of one message took \(result.elapsed) s")
        #expect(!result.stderr.contains("Fatal error"), "crash: \(result.stderr.prefix(2000))")
        try #require(outcomes.count == 1, "expected exactly one outcome line, got \(outcomes.count): \(result)")
        let outcome = outcomes[0]
        #expect(item.allowed.contains(outcome.status ?? ""), "status: \(outcome)")
        if let reasons = item.reasons {
            #expect(reasons.contains(outcome.anyReason ?? ""), "reason: \(outcome)")
        }
        if outcome.status != "ignored" {
            let reply = outcome.reply.flatMap { $0 } ?? ""
            #expect(!reply.isEmpty, "no reply: \(outcome)")
            if item.channel == "sms" {
                #expect(SMSSegment.problem(reply) == nil, "\(SMSSegment.problem(reply) ?? ""): \(reply)")
            }
        }
    }

    @Test("invalid JSON lines get an outcome line each; the other lines are still processed")
    func invalidJSONLines() async throws {
        let sandbox = try Sandbox("badjson")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let lines = [
            try sms("ok1", "7654321 600", from: "+79811567352"),
            "{not json at all",
            "[1, 2, 3]",
            "{\"channel\": \"sms\", \"text\": \"no id\"}",
            try sms("ok2", "1234567 12100 6050"),
        ]
        let (result, outcomes) = try await sandbox.replay(lines, config: config)
        #expect(result.status == 1, "bad lines make replay exit 1 (after processing the good ones): \(result)")
        try #require(outcomes.count == 5, "one outcome line per input line: \(result)")
        #expect(outcomes[0].id == "ok1")
        #expect(outcomes[0].status == "accepted", "\(outcomes[0])")
        #expect(outcomes[4].id == "ok2")
        #expect(outcomes[4].status == "accepted", "\(outcomes[4])")
        for bad in outcomes[1...3] {
            #expect(bad.status == "rejected", "\(bad)")
        }
        #expect(Set(outcomes.map(\.id)).count == 5, "each bad line needs its own id: \(outcomes.map(\.id))")
        #expect(result.stderr.contains(":2:"), "the bad line number should be reported on stderr: \(result.stderr)")
    }
}
