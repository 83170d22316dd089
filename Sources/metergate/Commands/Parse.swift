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
        let report = ParseReport(text: text, parser: MessageParser(grammar: try Runtime.loadGrammar(path: grammar)))
        print(report.text, terminator: "")
    }
}
