import Foundation
import Testing
@testable import ReadingsGrammar

/// Issue 13: a mail subject `1234567 ESC[31m12100 6050` read `31` (the colour's parameter) as
/// a reading. Control characters and terminal escape sequences never give digits: a sequence
/// is dropped whole and makes the text ambiguous; a lone control character separates tokens
/// and never joins the digits on either side of it.
@Suite struct ControlSequenceTests {
    /// Escape sequences of every kind, most with digits of their own.
    static let sequences: [String] = {
        var list: [String] = []
        // CSI, 7-bit and 8-bit, with parameters, sub-parameters, private markers, intermediates.
        for introducer in ["\u{1B}[", "\u{9B}"] {
            for parameters in ["", "31", "0", "1;31", "38;5;196", "38:2:255:0:0", "?25", ">4;2", "12100", "6050;6050", "999999999"] {
                for final in ["m", "H", "J", "K", "A", "h", "l", "q", "~", "@"] {
                    list.append(introducer + parameters + final)
                }
                list.append(introducer + parameters + " q")  // intermediate byte
            }
        }
        // OSC, DCS, SOS, PM, APC: strings ended by BEL or ST (ESC \ or 0x9C).
        for introducer in ["\u{1B}]", "\u{9D}", "\u{1B}P", "\u{90}", "\u{1B}X", "\u{98}", "\u{1B}^", "\u{9E}", "\u{1B}_", "\u{9F}"] {
            for body in ["0;pwned", "8;;http://phish.example/12100", "2;12345 67890", "1$r31m"] {
                for terminator in ["\u{07}", "\u{1B}\\", "\u{9C}"] {
                    list.append(introducer + body + terminator)
                }
            }
        }
        // Two- and three-byte ESC sequences: `ESC 7`, `ESC c`, `ESC ( B`, `ESC # 8`, `ESC % G`.
        list += ["\u{1B}7", "\u{1B}8", "\u{1B}c", "\u{1B}(B", "\u{1B}(0", "\u{1B})0", "\u{1B}#8", "\u{1B}%G", "\u{1B}=", "\u{1B}>", "\u{1B}M"]
        return list
    }()

    /// Lone control characters: C0 (but tab, LF, CR), DEL, C1 (but NEL).
    static let controls: [String] = {
        var list: [String] = []
        for value in Array(0x00...0x08) + Array(0x0B...0x0C) + Array(0x0E...0x1A) + Array(0x1C...0x1F) + [0x7F]
            + Array(0x80...0x84) + Array(0x86...0x8F) + Array(0x91...0x97) + [0x99, 0x9A, 0x9C] {
            list.append(String(Unicode.Scalar(UInt32(value))!))
        }
        return list
    }()

    /// Every number a parse found: in its tokens and in the readings and UINs of every interpretation.
    static func numbers(_ result: ParseResult) -> Set<String> {
        var found = Set(result.tokens.filter { $0.kind == .number }.map { $0.text.filter(\.isNumber) })
        for interpretation in result.interpretations {
            for submission in interpretation.submissions {
                found.insert(submission.uin)
                for reading in submission.readings { found.insert(reading.value.description) }
            }
        }
        return found
    }

    @Test("the reported subject: `1234567 ESC[31m12100 6050` gives no 31 and no reading at all")
    func reportedSubject() {
        let result = Fixture.parse("1234567 \u{1B}[31m12100 6050")
        #expect(!Self.numbers(result).contains("31"), "\(Self.numbers(result))")
        #expect(!Self.numbers(result).contains("3112100"))
        #expect(result.limitReached, "a text with an escape sequence is ambiguous")
        #expect(result.diagnostics.contains { $0.message.contains("escape sequence") })
        #expect(!result.normalized.contains("31"), "\(result.normalized)")
    }

    @Test("every escape sequence, anywhere in a reading message: its digits never appear, the text is ambiguous")
    func everySequenceEverywhere() {
        let words = ["1234567", "12100", "6050"]
        var failures: [String] = []
        for sequence in Self.sequences {
            // Before, between and after the words, and inside a number.
            var texts: [String] = []
            for position in 0...words.count {
                var parts = words
                parts.insert(sequence, at: position)
                texts.append(parts.joined(separator: " "))
                texts.append(parts.joined())
            }
            texts.append("1234567 121" + sequence + "00 6050")
            texts.append("УИН 1234567 показания" + sequence + ": 12100")
            for text in texts {
                let result = Fixture.parse(text)
                let numbers = Self.numbers(result)
                if !result.limitReached {
                    failures.append("not ambiguous: \(text.debugDescription)")
                }
                // The numbers are exactly those of the text with the sequence replaced by a tab
                // (a separator that never joins digits): nothing from inside the sequence.
                let separated = Self.numbers(Fixture.parse(text.replacingOccurrences(of: sequence, with: "\t")))
                if numbers != separated {
                    failures.append("\(text.debugDescription) → \(numbers.sorted()), expected \(separated.sorted())")
                }
                if result.normalized.unicodeScalars.contains(where: { $0.value == 0x1B || (0x80...0x9F).contains($0.value) }) {
                    failures.append("control left in \(result.normalized.debugDescription)")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    @Test("an escape sequence cut short (by a letter, a digit after an intermediate, the end) still gives no digits of its own")
    func brokenSequences() {
        for text in ["1234567 \u{1B}[31 12100", "1234567 \u{1B}[3112100 6050", "1234567 12100 \u{1B}[31", "1234567 12100 \u{1B}]0;31",
                     "1234567 \u{1B}[31Ж12100", "1234567 \u{1B}(", "1234567 \u{9B}31", "\u{1B}\u{1B}[31m1234567 12100",
                     "1234567 \u{1B}]8;;\u{1B}[31m12100"] {
            let result = Fixture.parse(text)
            #expect(result.limitReached, "\(text.debugDescription)")
            #expect(!Self.numbers(result).contains { $0 == "31" || $0.hasPrefix("31") }, "\(text.debugDescription) → \(Self.numbers(result))")
        }
    }

    @Test("a lone control character between digits separates them and never joins them; no digit of its own")
    func loneControls() {
        var failures: [String] = []
        for control in Self.controls {
            // Joined, a thousands split, a reading split in two: never 12100.
            for text in ["1234567 121" + control + "00", "1234567 12" + control + "100", "1234567 12 " + control + "100"] {
                let result = Fixture.parse(text)
                if Self.numbers(result).contains("12100") {
                    failures.append("\(text.debugDescription) → \(Self.numbers(result).sorted())")
                }
            }
            // Between words a control character is a separator: the message still reads.
            let separated = Fixture.parse("1234567" + control + "12100")
            if !separated.interpretations.contains(where: { $0.submissions.contains { $0.uin == "1234567" && $0.readings.map(\.value.description) == ["12100"] } }) {
                failures.append("not read: \(("1234567" + control + "12100").debugDescription) → \(separated.interpretations.map(Fixture.summary))")
            }
            if separated.normalized.unicodeScalars.contains(where: { $0.value < 0x20 && $0.value != 0x0A && $0.value != 0x09 || (0x7F...0x9F).contains($0.value) }) {
                failures.append("control left in \(separated.normalized.debugDescription)")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    @Test("random escape sequences and controls spliced into random reading texts never yield their digits")
    func generatedVariants() {
        var state: UInt64 = 0x5EED_1B
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        let introducers = ["\u{1B}[", "\u{9B}", "\u{1B}]", "\u{9D}", "\u{1B}P", "\u{1B}"]
        var failures: [String] = []
        for _ in 0..<2_000 {
            // A marker number no other part of the text has: 4 digits starting with 9.
            let marker = String(9000 + next(1000))
            let introducer = introducers[next(introducers.count)]
            let ending = introducer.hasSuffix("[") || introducer == "\u{9B}" ? ["m", "H", "J", "~"][next(4)]
                : introducer == "\u{1B}" ? "" : ["\u{07}", "\u{1B}\\", "\u{9C}"][next(3)]
            let sequence = introducer == "\u{1B}" ? "\u{1B}" + ["7", "8", "(0", "#8"][next(4)] : introducer + marker + ending
            let words = ["1234567", String(10_000 + next(80_000)), String(1000 + next(7000)), "т1", "день"]
            var text = ""
            for (index, word) in words.prefix(2 + next(3)).enumerated() {
                if index == next(4) { text += sequence }
                text += word
                text += [" ", "", ", ", "\u{0}", "\u{7F}"][next(5)]
            }
            if !text.contains(sequence) { text += sequence }
            let result = Fixture.parse(text)
            if !result.limitReached { failures.append("not ambiguous: \(text.debugDescription)") }
            if Self.numbers(result).contains(where: { $0.contains(marker) }) {
                failures.append("\(text.debugDescription) → \(Self.numbers(result).sorted())")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) failures:\n\(failures.prefix(20).joined(separator: "\n"))")
    }

    @Test("ordinary text is untouched: tabs, line breaks (LF, CR, CRLF, NEL) still read as before")
    func ordinaryText() {
        for text in ["1234567\t12100", "1234567\n12100", "1234567\r\n12100", "1234567\r12100", "1234567\u{85}12100"] {
            let result = Fixture.parse(text)
            #expect(!result.limitReached, "\(text.debugDescription)")
            #expect(Fixture.first(text) == Fixture.first("1234567 12100"), "\(text.debugDescription): \(String(describing: Fixture.first(text)))")
        }
    }
}
