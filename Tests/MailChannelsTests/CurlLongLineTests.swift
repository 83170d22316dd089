import Curl
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A long IMAP response line from a server that looks distant (the real Dovecot behind
/// scripts/peers/pace-proxy.py: 15 ms each way, 1,448-byte segments). libcurl 7.88 keeps only
/// 40 bytes of a line longer than half its receive buffer when it arrives over several reads;
/// with the receive buffer metergate asks for the line arrives whole, and with libcurl's default
/// the transfer fails instead of handing back what was left of the line.
@Suite("Curl: long response lines over a paced link", .serialized, .tags(.peer), Peer.needs(Peer.dovecot, "Dovecot"), .timeLimit(.minutes(5)))
struct CurlLongLineTests {
    static let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/peers")

    @Test(.timeLimit(.minutes(2)))
    func searchLineOf2000SevenDigitUIDs() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/dovecot") else {
            #expect(ProcessInfo.processInfo.environment["METERGATE_REQUIRE_PEERS"] != "1", "dovecot is missing")
            return
        }
        let state = URL(fileURLWithPath: "/tmp/metergate-longline-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let dovecot = state.appendingPathComponent("dovecot").path
        defer {
            _ = system("\(Self.scripts.path)/dovecot-down.sh \(dovecot) >/dev/null 2>&1")
            try? FileManager.default.removeItem(at: state)
        }
        try #require(system("\(Self.scripts.path)/dovecot-up.sh \(dovecot) >/dev/null 2>&1") == 0)
        try #require(system("/usr/bin/python3 \(Self.scripts.path)/mail-deliver.py --state \(dovecot) --min-next-uid 1000000 --generate 2000 >/dev/null") == 0)
        let env = try String(contentsOfFile: dovecot + "/dovecot.env", encoding: .utf8)
        let imapPort = try #require(env.split(separator: "\n").first { $0.hasPrefix("DOVECOT_IMAP_PORT=") }?.split(separator: "=").last)
        let proxy = try ChildProcess("/usr/bin/python3", [Self.scripts.appendingPathComponent("pace-proxy.py").path,
                                                          state.appendingPathComponent("pace").path, String(imapPort)])
        defer { proxy.stop() }
        let portFile = state.appendingPathComponent("pace/port")
        try #require(waitUntilFile(portFile))
        let port = try String(contentsOf: portFile, encoding: .utf8)
        var request = CurlMailRequest(
            url: "imap://127.0.0.1:\(port)/INBOX", command: "UID SEARCH ALL",
            login: CurlLogin(username: "readings@example.test", password: "secret"), timeout: .seconds(60))

        // metergate's receive buffer: the ~16 KB line arrives whole.
        let answer = try await CurlHandle(label: "long-line").mail(request)
        let uids = answer.lines.filter { $0.hasPrefix("* SEARCH") }.flatMap { $0.split(separator: " ").dropFirst(2) }
        #expect(uids.count == 2000, "\(uids.count) UIDs of 2,000")
        #expect(uids.first == "1000000" && uids.last == "1001999")

        // libcurl's default (16 KiB): the line is cut, and the transfer says so instead of
        // returning 40 bytes of it.
        request.receiveBufferSize = 16 * 1024
        do {
            let cut = try await CurlHandle(label: "long-line-default").mail(request)
            Issue.record("a cut line came back as an answer: \(cut.lines.first?.prefix(80) ?? "")")
        } catch let error as CurlError {
            #expect(error.code == 8 && error.message.contains("was cut"), "\(error)")
        }
    }

    func waitUntilFile(_ file: URL) -> Bool {
        for _ in 0..<200 {
            if FileManager.default.fileExists(atPath: file.path) { return true }
            usleep(20_000)
        }
        return false
    }
}
