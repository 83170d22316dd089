import ArgumentParser
import Foundation
import Gateway
import ReadingsGrammar

struct Parse: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a text tokenizes and which interpretations it yields; touches no store.",
        discussion: "The operator's tool to understand a strange message. Example: metergate parse 'УИН 1234567 день 12345 ночь 6789'")

    @Option(name: .long, help: "A folder of grammar files (default: the built-in grammar).") var grammar: String?
    @Argument(help: "The message text.") var text: String

    func run() async throws {
        let parser = MessageParser(grammar: try Runtime.loadGrammar(path: grammar))
        let result = parser.parse(text)
        var out = "normalized: \(Self.quoted(result.normalized))\n\ntokens:\n"
        for token in result.tokens {
            out += "  \(String(describing: token.kind).padding(toLength: 18, withPad: " ", startingAt: 0)) \(Self.quoted(token.text))  bytes \(token.range.lowerBound)..<\(token.range.upperBound)\n"
        }
        if !result.diagnostics.isEmpty {
            out += "\ndiagnostics:\n"
            for diagnostic in result.diagnostics { out += "  \(diagnostic)\n" }
        }
        out += "\ninterpretations: \(result.interpretations.count)\(result.limitReached ? " (search limit reached: answered as ambiguous)" : "")\n"
        for (index, interpretation) in result.interpretations.enumerated() {
            out += "  #\(index + 1) penalty \(interpretation.penalty):"
            for submission in interpretation.submissions {
                out += " [UIN \(submission.uin)\(submission.uinLabeled ? " (labeled)" : ""): "
                out += submission.readings.map { ($0.zone.map { $0 + "=" } ?? "") + $0.value.description }.joined(separator: " ")
                out += "]"
            }
            out += "\n"
            for note in interpretation.notes { out += "      \(note)\n" }
        }
        if let history = result.history, !result.hasReadings, !result.limitReached {
            out += "  none: a history request, answered"
                + (history.uins.isEmpty ? " to a sender bound to exactly one account\n" : " for UIN \(history.uins.joined(separator: ", "))\n")
        } else if result.interpretations.isEmpty {
            out += "  none: the answer would be rejected/unparsed\n"
        }
        print(out, terminator: "")
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}
