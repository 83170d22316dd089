import Foundation
import Testing

extension Tag {
    /// Starts a real peer of scripts/peers (Dovecot, the SMTP sink, PostgreSQL, Gammu SMSD,
    /// Kannel): `swift test --skip <tag>` leaves them out; a missing peer shows as skipped.
    @Tag static var peer: Self
}

/// Which peers this machine has (scripts/peers/*.packages install them).
enum Peer {
    /// `METERGATE_REQUIRE_PEERS=1` (scripts/test.sh): a missing peer fails its tests instead
    /// of skipping them.
    static var required: Bool { ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" }

    static var dovecot: Bool { FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot") }
    static var smtpSink: Bool { FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd") }
    static var mail: Bool { dovecot && smtpSink }
    static var postgres: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .contains { FileManager.default.isExecutableFile(atPath: "/usr/lib/postgresql/\($0)/bin/postgres") }
    }

    /// The suite runs when its peer is installed (or peers are required); otherwise its tests
    /// are reported as skipped, with `what` as the reason.
    static func needs(_ available: @autoclosure @escaping @Sendable () -> Bool, _ what: String) -> ConditionTrait {
        .enabled(if: available() || required, Comment(rawValue: "\(what) is not installed (scripts/peers)"))
    }
}
