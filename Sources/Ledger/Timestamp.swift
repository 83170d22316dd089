import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Fast ISO 8601 timestamps with a UTC offset (`2026-11-20T10:15:02+03:00`), for the ledger,
/// exports and log lines.
public enum Timestamp {
    /// The process's zone, read once (`TimeZone.current` takes a lock on every call).
    public static let localZone = TimeZone.current

    /// Formats `date` in `timeZone` (default: the process's local zone).
    public static func iso8601(_ date: Date, timeZone: TimeZone = localZone) -> String {
        let date = clamped(date)
        let offset = timeZone.secondsFromGMT(for: date)
        var seconds = time_t(floor(date.timeIntervalSince1970)) + time_t(offset)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let minutes = abs(offset) / 60
        return String(unsafeUninitializedCapacity: 25) { buffer in
            var at = 0
            func put(_ byte: UInt8) { buffer[at] = byte; at += 1 }
            func digits(_ value: Int, _ width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                var rest = max(0, value)
                while divisor > 0 { put(UInt8(48 + (rest / divisor) % 10)); rest %= divisor * 10; divisor /= 10 }
            }
            digits(Int(parts.tm_year) + 1900, 4); put(45); digits(Int(parts.tm_mon) + 1, 2); put(45); digits(Int(parts.tm_mday), 2)
            put(84); digits(Int(parts.tm_hour), 2); put(58); digits(Int(parts.tm_min), 2); put(58); digits(Int(parts.tm_sec), 2)
            if offset == 0 {
                put(90)
            } else {
                put(offset < 0 ? 45 : 43); digits(minutes / 60, 2); put(58); digits(minutes % 60, 2)
            }
            return at
        }
    }

    /// The last instant of year 9998 (UTC): later times are not calendar dates metergate handles
    /// (a period one month on, or a zone 18 hours ahead, still has a four-digit year).
    public static let latestSeconds: Double = 253_370_764_799

    /// `date` moved into 1970-01-01…9998-12-31 (NaN: the epoch), so that converting it to
    /// `time_t` and a calendar date never traps, whatever a source wrote.
    public static func clamped(_ date: Date) -> Date {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite else { return Date(timeIntervalSince1970: 0) }
        if seconds < 0 { return Date(timeIntervalSince1970: 0) }
        if seconds > latestSeconds { return Date(timeIntervalSince1970: latestSeconds) }
        return date
    }

    /// Parses `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM|±HHMM)` or a plain date `YYYY-MM-DD`
    /// (local midnight). Returns the instant and the UTC offset written, if any.
    public static func parse(_ text: String) -> (date: Date, offset: Int?)? {
        let bytes = Array(text.utf8)
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), bytes.count >= 10, bytes[4] == 45, let month = number(5, 2),
              bytes[7] == 45, let day = number(8, 2), (1...12).contains(month), (1...31).contains(day)
        else { return nil }
        var hour = 0, minute = 0, second = 0
        var index = 10
        var offset: Int?
        if bytes.count > 10 {
            guard bytes[10] == 84 || bytes[10] == 32, let h = number(11, 2), bytes.count > 13, bytes[13] == 58,
                  let m = number(14, 2) else { return nil }
            hour = h
            minute = m
            index = 16
            if index < bytes.count, bytes[index] == 58 {
                guard let s = number(index + 1, 2) else { return nil }
                second = s
                index += 3
                if index < bytes.count, bytes[index] == 46 {
                    index += 1
                    while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 { index += 1 }
                }
            }
            if index < bytes.count {
                if bytes[index] == 90, index + 1 == bytes.count {
                    offset = 0
                } else if bytes[index] == 43 || bytes[index] == 45, let oh = number(index + 1, 2) {
                    var om = 0
                    if index + 3 < bytes.count {
                        let minuteStart = bytes[index + 3] == 58 ? index + 4 : index + 3
                        guard let value = number(minuteStart, 2), minuteStart + 2 == bytes.count else { return nil }
                        om = value
                    } else if index + 3 != bytes.count {
                        return nil
                    }
                    offset = (oh * 3600 + om * 60) * (bytes[index] == 45 ? -1 : 1)
                } else {
                    return nil
                }
            }
        }
        guard hour < 24, minute < 60, second < 61 else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let utc = Double(timegm(&parts))
        if let offset {
            return (Date(timeIntervalSince1970: utc - Double(offset)), offset)
        }
        let local = localZone.secondsFromGMT(for: Date(timeIntervalSince1970: utc))
        return (Date(timeIntervalSince1970: utc - Double(local)), nil)
    }

}
