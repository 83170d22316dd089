import Foundation
import Synchronization

/// Kannel (bearerbox + smsbox) with fakesmsc as the SMSC, started by scripts/peers/kannel-up.sh:
/// messages go in through the fake SMSC's inject link as a phone sends them (GSM text, UCS-2,
/// or concatenated parts with a UDH), Kannel pushes them to metergate's /sms/kannel, replies
/// come back through sendsms and are read where the fakesmsc "phone" prints them.
///
/// `duplicate`: the phone's message is delivered twice by the network (two MOs with the same
/// content; Kannel gives each its own id). Kannel's own at-least-once repeat (a push retried
/// after a lost answer, same `%I`) is covered by KannelAcceptanceTests.
final class KannelDriver: SMSPeerDriver {
    let kind = "kannel"
    let pushes = true
    let secret = "kannel-mo-secret"
    private let state = Mutex<(dir: URL, port: Int)?>(nil)
    /// Extra settings for kannel-up.sh (e.g. `KANNEL_HTTP_RETRY`).
    let peerEnvironment: [String: String]

    init(peerEnvironment: [String: String] = [:]) {
        self.peerEnvironment = peerEnvironment
    }

    var directory: URL? { state.withLock { $0?.dir } }
    var endpointPort: Int? { state.withLock { $0?.port } }

    func start(state directory: URL) async throws -> String {
        let port = SMSPeers.freePort()
        let kannel = directory.appendingPathComponent("kannel")
        let target = "http://127.0.0.1:\(port)/sms/kannel?from=%p&to=%P&text=%b&charset=%C&coding=%c&id=%I&time=%T&secret=\(secret)"
        let up = try SMSPeers.run("/bin/bash", [SMSPeers.scripts.appendingPathComponent("kannel-up.sh").path, kannel.path, target], environment: peerEnvironment, timeout: 60)
        guard up.status == 0 else { throw HarnessError(description: "kannel-up.sh failed (\(up.status)): \(up.stderr)") }
        let settings = Dictionary(uniqueKeysWithValues: up.stdout.split(separator: "\n").compactMap { line -> (String, String)? in
            let pair = line.split(separator: "=", maxSplits: 1)
            return pair.count == 2 ? (String(pair[0]), String(pair[1])) : nil
        })
        self.state.withLock { $0 = (kannel, port) }
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
        for message in messages {
            let object: [String: Any] = ["from": message.from, "text": message.text, "parts": message.parts]
            let line = String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
            lines.append(line)
            if message.duplicate { lines.append(line) }
        }
        let file = kannel.appendingPathComponent("send-\(UUID().uuidString).jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let sent = try SMSPeers.run("/usr/bin/env", ["python3", SMSPeers.scripts.appendingPathComponent("kannel-send.py").path,
                                                      "--state", kannel.path, "--jsonl", file.path], timeout: 60)
        guard sent.status == 0 else { throw HarnessError(description: "kannel-send.py failed: \(sent.stderr)") }
    }

    func replies() async throws -> [PeerReply] {
        guard let kannel = directory else { return [] }
        let output = try SMSPeers.run("/usr/bin/env", ["python3", SMSPeers.scripts.appendingPathComponent("kannel-replies.py").path, kannel.path])
        return output.stdout.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return PeerReply(to: object["to"] as? String ?? "", text: object["text"] as? String ?? "", segments: object["segments"] as? Int ?? 0)
        }
    }

    func unavailableReason() -> String? {
        SMSPeers.kannelInstalled ? nil : "Kannel is not installed (Debian packages kannel, kannel-extras)"
    }

    func stop() async {
        guard let kannel = directory else { return }
        _ = try? SMSPeers.run("/bin/bash", [SMSPeers.scripts.appendingPathComponent("kannel-down.sh").path, kannel.path], timeout: 30)
    }
}
