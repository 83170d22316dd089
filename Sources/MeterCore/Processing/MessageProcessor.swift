import Foundation
#if canImport(Glibc)
import Glibc
#endif
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
    /// The mail reader's word lists (footers, sign-offs, separators, quote verbs, auto-reply
    /// subjects), from the parser's grammar.
    public var mailWords: MailWords
    /// How many body lines of an e-mail the parser sees after the subject.
    public var bodyLineLimit = 40
    /// The times a source states (Kannel's `time=`, an SMSC's `sent`, a file name, a mail's
    /// date, replay's `received_at`) are believed from `pastLimit` seconds before the time of
    /// receipt to `futureLimit` after it; a time outside (or not a number at all: `1e300`,
    /// `inf`) is replaced by the time of receipt, and the log line says so
    /// (`time=replaced:…`). Default: 366 days back, one day ahead.
    public var pastLimit: TimeInterval = 366 * 86_400
    public var futureLimit: TimeInterval = 86_400
    /// Feed (mailbox) name → the authserv-id its receiving server writes in
    /// `Authentication-Results`: only that server's results are believed. A mailbox not named
    /// here believes the topmost `Authentication-Results` field (see `MailMessage.fromAuthenticated`).
    public var trustedAuthServIDs: [String: String] = [:]
    /// The time of receipt (tests set a fixed one).
    public var clock: @Sendable () -> Date = { Date() }

    public init(
        parser: MessageParser, templates: ReplyTemplates, policy: Policy, ownSenders: Set<String> = [],
        replyState: NewReply.State = .pending
    ) {
        self.parser = parser
        self.mailWords = MailWords(grammar: parser.grammar)
        self.templates = templates
        self.validator = Validator(policy: policy)
        self.ownSenders = ownSenders
        self.replyState = replyState
    }

    public var policy: Policy { validator.policy }

    // MARK: - Pure step

    public func prepare(_ message: IncomingMessage) -> PreparedMessage {
        var message = message
        var stated: Date?
        let receipt = clock()
        let seconds = message.receivedAt.timeIntervalSince1970
        if !seconds.isFinite || seconds < receipt.timeIntervalSince1970 - pastLimit
            || seconds > receipt.timeIntervalSince1970 + futureLimit {
            stated = message.receivedAt
            message.receivedAt = receipt
            message.utcOffset = nil
        } else if let offset = message.utcOffset, !(-18 * 3600 ... 18 * 3600).contains(offset) {
            message.utcOffset = nil
        }
        var prepared: PreparedMessage
        switch message.channel {
        case .sms: prepared = prepareSMS(message)
        case .email: prepared = prepareEmail(message)
        }
        prepared.statedTime = stated
        return prepared
    }

    private func prepareSMS(_ message: IncomingMessage) -> PreparedMessage {
        // E.164 numbers have at most 15 digits: a longer "number" (20,000 digits from a
        // gateway) is no sender; the message is kept, unanswered, as `no_sender`.
        let overlong = message.sender.map(Contact.isOverlongPhone) ?? false
        let sender = overlong ? nil : message.sender.map(Contact.normalizePhone)
        let text = message.text ?? message.raw.map { String(decoding: $0, as: UTF8.self) } ?? ""
        var prepared = PreparedMessage(
            incoming: message, verdict: .ignored(.noSender), sender: sender,
            replyRecipient: sender.flatMap { Contact.isReplyablePhone($0) ? $0 : nil },
            subject: nil, text: text, replySubject: nil, inReplyTo: nil, references: [])
        if overlong {
            // verdict stays `ignored(.noSender)`: nothing is read from it, nothing answered.
        } else if let sender, ownSenders.contains(sender) {
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
        let uncertain: String
        if let raw = message.raw {
            let tooLarge = raw.count > policy.maxMessageBytes
            let mail = MailMessage(raw: tooLarge ? Self.headerBlock(of: raw) : raw, words: mailWords)
            if let from = mail.from?.address { prepared.sender = Contact.normalizeEmail(from) }
            prepared.senderAuthenticated = mail.fromAuthenticated(authservID: trustedAuthServIDs[message.feed])
            prepared.replyRecipient = Self.replyRecipient(
                from: (mail.from?.address).map(Contact.normalizeEmail), replyTo: (mail.replyTo?.address).map(Contact.normalizeEmail),
                own: ownSenders)
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
            uncertain = mail.uncertainText
        } else {
            subject = message.subject ?? ""
            (body, uncertain) = MailText.split(plainBody: message.text ?? "", words: mailWords)
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
        // The subject first; then the subject with the body's first meaningful lines. A
        // forward's subject is the forwarded mail's, not the sender's: only the new text counts.
        let cleanSubject = ReplySubject.isForward(subject) ? "" : ReplySubject.stripPrefixes(subject)
        let lines = body.split(separator: "\n", omittingEmptySubsequences: true)
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            .prefix(bodyLineLimit)
        let fromSubject = parser.parse(cleanSubject)
        if fromSubject.interpretations.contains(where: { $0.submissions.contains { !$0.readings.isEmpty } }) {
            prepared.text = cleanSubject
            prepared.verdict = .parsed(fromSubject)
            // The body may say something else: other numbers there than the subject's are a
            // second reading of the message, and two readings are no reading.
            if lines.contains(where: { $0.utf8.contains { $0 >= 0x30 && $0 <= 0x39 } }) {
                let bodyText = lines.joined(separator: "\n")
                let fromBody = parser.parse(String(bodyText.prefix(16_384)))
                if Self.saysMore(fromBody, than: fromSubject) {
                    prepared.text = ([cleanSubject] + lines).joined(separator: "\n")
                    prepared.verdict = .parsed(ParseResult(
                        normalized: fromSubject.normalized, tokens: fromSubject.tokens,
                        diagnostics: fromSubject.diagnostics + [Diagnostic(
                            token: "", range: 0..<0, message: "the body gives other numbers than the subject: ambiguous")],
                        interpretations: fromSubject.interpretations, limitReached: true))
                }
            }
        } else {
            let text = ([cleanSubject] + lines).joined(separator: "\n")
            prepared.verdict = .parsed(parser.parse(String(text.prefix(16_384))))
            prepared.text = text
        }
        // A line that may be quoted (a wrapped '>' line) or may be the sender's: its numbers,
        // when the text read does not hold them too, are another possible reading.
        if uncertain.utf8.contains(where: { $0 >= 0x30 && $0 <= 0x39 }), case .parsed(let used) = prepared.verdict,
           !used.limitReached, !used.interpretations.isEmpty {
            let doubtful = parser.parse(String(uncertain.prefix(4096)))
            if Self.saysMore(doubtful, than: used) {
                prepared.verdict = .parsed(ParseResult(
                    normalized: used.normalized, tokens: used.tokens,
                    diagnostics: used.diagnostics + [Diagnostic(
                        token: "", range: 0..<0, message: "a line that may be quoted gives other numbers: ambiguous")],
                    interpretations: used.interpretations, limitReached: true))
            }
        }
        return prepared
    }

    /// The body holds a value number (not set aside as a date, phone, address …) that the
    /// subject does not: it may be another reading.
    static func saysMore(_ body: ParseResult, than subject: ParseResult) -> Bool {
        func values(_ result: ParseResult) -> Set<String> {
            Set(result.tokens.filter { $0.kind == .number }.map { token in
                let digits = token.text.filter(\.isNumber)
                let trimmed = digits.drop { $0 == "0" }
                return trimmed.isEmpty ? "0" : String(trimmed)
            })
        }
        return !values(body).subtracting(values(subject)).isEmpty
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

    /// The subject of every e-mail reply is ours: a sender's subject (a phishing URL, anything)
    /// is never echoed from the retailer's address. Threading goes by In-Reply-To/References.
    static func replySubject(_ subject: String) -> String {
        OutgoingReply.emailSubject
    }

    /// `Reply-To` is followed only within the `From` domain and never to our own addresses:
    /// a forged mail cannot make metergate write to a third party, or to itself.
    static func replyRecipient(from: String?, replyTo: String?, own: Set<String>) -> String? {
        guard let replyTo, !replyTo.isEmpty, !own.contains(replyTo) else { return from }
        guard let from else { return nil }
        func domain(_ address: String) -> Substring? { address.lastIndex(of: "@").map { address[address.index(after: $0)...] } }
        guard let fromDomain = domain(from), let replyDomain = domain(replyTo), fromDomain == replyDomain else { return from }
        return replyTo
    }

    // MARK: - Ledger step

    /// Records a batch of prepared messages in `ledger`, in order, after telling it what the
    /// batch will ask (a ledger on a server loads that in a few statements).
    public func record(_ batch: [PreparedMessage], in ledger: any LedgerTransaction) throws -> [ProcessedMessage] {
        if batch.count > 1, ledger.wantsBatchHint { try ledger.prepare(for: hint(batch)) }
        return try batch.map { try record($0, in: ledger) }
    }

    /// What `batch` will ask the ledger about.
    public func hint(_ batch: [PreparedMessage]) -> LedgerBatchHint {
        var hint = LedgerBatchHint()
        var uins: Set<String> = []
        var unknown: Set<String> = []
        var senders: Set<String> = []
        var recipients: Set<String> = []
        for prepared in batch {
            let message = prepared.incoming
            hint.messages.append((message.channel.rawValue, message.externalID))
            if let sender = prepared.sender, !sender.isEmpty {
                senders.insert(sender)
                let since = message.receivedAt.addingTimeInterval(-3600)
                hint.sendersSince = min(hint.sendersSince ?? since, since)
            }
            for uin in prepared.candidateUINs {
                uins.insert(uin)
                if prepared.accounts[uin] == nil { unknown.insert(uin) }
            }
            if replyState == .pending, message.channel == .sms, let recipient = prepared.replyRecipient { recipients.insert(recipient) }
        }
        hint.senders = senders.sorted()
        hint.uins = uins.sorted()
        hint.accounts = unknown.sorted()
        hint.recipients = recipients.sorted()
        return hint
    }

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
                // History requests count against the sender's hourly limit like any message.
                outcome = limited
            } else if let history = parse.history, !parse.hasReadings, !parse.limitReached {
                outcome = try answer(history, id: id, sender: prepared.sender, accounts: prepared.accounts, ledger)
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
            outcomeJSON: json, reply: outcome.reply, senderAuthenticated: prepared.senderAuthenticated,
            uins: outcome.results.map(\.uin), submittedUINs: outcome.results.filter(\.status.records).map(\.uin)))
        for result in outcome.results where result.status.records {
            let submissionID = try ledger.insertSubmission(
                NewSubmission(
                    messageID: messageID, uin: result.uin, period: period, status: result.status.rawValue,
                    reason: result.reason?.rawValue, meters: result.meters, values: result.readings,
                    previous: result.previous, senderBound: result.senderBinding),
                channel: message.channel.rawValue, sender: prepared.sender, receivedAt: message.receivedAt)
            if result.status == .accepted, result.supersedes {
                // The latest submission of the period counts: the ones before it are kept, superseded.
                try ledger.supersede(uin: result.uin, period: period, by: submissionID)
            }
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

    /// A history request (contract §6): the last accepted readings, told only to a sender bound
    /// to the account; anyone else learns nothing about it (not even whether it exists).
    private func answer(
        _ request: HistoryRequest, id: String, sender: String?, accounts known: [String: Account?],
        _ ledger: any LedgerTransaction
    ) throws -> Outcome {
        func account(_ uin: String) throws -> Account? {
            if let cached = known[uin] { return cached }
            return try ledger.account(uin: uin)
        }
        func result(_ uin: String, _ account: Account?) throws -> SubmissionOutcome {
            var result = SubmissionOutcome(uin: uin, status: .answered)
            guard let account, let sender, Validator.isBound(sender, to: account) else {
                result.history = HistoryAnswer(.notBound)
                return result
            }
            result.senderBound = true
            if let last = try ledger.lastAccepted(uin: account.uin) {
                result.meters = last.meters
                result.history = HistoryAnswer(.readings(values: last.values, date: day(of: last.receivedAt)))
            } else {
                result.history = HistoryAnswer(.none)
            }
            return result
        }
        var results: [SubmissionOutcome] = []
        if request.uins.isEmpty {
            let bound = try sender.map { try ledger.uinsBound(to: $0) } ?? []
            if bound.count == 1 {
                results = [try result(bound[0], try account(bound[0]))]
            } else {
                var outcome = Outcome(id: id, status: .answered, reason: nil, results: [], reply: nil)
                outcome.history = HistoryAnswer(bound.isEmpty ? .notBound : .whichAccount)
                return outcome
            }
        } else {
            for uin in request.uins.prefix(4) { results.append(try result(uin, try account(uin))) }
        }
        return Outcome(id: id, status: .answered, reason: nil, results: results, reply: nil)
    }

    /// `dd.MM.yyyy` in the policy's time zone (else the system's).
    func day(of date: Date) -> String {
        let date = Timestamp.clamped(date)
        let zone = policy.timeZone ?? Timestamp.localZone
        var seconds = time_t(floor(date.timeIntervalSince1970)) + time_t(zone.secondsFromGMT(for: date))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return two(parts.tm_mday) + "." + two(parts.tm_mon + 1) + "." + String(parts.tm_year + 1900)
    }

    /// SMS: at most `maxMessagesPerSenderPerHour` replies to one number in any hour of real
    /// time, however the messages' own times fall (a backlog after an outage, a phone with a
    /// wrong clock); the message itself is recorded as usual.
    private func replyAllowed(to recipient: String, on channel: ChannelKind, _ ledger: any LedgerTransaction) throws -> Bool {
        guard channel == .sms else { return true }
        let sent = try ledger.countReplies(recipient: recipient, since: Date().addingTimeInterval(-3600))
        return sent < policy.maxMessagesPerSenderPerHour
    }

    /// More than the hourly limit from one sender: `ignored`, `rate_limited`. E-mail whose
    /// `From` the receiving server authenticated is counted only against other authenticated
    /// mail; unauthenticated mail (anyone can write any `From`) against other unauthenticated
    /// mail, with the lower `maxUnauthenticatedMessagesPerSenderPerHour`. Forged mail in an
    /// abonent's name thus never spends the abonent's own allowance.
    private func overLimit(_ prepared: PreparedMessage, _ ledger: any LedgerTransaction) throws -> Outcome? {
        guard let sender = prepared.sender, !sender.isEmpty else { return nil }
        let since = prepared.incoming.receivedAt.addingTimeInterval(-3600)
        let count: Int
        let limit: Int
        if let authenticated = prepared.senderAuthenticated {
            count = try ledger.countMessages(sender: sender, since: since, authenticated: authenticated)
            limit = authenticated ? policy.maxMessagesPerSenderPerHour : policy.maxUnauthenticatedMessagesPerSenderPerHour
        } else {
            count = try ledger.countMessages(sender: sender, since: since)
            limit = policy.maxMessagesPerSenderPerHour
        }
        guard count >= limit else { return nil }
        return Outcome(id: prepared.incoming.externalID, status: .ignored, reason: .rateLimited, results: [], reply: nil)
    }

    private func processed(
        _ outcome: Outcome, _ prepared: PreparedMessage, isNew: Bool, replyQueued: Bool, json: String? = nil
    ) -> ProcessedMessage {
        let message = prepared.incoming
        var result = ProcessedMessage(
            outcome: outcome, outcomeJSON: json ?? outcome.jsonLine, isNew: isNew, replyQueued: replyQueued,
            sender: prepared.sender, channel: message.channel, feed: message.feed, externalID: message.externalID)
        result.statedTime = prepared.statedTime
        return result
    }
}
