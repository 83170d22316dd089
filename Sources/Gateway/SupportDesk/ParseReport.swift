import Foundation
import ReadingsGrammar

/// How the parser reads a text, as `metergate parse` prints it and the console's message page
/// shows it: the normalised text, the tokens, what was set aside, the interpretations and why
/// one was chosen, or why the answer is `ambiguous` or `unparsed`.
package struct ParseReport {
    package let result: ParseResult

    package init(text: String, parser: MessageParser) {
        result = parser.parse(text)
    }

    /// The verdict in one line, for the top of the console's explanation.
    package var verdict: String {
        if let history = result.history, !result.hasReadings, !result.limitReached {
            return history.uins.isEmpty ? "a history request (answered to a sender bound to exactly one account)"
                : "a history request for UIN \(history.uins.joined(separator: ", "))"
        }
        if result.limitReached { return "ambiguous: too many readings of the text (search limit reached)" }
        switch result.interpretations.count {
        case 0: return "unparsed: no UIN with readings found"
        case 1: return "one interpretation"
        default: return "\(result.interpretations.count) interpretations: the one with the lowest penalty is taken when it is alone at the top, else the answer is ambiguous"
        }
    }

    /// The text `metergate parse` prints.
    package var text: String {
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
        return out
    }

    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "\t", with: "\\t") + "\""
    }
}
