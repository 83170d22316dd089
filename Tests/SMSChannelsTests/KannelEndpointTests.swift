import Foundation
import Logging
import MeterCore
import Synchronization
import Testing
@testable import SMSChannels

/// The endpoint over real HTTP on loopback (metergate's side only; Kannel itself is driven in
/// MetergateTests): 2xx with an empty body only once the sink returned, 503 when it threw,
/// 403 for a wrong secret or a client outside the allowed addresses, 400 for an unreadable push.
@Suite("Kannel endpoint")
struct KannelEndpointTests {
    final class Sink: Sendable {
        let received = Mutex<[IncomingMessage]>([])
        let failing = Mutex(false)

        func record(_ messages: [IncomingMessage]) async throws {
            if failing.withLock({ $0 }) { throw SMSCError("store refused the write") }
            received.withLock { $0 += messages }
        }
    }

    func withEndpoint(
        secret: String?, allowed: AddressAllowList = .loopback,
        _ body: @escaping @Sendable (_ base: String, _ sink: Sink) async throws -> Void
    ) async throws {
        let sink = Sink()
        let queue = IngestQueue(logger: Logger(label: "test")) { try await sink.record($0) }
        let port = Mutex<Int?>(nil)
        let endpoint = KannelEndpoint(
            configuration: .init(feed: "kannel", host: "127.0.0.1", port: 0, secret: secret, allowed: allowed),
            queue: queue, logger: Logger(label: "test"), onListening: { bound in port.withLock { $0 = bound } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            var waited = 0
            while port.withLock({ $0 }) == nil, waited < 200 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            let bound = try #require(port.withLock { $0 })
            try await body("http://127.0.0.1:\(bound)/sms/kannel", sink)
            group.cancelAll()
        }
    }

    let client = CurlSMSHTTPClient(label: "endpoint-test")

    @Test("secret and sender checked; 200 with an empty body after the sink; 503 when it throws")
    func answers() async throws {
        try await withEndpoint(secret: "s3cret") { base, sink in
            let ucs2 = "%04%1F%04%40%048%042%045%04B%00+%001%002%003"  // "Привет 123" as UTF-16BE
            let noSecret = try await client.send(SMSHTTPRequest(url: base + "?from=%2B79031234567&text=x"))
            #expect(noSecret.status == 403)
            let wrong = try await client.send(SMSHTTPRequest(url: base + "?from=%2B79031234567&text=x&secret=s3cre"))
            #expect(wrong.status == 403)
            let noSender = try await client.send(SMSHTTPRequest(url: base + "?text=x&secret=s3cret"))
            #expect(noSender.status == 400)
            #expect(sink.received.withLock { $0.isEmpty })
            let ok = try await client.send(SMSHTTPRequest(
                url: base + "?from=%2B79031234567&to=1234&text=\(ucs2)&charset=UTF-16BE&coding=2&id=abc&secret=s3cret"))
            #expect(ok.status == 200)
            #expect(ok.body.isEmpty, "Kannel would send a non-empty body as an SMS")
            let received = sink.received.withLock { $0 }
            #expect(received.map(\.text) == ["Привет 123"])
            #expect(received.map(\.externalID) == ["kannel:kannel:abc"])
            sink.failing.withLock { $0 = true }
            let refused = try await client.send(SMSHTTPRequest(url: base + "?from=%2B79031234567&text=y&id=def&secret=s3cret"))
            #expect(refused.status == 503)
            #expect(sink.received.withLock { $0.count } == 1)
        }
    }

    @Test("a client outside the allowed addresses is refused")
    func allowed() async throws {
        try await withEndpoint(secret: nil, allowed: try AddressAllowList(["10.0.0.0/8"])) { base, sink in
            let response = try await client.send(SMSHTTPRequest(url: base + "?from=%2B79031234567&text=x"))
            #expect(response.status == 403)
            #expect(sink.received.withLock { $0.isEmpty })
        }
    }

    @Test("post-url: the body is the text (the headers and charset cases are in the decoding tests)")
    func post() async throws {
        try await withEndpoint(secret: nil) { base, sink in
            // A POST body is the message (UTF-8 when no charset is given).
            let response = try await client.send(SMSHTTPRequest(url: base + "?from=%2B79031234567", form: [.init("a", "b")]))
            #expect(response.status == 200)
            #expect(sink.received.withLock { $0.map(\.text) } == ["a=b"])
        }
    }
}

/// Issue 13, item 6: a taken Kannel port is retried like `http.listen`, never the end of the daemon.
@Suite("Kannel endpoint: a taken port")
struct KannelTakenPortTests {
    @Test("the endpoint waits for a taken port and serves once it is free")
    func takenPortRetried() async throws {
        // Hold a port with a listening socket.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        try #require(listen(fd, 1) == 0)
        let port = Int(UInt16(bigEndian: address.sin_port))
        let closed = Mutex(false)
        defer { if !closed.withLock({ $0 }) { close(fd) } }

        let queue = IngestQueue(logger: Logger(label: "test")) { _ in }
        let listening = Mutex<Int?>(nil)
        var configuration = KannelEndpoint.Configuration(feed: "kannel", host: "127.0.0.1", port: port, secret: nil)
        configuration.listenRetryInterval = .milliseconds(200)
        let endpoint = KannelEndpoint(
            configuration: configuration, queue: queue, logger: Logger(label: "test"),
            onListening: { bound in listening.withLock { $0 = bound } })
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await endpoint.run() }
            try await Task.sleep(for: .milliseconds(800))
            #expect(listening.withLock { $0 } == nil, "the port is taken")
            close(fd)
            closed.withLock { $0 = true }
            // Retries every 200 ms; 20 s leaves room for a loaded machine running the suite in
            // parallel (5 s was missed there once).
            var waited = 0
            while listening.withLock({ $0 }) == nil, waited < 400 {
                try await Task.sleep(for: .milliseconds(50))
                waited += 1
            }
            #expect(listening.withLock { $0 } == port, "the endpoint took the port once it was free")
            group.cancelAll()
        }
    }
}
