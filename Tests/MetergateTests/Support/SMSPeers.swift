import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for the tests that run metergate against the SMS peers (Kannel + fakesmsc, the
/// SMSC emulator): programs, free ports, reading the ledger with the sqlite3 command.
enum SMSPeers {
    static var scripts: URL { Metergate.packageRoot.appendingPathComponent("scripts/peers") }
    static var emulator: URL { Metergate.packageRoot.appendingPathComponent("Tests/Peers/smsc_emulator.py") }
    static var proxy: URL { Metergate.packageRoot.appendingPathComponent("Tests/Peers/kannel_lossy_proxy.py") }
    static var requirePeers: Bool { ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] == "1" }

    static var kannelInstalled: Bool {
        ["/usr/sbin/bearerbox", "/usr/sbin/smsbox", "/usr/lib/kannel/test/fakesmsc"].allSatisfy {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    static var sqliteInstalled: Bool { FileManager.default.isExecutableFile(atPath: "/usr/bin/sqlite3") }

    /// A port nobody listens on now (bound to port 0 and released).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct Output: Sendable {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs a program to completion (output through files, never a full pipe). posix_spawn and
    /// waitpid rather than Foundation's Process: the peer scripts leave daemons behind that
    /// inherit the process's descriptors, and Process then never sees its child end.
    @discardableResult
    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) throws -> Output {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with no signal blocked and default dispositions, whatever the test
        // thread had (dispatch worker threads block signals; daemons started from the scripts
        // would keep ignoring SIGTERM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw HarnessError(description: "cannot run \(program): error \(spawned)") }
        let started = Date()
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date().timeIntervalSince(started) > timeout {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw HarnessError(description: "\(program) \(arguments.joined(separator: " ")) timed out")
            }
            usleep(20_000)
        }
        let exited = (status & 0x7f) == 0
        return Output(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// SIGKILL for a test peer we started, when `pid` still runs `word` (never another process).
    /// Not SIGTERM: a child started from a test's worker thread may inherit a blocked SIGTERM.
    static func killChecked(_ pid: Int32, expecting word: String) {
        let cmdline = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
        guard cmdline.contains(word) else { return }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, WNOHANG)
    }

    /// The same, waiting with `Task.sleep` (for async tests: no thread held).
    @discardableResult
    static func run(_ program: String, _ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 60) async throws -> Output {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("mg-peer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        // The child starts with no signal blocked and default dispositions, whatever the test
        // thread had (dispatch worker threads block signals; daemons started from the scripts
        // would keep ignoring SIGTERM).
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        guard spawned == 0 else { throw HarnessError(description: "cannot run \(program): error \(spawned)") }
        let started = Date()
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Date().timeIntervalSince(started) > timeout {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw HarnessError(description: "\(program) \(arguments.joined(separator: " ")) timed out")
            }
            await pause(0.02)
        }
        let exited = (status & 0x7f) == 0
        return Output(
            status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
            stdout: (try? String(contentsOfFile: out, encoding: .utf8)) ?? "",
            stderr: (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
    }

    /// Rows of a query on the ledger, as JSON objects (sqlite3 -json; WAL readers never block).
    static func query(_ store: URL, _ sql: String) throws -> [[String: Any]] {
        let output = try run("/usr/bin/sqlite3", ["-json", "-cmd", ".timeout 5000", store.path, sql])
        guard output.status == 0 else { throw HarnessError(description: "sqlite3 failed: \(output.stderr)") }
        let text = output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty { return [] }
        return (try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]]) ?? []
    }

    static func count(_ store: URL, _ sql: String) -> Int {
        guard FileManager.default.fileExists(atPath: store.path), let rows = try? query(store, sql),
              let value = rows.first?.values.first else { return 0 }
        return (value as? Int) ?? Int("\(value)") ?? 0
    }

    /// The SMS cases of the public corpus as a phone sends them, with their expected outcome.
    static func corpusSMS() throws -> [(message: PhoneMessage, expect: CorpusCase.Expected, id: String)] {
        try CorpusCase.all().filter { $0.channel == "sms" }.map { item in
            let object = try JSONSerialization.jsonObject(with: Data(item.input.utf8)) as? [String: Any] ?? [:]
            return (PhoneMessage(from: object["from"] as? String ?? "", text: object["text"] as? String ?? ""), item.expect, item.id)
        }
    }

    /// A metergate configuration: the store in `sandbox`, the contract's policy, one SMS feed.
    static func writeConfig(_ sandbox: Sandbox, smsItem: String, extra: String = "") throws -> String {
        let text = """
            store:
              path: \(jsonString(sandbox.file("store/metergate.sqlite").path))
            policy:
              max_increase: 5000
              submission_days: "1-31"
              max_messages_per_sender_per_hour: 20
            sms:
            \(smsItem)
            log:
              format: text
              level: info

            """ + extra
        try FileManager.default.createDirectory(at: sandbox.file("store"), withIntermediateDirectories: true)
        return try sandbox.write("config.yaml", text).path
    }

    /// Whether a reply text reads as intended: Cyrillic letters, no replacement marks.
    static func readableCyrillic(_ text: String) -> Bool {
        text.unicodeScalars.contains { (0x0410...0x044F).contains($0.value) } && !text.contains("\u{FFFD}") && !text.contains("??")
    }
}
