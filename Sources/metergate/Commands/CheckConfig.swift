import ArgumentParser
import Foundation
import MeterCore

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration, grammar and reply templates; exit 2 with the exact place of any error.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        let environment = ProcessInfo.processInfo.environment
        var problems: [String] = []
        for mailbox in configuration.mailboxes {
            do { _ = try mailbox.secret?.resolve(environment) } catch { problems.append("\(error)") }
            if let token = mailbox.oauth2TokenFile, !FileManager.default.isReadableFile(atPath: token) {
                problems.append("\(configuration.file): mailboxes: \(mailbox.name): oauth2_token_file: cannot read \(token)")
            }
        }
        do { _ = try configuration.smtp.secret?.resolve(environment) } catch { problems.append("\(error)") }
        for feed in configuration.sms {
            do { _ = try feed.secret?.resolve(environment) } catch { problems.append("\(error)") }
        }
        let grammar = try Runtime.loadGrammar(path: configuration.grammarPath)
        let templates = try Runtime.loadTemplates(path: configuration.repliesPath)
        for problem in templates.problemsForSMS() { problems.append("reply templates: \(problem)") }
        if configuration.storeURL != nil {
            problems.append("\(configuration.file): store.url: PostgreSQL is not available in this version; use store.path")
        }
        if !problems.isEmpty {
            for problem in problems { printError(problem) }
            throw ExitCode(2)
        }
        for warning in configuration.warnings { printError("warning: \(warning)") }
        let feeds = configuration.mailboxes.map { "\($0.name) (\($0.scheme))" } + configuration.sms.map { "\($0.name) (\($0.kind))" }
        print("configuration OK: \(configuration.file); store \(configuration.storePath); grammar \(configuration.grammarPath ?? "built-in") (UIN \(grammar.uinDigits.lowerBound)-\(grammar.uinDigits.upperBound) digits); templates \(configuration.repliesPath ?? "built-in"); feeds: \(feeds.isEmpty ? "none" : feeds.joined(separator: ", "))")
    }
}
