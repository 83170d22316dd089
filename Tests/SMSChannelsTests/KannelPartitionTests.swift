import Foundation
import Logging
import Synchronization
import Testing
@testable import SMSChannels

/// A network partition between metergate and Kannel's sendsms, on real loopback sockets: a
/// server that reads the whole request and then never answers (the answer lost on the way
/// back) leaves a request that went out; a port where nothing listens, one that never did.
/// Kannel queues an SMS as soon as it has read the request, so only the second may be tried again.
@Suite("Kannel sendsms across a network partition", .serialized)
struct KannelPartitionTests {
    /// A python3 server on a free loopback port that reads each request and closes without a word.
    final class SilentServer {
        let process = Process()
        let port: Int
        let log: URL

        init() throws {
            log = FileManager.default.temporaryDirectory.appendingPathComponent("silent-\(UUID().uuidString)")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", """
                import signal, socket, sys
                signal.pthread_sigmask(signal.SIG_SETMASK, [])  # a test's worker thread may have SIGTERM blocked
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(8)
                print(s.getsockname()[1], flush=True)
                log = open(sys.argv[1], "a")
                while True:
                    c, _ = s.accept(); data = b""
                    while b"\\r\\n\\r\\n" not in data:
                        chunk = c.recv(4096)
                        if not chunk: break
                        data += chunk
                    log.write(data.split(b"\\r\\n")[0].decode() + "\\n"); log.flush()
                    c.close()
                """, log.path]
            let out = Pipe()
            process.standardOutput = out
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            port = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        var requests: [String] {
            ((try? String(contentsOf: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }

        func stop() {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            try? FileManager.default.removeItem(at: log)
        }
    }

    @Test("a request read and never answered is in doubt: one request, held; a port where nothing listens is retried")
    func partition() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        try #require(server.port > 0)
        let client = CurlSMSHTTPClient(label: "kannel.test")
        let transport = KannelSendSMSTransport(
            name: "k", url: "http://127.0.0.1:\(server.port)/cgi-bin/sendsms", username: "u", password: "p", sender: nil, client: client)
        let cut = await transport.deliver(sampleReply, connection: 0, beforeCommit: {})
        guard case .inDoubt(let failure) = cut else {
            Issue.record("an unanswered request that Kannel read: \(cut)")
            return
        }
        #expect(failure.code == .noAnswer && !failure.description.contains("password="), "\(failure)")
        #expect(server.requests.count == 1 && server.requests[0].hasPrefix("GET /cgi-bin/sendsms?"), "\(server.requests)")

        // Nothing listens: the request surely never arrived.
        let closed = try SilentServer()
        let port = closed.port
        closed.stop()
        let refused = await KannelSendSMSTransport(
            name: "k", url: "http://127.0.0.1:\(port)/cgi-bin/sendsms", username: nil, password: nil, sender: nil, client: client
        ).deliver(sampleReply, connection: 0, beforeCommit: {})
        guard case .settled(.retry(let why)) = refused else {
            Issue.record("a refused connection: \(refused)")
            return
        }
        #expect(why.code == .unreachable)
    }

    /// The same partition in front of an SMSC.ru-style provider: its send call may send the SMS as
    /// soon as it has read the request, and a retry carries a new `id`, so it would be a second SMS.
    @Test("SMSC send read and never answered is in doubt: one request, held, the password not in the failure")
    func smscPartition() async throws {
        let server = try SilentServer()
        defer { server.stop() }
        try #require(server.port > 0)
        let transport = SMSCTransport(
            name: "s", baseURL: "http://127.0.0.1:\(server.port)", login: "l", password: "secret-psw",
            client: CurlSMSHTTPClient(label: "smsc.test"), logger: Logger(label: "t"))
        let marked = Mutex(false)
        let cut = await transport.deliver(sampleReply, connection: 0, beforeCommit: { marked.withLock { $0 = true } })
        guard case .inDoubt(let failure) = cut else {
            Issue.record("an unanswered send that the provider read: \(cut)")
            return
        }
        #expect(marked.withLock { $0 }, "the reply was marked before the request")
        #expect(failure.code == .noAnswer && !failure.description.contains("secret-psw"), "\(failure)")
        #expect(server.requests.count == 1 && server.requests[0].hasPrefix("POST /sys/send.php"), "\(server.requests)")
        // Without a point of no return, the plain call gives up rather than send twice.
        guard case .failed = await transport.deliver(sampleReply) else {
            Issue.record("the plain call retried a request that went out")
            return
        }
        #expect(server.requests.count == 2)
    }
}
