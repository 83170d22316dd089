import ArgumentParser
import Foundation
import Gateway
import MeterCore

struct Accounts: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage the accounts exported by billing.", subcommands: [Import.self])

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Load or update accounts from a billing export (CSV: uin, meters, previous, digits, phones, emails).")

        @Argument(help: "The accounts CSV file.") var file: String
        @OptionGroup var options: ConfigOption
        @Flag(name: .long, help: "Replace all accounts with the file's (accounts absent from it are removed).")
        var replace = false

        func run() async throws {
            let configuration = try options.load()
            guard let data = FileManager.default.contents(atPath: file) else {
                throw CommandFailure(message: "\(file): cannot read the accounts file", code: 1)
            }
            let grammar = try Runtime.loadGrammar(path: configuration.grammarPath)
            let parsed = AccountsCSV.parse(Array(data), uinDigits: grammar.uinDigits)
            for problem in parsed.problems { printError("\(file):\(problem.line): \(problem.reason); row skipped") }
            for warning in parsed.warnings { printError("\(file):\(warning.line): \(warning.reason)") }
            let runtime = try await Runtime.open(configuration)
            let count = try await runtime.ledger.importAccounts(parsed.accounts, replacing: replace)
            let total = try await runtime.ledger.accountCount()
            print("imported \(count) account(s) from \(file), \(parsed.problems.count) bad row(s) skipped; \(total) account(s) in the store")
            if !parsed.problems.isEmpty { throw ExitCode(1) }
        }
    }
}
