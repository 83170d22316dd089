import DefaultFiles
import ReadingsGrammar

/// The built-in grammar, loaded once.
let builtInParser: MessageParser = {
    do {
        return MessageParser(grammar: try Grammar.load(files: DefaultFiles.grammar.map { ($0.name, $0.contents) }))
    } catch {
        fatalError("built-in grammar is broken: \(error)")
    }
}()

#if FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let result = builtInParser.parse(text)
    // Invariants: ranges lie inside the normalised text; interpretations are distinct and ranked.
    let length = result.normalized.utf8.count
    for token in result.tokens where token.range.lowerBound < 0 || token.range.upperBound > length {
        fatalError("token range out of bounds: \(token)")
    }
    for (a, b) in zip(result.interpretations, result.interpretations.dropFirst()) where a.penalty > b.penalty {
        fatalError("interpretations not ranked")
    }
    if Set(result.interpretations.map(\.submissions)).count != result.interpretations.count {
        fatalError("interpretations not distinct")
    }
    return 0
}
#else
import Foundation

@main
struct FuzzParserMain {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.first == "--bench" {
            let count = arguments.count > 1 ? Int(arguments[1]) ?? 200_000 : 200_000
            let set = arguments.count > 2 ? arguments[2] : ""
            if set.hasSuffix(".jsonl") {
                // The "text" of each line of a replay file (e.g. Benchmarks/generate.py's realistic mix).
                bench(count, texts: texts(ofReplayFile: set))
            } else {
                bench(count, texts: set == "plain" ? plainSamples : samples)
            }
            return
        }
        if arguments.first == "--canonical" {
            // One line per text of a replay file: the whole parse result, to compare builds.
            let count = arguments.count > 2 ? Int(arguments[2]) ?? 100_000 : 100_000
            for text in texts(ofReplayFile: arguments.count > 1 ? arguments[1] : "", limit: count) {
                print(canonicalLine(builtInParser.parse(text)))
            }
            return
        }
        if arguments.first == "--text" {
            arguments.removeFirst()
            for text in arguments { describe(builtInParser.parse(text)) }
            return
        }
        if arguments.isEmpty {
            print("usage: FuzzParser FILE... | --text TEXT... | --bench N [plain | REPLAY.jsonl] | --canonical REPLAY.jsonl [N]")
            return
        }
        for path in arguments {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                continue
            }
            let result = builtInParser.parse(String(decoding: data, as: UTF8.self))
            print("\(path): \(result.tokens.count) tokens, \(result.interpretations.count) interpretations, limit \(result.limitReached)")
        }
    }

    /// Everything a parse result holds, on one line (tokens with kinds and ranges, diagnostics,
    /// interpretations, limit, history).
    static func canonicalLine(_ result: ParseResult) -> String {
        var line = result.normalized.debugDescription
        line += " |T " + result.tokens.map { "\($0.kind)@\($0.range.lowerBound)-\($0.range.upperBound)" }.joined(separator: " ")
        line += " |D " + result.diagnostics.map(\.description.debugDescription).joined(separator: " ")
        line += " |I " + result.interpretations.map { i in
            "\(i) " + i.submissions.map { s in "\(s.uinLabeled)" + s.readings.map { "[\($0.raw)]" }.joined() }.joined(separator: ",")
        }.joined(separator: " / ")
        line += " |L \(result.limitReached) |H " + (result.history.map { $0.uins.joined(separator: ",") } ?? "-")
        return line
    }

    static func describe(_ result: ParseResult) {
        print("normalized: \(result.normalized.debugDescription)")
        print("tokens: " + result.tokens.filter { $0.kind != .separator }.map { "\($0.kind):\($0.text.debugDescription)" }.joined(separator: " "))
        for d in result.diagnostics { print("  diag \(d)") }
        for i in result.interpretations { print("  \(i)") }
        if result.limitReached { print("  LIMIT REACHED") }
    }

    static let samples = [
        "8986432 17281", "6648892,40906,14995", "279514083;10760;5987", "0063801-36537-14605",
        "308967728 – 39103 – 11471", "558795465563 27803/8077", "564525386443\n3824\n4250\n6890",
        "УИН 3462933 38318", "уин: 004211430198 показания 36679 18225", "л/с 841464364049 Т1 9640 Т2 3955",
        "лиц.счет 4351970 пок. 153175", "5198535 Т1-12740 Т2-18361 Т3-22901", "5953328 день 21911 ночь 7779",
        "Добрый день! Мой УИН 4887366, показания 27751. Спасибо",
        "Здравствуйте. Передаю показания счетчика по УИН 7774294: день 17103, ночь 4563. С уважением, Петрова Н.В.",
        "4548163 155431 квт.ч", "014417241 33690,5", "009547501237 41 011", "4099669 11O77",
        "821847009862 ☀️7502 🌙2589 👍", "Показания на 20.11.2026: 6742473 5895 тел 89031234567",
        "269474975 44712 387018862329 344348", "Как передать показания?", "5886855 45552 26656",
    ]

    /// CPU time of this thread, in seconds (the wall clock lies on a shared machine).
    static func threadCPUTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// The commonest shapes: "UIN reading [reading]" with simple separators.
    static let plainSamples = [
        "8986432 17281", "5886855 45552 26656", "748547086 10137 12808 18728", "0017236 28334 5489",
        "6648892,40906,14995", "279514083;10760;5987", "0063801-36537-14605", "462283961091\t22120\t10294",
    ]

    static func texts(ofReplayFile path: String, limit: Int = 100_000) -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return samples }
        var texts: [String] = []
        // Only the first `limit` lines are split off (a replay file may hold millions).
        var lines: [Data] = []
        var start = data.startIndex
        while lines.count < limit, start < data.endIndex {
            let end = data[start...].firstIndex(of: 10) ?? data.endIndex
            if end > start { lines.append(data[start..<end]) }
            start = end + 1
        }
        for line in lines {
            if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
               let text = object["text"] as? String {
                texts.append(text)
            }
        }
        return texts.isEmpty ? samples : texts
    }

    static func bench(_ count: Int, texts samples: [String]) {
        var sink = 0
        for text in samples { sink &+= builtInParser.parse(text).interpretations.count }
        let clock = ContinuousClock()
        let start = clock.now
        let cpuStart = threadCPUTime()
        for n in 0..<count {
            sink &+= builtInParser.parse(samples[n % samples.count]).interpretations.count
        }
        let cpu = threadCPUTime() - cpuStart
        let elapsed = clock.now - start
        let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("\(count) texts (\(samples.count) kinds): \(Int(Double(count) / cpu)) texts/s per core (CPU time \(String(format: "%.3f", cpu)) s; wall \(String(format: "%.3f", wall)) s) [\(sink)]")
    }
}
#endif
