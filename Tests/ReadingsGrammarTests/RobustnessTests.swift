import Foundation
import Testing
import TestSupport
@testable import ReadingsGrammar

/// Any input finishes quickly, bounded, without crashing.
struct RobustnessTests {
    private func timed(_ text: String, limit: Duration = .seconds(5)) -> ParseResult {
        var result: ParseResult?
        let elapsed = threadCPUTime { result = Fixture.parse(text) }
        #expect(elapsed < limit, "took \(elapsed)")
        return result!
    }

    static func randomBytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for i in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[i] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return bytes
    }

    @Test func tenMegabytesOfRandomBytes() {
        let text = String(decoding: Self.randomBytes(10 << 20, seed: 42), as: UTF8.self)
        let result = timed(text)
        #expect(result.interpretations.count <= Fixture.grammar.maxInterpretations)
    }

    @Test func hundredKilobyteLine() {
        let line = (0..<20_000).map { _ in "12 345" }.joined(separator: " ")
        let result = timed("1234567 " + line)
        #expect(result.limitReached)
    }

    @Test(arguments: [
        String(repeating: " ", count: 200_000), String(repeating: "-", count: 200_000),
        String(repeating: "\n", count: 200_000), String(repeating: ",.;:/", count: 40_000),
        String(repeating: "👍🏽", count: 50_000), String(repeating: "👨‍👩‍👧‍👦", count: 20_000),
        String(repeating: "☀️", count: 50_000), String(repeating: "a@", count: 50_000),
        String(repeating: "1", count: 200_000), String(repeating: "1 ", count: 100_000),
        String(repeating: "123 ", count: 50_000), String(repeating: "1.", count: 100_000),
        String(repeating: "д ", count: 100_000), String(repeating: "УИН ", count: 50_000),
        String(repeating: "8 (", count: 50_000), String(repeating: "+7", count: 50_000),
        String(repeating: "e\u{0301}", count: 50_000), String(repeating: "http://", count: 20_000),
        String(repeating: "> ", count: 50_000), String(repeating: "O1", count: 50_000),
    ])
    func pathologicalInputs(_ text: String) {
        _ = timed(text)
    }

    @Test func manyUINShapedNumbersHitTheCap() {
        let text = (0..<40).map { n in "\(1_000_000 + n) \(10_000 + n)" }.joined(separator: " ")
        let result = timed(text)
        #expect(result.interpretations.count <= Fixture.grammar.maxInterpretations)
        #expect(result.limitReached)
    }

    @Test func manyChainsStayBounded() {
        let text = "1234567 " + (0..<30).map { _ in "12 345" }.joined(separator: ", ")
        let result = timed(text)
        #expect(result.interpretations.count <= Fixture.grammar.maxInterpretations)
    }

    @Test func randomShortTextsKeepInvariants() {
        let alphabet = Array("0123456789 ,.-:/\nдночьУИНт1O☀️тел+()".unicodeScalars)
        var state: UInt64 = 7
        for _ in 0..<3000 {
            var text = String.UnicodeScalarView()
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let length = Int(state >> 58)
            for _ in 0..<length * 2 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                text.append(alphabet[Int(state >> 33) % alphabet.count])
            }
            let result = Fixture.parse(String(text))
            let bytes = result.normalized.utf8.count
            #expect(result.tokens.allSatisfy { $0.range.upperBound <= bytes && $0.range.lowerBound >= 0 })
            #expect(result.interpretations.map(\.penalty) == result.interpretations.map(\.penalty).sorted())
            #expect(Set(result.interpretations.map(\.submissions)).count == result.interpretations.count)
            #expect(result.interpretations.allSatisfy { !$0.submissions.isEmpty })
        }
    }
}
