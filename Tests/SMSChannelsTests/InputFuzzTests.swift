import Foundation
import Testing
import MeterCore
@testable import SMSChannels

/// A small mutation fuzzer (deterministic PRNG, seeds from Tests/Fuzz/corpus): byte flips,
/// hostile tokens, truncation, splicing. Bounded by `METERGATE_FUZZ_SECONDS` (default 3 s;
/// scripts/test.sh runs 60 s).
struct Mutator {
    var state: UInt64
    let seeds: [[UInt8]]
    static let tokens: [String] = [
        "%", "%0", "%0A", "%0D%0A", "%zz", "%00", "%1B[2J", "&", "=", "+", "nan", "inf", "-1", "1e300",
        "9223372036854775808", "18446744073709551616", String(repeating: "9", count: 40), "\u{0}", "\n", "\u{2028}",
        "from=", "text=", "time=", "id=", "charset=UTF-16BE", "charset=WINDOWS-1251", "coding=2", "%FF%FE", "%D0",
    ]

    static var seconds: Double {
        max(1, Double(ProcessInfo.processInfo.environment["METERGATE_FUZZ_SECONDS"] ?? "") ?? 3)  // 0 still runs one second
    }

    mutating func next() -> UInt64 {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return state ^ (state >> 29)
    }

    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }

    mutating func input() -> [UInt8] {
        var bytes = seeds[below(seeds.count)]
        for _ in 0...below(4) {
            switch below(6) {
            case 0 where !bytes.isEmpty: bytes[below(bytes.count)] = UInt8(truncatingIfNeeded: next())
            case 1: bytes.insert(contentsOf: Array(Self.tokens[below(Self.tokens.count)].utf8), at: below(bytes.count + 1))
            case 2 where !bytes.isEmpty: bytes.removeSubrange(below(bytes.count)..<bytes.count)
            case 3:
                let other = seeds[below(seeds.count)]
                bytes = Array(bytes.prefix(below(bytes.count + 1))) + other.suffix(below(other.count + 1))
            case 4 where !bytes.isEmpty:
                let at = below(bytes.count)
                bytes.removeSubrange(at..<min(bytes.count, at + 1 + below(8)))
            default: bytes.append(contentsOf: Array(Self.tokens[below(Self.tokens.count)].utf8))
            }
        }
        return bytes
    }

    static func seeds(_ folder: String) throws -> [[UInt8]] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/\(folder)")
        let files = try FileManager.default.contentsOfDirectory(at: url, includingPropertiesForKeys: nil)
        return try files.sorted { $0.path < $1.path }.map { Array(try Data(contentsOf: $0)) }
    }
}

@Suite("Fuzz: Kannel query decoding")
struct KannelQueryFuzzTests {
    @Test("mutated get-url queries and post bodies decode or are refused; nothing traps; what decodes is sane")
    func fuzzKannelQueries() throws {
        let seeds = try Mutator.seeds("kannel")
        try #require(!seeds.isEmpty)
        let seed = UInt64(Date().timeIntervalSince1970 * 1000)
        var mutator = Mutator(state: seed, seeds: seeds)
        let deadline = Date().addingTimeInterval(Mutator.seconds)
        var runs = 0, decoded = 0
        while Date() < deadline {
            for _ in 0..<200 {
                let bytes = mutator.input()
                let query = String(decoding: bytes, as: UTF8.self)
                let headers = runs % 3 == 0 ? ["x-kannel-time": query, "content-type": "text/plain; charset=\"\(query.prefix(20))\""] : [:]
                runs += 1
                guard let message = try? KannelMessage.decode(query: query, headers: headers, body: runs % 5 == 0 ? bytes : nil)
                else { continue }
                decoded += 1
                #expect(!Contact.isOverlongPhone(message.from), "seed \(seed): \(query.debugDescription)")
                let incoming = message.incoming(feed: "k", now: Date())
                let outcome = Outcome(id: incoming.externalID, status: .ignored, reason: .autoReply, results: [], reply: nil)
                let line = OutcomeLogLine.text(outcome, channel: .sms, feed: "k", sender: incoming.sender, replyQueued: false)
                #expect(!line.unicodeScalars.contains { $0.value < 0x20 }, "seed \(seed): \(line.debugDescription)")
            }
        }
        print("fuzz kannel: \(runs) inputs (\(decoded) decoded) in \(Mutator.seconds) s, \(Mutator.seconds > 0 ? Int(Double(runs) / Mutator.seconds) : 0) exec/s, seed \(seed)")
        #expect(runs > 0 || Mutator.seconds == 0, "no input was tried")
    }
}
