import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import TestSupport

/// The SMSC.ru-style provider, played by Tests/Peers/smsc_emulator.py (the documented
/// get_answers / send.php calls) on a free loopback port, stopped by its pid. `duplicate`: the
/// provider lists the same answer (same id) twice.
final class SMSCDriver: SMSPeerDriver {
    let kind = "smsc"
    let pushes = false
    private let state = Mutex<(dir: URL, url: String, pid: Int32)?>(nil)

    var baseURL: String? { state.withLock { $0?.url } }

    func start(state directory: URL) async throws -> String {
        let folder = directory.appendingPathComponent("smsc")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", SMSPeers.emulator.path, folder.path]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let env = folder.appendingPathComponent("smsc.env")
        guard await waitUntil(timeout: 20, { FileManager.default.fileExists(atPath: env.path) }) else {
            kill(process.processIdentifier, SIGKILL)
            throw HarnessError(description: "SMSC emulator did not start")
        }
        let text = try String(contentsOf: env, encoding: .utf8)
        let url = text.split(separator: "\n").first { $0.hasPrefix("SMSC_URL=") }.map { String($0.dropFirst(9)) } ?? ""
        let pid = Int32((try? String(contentsOf: folder.appendingPathComponent("smsc.pid"), encoding: .utf8)) ?? "") ?? process.processIdentifier
        self.state.withLock { $0 = (folder, url, pid) }
        let password = folder.appendingPathComponent("password")
        try "secret\n".write(to: password, atomically: true, encoding: .utf8)
        return """
              - name: smsc
                kind: smsc
                base_url: \(url)
                login: test
                password_file: \(password.path)
                poll_interval: 200ms
            """
    }

    /// The environment metergate needs for this driver's configuration (none: the password is a file).
    var environment: [String: String] { [:] }

    func call(_ path: String, body: Any? = nil) async throws -> Any {
        guard let base = baseURL else { throw HarnessError(description: "SMSC emulator not started") }
        var arguments = ["-s", "-f", "--max-time", "30", base + path]
        if let body {
            let data = try JSONSerialization.data(withJSONObject: body)
            arguments += ["-X", "POST", "--data-binary", String(decoding: data, as: UTF8.self)]
        }
        let output = try await SMSPeers.run("/usr/bin/curl", arguments)
        guard output.status == 0 else { throw HarnessError(description: "curl \(path) failed: \(output.stderr)") }
        return try JSONSerialization.jsonObject(with: Data(output.stdout.utf8))
    }

    func deliver(_ messages: [PhoneMessage]) async throws {
        var items: [[String: Any]] = []
        for message in messages {
            // A long message arrives whole from the provider (it joins the parts itself).
            items.append(["from": message.from, "text": message.text, "duplicate": message.duplicate])
        }
        _ = try await call("/emulator/inject", body: items)
    }

    func replies() async throws -> [PeerReply] { try await currentReplies() }

    func currentReplies() async throws -> [PeerReply] {
        let sent = try await call("/emulator/sent") as? [[String: Any]] ?? []
        return sent.map { PeerReply(to: $0["phones"] as? String ?? "", text: $0["mes"] as? String ?? "", segments: $0["cnt"] as? Int ?? 0) }
    }

    func unavailableReason() -> String? { nil }

    func stop() async { stopNow() }

    func stopNow() {
        guard let current = state.withLock({ $0 }) else { return }
        SMSPeers.killChecked(current.pid, expecting: "smsc_emulator.py")
    }
}
