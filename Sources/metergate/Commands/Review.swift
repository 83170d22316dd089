import ArgumentParser
import Foundation
import Gateway
import Ledger
import LedgerSQLite
import MeterCore

struct Review: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The operator queue of held readings.", subcommands: [List.self, Approve.self, Reject.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Held readings waiting for a decision.")
        @OptionGroup var options: ConfigOption

        func run() async throws {
            let configuration = try options.load()
            let runtime = try await Runtime.open(configuration)
            let held = try await runtime.ledger.heldSubmissions()
            if held.isEmpty {
                print("no held readings")
                return
            }
            for item in held {
                let values: String = zip(item.meters, item.values).enumerated().map { (index, pair) -> String in
                    let before = index < item.previous.count ? item.previous[index] ?? "?" : "?"
                    return "\(pair.0)=\(pair.1) (previous \(before))"
                }.joined(separator: ", ")
                let sender = configuration.logPersonalData ? (item.sender ?? "-") : Contact.mask(item.sender)
                let reason: String = item.reason.map { " reason=\($0)" } ?? ""
                print("#\(item.id) uin=\(item.uin) \(values) \(item.channel) \(sender) \(item.receivedAt)\(reason)")
                print("    text: \(item.text.replacingOccurrences(of: "\n", with: " ").prefix(200))")
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Record a held reading as accepted and queue the confirmation.")
        @Argument(help: "The id shown by 'review list'.") var id: Int64
        @OptionGroup var options: ConfigOption

        func run() async throws { try await decide(id, .approve, options) }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a held reading and queue a polite reply.")
        @Argument(help: "The id shown by 'review list'.") var id: Int64
        @OptionGroup var options: ConfigOption

        func run() async throws { try await decide(id, .reject, options) }
    }

    static func decide(_ id: Int64, _ decision: ReviewDecision, _ options: ConfigOption) async throws {
        let configuration = try options.load()
        let runtime = try await Runtime.open(configuration)
        let templates = try Runtime.loadTemplates(path: configuration.repliesPath)
        do {
            let held = try await ReviewDesk.decide(id, decision, ledger: runtime.ledger, templates: templates)
            print("\(decision == .approve ? "approved" : "rejected") #\(held.id) uin=\(held.uin) \(zip(held.meters, held.values).map { "\($0)=\($1)" }.joined(separator: " ")); reply queued")
        } catch let error as LedgerError where error.code == .notFound {
            throw CommandFailure(message: error.message, code: 1)
        }
    }
}
