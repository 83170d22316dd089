import Foundation
import Synchronization
import Testing
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

    @Test("SIGTERM while a poll waits on a silent IMAP server: exit 0 well within TimeoutStopSec, store closed",
          .timeLimit(.minutes(1)))
    func stalledPoll() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        let sandbox = try Sandbox("shutdown")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig(extra: """
            http:
              listen: "off"

            """)
        let text = try String(contentsOfFile: config, encoding: .utf8).replacingOccurrences(of: "mailboxes: []\n", with: "")
            + """
            mailboxes:
              - name: silent
                url: imap://127.0.0.1:\(server.port)/INBOX
                username: readings
                password: secret
                poll_interval: 30s

            """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        // The poll is under way: connected, waiting for a greeting that never comes.
        var waited = 0
        while server.accepted.load(ordering: .relaxed) == 0, waited < 200, daemon.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            waited += 1
        }
        #expect(server.accepted.load(ordering: .relaxed) > 0, "the daemon connected: \(daemon.stderr)")
        try await Task.sleep(for: .seconds(1))
        let started = ContinuousClock.now
        let status = await daemon.terminate(timeout: 28)
        let elapsed = ContinuousClock.now - started
        #expect(status == 0, "exit status \(String(describing: status)); stderr: \(daemon.stderr)")
        // Well below curl's own connect timeout (15 s) and the unit's 30 s: the transfer was cancelled.
        #expect(elapsed < .seconds(10), "stopped after \(elapsed)")
        #expect(daemon.stderr.contains("metergate stopped"), "\(daemon.stderr)")
        let log = (try? FileManager.default.attributesOfItem(atPath: sandbox.file("store/metergate.sqlite-wal").path)[.size] as? Int) ?? 0
        #expect(log == 0, "the store was closed: its log was copied into the file and removed")
    }
}
