import Foundation
import Testing

/// Corrections within a period, one current reading per period for billing, and the history
/// by SMS and e-mail (contract §4–§6, issue 14), through the built binary's `replay`,
/// `readings export` and `review`, each case over both channels.
@Suite("Corrections and history through replay")
struct CorrectionsReplayTests {
    static let accounts = """
        uin,meters,previous,digits,phones,emails
        1234567,T1,12000,,+79031234567,owner@example.ru
        2345678,T1;T2,20000;8000,,+79032222222,family@example.ru
        3456789,T1,500,,+79032222222,family@example.ru
        4567890,T1,700,,,

        """

    /// The owner of 1234567; a stranger; the family bound to two accounts.
    static let owner = ["sms": "+79031234567", "email": "owner@example.ru"]
    static let stranger = ["sms": "+79035557777", "email": "stranger@example.org"]
    static let family = ["sms": "89032222222", "email": "family@example.ru"]

    /// Message times: the 20th and the 27th of last month, at noon in Moscow (always within
    /// the year replay believes, never in the future).
    static let days: (twentieth: String, twentySeventh: String) = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Moscow")!
        let lastMonth = calendar.date(byAdding: .month, value: -1, to: Date())!
        let parts = calendar.dateComponents([.year, .month], from: lastMonth)
        let prefix = String(format: "%04d-%02d-", parts.year!, parts.month!)
        return (prefix + "20T12:00:00+03:00", prefix + "27T12:00:00+03:00")
    }()

    /// `dd.MM.yyyy` of the 20th, as the history reply gives it.
    static var twentiethAsReplied: String {
        let date = String(days.twentieth.prefix(10)).split(separator: "-")
        return "\(date[2]).\(date[1]).\(date[0])"
    }

    final class Abonents {
        let sandbox: Sandbox
        let config: String
        let channel: String
        private var counter = 0

        init(_ channel: String, submissionDays: String = "1-31") async throws {
            self.channel = channel
            sandbox = try Sandbox("corrections-\(channel)")
            config = try sandbox.writeConfig()
            // The policy's time zone decides the day of month.
            let text = try sandbox.read("config.yaml")
                .replacingOccurrences(of: "submission_days: \"1-31\"", with: "submission_days: \"\(submissionDays)\"")
                .replacingOccurrences(of: "policy:\n", with: "policy:\n  timezone: Europe/Moscow\n")
            try sandbox.write("config.yaml", text)
            try sandbox.write("accounts.csv", CorrectionsReplayTests.accounts)
            let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
            guard imported.status == 0 else { throw HarnessError(description: "\(imported)") }
        }

        deinit { sandbox.remove() }

        /// Replays one message from `from` (an SMS text, or a mail whose subject is `text`);
        /// returns its outcome line as a JSON object.
        func send(_ text: String, from: [String: String], at time: String = CorrectionsReplayTests.days.twentieth) async throws -> [String: Any] {
            counter += 1
            var object: [String: Any] = ["id": "\(channel)-\(counter)", "channel": channel, "from": from[channel]!, "received_at": time]
            if channel == "sms" { object["text"] = text } else { object["subject"] = text; object["text"] = "" }
            let name = "in-\(counter).jsonl"
            try sandbox.write(name, try replayLine(object) + "\n")
            let result = try await sandbox.run(["replay", name, "--config", config])
            guard result.status == 0, let line = result.stdoutLines.first,
                  let outcome = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw HarnessError(description: "\(result)")
            }
            return outcome
        }

        func export(all: Bool = false) async throws -> [[String: String]] {
            let result = try await sandbox.run(["readings", "export", "--config", config] + (all ? ["--all"] : []))
            guard result.status == 0 else { throw HarnessError(description: "\(result)") }
            let parsed = parseExportCSV(result.stdoutText)
            guard parsed.header == ["uin", "meter", "value", "previous", "received_at", "channel", "sender", "status", "message_id"] else {
                throw HarnessError(description: "export header \(parsed.header)")
            }
            return parsed.rows
        }

        func run(_ arguments: [String]) async throws -> RunResult {
            try await sandbox.run(arguments + ["--config", config])
        }
    }

    static func result(_ outcome: [String: Any]) -> [String: Any] {
        (outcome["results"] as? [[String: Any]])?.first ?? [:]
    }

    static func rows(_ rows: [[String: String]], uin: String) -> [String] {
        rows.filter { $0["uin"] == uin }.map { "\($0["meter"]!)=\($0["value"]!) \($0["status"]!)" }
    }

    @Test("a typo fixed by a lower correction: accepted, replaces; export with and without --all", arguments: ["sms", "email"])
    func typoFixedByALowerCorrection(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        let first = try await abonents.send("1234567 12500", from: Self.owner)
        #expect(first["status"] as? String == "accepted")
        let fixed = try await abonents.send("1234567 12400", from: Self.owner)
        #expect(fixed["status"] as? String == "accepted", "\(fixed)")
        #expect(Self.result(fixed)["readings"] as? [String] == ["12400"])
        #expect(Self.result(fixed)["replaces"] as? [String] == ["12500"], "\(fixed)")
        let reply = fixed["reply"] as? String ?? ""
        #expect(reply.contains("12500") && reply.contains("12400"), "the reply names the old and the new values: \(reply)")
        if channel == "sms" {
            #expect(reply == "Принято: 12500 → 12400")
            #expect(SMSSegment.problem(reply) == nil)
        }
        #expect(Self.rows(try await abonents.export(), uin: "1234567") == ["T1=12400 accepted"], "billing gets one current reading")
        let all = try await abonents.export(all: true).filter { $0["uin"] == "1234567" }
        #expect(all.map { "\($0["value"]!) \($0["status"]!)" } == ["12500 superseded", "12400 accepted"])
        #expect(all.map { $0["message_id"]! } == ["\(channel)-1", "\(channel)-2"])
    }

    @Test("a correction below last period's reading is decreasing", arguments: ["sms", "email"])
    func correctionBelowLastPeriod(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        _ = try await abonents.send("1234567 12500", from: Self.owner)
        let low = try await abonents.send("1234567 11990", from: Self.owner)
        #expect(low["status"] as? String == "rejected" && low["reason"] as? String == "decreasing", "\(low)")
        #expect(Self.rows(try await abonents.export(all: true), uin: "1234567") == ["T1=12500 accepted"])
    }

    @Test("a correction by an unbound other sender is held; review approve makes it the one billing reads", arguments: ["sms", "email"])
    func correctionByAStranger(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        _ = try await abonents.send("1234567 12500", from: Self.owner)
        let stranger = try await abonents.send("1234567 12600", from: Self.stranger)
        #expect(stranger["status"] as? String == "held" && stranger["reason"] as? String == "unverified_correction", "\(stranger)")
        #expect(Self.result(stranger)["replaces"] == nil)
        #expect((stranger["reply"] as? String)?.contains("12500") == false, "the stranger learns nothing stored")
        #expect(Self.rows(try await abonents.export(), uin: "1234567") == ["T1=12500 accepted", "T1=12600 held"])

        let list = try await abonents.run(["review", "list"])
        #expect(list.status == 0 && list.stdoutText.contains("reason=unverified_correction"), "\(list)")
        let id = try #require(list.stdoutText.split(separator: "\n").first { $0.contains("uin=1234567") }
            .flatMap { $0.split(separator: " ").first }.map { String($0.dropFirst()) })
        let approved = try await abonents.run(["review", "approve", id])
        #expect(approved.status == 0, "\(approved)")
        #expect(Self.rows(try await abonents.export(), uin: "1234567") == ["T1=12600 accepted"], "only the approved correction")
        #expect(Self.rows(try await abonents.export(all: true), uin: "1234567") == ["T1=12500 superseded", "T1=12600 accepted"])
    }

    @Test("a stranger's first submission is recorded; the owner's later one replaces it without review", arguments: ["sms", "email"])
    func strangerFirstThenOwner(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        let first = try await abonents.send("1234567 12900", from: Self.stranger)
        #expect(first["status"] as? String == "accepted", "it may be the abonent's other phone: \(first)")
        let owner = try await abonents.send("1234567 12300", from: Self.owner)
        #expect(owner["status"] as? String == "accepted" && Self.result(owner)["replaces"] as? [String] == ["12900"], "\(owner)")
        #expect(Self.rows(try await abonents.export(), uin: "1234567") == ["T1=12300 accepted"])
        #expect(try await abonents.run(["review", "list"]).stdoutText.contains("no held readings"))
    }

    @Test("the same readings twice are a duplicate", arguments: ["sms", "email"])
    func sameReadingsTwice(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        _ = try await abonents.send("2345678 21000 8500", from: Self.family)
        let again = try await abonents.send("2345678 21000 8500", from: Self.family)
        #expect(again["status"] as? String == "duplicate", "\(again)")
        #expect(Self.result(again)["replaces"] == nil)
        #expect(Self.rows(try await abonents.export(), uin: "2345678") == ["T1=21000 accepted", "T2=8500 accepted", "T1=21000 duplicate", "T2=8500 duplicate"])
    }

    @Test("a correction after the period's window counts for the next period", arguments: ["sms", "email"])
    func correctionAfterTheWindow(_ channel: String) async throws {
        let abonents = try await Abonents(channel, submissionDays: "1-25")
        _ = try await abonents.send("1234567 12500", from: Self.owner, at: Self.days.twentieth)
        let lower = try await abonents.send("1234567 12400", from: Self.owner, at: Self.days.twentySeventh)
        #expect(lower["status"] as? String == "rejected" && lower["reason"] as? String == "decreasing",
                "after day 25 it is next period's, checked against this period's 12500: \(lower)")
        let next = try await abonents.send("1234567 12600", from: Self.owner, at: Self.days.twentySeventh)
        #expect(next["status"] as? String == "accepted" && Self.result(next)["replaces"] == nil, "\(next)")
        #expect(Self.rows(try await abonents.export(), uin: "1234567") == ["T1=12500 accepted", "T1=12600 accepted"], "one per period")
    }

    @Test("history to a bound sender: the last accepted readings and their date", arguments: ["sms", "email"])
    func historyToABoundSender(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        let empty = try await abonents.send("история 1234567", from: Self.owner)
        #expect(empty["status"] as? String == "answered", "\(empty)")
        #expect((empty["reply"] as? String)?.contains("пока нет") == true, "\(empty)")
        _ = try await abonents.send("1234567 12500", from: Self.owner)
        _ = try await abonents.send("1234567 12400", from: Self.owner)
        let withUIN = try await abonents.send("история 1234567", from: Self.owner)
        let alone = try await abonents.send("История", from: Self.owner)
        let mark = try await abonents.send("1234567 ?", from: Self.owner)
        for outcome in [withUIN, alone, mark] {
            #expect(outcome["status"] as? String == "answered", "\(outcome)")
            #expect(Self.result(outcome)["uin"] as? String == "1234567")
            let reply = outcome["reply"] as? String ?? ""
            #expect(reply.contains("12400") && !reply.contains("12500") && reply.contains(Self.twentiethAsReplied), "\(reply)")
            if channel == "sms" { #expect(reply == "УИН 1234567: 12400 приняты \(Self.twentiethAsReplied)") }
        }
        #expect(try await abonents.export(all: true).count == 2, "nothing recorded by a question")
    }

    @Test("history to an unbound sender reveals nothing, for a known and an unknown UIN alike", arguments: ["sms", "email"])
    func historyToAnUnboundSender(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        _ = try await abonents.send("1234567 12500", from: Self.owner)
        let known = try await abonents.send("история 1234567", from: Self.stranger)
        let unknown = try await abonents.send("история 9999999", from: Self.stranger)
        let alone = try await abonents.send("история", from: Self.stranger)
        let text = channel == "sms"
            ? "История показаний - только на телефон и e-mail из договора."
            : "Здравствуйте! История показаний отправляется только на телефоны и адреса, указанные в договоре. Напишите с одного из них."
        for outcome in [known, unknown, alone] {
            #expect(outcome["status"] as? String == "answered", "\(outcome)")
            #expect(outcome["reply"] as? String == text, "\(outcome)")
        }
    }

    @Test("history without a UIN from a sender bound to two accounts asks which one", arguments: ["sms", "email"])
    func historyFromASenderBoundToTwoAccounts(_ channel: String) async throws {
        let abonents = try await Abonents(channel)
        _ = try await abonents.send("2345678 21000 8500", from: Self.family)
        let asked = try await abonents.send("история", from: Self.family)
        #expect(asked["status"] as? String == "answered" && (asked["results"] as? [Any])?.isEmpty == true, "\(asked)")
        let reply = asked["reply"] as? String ?? ""
        #expect(reply.contains("УИН") && !reply.contains("21000") && !reply.contains("2345678"), "\(reply)")
        let named = try await abonents.send("история 2345678", from: Self.family)
        #expect((named["reply"] as? String)?.contains("21000, 8500") == true, "\(named)")
    }

    @Test("check-config refuses a history template over one SMS segment and one that reveals readings to anyone")
    func checkConfigOfTheNewTemplates() async throws {
        let sandbox = try Sandbox("templates")
        defer { sandbox.remove() }
        let shipped = try String(contentsOf: Metergate.packageRoot.appendingPathComponent("Templates/replies.txt"), encoding: .utf8)
        let config = try sandbox.writeConfig(extra: "replies:\n  path: \(jsonString(sandbox.file("templates").path))\n")
        try sandbox.write("templates/replies.txt", shipped)
        let ok = try await sandbox.run(["check-config", "--config", config])
        #expect(ok.status == 0, "\(ok)")
        try sandbox.write("templates/replies.txt", shipped.replacingOccurrences(
            of: "history.bound            = УИН {uin}: {readings} приняты {date}",
            with: "history.bound            = По лицевому счету {uin} последние принятые показания: {readings}, от {date}"))
        let long = try await sandbox.run(["check-config", "--config", config])
        #expect(long.status == 2 && long.stderr.contains("history.bound"), "\(long)")
        try sandbox.write("templates/replies.txt", shipped.replacingOccurrences(
            of: "history                  = История показаний - только на телефон и e-mail из договора.",
            with: "history                  = Последние: {readings}"))
        let revealing = try await sandbox.run(["check-config", "--config", config])
        #expect(revealing.status == 2 && revealing.stderr.contains("{readings}"), "\(revealing)")
    }
}
