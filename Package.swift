// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "metergate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "metergate", targets: ["metergate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-configuration", from: "1.0.0"),
    ],
    targets: [
        // The one shape of errors: a code, the operator's words, the cause kept as an error, where.
        .target(name: "Failures", swiftSettings: strict),
        // Pure: grammar files, normalisation, tokenizer, interpretation search.
        .target(name: "ReadingsGrammar", swiftSettings: strict),
        // Pure: RFC 5322 / MIME / charsets / text extraction.
        .target(name: "MailMessage", exclude: ["README.md"], swiftSettings: strict),
        // The ledger's boundary: records and protocols, no storage engine.
        .target(name: "Ledger", dependencies: ["Failures"], swiftSettings: strict),
        // The ledger in SQLite (through GRDB): the one implementation that names SQLite.
        .systemLibrary(name: "CSQLiteTuning", providers: [.apt(["libsqlite3-dev"])]),
        .target(
            name: "LedgerSQLite",
            dependencies: [
                "Ledger", "CSQLiteTuning",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: strict
        ),
        // Built-in copies of Grammars/ and Templates/, embedded at build time.
        .executableTarget(name: "EmbedDefaultsTool", path: "Sources/EmbedDefaultsTool"),
        .plugin(name: "EmbedDefaults", capability: .buildTool(), dependencies: ["EmbedDefaultsTool"]),
        .target(name: "DefaultFiles", plugins: ["EmbedDefaults"]),
        // Message in, outcome and reply out: validation, policy, templates.
        .target(
            name: "MeterCore",
            dependencies: [
                "ReadingsGrammar", "MailMessage", "Ledger", "DefaultFiles", "Failures",
            ],
            swiftSettings: strict
        ),
        // Channels: Maildir, Gammu "files" inbox, file outbox (IMAP/POP3/SMTP/SMS providers later).
        .target(
            name: "Channels",
            dependencies: ["MeterCore", "MailMessage", "Failures", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // libcurl (IMAP, POP3, SMTP, HTTP) through non-variadic wrappers, and the Swift layer over it.
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .target(name: "Curl", dependencies: ["CCurl", "Failures"], swiftSettings: strict),
        // libpq (PostgreSQL's C client) and the Swift layer over it (Gammu SMSD on PostgreSQL).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        .target(name: "PostgreSQL", dependencies: ["CLibPQ"], swiftSettings: strict),
        // libxcrypt's crypt_r: bcrypt hashes of the web console's operators.
        .systemLibrary(name: "CCrypt", providers: [.apt(["libcrypt-dev"])]),
        // The ledger in PostgreSQL, shared by several instances (contract §7), through libpq.
        .target(
            name: "LedgerPostgres",
            dependencies: ["Ledger", "PostgreSQL", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // E-mail channels: IMAP and POP3 sources, SMTP replies.
        .target(
            name: "MailChannels",
            dependencies: ["Curl", "MeterCore", "MailMessage", "Ledger", "Failures", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strict
        ),
        // SMS channels: Gammu SMSD SQL, Kannel, SMSC-style HTTP providers.
        .target(
            name: "SMSChannels",
            dependencies: [
                "Curl", "MeterCore", "Ledger", "PostgreSQL",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // The gateway's runtime: feeds polled into the pipeline, committed, acknowledged; the
        // outbox and its reply flight; health, metrics, logs; the replay engine; the configuration.
        .target(
            name: "Gateway",
            dependencies: [
                "MeterCore", "Channels", "MailChannels", "SMSChannels", "Ledger", "LedgerSQLite", "LedgerPostgres", "PostgreSQL", "ReadingsGrammar",
                "MailMessage", "DefaultFiles", "Failures", "CCrypt",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Configuration", package: "swift-configuration"),
            ],
            swiftSettings: strict
        ),
        // The command line: commands, the configuration wired into feeds and transports, main.
        .executableTarget(
            name: "metergate",
            dependencies: [
                "Gateway", "MeterCore", "Channels", "MailChannels", "SMSChannels", "Ledger", "LedgerSQLite", "LedgerPostgres", "PostgreSQL",
                "ReadingsGrammar", "MailMessage", "DefaultFiles",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // libFuzzer entry points (build with scripts/fuzz); without -DFUZZING they replay files.
        .executableTarget(name: "FuzzParser", dependencies: ["ReadingsGrammar", "DefaultFiles"]),
        .executableTarget(name: "FuzzMail", dependencies: ["MailMessage"]),

        // What the test targets share: the peer tag and its skip conditions, peers' programs run
        // and waited on with Task.sleep, loopback ports, thread CPU time.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "ReadingsGrammarTests", dependencies: ["ReadingsGrammar", "DefaultFiles", "TestSupport"]),
        .testTarget(name: "MailMessageTests", dependencies: ["MailMessage", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "LedgerSQLiteTests", dependencies: ["LedgerSQLite", "Ledger"]),
        // One suite over the ledger's protocols, run against every implementation.
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "LedgerSQLite", "LedgerPostgres", "PostgreSQL", "TestSupport"]),
        .testTarget(name: "MeterCoreTests", dependencies: ["MeterCore", "Ledger", "ReadingsGrammar", "DefaultFiles"]),
        .testTarget(name: "ChannelsTests", dependencies: ["Channels", "MeterCore", "MailMessage"]),
        .testTarget(name: "MailChannelsTests", dependencies: ["MailChannels", "Curl", "MeterCore", "MailMessage", "TestSupport"]),
        .testTarget(name: "PostgreSQLTests", dependencies: ["PostgreSQL", "TestSupport"]),
        .testTarget(name: "SMSChannelsTests", dependencies: ["SMSChannels", "Curl", "MeterCore", "Ledger", "PostgreSQL", "TestSupport"]),
        // The runtime in process: in-memory sources and ledger, recording transports, a hand-moved clock.
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "Ledger", "MeterCore", "ReadingsGrammar", "DefaultFiles", "MailChannels",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "MetergateTests", dependencies: ["TestSupport"], resources: [.copy("Fixtures")]),
    ]
)
