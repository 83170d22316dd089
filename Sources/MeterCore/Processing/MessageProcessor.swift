import Foundation
import Ledger
import MailMessage
import ReadingsGrammar

/// Message in, outcome and reply out. `prepare` is pure; `record` runs inside a ledger
/// transaction and writes the message, its readings and its reply together.
public struct MessageProcessor: Sendable {
    public var parser: MessageParser
    public var templates: ReplyTemplates
    public var validator: Validator
    /// Our own addresses and numbers (normalised): never answered.
    public var ownSenders: Set<String>
    /// `.recorded` for replay (the reply is kept with the message, never queued), `.pending`
    /// for the daemon (queued in the outbox).
    public var replyState: NewReply.State
    /// How many body lines of an e-mail the parser sees after the subject.
    public var bodyLineLimit = 40

    public init(
        parser: MessageParser, templates: ReplyTemplates, policy: Policy, ownSenders: Set<String> = [],
        replyState: NewReply.State = .pending
    ) {
        self.parser = parser
        self.templates = templates
        self.validator = Validator(policy: policy)
        self.ownSenders = ownSenders
        self.replyState = replyState
    }

    public var policy: Policy { validator.policy }

    // MARK: - Pure step

    public func prepare(_ message: IncomingMessage) -> PreparedMessage {
        switch message.channel {
        case .sms: prepareSMS(message)
        case .email: prepareEmail(message)
        }
    }

    private func prepareSMS(_ message: IncomingMessage) -> PreparedMessage {
        let sender = message.sender.map(Contact.normalizePhone)
        let text = message.text ?? message.raw.map { String(decoding: $0, as: UTF8.self) } ?? ""
        var prepared = PreparedMessage(
            incoming: message, verdict: .ignored(.noSender), sender: sender,
            replyRecipient: sender.flatMap { Contact.isReplyablePhone($0) ? $0 : nil },
            subject: nil, text: text, replySubject: nil, inReplyTo: nil, references: [])
        if let sender, ownSenders.contains(sender) {
            prepared.verdict = .ignored(.ownMessage)
        } else if let sender, !sender.isEmpty, sender.contains(where: \.isLetter) {
            // An alphanumeric sender id is a service, not an abonent: no reply, no loop.
            prepared.verdict = .ignored(.autoReply)
        } else if text.utf8.count > policy.maxMessageBytes {
            prepared.verdict = .tooLarge
            prepared.text = String(text.prefix(1024))
        } else {
            prepared.verdict = .parsed(parser.parse(text))
        }
        return prepared
    }

    private func prepareEmail(_ message: IncomingMessage) -> PreparedMessage {
        var prepared = PreparedMessage(
            incoming: message, verdict: .ignored(.noSender), sender: message.sender.map(Contact.normalizeEmail),
            replyRecipient: nil, subject: message.subject, text: message.text, replySubject: nil, inReplyTo: nil,
            references: [])
        prepared.replyRecipient = prepared.sender
        let subject: String
        let body: String
        if let raw = message.raw {
            let tooLarge = raw.count > policy.maxMessageBytes
            let mail = MailMessage(raw: tooLarge ? Self.headerBlock(of: raw) : raw)
            if let from = mail.from?.address { prepared.sender = Contact.normalizeEmail(from) }
            prepared.replyRecipient = (mail.replyTo?.address ?? mail.from?.address).map(Contact.normalizeEmail)
            prepared.subject = mail.subject
            prepared.inReplyTo = mail.messageID
            prepared.references = mail.references + (mail.messageID.map { [$0] } ?? [])
            prepared.replySubject = Self.replySubject(mail.subject)
            if let automatic = mail.automatic {
                prepared.verdict = .ignored(automatic == .bounce ? .bounce : .autoReply)
                prepared.text = String(mail.meaningfulText.prefix(4096))
                return prepared
            }
            if let sender = prepared.sender, ownSenders.contains(sender) {
                prepared.verdict = .ignored(.ownMessage)
                return prepared
            }
            if tooLarge {
                prepared.verdict = .tooLarge
                return prepared
            }
            subject = mail.subject
            body = mail.meaningfulText
        } else {
            subject = message.subject ?? ""
            body = MailText.meaningfulText(ofPlainBody: message.text ?? "")
            prepared.replySubject = Self.replySubject(subject)
            if let sender = prepared.sender, ownSenders.contains(sender) {
                prepared.verdict = .ignored(.ownMessage)
                return prepared
            }
            if subject.utf8.count + body.utf8.count > policy.maxMessageBytes {
                prepared.verdict = .tooLarge
                return prepared
            }
        }
        // The subject first; then the subject with the body's first meaningful lines.
        let cleanSubject = ReplySubject.stripPrefixes(subject)
        let fromSubject = parser.parse(cleanSubject)
        if fromSubject.interpretations.contains(where: { $0.submissions.contains { !$0.readings.isEmpty } }) {
            prepared.verdict = .parsed(fromSubject)
            prepared.text = cleanSubject
        } else {
            let lines = body.split(separator: "\n", omittingEmptySubsequences: true)
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
                .prefix(bodyLineLimit)
            let text = ([cleanSubject] + lines).joined(separator: "\n")
            prepared.verdict = .parsed(parser.parse(String(text.prefix(16_384))))
            prepared.text = text
        }
        return prepared
    }

    static func headerBlock(of raw: [UInt8]) -> [UInt8] {
        let limit = min(raw.count, 65_536)
        var index = 0
        while index + 1 < limit {
            if raw[index] == 10, raw[index + 1] == 10 { return Array(raw[..<index]) }
            if index + 3 < limit, raw[index] == 13, raw[index + 1] == 10, raw[index + 2] == 13, raw[index + 3] == 10 {
                return Array(raw[..<index])
            }
            index += 1
        }
        return Array(raw[..<limit])
    }

    static func replySubject(_ subject: String) -> String {
        let stripped = ReplySubject.stripPrefixes(subject)
        return stripped.isEmpty ? "Re: показания" : "Re: " + stripped
    }

    // MARK: - Ledger step

    /// Records one prepared message in `ledger` (its row, readings and reply) and returns
    /// the outcome. A message the ledger already has is `ignored` and nothing is written.
    public func record(_ prepared: PreparedMessage, in ledger: any LedgerTransaction) throws -> ProcessedMessage {
        let message = prepared.incoming
        let id = message.externalID
        if try ledger.hasMessage(channel: message.channel.rawValue, externalID: message.externalID) {
            let outcome = Outcome(id: id, status: .ignored, reason: .alreadySeen, results: [], reply: nil)
            return processed(outcome, prepared, isNew: false, replyQueued: false)
        }
        let period = policy.period(of: message.receivedAt, utcOffset: message.utcOffset)
        var outcome: Outcome
        switch prepared.verdict {
        case .ignored(let reason):
            outcome = Outcome(id: id, status: .ignored, reason: reason, results: [], reply: nil)
        case .tooLarge:
            outcome = try overLimit(prepared, ledger)
                ?? Outcome(id: id, status: .rejected, reason: .tooLarge, results: [], reply: nil)
        case .parsed(let parse):
            if let limited = try overLimit(prepared, ledger) {
                outcome = limited
            } else if parse.interpretations.isEmpty, !parse.limitReached {
                outcome = Outcome(id: id, status: .rejected, reason: .unparsed, results: [], reply: nil)
            } else {
                let results = try validator.decide(
                    parse.interpretations, limitReached: parse.limitReached, period: period, sender: prepared.sender,
                    accounts: prepared.accounts, in: ledger)
                outcome = Outcome(
                    id: id, status: results.first?.status ?? .rejected,
                    reason: results.first.map(\.reason) ?? (parse.limitReached ? .ambiguous : .unparsed),
                    results: results, reply: nil)
            }
        }
        outcome.reply = templates.render(outcome, channel: message.channel, bound: outcome.results.first?.senderBound ?? false)
        let json = outcome.jsonLine

        let messageID = try ledger.insertMessage(NewMessage(
            channel: message.channel.rawValue, externalID: message.externalID, feed: message.feed,
            sender: prepared.sender, receivedAt: message.receivedAt, subject: prepared.subject, text: prepared.text,
            raw: message.raw, status: outcome.status.rawValue, reason: outcome.reason?.rawValue,
            outcomeJSON: json, reply: outcome.reply))
        for result in outcome.results where result.status.records {
            _ = try ledger.insertSubmission(
                NewSubmission(
                    messageID: messageID, uin: result.uin, period: period, status: result.status.rawValue,
                    reason: result.reason?.rawValue, meters: result.meters, values: result.readings,
                    previous: result.previous),
                channel: message.channel.rawValue, sender: prepared.sender, receivedAt: message.receivedAt)
        }
        var queued = false
        // Replay's replies are recorded with the message (`message.reply`) and never sent:
        // they take no outbox row.
        if replyState == .pending, let reply = outcome.reply, let recipient = prepared.replyRecipient,
           try replyAllowed(to: recipient, on: message.channel, ledger) {
            _ = try ledger.enqueueReply(NewReply(
                messageID: messageID, channel: message.channel.rawValue, recipient: recipient,
                subject: message.channel == .email ? prepared.replySubject : nil,
                inReplyTo: prepared.inReplyTo, references: prepared.references, body: reply, state: replyState))
            queued = true
        }
        return processed(outcome, prepared, isNew: true, replyQueued: queued, json: json)
    }

    /// SMS: at most `maxMessagesPerSenderPerHour` replies to one number in any hour of real
    /// time, however the messages' own times fall (a backlog after an outage, a phone with a
    /// wrong clock); the message itself is recorded as usual.
    private func replyAllowed(to recipient: String, on channel: ChannelKind, _ ledger: any LedgerTransaction) throws -> Bool {
        guard channel == .sms else { return true }
        let sent = try ledger.countReplies(recipient: recipient, since: Date().addingTimeInterval(-3600))
        return sent < policy.maxMessagesPerSenderPerHour
    }

    private func overLimit(_ prepared: PreparedMessage, _ ledger: any LedgerTransaction) throws -> Outcome? {
        guard let sender = prepared.sender, !sender.isEmpty else { return nil }
        let since = prepared.incoming.receivedAt.addingTimeInterval(-3600)
        let count = try ledger.countMessages(sender: sender, since: since)
        guard count >= policy.maxMessagesPerSenderPerHour else { return nil }
        return Outcome(id: prepared.incoming.externalID, status: .ignored, reason: .rateLimited, results: [], reply: nil)
    }

    private func processed(
        _ outcome: Outcome, _ prepared: PreparedMessage, isNew: Bool, replyQueued: Bool, json: String? = nil
    ) -> ProcessedMessage {
        let message = prepared.incoming
        return ProcessedMessage(
            outcome: outcome, outcomeJSON: json ?? outcome.jsonLine, isNew: isNew, replyQueued: replyQueued,
            sender: prepared.sender, channel: message.channel, feed: message.feed, externalID: message.externalID)
    }
}
