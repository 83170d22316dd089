import ArgumentParser
import Foundation
import Gateway
import Ledger

/// The support desk's look-up (contract §2, §5): newest first, each message with its channel,
/// time, sender, the text as read, outcome, readings and reply with the reply's state.
struct Messages: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Find messages by sender, account, time or status, newest first, and see what happened to them.",
        discussion: "Example: metergate messages --from '8 (903) 123-45-67' (finds +79031234567)")

    @OptionGroup var options: ConfigOption
    @Option(name: .long, help: "The sender: a phone number in any common spelling, or an e-mail address.") var from: String?
    @Option(name: .long, help: "Messages with a result for this account.") var uin: String?
    @Option(name: .long, help: "Only messages received on or after this ISO 8601 date or time.") var since: String?
    @Option(name: .long, help: "Only messages with this status: \(Self.statuses.joined(separator: ", ")).") var status: String?
    @Option(name: .long, help: "At most this many messages.") var limit: Int = 50
    @Option(name: .long, help: "text (for a terminal) or json (one object per line).") var format: String = "text"

    static let statuses = ["accepted", "duplicate", "held", "rejected", "ignored", "answered"]

    func validate() throws {
        if let since, Timestamp.parse(since) == nil {
            throw ValidationError("--since '\(since)' is not an ISO 8601 date like 2026-11-01 or 2026-11-01T00:00:00+03:00")
        }
        if let status, !Self.statuses.contains(status) {
            throw ValidationError("--status '\(status)' is not one of \(Self.statuses.joined(separator: ", "))")
        }
        guard limit > 0 else { throw ValidationError("--limit must be a positive number") }
        guard format == "text" || format == "json" else { throw ValidationError("--format must be text or json") }
        if let from, MessageListing.senderKey(from).isEmpty { throw ValidationError("--from is empty") }
    }

    func run() async throws {
        let configuration = try options.load()
        let runtime = try await Runtime.open(configuration)
        let query = MessageQuery(
            sender: from.map(MessageListing.senderKey), uin: uin?.trimmingCharacters(in: .whitespaces),
            since: since.flatMap(Timestamp.parse)?.date, status: status, limit: limit)
        let records = try await runtime.ledger.messages(matching: query)
        try? await runtime.ledger.close()
        var out = ""
        for record in records {
            let listing = MessageListing(record)
            out += format == "json" ? listing.jsonLine + "\n" : listing.textBlock + "\n\n"
        }
        if format == "text", records.isEmpty { out = "no messages\n" }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
