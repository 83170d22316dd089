import Foundation
import Ledger
#if canImport(Glibc)
import Glibc
#endif

/// The rules a retailer sets (config section `policy`).
public struct Policy: Sendable, Hashable {
    /// A reading that grows by more than this is held for review.
    public var maxIncrease: Decimal
    /// Days of the month that count for the current period; later days count for the next.
    public var submissionDays: ClosedRange<Int>
    /// More messages than this from one sender within an hour are ignored. For e-mail this
    /// counts only mail whose `From` the receiving server authenticated; other mail from the
    /// address has a limit of its own, `maxUnauthenticatedMessagesPerSenderPerHour`.
    public var maxMessagesPerSenderPerHour: Int
    /// Messages larger than this are `too_large` without being parsed.
    public var maxMessageBytes: Int
    /// The time zone in which a message's day of month is read; nil: the offset the message
    /// was stamped with, else the system's zone.
    public var timeZone: TimeZone?

    public init(
        maxIncrease: Decimal = 5000, submissionDays: ClosedRange<Int> = 1...31,
        maxMessagesPerSenderPerHour: Int = 20, maxMessageBytes: Int = 1 << 20,
        timeZone: TimeZone? = nil
    ) {
        self.maxIncrease = maxIncrease
        self.submissionDays = submissionDays
        self.maxMessagesPerSenderPerHour = maxMessagesPerSenderPerHour
        self.maxMessageBytes = maxMessageBytes
        self.timeZone = timeZone
    }

    /// The hourly limit of e-mail from one address whose `From` the receiving server did not
    /// authenticate (no DMARC or SPF pass): a quarter of `maxMessagesPerSenderPerHour`, at
    /// least one. Counted apart from authenticated mail, so twenty forged mails in an
    /// abonent's name spend only this allowance, never the abonent's own.
    public var maxUnauthenticatedMessagesPerSenderPerHour: Int {
        max(1, maxMessagesPerSenderPerHour / 4)
    }

    /// Parses `"20-25"` (or `"5"`) into a range of days within 1…31.
    public static func parseDays(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...2).contains(parts.count), let low = Int(parts[0]), let high = Int(parts.last!),
              1 <= low, low <= high, high <= 31 else { return nil }
        return low...high
    }

    /// The billing period (`YYYY-MM`) a message received at `date` counts for.
    /// Never traps: a time outside 1970…9999 (or not finite) is clamped into it, an offset
    /// beyond ±18 hours is ignored (the processor has already replaced implausible times).
    public func period(of date: Date, utcOffset: Int? = nil) -> String {
        let date = Timestamp.clamped(date)
        let utcOffset = utcOffset.flatMap { (-18 * 3600 ... 18 * 3600).contains($0) ? $0 : nil }
        let offset = timeZone.map { $0.secondsFromGMT(for: date) } ?? utcOffset ?? Timestamp.localZone.secondsFromGMT(for: date)
        var seconds = time_t(floor(date.timeIntervalSince1970)) + time_t(offset)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var year = Int(parts.tm_year) + 1900
        var month = Int(parts.tm_mon) + 1
        if Int(parts.tm_mday) > submissionDays.upperBound {
            month += 1
            if month > 12 {
                month = 1
                year += 1
            }
        }
        return String(year) + (month < 10 ? "-0" : "-") + String(month)
    }
}
