import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway
import Ledger
import LedgerSQLite
import MeterCore
import ReadingsGrammar

@main
struct Metergate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metergate",
        abstract: "Takes electricity meter readings by SMS and e-mail, checks and records them, and answers every sender.",
        subcommands: [
            Run.self, Accounts.self, Readings.self, Replay.self, Parse.self, Review.self, Status.self, Messages.self, Console.self,
            CheckConfig.self,
        ])

    /// Exit codes (contract §2): 0 success, 1 runtime failure, 2 usage or configuration error.
    /// Errors are one line on standard error, never a stack trace.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            Glibc.exit(Self.report(error))
        }
    }

    static func report(_ error: any Error) -> Int32 {
        switch error {
        case let error as ConfigurationError:
            printError(error.description)
            return 2
        case let error as GrammarError:
            printError("grammar: \(error.description)")
            return 2
        case let error as ReplyTemplates.Problem:
            printError("reply templates: \(error.description)")
            return 2
        case let code as ExitCode:
            return code.rawValue
        case let error as CommandFailure:
            printError(error.message)
            return error.code
        case let error as LedgerError:
            printError("store: \(error.description)")
            return 1
        default:
            let code = Self.exitCode(for: error)
            if code == .success {
                print(Self.fullMessage(for: error))
                return 0
            }
            let message = Self.fullMessage(for: error)
            if code == .validationFailure || code.rawValue == 64 {
                printError(message)
                return 2
            }
            printError(message.isEmpty ? "metergate: \(error)" : message)
            return 1
        }
    }
}

/// The `--config FILE` option every command shares.
struct ConfigOption: ParsableArguments {
    @Option(name: .long, help: "The YAML configuration file (default: the embedded default, ./metergate-data/).")
    var config: String?

    func load() throws -> MetergateConfiguration {
        try MetergateConfiguration.load(path: config)
    }
}
