import Foundation

/// The embedded default's SMS feed: Gammu SMSD's "files" inbox folder (`kind: files`), replies
/// as files in `outbox.path`. Messages are written as SMSD writes them
/// (`IN<date>_<time>_<serial>_<sender>_<part>.txt`, one file per part of a long message,
/// each file moved in whole); a duplicate delivery is SMSD writing the same file again.
struct FilesDriver: SMSPeerDriver {
    let kind = "files"
    let pushes = false
    private let state = LockedBox<URL?>(nil)
    private let counter = LockedBox(0)

    func start(state: URL) async throws -> String {
        for folder in ["inbox", "processed", "outbox", "staging"] {
            try FileManager.default.createDirectory(at: state.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        self.state.set(state)
        return """
              - name: files
                kind: files
                inbox: \(jsonString(state.appendingPathComponent("inbox").path))
                processed: \(jsonString(state.appendingPathComponent("processed").path))
                poll_interval: 1s
            outbox:
              path: \(jsonString(state.appendingPathComponent("outbox").path))

            """
    }

    func deliver(_ messages: [PhoneMessage]) async throws {
        guard let state = state.get() else { throw HarnessError(description: "files driver not started") }
        let inbox = state.appendingPathComponent("inbox"), staging = state.appendingPathComponent("staging")
        let base = Date(timeIntervalSince1970: 1_795_300_000)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd_HHmmss"
        for message in messages {
            let index = counter.update { $0 += 1; return $0 }
            let stamp = formatter.string(from: base.addingTimeInterval(Double(index)))
            let sender = message.from.map { "<>:\"/\\|?".contains($0) ? "_" : $0 }.map(String.init).joined()
            let chunks = Self.split(message.text, into: max(1, message.parts))
            for _ in 0..<(message.duplicate ? 2 : 1) {
                // Parts written last to first: a reader must wait for the whole message.
                for (part, chunk) in chunks.enumerated().reversed() {
                    let name = "IN\(stamp)_00_\(sender)_\(String(format: "%02d", part)).txt"
                    let staged = staging.appendingPathComponent(name)
                    try Data(chunk.utf8).write(to: staged)
                    _ = try? FileManager.default.removeItem(at: inbox.appendingPathComponent(name))
                    try FileManager.default.moveItem(at: staged, to: inbox.appendingPathComponent(name))
                }
            }
        }
    }

    func replies() async throws -> [PeerReply] {
        guard let state = state.get() else { return [] }
        let outbox = state.appendingPathComponent("outbox")
        let names = try FileManager.default.contentsOfDirectory(atPath: outbox.path).filter { $0.hasSuffix(".txt") && !$0.hasPrefix(".") }
        return try names.sorted().compactMap { name in
            // <id>-sms-<recipient>.txt
            let parts = name.dropLast(4).split(separator: "-", maxSplits: 2)
            guard parts.count == 3, parts[1] == "sms" else { return nil }
            let text = try String(contentsOf: outbox.appendingPathComponent(name), encoding: .utf8)
            return PeerReply(to: String(parts[2]), text: text, segments: SMSSegment.problem(text) == nil ? 1 : 2)
        }
    }

    func stop() async {}

    static func split(_ text: String, into parts: Int) -> [String] {
        let characters = Array(text)
        let size = (characters.count + parts - 1) / parts
        return (0..<parts).map { String(characters[min($0 * size, characters.count)..<min(($0 + 1) * size, characters.count)]) }
    }
}

/// A value shared between a driver's calls.
final class LockedBox<Value: Sendable>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
    func update<T>(_ body: (inout Value) -> T) -> T { lock.withLock { body(&value) } }
}
