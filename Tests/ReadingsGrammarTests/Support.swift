import DefaultFiles
import Foundation
@testable import ReadingsGrammar

/// The built-in grammar and a parser over it, shared by the tests.
enum Fixture {
    static let grammar: Grammar = {
        do {
            return try Grammar.load(files: DefaultFiles.grammar.map { ($0.name, $0.contents) })
        } catch {
            fatalError("built-in grammar: \(error)")
        }
    }()

    static let parser = MessageParser(grammar: grammar)

    static func parse(_ text: String) -> ParseResult { parser.parse(text) }

    /// "uin: T1=1, 2; uin2: 3" for an interpretation.
    static func summary(_ interpretation: Interpretation) -> String {
        interpretation.submissions.map(\.description).joined(separator: "; ")
    }

    static func summaries(_ text: String) -> [String] {
        parse(text).interpretations.map(summary)
    }

    static func first(_ text: String) -> String? {
        parse(text).interpretations.first.map(summary)
    }
}
