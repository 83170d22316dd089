import Curl
import Foundation
import Testing
import TestSupport
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
    @Test(.timeLimit(.minutes(2)))
    func searchLineOf2000SevenDigitUIDs() async throws {
        let state = URL(fileURLWithPath: "/tmp/metergate-longline-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let dovecot = state.appendingPathComponent("dovecot").path
        defer { Program.peerScriptDetached("dovecot-down.sh", [dovecot], thenRemove: state) }
        let up = try await Program.peerScript("dovecot-up.sh", [dovecot])
        try #require(up.status == 0, "dovecot-up.sh: \(up.stderr)")
        let delivered = try await Program.run("/usr/bin/python3", [Peer.scripts.appendingPathComponent("mail-deliver.py").path,
                                                                    "--state", dovecot, "--min-next-uid", "1000000", "--generate", "2000"])
        try #require(delivered.status == 0, "mail-deliver.py: \(delivered.stderr)")
        let env = try String(contentsOfFile: dovecot + "/dovecot.env", encoding: .utf8)
        let imapPort = try #require(env.split(separator: "\n").first { $0.hasPrefix("DOVECOT_IMAP_PORT=") }?.split(separator: "=").last)
        let proxy = try await PeerProxy("pace-proxy.py", state: state.appendingPathComponent("pace"), arguments: [String(imapPort)])
        defer { proxy.stop() }
        let port = proxy.port
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
}
