import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// Kannel (bearerbox + smsbox) with fakesmsc as the SMSC, started by scripts/peers/kannel-up.sh:
/// messages go in through the fake SMSC's inject link as a phone sends them (GSM text, UCS-2,
/// or concatenated parts with a UDH), Kannel pushes them to metergate's /sms/kannel, replies
/// come back through sendsms and are read where the fakesmsc "phone" prints them.
///
/// Between smsbox and metergate sits Tests/Peers/kannel_lossy_proxy.py. `duplicate`: the
/// proxy loses metergate's answer to the first push of that message (Kannel gets 503), so
/// Kannel delivers the same message again (same `%I`, its http-request-retry) — the
/// at-least-once repeat of a real gateway, not a second message from the phone.
///
/// Messages in parts go as GSM text (the fake SMSC's line protocol has no UCS-2 with a UDH):
/// a Cyrillic text in parts is sent as one UCS-2 message, which Kannel passes on whole.
final class KannelDriver: SMSPeerDriver {
    let kind = "kannel"
    let pushes = true
    let secret = "kannel-mo-secret"
    private struct State {
        var dir: URL
        var port: Int
        var proxyPID: Int32
    }
    private let state = Mutex<State?>(nil)
    /// Extra settings for kannel-up.sh (e.g. `KANNEL_HTTP_RETRY`).
    let peerEnvironment: [String: String]

    init(peerEnvironment: [String: String] = [:]) {
        self.peerEnvironment = peerEnvironment
    }

    var directory: URL? { state.withLock { $0?.dir } }
    var endpointPort: Int? { state.withLock { $0?.port } }

    func start(state directory: URL) async throws -> String {
        let port = freeLoopbackPort()
        let kannel = directory.appendingPathComponent("kannel")
        try FileManager.default.createDirectory(at: kannel, withIntermediateDirectories: true)
        // The proxy first: Kannel's get-url points at it.
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        proxy.arguments = ["python3", SMSPeers.proxy.path, kannel.path, String(port)]
        proxy.standardOutput = FileHandle.nullDevice
        proxy.standardError = FileHandle.nullDevice
        try proxy.run()
        let env = kannel.appendingPathComponent("proxy.env")
        guard await waitUntil(timeout: 20, { FileManager.default.fileExists(atPath: env.path) }) else {
            kill(proxy.processIdentifier, SIGTERM)
            throw HarnessError(description: "the Kannel proxy did not start")
        }
        let proxyPort = (try String(contentsOf: env, encoding: .utf8)).split(separator: "=").last
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        self.state.withLock { $0 = State(dir: kannel, port: port, proxyPID: proxy.processIdentifier) }
        let target = "http://127.0.0.1:\(proxyPort)/sms/kannel?from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&time=%T&secret=\(secret)"
        let up = try await SMSPeers.run("/bin/bash", [SMSPeers.scripts.appendingPathComponent("kannel-up.sh").path, kannel.path, target], environment: peerEnvironment, timeout: 60)
        guard up.status == 0 else { throw HarnessError(description: "kannel-up.sh failed (\(up.status)): \(up.stderr)") }
        let settings = Dictionary(uniqueKeysWithValues: up.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let pair = line.split(separator: "=", maxSplits: 1)
            return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
        })
        return """
              - name: kannel
                kind: kannel
                listen: 127.0.0.1:\(port)
                secret: \(secret)
                sendsms_url: \(settings["KANNEL_SENDSMS_URL"] ?? "")
                username: \(settings["KANNEL_SENDSMS_USER"] ?? "")
                password: \(settings["KANNEL_SENDSMS_PASSWORD"] ?? "")
            """
    }

    func deliver(_ messages: [PhoneMessage]) async throws {
        guard let kannel = directory else { throw HarnessError(description: "Kannel not started") }
        var lines: [String] = []
        var losses: [String] = []
        for message in messages {
            let printable = message.text.allSatisfy { $0.isASCII && !$0.isNewline }
            let object: [String: Any] = ["from": message.from, "text": message.text, "parts": printable ? message.parts : 1]
            lines.append(String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
            if message.duplicate { losses.append(message.from) }
        }
        if !losses.isEmpty {
            let handle = try FileHandle(forWritingTo: { () -> URL in
                let url = kannel.appendingPathComponent("lose-answer")
                if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
                return url
            }())
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(losses.map { $0 + "\n" }.joined().utf8))
            try handle.close()
        }
        let file = kannel.appendingPathComponent("send-\(UUID().uuidString).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let sent = try await SMSPeers.run("/usr/bin/env", ["python3", SMSPeers.scripts.appendingPathComponent("kannel-send.py").path,
                                                      "--state", kannel.path, "--jsonl", file.path], timeout: 60)
        guard sent.status == 0 else { throw HarnessError(description: "kannel-send.py failed: \(sent.stderr)") }
    }

    /// Pushes seen by the proxy: (sender, metergate's status, the status Kannel got).
    func proxyLog() -> [(from: String, metergate: Int, kannel: Int)] {
        guard let kannel = directory,
              let text = try? String(contentsOf: kannel.appendingPathComponent("proxy.log"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let a = Int(parts[1]), let b = Int(parts[2]) else { return nil }
            return (String(parts[0]), a, b)
        }
    }

    func replies() async throws -> [PeerReply] { try await currentReplies() }

    /// The replies fakesmsc has printed so far.
    func currentReplies() async throws -> [PeerReply] {
        guard let kannel = directory else { return [] }
        let output = try await SMSPeers.run("/usr/bin/env", ["python3", SMSPeers.scripts.appendingPathComponent("kannel-replies.py").path, kannel.path])
        return output.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return PeerReply(to: object["to"] as? String ?? "", text: object["text"] as? String ?? "", segments: object["segments"] as? Int ?? 0)
        }
    }

    func unavailableReason() -> String? {
        Peer.kannel ? nil : "Kannel is not installed (Debian packages kannel, kannel-extras)"
    }

    func stop() async { stopNow() }

    /// Stops Kannel (kannel-down.sh) and the proxy (by its pid, checked against its command line).
    func stopNow() {
        guard let current = state.withLock({ $0 }) else { return }
        // The caller's next `defer` removes the sandbox with Kannel's state folder in it, often
        // before a detached kannel-down.sh has read the pid files (fakesmsc was left running):
        // read them now and stop each process by its pid, checked against its command line.
        for name in ["fakesmsc", "smsbox", "bearerbox"] {
            let file = current.dir.appendingPathComponent("\(name).pid").path
            if let text = try? String(contentsOfFile: file, encoding: .utf8),
               let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                SMSPeers.killChecked(pid, expecting: name)
            }
        }
        Program.peerScriptDetached("kannel-down.sh", [current.dir.path])
        SMSPeers.killChecked(current.proxyPID, expecting: "kannel_lossy_proxy.py")
    }
}
