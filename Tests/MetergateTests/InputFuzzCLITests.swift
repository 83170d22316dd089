import Foundation
import Testing

/// Fuzz of the replay line decoder through the real binary: mutated JSONL lines (seeds in
/// Tests/Fuzz/corpus/replay), a file at a time, for `METERGATE_FUZZ_SECONDS` (default 3 s;
/// scripts/test.sh runs 60 s). Every run exits 0 or 1 with one outcome line per input line.
@Suite("Fuzz: replay line decoder")
struct ReplayFuzzTests {
    static let tokens: [String] = [
        "true", "false", "null", "1e300", "-1", "[]", "{}", "\"", "\\", "\\u0000", "\\u2028", "\\n", ",", ":",
        "\"id\"", "\"raw_base64\"", "\"received_at\"", "\"9999-12-31T23:59:59Z\"", "18446744073709551616", "\u{1B}[2J",
    ]

    @Test("mutated replay lines never crash the decoder; exit 0 or 1, one outcome line per line")
    func fuzzReplayLines() async throws {
        let root = Metergate.packageRoot.appendingPathComponent("Tests/Fuzz/corpus/replay")
        let seeds = try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil).sorted { $0.path < $1.path }
            .map { String(decoding: try Data(contentsOf: $0), as: UTF8.self).trimmingCharacters(in: .newlines) }
        try #require(!seeds.isEmpty)
        let sandbox = try Sandbox("fuzzreplay")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let seconds = max(1, Double(ProcessInfo.processInfo.environment["METERGATE_FUZZ_SECONDS"] ?? "") ?? 3)  // 0 (no fuzzing in test.sh) still runs one second here
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var state = seed
        func below(_ n: Int) async -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return n <= 1 ? 0 : Int((state ^ (state >> 29)) % UInt64(n))
        }
        let deadline = Date().addingTimeInterval(seconds)
        var lines = 0, runs = 0
        while Date() < deadline {
            var batch: [String] = []
            for index in 0..<500 {
                var scalars = await Array(seeds[below(seeds.count)].unicodeScalars)
                for _ in await 0...below(3) {
                    let at = await below(scalars.count + 1)
                    switch await below(4) {
                    case 0: await scalars.insert(contentsOf: Self.tokens[below(Self.tokens.count)].unicodeScalars, at: at)
                    case 1 where at < scalars.count: await scalars.removeSubrange(at..<min(scalars.count, at + 1 + below(6)))
                    case 2 where at < scalars.count: scalars[at] = await Unicode.Scalar(UInt8(truncatingIfNeeded: below(256)))
                    default: await scalars.append(contentsOf: Self.tokens[below(Self.tokens.count)].unicodeScalars)
                    }
                }
                var line = String(String.UnicodeScalarView(scalars))
                // Ids unique per line, so "already seen" does not hide the decoder's work.
                line = line.replacingOccurrences(of: "\"id\": \"m", with: "\"id\": \"r\(runs)-\(index)-")
                batch += line.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
                    .filter { !$0.allSatisfy { $0 == " " || $0 == "\t" || $0 == "\r" } }
            }
            let (result, outcomes) = try await sandbox.replay(batch, config: config, name: "fuzz.jsonl", timeout: 120)
            runs += 1
            lines += batch.count
            if result.status > 1 || result.timedOut || result.stderr.contains("Fatal error") || outcomes.count != batch.count {
                let kept = sandbox.file("fuzz.jsonl")
                let copy = FileManager.default.temporaryDirectory.appendingPathComponent("metergate-fuzz-replay-\(seed).jsonl")
                try? FileManager.default.copyItem(at: kept, to: copy)
                Issue.record("seed \(seed): exit \(result.status), \(outcomes.count) lines for \(batch.count); input kept at \(copy.path): \(result.stderr.prefix(500))")
                return
            }
        }
        print("fuzz replay: \(lines) lines in \(runs) runs in \(seconds) s, \(seconds > 0 ? Int(Double(lines) / seconds) : 0) lines/s, seed \(seed)")
    }
}
