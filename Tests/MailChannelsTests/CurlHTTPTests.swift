import Curl
import Foundation
import Testing
import TestSupport

/// The `Curl` layer against a real HTTP server: Python's `http.server` on a free loopback port.
@Suite("Curl HTTP", .serialized)
struct CurlHTTPTests {
    static let python = "/usr/bin/python3"

    @Test func getsAFileThen404ThenRefused() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            #expect(ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] != "1", "\(Self.python) is missing")
            return
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curl-http-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let payload = (0..<3000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(payload).write(to: folder.appendingPathComponent("data.bin"))
        let port = freeLoopbackPort()
        let server = try SpawnedProcess(Self.python, ["-m", "http.server", "--bind", "127.0.0.1", "--directory", folder.path, "\(port)"])
        defer { server.stop() }
        #expect(await waitForListener(port: port))

        let handle = CurlHandle(label: "test-http")
        let ok = try await handle.http(HTTPRequest(url: "http://127.0.0.1:\(port)/data.bin"))
        #expect(ok.status == 200)
        #expect(ok.body == payload)
        #expect(ok.header("content-length") == "3000")

        // The same handle again (connection reuse): a missing file is a response, not an error.
        let missing = try await handle.http(HTTPRequest(url: "http://127.0.0.1:\(port)/nothing-here"))
        #expect(missing.status == 404)
        #expect(missing.text.contains("404"))

        // http.server answers POST with 501: the body went out and a status came back.
        let posted = try await handle.http(HTTPRequest(method: "POST", url: "http://127.0.0.1:\(port)/", body: Array("a=1".utf8)))
        #expect(posted.status == 501)

        server.stop()
        await #expect {
            _ = try await handle.http(HTTPRequest(url: "http://127.0.0.1:\(port)/data.bin", timeout: .seconds(5)))
        } throws: { error in
            guard let error = error as? CurlError else { return false }
            return error.code == 7 && error.isTransient && error.description.contains("127.0.0.1:\(port)")
        }
    }

    @Test func refusedConnectionIsCode7() async throws {
        let port = freeLoopbackPort()
        let handle = CurlHandle(label: "test-refused")
        do {
            _ = try await handle.http(HTTPRequest(url: "http://127.0.0.1:\(port)/", timeout: .seconds(5)))
            Issue.record("a closed port answered")
        } catch let error as CurlError {
            #expect(error.code == 7)
            #expect(error.isTransient)
            #expect(error.description.hasPrefix("http://127.0.0.1:\(port)/: "))
        }
    }

    @Test func otherSchemesAreRefusedByHTTP() async throws {
        let handle = CurlHandle(label: "test-scheme")
        await #expect(throws: CurlError.self) {
            _ = try await handle.http(HTTPRequest(url: "file:///etc/passwd"))
        }
    }

    @Test func queryEscapeKeepsUnreservedOnly() {
        #expect(curlQueryEscape("a b&c=d~._-") == "a%20b%26c%3Dd~._-")
        #expect(curlQueryEscape("Принято") == "%D0%9F%D1%80%D0%B8%D0%BD%D1%8F%D1%82%D0%BE")
        #expect(curlQueryEscape("+7 903") == "%2B7%20903")
    }
}
