import Foundation
import Testing

extension Tag {
    /// Starts a real peer of scripts/peers (Dovecot, the SMTP sink, PostgreSQL, Gammu SMSD,
    /// Kannel): `swift test --skip <tag>` leaves them out; a missing peer shows as skipped.
    @Tag public static var peer: Self
}

/// Which peers this machine has (scripts/peers/*.packages install them), and where their
/// scripts are.
public enum Peer {
    /// `METERGATE_REQUIRE_PEERS=1` (scripts/test.sh): a missing peer fails its tests instead
    /// of skipping them.
    public static var required: Bool { ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" }

    public static var dovecot: Bool { installed("/usr/sbin/dovecot") }
    public static var smtpSink: Bool { FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd") }
    public static var mail: Bool { dovecot && smtpSink }
    public static var postgres: Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .contains { installed("/usr/lib/postgresql/\($0)/bin/postgres") }
    }
    /// The sqlite3 command, which the SMS tests read the ledger and SMSD's database with.
    public static var sqlite3: Bool { installed("/usr/bin/sqlite3") }
    /// Kannel's bearerbox and smsbox, and fakesmsc (kannel-extras), the phone the tests send from.
    public static var kannel: Bool {
        ["/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc"].allSatisfy(installed)
    }
    /// gammu-smsd with its SQL schemas (examples/sqlite.sql, pgsql.sql) and libdbi's SQLite
    /// driver (libdbd-sqlite3).
    public static var gammu: Bool {
        installed("/usr/bin/gammu-smsd") && FileManager.default.fileExists(atPath: "/usr/share/doc/gammu-smsd/examples/pgsql.sql")
            && FileManager.default.fileExists(atPath: "/usr/share/doc/gammu-smsd/examples/sqlite.sql")
            && !((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/x86_64-linux-gnu/dbd")) ?? [])
                .filter { $0.hasPrefix("libdbdsqlite3") }.isEmpty
    }
    public static var openssl: Bool { installed("/usr/bin/openssl") }

    /// The suite runs when its peer is installed (or peers are required); otherwise its tests
    /// are reported as skipped, with `what` as the reason.
    public static func needs(_ available: @autoclosure @escaping @Sendable () -> Bool, _ what: String) -> ConditionTrait {
        .enabled(if: available() || required, Comment(rawValue: "\(what) is not installed (scripts/peers)"))
    }

    /// The package's root folder (this file is Tests/TestSupport/PeerTraits.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// scripts/peers: the `*-up.sh` and `*-down.sh` scripts and the Python helpers.
    public static var scripts: URL { packageRoot.appendingPathComponent("scripts/peers") }

    private static func installed(_ path: String) -> Bool { FileManager.default.isExecutableFile(atPath: path) }
}
