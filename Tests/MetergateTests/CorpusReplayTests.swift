import Foundation
import Testing

/// The public corpus, scored the way shared/corpus/score.py scores it, one test case per line.
@Suite("Public corpus replay")
struct CorpusReplayTests {
    static let recording: Set<String> = ["accepted", "held", "duplicate"]

    @Test("accounts import and replay exit 0, one outcome line per input line, in order")
    func wholeRun() async throws {
        let replay = try await CorpusReplay.shared.value
        #expect(replay.importRun.status == 0, "\(replay.importRun)")
        #expect(!replay.importRun.timedOut)
        #expect(replay.replayRun.status == 0, "\(replay.replayRun)")
        #expect(!replay.replayRun.timedOut)
        #expect(replay.problems.isEmpty, "unparsable outcome lines: \(replay.problems)")
        #expect(replay.cases.count == 76)
        #expect(replay.outcomes.count == replay.cases.count, "\(replay.outcomes.count) outcome lines for \(replay.cases.count) inputs")
        #expect(replay.outcomes.map(\.id) == replay.cases.map(\.id), "outcome ids out of order")
    }

    @Test("corpus case", arguments: try CorpusCase.all())
    func corpusCase(_ item: CorpusCase) async throws {
        let replay = try await CorpusReplay.shared.value
        let out = try #require(replay.byID[item.id], "no outcome line for \(item.id) at its position")
        let expect = item.expect
        let status = out.status ?? "<none>"
        let results = out.results
        let recorded = results.filter { Self.recording.contains($0.status ?? "") }

        // Statuses are from the contract's list; readings are normalised decimal strings.
        #expect(["accepted", "duplicate", "held", "rejected", "ignored"].contains(status), "status \(status): \(out)")
        for result in results {
            for reading in result.readings ?? [] {
                #expect(isNormalisedDecimal(reading), "reading '\(reading)' is not a normalised decimal: \(out)")
            }
        }

        // WRONG: nothing recorded that is not expected.
        switch expect.status {
        case "accepted", "held", "duplicate":
            for result in recorded {
                let want = expect.results.first { $0.uin == result.uin }
                if let want, let readings = want.readings, want.status != "rejected" {
                    #expect(sameReadings(result.readings, readings),
                            "WRONG: recorded \(result.uin ?? "?") \(result.readings ?? []) instead of \(readings): \(out)")
                } else {
                    Issue.record("WRONG: recorded unexpected account \(result.uin ?? "?"): \(out)")
                }
            }
        case "rejected", "not_accepted", "ignored":
            #expect(status != "accepted" && !results.contains { $0.status == "accepted" }, "WRONG: accepted: \(out)")
        case "any":
            for result in recorded {
                let allowed = expect.results.contains { $0.uin == result.uin && sameReadings(result.readings, $0.readings ?? []) }
                #expect(allowed, "WRONG: recorded a value the message does not give: \(result.uin ?? "?") \(result.readings ?? []): \(out)")
            }
        default:
            Issue.record("unknown expectation \(expect.status)")
        }

        // Accepted: same UINs (in UIN order), statuses and readings.
        if expect.status == "accepted" {
            #expect(status == "accepted", "expected accepted: \(out)")
            let want = expect.results.sorted { $0.uin < $1.uin }
            let got = results.sorted { ($0.uin ?? "") < ($1.uin ?? "") }
            #expect(want.count == got.count, "expected \(want.count) result(s): \(out)")
            for (w, g) in zip(want, got) {
                #expect(g.uin == w.uin, "uin \(g.uin ?? "nil") instead of \(w.uin): \(out)")
                #expect(g.status == (w.status ?? "accepted"), "result status: \(out)")
                if let readings = w.readings {
                    #expect(sameReadings(g.readings, readings), "readings \(g.readings ?? []) instead of \(readings): \(out)")
                }
            }
        }

        // Reasons where named.
        if let reason = expect.reason {
            #expect(out.anyReason == reason, "reason \(out.anyReason ?? "nil") instead of \(reason): \(out)")
        }
        for w in expect.results {
            if let reason = w.reason {
                let g = results.first { $0.uin == w.uin }
                #expect(g?.reason == reason, "result \(w.uin) reason \(g?.reason ?? "nil") instead of \(reason): \(out)")
            }
        }

        // Statuses; rejects.
        if ["ignored", "held", "duplicate"].contains(expect.status) {
            #expect(status == expect.status, "status \(status) instead of \(expect.status): \(out)")
        }
        if expect.status == "rejected" {
            #expect(status == "rejected", "status \(status) instead of rejected: \(out)")
        }
        if expect.status == "not_accepted" {
            #expect(["rejected", "held", "ignored"].contains(status), "status \(status) instead of rejected/held/ignored: \(out)")
        }

        // Replies: null when ignored, otherwise non-empty; SMS replies fit one segment.
        let reply = try #require(out.reply, "the outcome has no \"reply\" key: \(out)")
        if status == "ignored" {
            #expect(reply == nil, "an ignored outcome must have reply null: \(out)")
        } else {
            let text = try #require(reply, "missing reply: \(out)")
            #expect(!text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "empty reply: \(out)")
            if item.channel == "sms" {
                #expect(SMSSegment.problem(text) == nil, "\(SMSSegment.problem(text) ?? ""): \(text)")
            }
        }
    }
}
