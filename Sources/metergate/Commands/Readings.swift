import ArgumentParser
import Foundation
import Gateway
import Ledger
import LedgerSQLite

struct Readings: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Readings recorded for billing.", subcommands: [Export.self])

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the recorded readings (accepted, held, duplicate), one row per meter reading.",
            discussion: """
                Within a period the latest submission of an account counts: a result that a later \
                correction replaced is left out. --all lists it too, with status 'superseded'.
                """)

        enum Format: String, ExpressibleByArgument { case csv, json }

        @OptionGroup var options: ConfigOption
        @Option(name: .long, help: "Only readings received on or after this ISO 8601 date or time.") var since: String?
        @Option(name: .long, help: "csv (default) or json (one object per line).") var format: Format = .csv
        @Flag(name: .long, help: "Also the results a later correction replaced, with status 'superseded'.") var all = false

        func validate() throws {
            if let since, Timestamp.parse(since) == nil {
                throw ValidationError("--since '\(since)' is not an ISO 8601 date like 2026-11-01 or 2026-11-01T00:00:00+03:00")
            }
        }

        func run() async throws {
            let runtime = try await Runtime.open(try options.load())
            let sinceDate = since.flatMap(Timestamp.parse)?.date
            var buffer = ""
            func flush() {
                FileHandle.standardOutput.write(Data(buffer.utf8))
                buffer.removeAll(keepingCapacity: true)
            }
            let fields = ["uin", "meter", "value", "previous", "received_at", "channel", "sender", "status", "message_id"]
            if format == .csv { buffer += fields.joined(separator: ",") + "\n" }
            // Pages of 1,000 submissions: memory stays flat however many readings there are.
            var cursor: Int64? = 0
            while let after = cursor {
                let page = try await runtime.ledger.exportPage(
                    since: sinceDate, after: after, limit: 1000, includeSuperseded: all)
                for row in page.rows {
                    let values = [row.uin, row.meter, row.value, row.previous ?? "", row.receivedAt, row.channel,
                                  row.sender ?? "", row.status, row.messageID]
                    switch format {
                    case .csv:
                        buffer += values.map(Self.csvField).joined(separator: ",") + "\n"
                    case .json:
                        let object = Dictionary(uniqueKeysWithValues: zip(fields, values.map { $0 as Any }))
                            .merging(["previous": row.previous.map { $0 as Any } ?? NSNull(), "sender": row.sender.map { $0 as Any } ?? NSNull()]) { $1 }
                        let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                        buffer += String(decoding: data, as: UTF8.self) + "\n"
                    }
                    if buffer.utf8.count > 1 << 16 { flush() }
                }
                cursor = page.next
            }
            flush()
        }

        static func csvField(_ text: String) -> String {
            guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
            return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
        }
    }
}
