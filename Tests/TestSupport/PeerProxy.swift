import Foundation

/// A proxy of scripts/peers (`pace-proxy.py`, `cut-proxy.py`) in a child process of its own: it
/// listens on a free port, which it writes to STATE/port, and relays to the target port.
public final class PeerProxy: Sendable {
    public let state: URL
    public let port: Int
    private let process: SpawnedProcess

    /// Runs `python3 scripts/peers/SCRIPT STATE ARGUMENTS…` and waits (`Task.sleep`) for its port.
    public init(_ script: String, state: URL, arguments: [String]) async throws {
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        self.state = state
        process = try SpawnedProcess("/usr/bin/python3", [Peer.scripts.appendingPathComponent(script).path, state.path] + arguments)
        let file = state.appendingPathComponent("port")
        var port: Int?
        await waitUntil(timeout: 10, every: .milliseconds(20)) {
            port = (try? String(contentsOf: file, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return port != nil
        }
        guard let port else {
            process.stop()
            throw ProgramError("\(script) did not start within 10 s")
        }
        self.port = port
    }

    /// cut-proxy.py: it has cut a connection.
    public var didCut: Bool { FileManager.default.fileExists(atPath: state.appendingPathComponent("cut").path) }

    public func stop() { process.stop() }
}
