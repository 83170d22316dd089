import Foundation
import Synchronization
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// `systemctl stop` sends SIGTERM and, 30 s later (`TimeoutStopSec`), SIGKILL. A poll stuck on
/// a server that never answers must not hold the daemon that long: its transfer is cancelled,
/// the outbox drains, the store closes, and the process exits 0.
@Suite("Shutdown")
struct ShutdownTests {
    /// A TCP server on 127.0.0.1 that accepts connections and never says a word (not even an
    /// IMAP greeting): the peer a stalled transfer waits on.
    final class SilentServer: @unchecked Sendable {
        let socket: Int32
        let port: Int
        let accepted = Atomic<Int>(0)
        private let connections = Mutex<[Int32]>([])

        init() throws {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw HarnessError(description: "socket: \(errno)") }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 16) == 0 else { throw HarnessError(description: "bind/listen: \(errno)") }
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            socket = fd
            port = Int(UInt16(bigEndian: address.sin_port))
            Thread { [self] in
                while true {
                    let connection = accept(fd, nil, nil)
                    if connection < 0 { return }  // the listening socket was closed
                    connections.withLock { $0.append(connection) }
                    accepted.add(1, ordering: .relaxed)
                }
            }.start()
        }

        func stop() {
            shutdown(socket, Int32(SHUT_RDWR))
            close(socket)
            for connection in connections.withLock({ $0 }) { close(connection) }
        }
    }

    /// A configuration with the silent server as an IMAP mailbox (a poll every 30 s: the first
    /// one hangs), the HTTP endpoint off, and `sms` (YAML lines of the `sms:` list, or none).
    static func config(_ sandbox: Sandbox, server: SilentServer, sms: String = "", extra: String = "") throws -> String {
        let config = try sandbox.writeConfig(extra: "http:\n  listen: \"off\"\n" + extra)
        let text = try String(contentsOfFile: config, encoding: .utf8)
            .replacingOccurrences(of: "mailboxes: []\n", with: "")
            .replacingOccurrences(of: "sms: []\n", with: sms.isEmpty ? "sms: []\n" : "")
            + """
            mailboxes:
              - name: silent
                url: imap://127.0.0.1:\(server.port)/INBOX
                username: readings
                password: secret
                poll_interval: 30s

            """ + (sms.isEmpty ? "" : "sms:\n" + sms)
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        return config
    }

    /// Waits until the daemon has connected to the silent server (its poll now hangs).
    static func connected(_ daemon: Daemon, to server: SilentServer) async -> Bool {
        await waitUntil(timeout: 10, every: .milliseconds(50)) { server.accepted.load(ordering: .relaxed) > 0 || !daemon.isRunning }
            && server.accepted.load(ordering: .relaxed) > 0
    }

    /// The store was closed: SQLite copied its write-ahead log into the file and removed it.
    static func closed(_ store: URL) -> Bool {
        ((try? FileManager.default.attributesOfItem(atPath: store.path + "-wal")[.size] as? Int) ?? 0) == 0
    }

    @Test("SIGTERM while a poll waits on a silent IMAP server: exit 0 well within TimeoutStopSec, store closed",
          .timeLimit(.minutes(1)))
    func stalledPoll() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        let sandbox = try Sandbox("shutdown")
        defer { sandbox.remove() }
        let config = try Self.config(sandbox, server: server)
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        // The poll is under way: connected, waiting for a greeting that never comes.
        #expect(await Self.connected(daemon, to: server), "the daemon connected: \(daemon.stderr)")
        await pause(1)
        let started = ContinuousClock.now
        let status = await daemon.terminate(timeout: 28)
        let elapsed = ContinuousClock.now - started
        #expect(status == 0, "exit status \(String(describing: status)); stderr: \(daemon.stderr)")
        // Well below curl's own connect timeout (15 s) and the unit's 30 s: the transfer was cancelled.
        #expect(elapsed < .seconds(10), "stopped after \(elapsed)")
        #expect(daemon.stderr.contains("metergate stopped"), "\(daemon.stderr)")
        #expect(Self.closed(sandbox.file("store/metergate.sqlite")), "the store was closed")
    }

    /// The same stalled IMAP poll beside an SMS feed (Gammu's files inbox) whose messages arrive
    /// just before SIGTERM: the pollers stop first, then the outbox drains, then the store
    /// closes. Every reply queued is written (none left pending), and the process exits 0
    /// within the unit's stop timeout.
    @Test("SIGTERM with a stalled IMAP poll and SMS arriving: the outbox drained, the store closed, exit 0",
          .tags(.peer), Peer.needs(Peer.sqlite3, "sqlite3"), .timeLimit(.minutes(2)))
    func outboxDrainsAtShutdown() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        let sandbox = try Sandbox("shutdown-drain")
        defer { sandbox.remove() }
        for folder in ["inbox", "processed", "outbox", "staging"] {
            try FileManager.default.createDirectory(at: sandbox.file("sms/\(folder)"), withIntermediateDirectories: true)
        }
        let config = try Self.config(sandbox, server: server, sms: """
              - name: files
                kind: files
                inbox: \(jsonString(sandbox.file("sms/inbox").path))
                processed: \(jsonString(sandbox.file("sms/processed").path))
                poll_interval: 100ms

            """, extra: "outbox:\n  path: \(jsonString(sandbox.file("sms/outbox").path))\n")
        try sandbox.write("accounts.csv", TestAccounts.basic)
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        try #require(await Self.connected(daemon, to: server), "the daemon connected: \(daemon.stderr)")
        // Twenty texts from twenty phones, moved into the inbox whole, as SMSD does.
        for index in 0..<20 {
            let name = String(format: "IN20261120_0900%02d_00_+790312300%02d_00.txt", index, index)
            try Data("2000001 \(1100 + index)".utf8).write(to: sandbox.file("sms/staging/\(name)"))
            try FileManager.default.moveItem(at: sandbox.file("sms/staging/\(name)"), to: sandbox.file("sms/inbox/\(name)"))
        }
        let store = sandbox.file("store/metergate.sqlite")
        let arrived = await waitUntil(timeout: 20, every: .milliseconds(20)) {
            await SMSPeers.count(store, "SELECT COUNT(*) FROM message") >= 1
        }
        try #require(arrived, "no text recorded: \(daemon.stderr)")
        let started = ContinuousClock.now
        let status = await daemon.terminate(timeout: 28)
        let elapsed = ContinuousClock.now - started
        #expect(status == 0, "exit status \(String(describing: status)); stderr: \(daemon.stderr.suffix(3000))")
        #expect(elapsed < .seconds(15), "stopped after \(elapsed), the unit's TimeoutStopSec is 30 s")
        #expect(daemon.stderr.contains("metergate stopped"), "\(daemon.stderr.suffix(2000))")
        #expect(Self.closed(store), "the store was closed")
        let recorded = await SMSPeers.count(store, "SELECT COUNT(*) FROM message")
        let queued = await SMSPeers.count(store, "SELECT COUNT(*) FROM outbox")
        let pending = await SMSPeers.count(store, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'")
        let written = ((try? FileManager.default.contentsOfDirectory(atPath: sandbox.file("sms/outbox").path)) ?? [])
            .filter { !$0.hasPrefix(".") }.count
        #expect(recorded >= 1 && queued >= 1, "\(recorded) recorded, \(queued) replies queued")
        #expect(pending == 0, "\(pending) of \(queued) replies left pending at exit: the outbox stopped before the pollers")
        #expect(written == queued, "\(written) reply files for \(queued) replies")
    }
}
