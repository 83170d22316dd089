import ArgumentParser
import Foundation
import Gateway
import MeterCore
import PostgreSQL

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate the configuration, grammar and reply templates; exit 2 with the exact place of any error.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        // Every key: unknown keys, bad values and missing ones fail here with file and key path.
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
            do { _ = try feed.kannel?.secret?.resolve(environment) } catch { problems.append("\(error)") }
        }
        problems += ConfigFileCheck(configuration).problems()
        if let problem = configuration.console.usersFileProblem(file: configuration.file) { problems.append(problem) }
        // The grammar and the templates: each error names the file and line.
        var grammarSummary = ""
        do {
            let grammar = try Runtime.loadGrammar(path: configuration.grammarPath)
            grammarSummary = " (UIN \(grammar.uinDigits.lowerBound)-\(grammar.uinDigits.upperBound) digits)"
        } catch {
            problems.append("grammar: \(ProcessorBox.describe(error))")
        }
        do {
            let templates = try Runtime.loadTemplates(path: configuration.repliesPath)
            for problem in templates.problemsForSMS() { problems.append("reply templates: \(problem)") }
        } catch {
            problems.append("reply templates: \(ProcessorBox.describe(error))")
        }
        if configuration.storeURL != nil {
            do {
                _ = try configuration.storeSecret?.resolve(ProcessInfo.processInfo.environment)
            } catch {
                problems.append("\(error)")
            }
        }
        if !problems.isEmpty {
            for problem in problems { printError(problem) }
            throw ExitCode(2)
        }
        for warning in configuration.warnings { printError("warning: \(warning)") }
        let feeds = configuration.mailboxes.map { "\($0.name) (\($0.scheme))" } + configuration.sms.map { "\($0.name) (\($0.kind))" }
        print("configuration OK: \(configuration.file); store \(configuration.storeURL.flatMap { try? PostgresURL(parsing: $0).description }.map { "\($0) (instance \(configuration.instanceName))" } ?? configuration.storePath); grammar \(configuration.grammarPath ?? "built-in")\(grammarSummary); templates \(configuration.repliesPath ?? "built-in"); feeds: \(feeds.isEmpty ? "none" : feeds.joined(separator: ", ")); http \(configuration.operations.listenDescription); console \(configuration.console.listenDescription)")
    }
}

/// The files and folders a configuration names: each must exist or be creatable by the
/// daemon (its nearest existing parent folder writable). Problems name the file and key.
struct ConfigFileCheck {
    let configuration: MetergateConfiguration

    init(_ configuration: MetergateConfiguration) { self.configuration = configuration }

    func problems() -> [String] {
        var problems: [String] = []
        let file = configuration.file
        func creatable(_ path: String, key: String, what: String) {
            if let reason = Self.creatable(path) { problems.append("\(file): \(key): \(what) '\(path)' \(reason)") }
        }
        if configuration.storeURL == nil {
            creatable(URL(fileURLWithPath: configuration.storePath).deletingLastPathComponent().path, key: "store.path", what: "the store's folder")
        }
        if let outbox = configuration.outboxPath { creatable(outbox, key: "outbox.path", what: "folder") }
        if let log = configuration.logFile {
            creatable(URL(fileURLWithPath: log).deletingLastPathComponent().path, key: "log.file", what: "the log's folder")
        }
        for (index, mailbox) in configuration.mailboxes.enumerated() {
            if let path = mailbox.path { creatable(path, key: "mailboxes[\(index)].url", what: "maildir") }
        }
        for (index, feed) in configuration.sms.enumerated() where feed.kind == "files" {
            if let inbox = feed.inbox { creatable(inbox, key: "sms[\(index)].inbox", what: "folder") }
            if let processed = feed.processed { creatable(processed, key: "sms[\(index)].processed", what: "folder") }
        }
        return problems
    }

    /// nil when `path` is a folder, or can be made one; else why not.
    static func creatable(_ path: String) -> String? {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            return isDirectory.boolValue ? nil : "is a file, not a folder"
        }
        var parent = URL(fileURLWithPath: path).deletingLastPathComponent()
        while parent.path != "/", !FileManager.default.fileExists(atPath: parent.path) {
            parent = parent.deletingLastPathComponent()
        }
        guard FileManager.default.fileExists(atPath: parent.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return "cannot be created: \(parent.path) is not a folder"
        }
        return FileManager.default.isWritableFile(atPath: parent.path)
            ? nil : "does not exist and cannot be created (\(parent.path) is not writable)"
    }
}
