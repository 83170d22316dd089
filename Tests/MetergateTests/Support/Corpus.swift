import Foundation
import Testing

/// One line of the public corpus (Fixtures/public.jsonl, a copy of shared/corpus/public.jsonl).
struct CorpusCase: Sendable, CustomTestStringConvertible {
    struct Expected: Sendable {
        struct Result: Sendable {
            var uin: String
            var readings: [String]?
            var status: String?
            var reason: String?
        }

        var status: String
        var reason: String?
        var results: [Result]
    }

    var id: String
    var kind: String
    var channel: String?
    /// The replay input: the case without `expect` and `kind`.
    var input: String
    var expect: Expected

    var testDescription: String { "\(id) (\(kind))" }

    static func all() throws -> [CorpusCase] {
        let text = try Fixture.text("public.jsonl")
        return try text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map { line in
            guard var object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let id = object["id"] as? String, let expect = object["expect"] as? [String: Any],
                  let status = expect["status"] as? String else {
                throw HarnessError(description: "corpus line is not a case: \(line.prefix(200))")
            }
            let kind = object["kind"] as? String ?? "?"
            object.removeValue(forKey: "expect")
            object.removeValue(forKey: "kind")
            let results = (expect["results"] as? [[String: Any]] ?? []).map { item in
                Expected.Result(
                    uin: "\(item["uin"] ?? "")", readings: (item["readings"] as? [Any])?.map { "\($0)" },
                    status: item["status"] as? String, reason: item["reason"] as? String)
            }
            return CorpusCase(
                id: id, kind: kind, channel: object["channel"] as? String, input: try replayLine(object),
                expect: Expected(status: status, reason: expect["reason"] as? String, results: results))
        }
    }
}

/// The whole public corpus replayed once (lazily, thread-safe) into a fresh store, the way
/// score.py does: `accounts import` then `replay`. Every per-case test reads its line here.
struct CorpusReplay: Sendable {
    var cases: [CorpusCase]
    var importRun: RunResult
    var replayRun: RunResult
    var outcomes: [OutcomeLine]
    /// Outcome matched to each case by position (exactly one line per input line, in order).
    var byID: [String: OutcomeLine]
    var problems: [String]

    /// Made once, on first use, by the first test that awaits it.
    static let shared = Task<CorpusReplay, any Error> { try await make() }

    static func make() async throws -> CorpusReplay {
        let cases = try CorpusCase.all()
        let sandbox = try Sandbox("corpus")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("accounts.csv", try Fixture.data("accounts.csv"))
        try sandbox.write("input.jsonl", cases.map(\.input).joined(separator: "\n") + "\n")
        let importRun = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 60)
        let replayRun = try await sandbox.run(["replay", "input.jsonl", "--config", config], timeout: 120)
        var problems: [String] = []
        var outcomes: [OutcomeLine] = []
        for line in replayRun.stdoutLines {
            do { outcomes.append(try OutcomeLine.parse(line)) } catch { problems.append("\(error)") }
        }
        var byID: [String: OutcomeLine] = [:]
        for (index, item) in cases.enumerated() where index < outcomes.count && outcomes[index].id == item.id {
            byID[item.id] = outcomes[index]
        }
        return CorpusReplay(
            cases: cases, importRun: importRun, replayRun: replayRun, outcomes: outcomes, byID: byID, problems: problems)
    }
}
