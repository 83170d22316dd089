import Foundation
import Ledger
import MeterCore
import Testing
@testable import Gateway

/// Replay's pure stage fills one slot per line from every core at once: no slot may be lost or
/// land on another line, however the workers interleave.
@Suite struct ReplayBatchTests {
    /// Knows every UIN that ends in an even digit.
    struct EvenAccounts: AccountLookup {
        func accounts(_ uins: [String]) throws -> [String: Account?] {
            var found: [String: Account?] = [:]
            for uin in uins {
                found[uin] = (uin.last?.wholeNumberValue ?? 1) % 2 == 0 ? Account(uin: uin, meters: ["T1"]) : nil
            }
            return found
        }
    }

    @Test func everyLineKeepsItsOwnSlotOnEveryCore() throws {
        let count = 2_000
        var lines: [(line: Int, bytes: ArraySlice<UInt8>)] = []
        for number in 1...count {
            // Every seventh line is not JSON: it takes a slot of `entries` and none of `prepared`.
            let text = number % 7 == 0
                ? "not json \(number)"
                : #"{"id":"m\#(number)","from":"+7903\#(1_000_000 + number)","text":"\#(1_000_000 + number) \#(number)"}"#
            lines.append((number, ArraySlice(Array(text.utf8))))
        }
        let processor = PipelineTests.processor
        let readers: [any AccountLookup] = Array(repeating: EvenAccounts(), count: 4)
        for _ in 0..<12 {
            let (entries, prepared) = ReplayBatch.prepare(lines, processor, readers)
            #expect(entries.map(\.line) == Array(1...count))
            var expected: [String] = []
            for (entry, number) in zip(entries, 1...count) {
                switch entry.parsed {
                case .message(let message):
                    #expect(number % 7 != 0 && message.externalID == "m\(number)")
                    expected.append("m\(number)")
                case .bad:
                    #expect(number % 7 == 0)
                }
            }
            #expect(prepared.map(\.incoming.externalID) == expected)
            var looked = 0
            for message in prepared {
                let uin = String(1_000_000 + Int(message.incoming.externalID.dropFirst())!)
                guard message.candidateUINs.contains(uin) else { continue }
                looked += 1
                let even = (uin.last?.wholeNumberValue ?? 1) % 2 == 0
                #expect(message.accounts[uin].map { $0 != nil } == even, "\(uin)")
            }
            #expect(looked == expected.count)
        }
    }
}
