import Foundation
import Ledger
import ReadingsGrammar

/// Chooses among a message's interpretations by checking each against the accounts.
///
/// A reading is recorded only when exactly one distinct interpretation fits (contract §6):
/// - an interpretation *fits* when every UIN in it is accepted or a duplicate; failing
///   that, when every UIN is at least held (an implausible increase is a weaker fit);
/// - two distinct fitting interpretations: `ambiguous`, nothing recorded;
/// - none fits: the most plausible one (most known accounts, most recordable UINs, least
///   penalty) gives the answer, unless another just as plausible one disagrees.
public struct Validator: Sendable {
    public let policy: Policy
    /// `policy.maxIncrease` as a meter value, computed once.
    let maxIncrease: MeterValue

    public init(policy: Policy) {
        self.policy = policy
        maxIncrease = MeterValue(NSDecimalNumber(decimal: policy.maxIncrease).stringValue) ?? MeterValue("5000")!
    }

    /// The results for one message, one per UIN.
    public func decide(
        _ interpretations: [Interpretation], limitReached: Bool, period: String, sender: String? = nil,
        accounts known: [String: Account?] = [:], in ledger: any LedgerTransaction
    ) throws -> [SubmissionOutcome] {
        var accounts = AccountCache(ledger: ledger, known: known)
        var results = try choose(
            interpretations, limitReached: limitReached, period: period, sender: sender, accounts: &accounts, ledger: ledger)
        if let sender {
            for index in results.indices {
                guard let account = try accounts.account(results[index].uin) else { continue }
                results[index].senderBound = Self.isBound(sender, to: account)
            }
        }
        return results
    }

    private func choose(
        _ interpretations: [Interpretation], limitReached: Bool, period: String, sender: String?,
        accounts: inout AccountCache, ledger: any LedgerTransaction
    ) throws -> [SubmissionOutcome] {
        let evaluations = try interpretations.map { interpretation in
            Evaluation(
                interpretation: interpretation,
                results: try evaluate(interpretation, period: period, sender: sender, accounts: &accounts, ledger: ledger))
        }
        if limitReached {
            // Too many readings of the text to weigh them all: no guess, and no UIN named.
            return []
        }
        // One interpretation: it is the answer, whether it fits or not.
        if evaluations.count == 1 { return evaluations[0].results }
        let strong = evaluations.filter { $0.results.allSatisfy { $0.status == .accepted || $0.status == .duplicate } }
        let weak = evaluations.filter { $0.results.allSatisfy(\.status.records) }
        let fitting = distinct(strong.isEmpty ? weak : strong)
        if fitting.count == 1 { return fitting[0].results }
        if fitting.count > 1 { return ambiguous(fitting[0].interpretation) }

        // Nothing fits: answer with the most plausible interpretation.
        let ranked = evaluations.enumerated().sorted { (a: (offset: Int, element: Evaluation), b: (offset: Int, element: Evaluation)) in
            if a.element.plausibility != b.element.plausibility {
                return a.element.plausibility > b.element.plausibility
            }
            if a.element.interpretation.penalty != b.element.interpretation.penalty {
                return a.element.interpretation.penalty < b.element.interpretation.penalty
            }
            return a.offset < b.offset
        }.map(\.element)
        guard let best = ranked.first else { return [] }
        if best.results.contains(where: \.status.records) {
            let rivals = ranked.dropFirst().filter {
                $0.plausibility == best.plausibility && $0.recordedKey != best.recordedKey
            }
            if !rivals.isEmpty { return ambiguous(best.interpretation) }
        }
        return best.results
    }

    struct Evaluation {
        var interpretation: Interpretation
        var results: [SubmissionOutcome]

        /// Known accounts first, then UINs whose readings could be recorded, then a conflict
        /// the text itself shows (one UIN twice with different readings, one zone twice).
        var plausibility: Int {
            results.filter { $0.reason != .unknownAccount }.count * 1000 + results.filter(\.status.records).count * 10
                + (results.contains { $0.reason == .ambiguous } ? 1 : 0)
        }

        var key: [String] { results.map { "\($0.uin)=\($0.readings.joined(separator: ";"))/\($0.status.rawValue)" } }

        var recordedKey: [String] {
            results.filter(\.status.records).map { "\($0.uin)=\($0.readings.joined(separator: ";"))" }
        }
    }

    private func distinct(_ evaluations: [Evaluation]) -> [Evaluation] {
        var seen = Set<[String]>()
        return evaluations.filter { seen.insert($0.key).inserted }
    }

    private func ambiguous(_ interpretation: Interpretation?) -> [SubmissionOutcome] {
        var seen = Set<String>()
        let uins = (interpretation?.submissions ?? []).map(\.uin).filter { seen.insert($0).inserted }
        return uins.map { SubmissionOutcome(uin: $0, status: .rejected, reason: .ambiguous) }
    }

    /// Evaluates one interpretation: a result per distinct UIN, in text order.
    func evaluate(
        _ interpretation: Interpretation, period: String, sender: String? = nil, accounts: inout AccountCache,
        ledger: any LedgerTransaction
    ) throws -> [SubmissionOutcome] {
        // The common case: one UIN, named once.
        if interpretation.submissions.count == 1 {
            return [try evaluate(interpretation.submissions[0], period: period, sender: sender, accounts: &accounts, ledger: ledger)]
        }
        var order: [String] = []
        var byUIN: [String: [Submission]] = [:]
        for submission in interpretation.submissions {
            if byUIN[submission.uin] == nil { order.append(submission.uin) }
            byUIN[submission.uin, default: []].append(submission)
        }
        return try order.map { uin in
            let submissions = byUIN[uin]!
            let written = submissions.map { $0.readings.map(\.value.description) }
            if submissions.count > 1, Set(written).count > 1 {
                // The same UIN twice with different readings: which one is meant?
                return SubmissionOutcome(uin: uin, status: .rejected, reason: .ambiguous)
            }
            return try evaluate(submissions[0], period: period, sender: sender, accounts: &accounts, ledger: ledger)
        }
    }

    func evaluate(
        _ submission: Submission, period: String, sender: String? = nil, accounts: inout AccountCache,
        ledger: any LedgerTransaction
    ) throws -> SubmissionOutcome {
        let written = submission.readings.map(\.value.description)
        guard let account = try accounts.account(submission.uin) else {
            return SubmissionOutcome(uin: submission.uin, status: .rejected, reason: .unknownAccount, readings: written)
        }
        func rejected(_ reason: OutcomeReason, meters: [String] = [], readings: [String] = written, previous: [String?] = []) -> SubmissionOutcome {
            SubmissionOutcome(
                uin: submission.uin, status: .rejected, reason: reason, meters: meters, readings: readings,
                previous: previous, expectedCount: account.meters.count)
        }
        guard !account.meters.isEmpty, submission.readings.count == account.meters.count else {
            return rejected(.countMismatch)
        }
        // Place labeled readings by zone, the rest in order.
        var slots = [MeterValue?](repeating: nil, count: account.meters.count)
        for reading in submission.readings {
            guard let zone = reading.zone else { continue }
            guard let index = account.meters.firstIndex(where: { $0.caseInsensitiveCompare(zone) == .orderedSame }) else {
                return rejected(.countMismatch)
            }
            guard slots[index] == nil else { return rejected(.ambiguous) }
            slots[index] = reading.value
        }
        var free = slots.indices.filter { slots[$0] == nil }.makeIterator()
        for reading in submission.readings where reading.zone == nil {
            guard let index = free.next() else { return rejected(.ambiguous) }
            slots[index] = reading.value
        }
        let values = slots.compactMap { $0 }
        // Written in account order when no reading carried a zone label (the common case).
        let normalized = submission.readings.allSatisfy({ $0.zone == nil }) ? written : values.map(\.description)

        // Corrections (contract §6): checked against the period before (the last accepted
        // readings of an earlier period, else the account's `previous`), never against the
        // submission of this period they replace.
        let state = try ledger.periodState(uin: account.uin, period: period, values: normalized)
        let latest = state.earlierAccepted
        let previous: [MeterValue?] = account.meters.enumerated().map { index, meter in
            if let value = latest[meter] { return MeterValue(value) }
            return index < account.previous.count ? account.previous[index].flatMap { MeterValue($0) } : nil
        }
        let previousText = previous.map { $0?.description }
        let bound = sender.map { Self.isBound($0, to: account) } ?? false
        let binding: Bool? = account.phones.isEmpty && account.emails.isEmpty ? nil : bound
        func outcome(_ status: OutcomeStatus, _ reason: OutcomeReason? = nil) -> SubmissionOutcome {
            var result = SubmissionOutcome(
                uin: account.uin, status: status, reason: reason, meters: account.meters, readings: normalized,
                previous: previousText, expectedCount: account.meters.count)
            result.senderBound = bound
            result.senderBinding = binding
            return result
        }

        if state.alreadyRecorded {
            return outcome(.duplicate)
        }
        var worst: OutcomeReason?
        func note(_ reason: OutcomeReason) {
            let rank: [OutcomeReason: Int] = [.implausible: 1, .decreasing: 2, .outOfRange: 3]
            if (rank[reason] ?? 0) > (worst.flatMap { rank[$0] } ?? 0) { worst = reason }
        }
        for (index, value) in values.enumerated() {
            if let digits = account.digits, value.significantIntegerDigits > digits {
                note(.outOfRange)
                continue
            }
            guard let before = previous[index] else { continue }
            if value < before {
                if let digits = account.digits, value + MeterValue.powerOfTen(digits) - before <= maxIncrease {
                    continue  // the register wrapped past 99…9
                }
                note(.decreasing)
            } else if value - before > maxIncrease {
                note(.implausible)
            }
        }
        // A correction replaces the submission that counts now; only its own sender or a
        // sender bound to the account may do that without an operator.
        let verified = state.current.map { current in bound || (sender != nil && current.sender == sender) } ?? true
        switch worst {
        case .implausible?:
            return outcome(.held, verified ? .implausible : .unverifiedCorrection)
        case let reason?:
            var result = rejected(reason, meters: account.meters, readings: normalized, previous: previousText)
            result.senderBound = bound
            return result
        case nil:
            guard verified else { return outcome(.held, .unverifiedCorrection) }
            var result = outcome(.accepted)
            result.replaces = state.current?.values
            result.supersedes = state.hasUnsuperseded
            return result
        }
    }

    /// Whether `sender` (a normalised phone number or a lower-cased address) is bound to `account`.
    static func isBound(_ sender: String, to account: Account) -> Bool {
        sender.utf8.contains(UInt8(ascii: "@")) ? account.emails.contains(sender) : account.phones.contains(sender)
    }
}

/// Accounts looked up once per message.
struct AccountCache {
    let ledger: any LedgerTransaction
    private var cache: [String: Account?]

    init(ledger: any LedgerTransaction, known: [String: Account?] = [:]) {
        self.ledger = ledger
        cache = known
    }

    mutating func account(_ uin: String) throws -> Account? {
        if let cached = cache[uin] { return cached }
        let account = try ledger.account(uin: uin)
        cache[uin] = account
        return account
    }
}
