import Foundation
import Testing
@testable import ReadingsGrammar

/// Throughput; run in release: `swift test -c release --filter BenchmarkTests` after enabling,
/// or `FuzzParser --bench N` (preferred).
struct BenchmarkTests {
    @Test(.disabled("benchmark: run on demand"))
    func typicalTextsPerSecond() {
        let texts = ["8986432 17281", "УИН 3462933 38318", "л/с 841464364049 Т1 9640 Т2 3955", "014417241 33690,5",
                     "Добрый день! Мой УИН 4887366, показания 27751. Спасибо", "009547501237 41 011"]
        let clock = ContinuousClock()
        let count = 100_000
        let elapsed = clock.measure {
            for n in 0..<count { _ = Fixture.parse(texts[n % texts.count]) }
        }
        print("texts/s: \(Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))")
    }
}
