import Foundation
import Logging
import MeterCore
import Synchronization

/// The inbox folder of Gammu SMSD's `files` backend (`sms/inbox/` in the embedded default),
/// polled for received SMS.
///
/// Reads what SMSD writes — `IN<YYYYMMDD>_<HHMMSS>_<serial>_<sender>_<part>.txt` in the
/// `unicode`, `standard` and `detail` inbox formats (see `GammuInboxFileName`,
/// `GammuInboxText`, `GammuSMSBackup`) — and joins the part files of a long message
/// (`GammuInboxGrouping`). It also takes any other `<name>.txt` a person drops in (UTF-8,
/// UTF-16 with a BOM, or CP1251); such a message has no sender, so nobody is answered —
/// name the file like SMSD does (`IN20261120_081500_00_+79031234567_00.txt`) to get a reply.
///
/// - `externalID`: `gammu-files:<name of the first file>`; for a hand-dropped file
///   `gammu-files:<name>#<content hash>`, so the same name dropped again with a new text is
///   a new message.
/// - `receivedAt`: the time in the file name (read in `timeZone`; SMSD writes the SMSC's
///   local time), else the file's modification time.
/// - SMSD writes files in place (no rename), so a file modified less than `settleInterval`
///   ago is left for the next poll, and with it every part of its message.
/// - 8-bit (`.bin`) messages and files of other extensions are left where they are;
///   delivery reports in the `detail` format are moved to `processed` without a message.
/// - `acknowledge` moves every file of the message to `processed` (created when missing);
///   a name already there gets a `.1`, `.2`, … suffix.
public final class GammuFilesSource: MessageSource {
    public static let idPrefix = "gammu-files:"

    public let name: String
    public var channel: ChannelKind { .sms }
    public let inbox: URL
    public let processed: URL
    public let settleInterval: TimeInterval
    public let timeZone: TimeZone
    public let maxFileBytes: Int
    private let logger: Logger
    private let now: @Sendable () -> Date
    /// externalID → file names, from the last poll.
    private let pending = Mutex<[String: [String]]>([:])
    private let reported = Mutex<Set<String>>([])

    public init(
        name: String, inbox: URL, processed: URL,
        settleInterval: TimeInterval = 2, timeZone: TimeZone = .current,
        maxFileBytes: Int = 1024 * 1024,
        logger: Logger = Logger(label: "metergate.channels.gammu-files"),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.name = name
        self.inbox = inbox
        self.processed = processed
        self.settleInterval = settleInterval
        self.timeZone = timeZone
        self.maxFileBytes = maxFileBytes
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
        self.now = now
    }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        guard limit > 0 else { return [] }
        try LocalFiles.ensureDirectory(inbox.path)
        let cutoff = now().addingTimeInterval(-settleInterval)
        var messages: [(message: IncomingMessage, files: [String])] = []
        for group in try groups() {
            guard group.files.allSatisfy({ $0.modified <= cutoff }) else { continue }
            do {
                if let message = try message(from: group) {
                    messages.append((message, group.files.map(\.name)))
                }
            } catch {
                logger.warning(
                    "cannot read an SMS file, will retry at the next poll",
                    metadata: ["mg.file": "\(group.primary.name)", "mg.error": "\(error)"])
            }
        }
        messages.sort {
            $0.message.receivedAt != $1.message.receivedAt
                ? $0.message.receivedAt < $1.message.receivedAt
                : $0.message.externalID < $1.message.externalID
        }
        let chosen = messages.prefix(limit)
        pending.withLock { map in
            for entry in chosen { map[entry.message.externalID] = entry.files }
        }
        return chosen.map(\.message)
    }

    public func acknowledge(_ externalIDs: [String]) async throws {
        let ids = externalIDs.filter { $0.hasPrefix(Self.idPrefix) }
        guard !ids.isEmpty else { return }
        var known = pending.withLock { map in ids.map { map.removeValue(forKey: $0) } }
        if known.contains(where: { $0 == nil }) {
            // Not from this process's last poll: find the files again.
            let byID = Dictionary(
                try groups().map { (externalID(for: $0), $0.files.map(\.name)) },
                uniquingKeysWith: { first, _ in first })
            for index in ids.indices where known[index] == nil {
                known[index] = byID[ids[index]] ?? [fileName(in: ids[index])]
            }
        }
        try LocalFiles.ensureDirectory(processed.path)
        var moved = false
        for names in known.compactMap({ $0 }) {
            for fileName in names {
                moved = try moveToProcessed(fileName) || moved
            }
        }
        if moved {
            try LocalFiles.syncDirectory(processed.path)
            try LocalFiles.syncDirectory(inbox.path)
        }
    }

    // MARK: - Reading

    private func groups() throws -> [GammuInboxGrouping.Group] {
        var candidates: [FileEntry] = []
        for file in try LocalFiles.regularFiles(in: inbox.path) {
            if let gammuName = GammuInboxFileName(file.name) {
                if gammuName.kind == .binary {
                    reportOnce(file.name, "an 8-bit SMS file is left in the inbox")
                    continue
                }
            } else if !file.name.lowercased().hasSuffix(".txt") {
                continue
            }
            candidates.append(file)
        }
        return GammuInboxGrouping(timeZone: timeZone).groups(candidates)
    }

    private func message(from group: GammuInboxGrouping.Group) throws -> IncomingMessage? {
        var texts: [String] = []
        var sender = group.name?.sender
        var receivedAt = group.name?.date(in: timeZone) ?? group.primary.modified
        var hashInput: [UInt8] = []
        for file in group.files {
            let bytes = try LocalFiles.contents(of: file.path, limit: maxFileBytes)
            hashInput += bytes
            if GammuSMSBackup.looksLikeBackup(bytes) {
                let backup = GammuSMSBackup(parsing: bytes, timeZone: timeZone)
                let parts = backup.parts.filter { !$0.isStatusReport }
                if parts.isEmpty, !backup.parts.isEmpty {
                    logger.info("moving a delivery report to processed", metadata: ["mg.file": "\(file.name)"])
                    _ = try moveToProcessed(file.name)
                    return nil
                }
                if parts.contains(where: \.isBinary) {
                    reportOnce(file.name, "an 8-bit SMS backup is left in the inbox")
                    return nil
                }
                texts += parts.compactMap(\.text)
                if let first = parts.first {
                    sender = first.sender ?? sender
                    receivedAt = first.dateTime ?? receivedAt
                }
            } else {
                texts.append(GammuInboxText.decode(bytes))
            }
        }
        let id = group.name == nil
            ? Self.idPrefix + group.primary.name + "#" + Self.hash(hashInput)
            : Self.idPrefix + group.primary.name
        return IncomingMessage(
            channel: .sms, feed: name, externalID: id, sender: sender,
            text: texts.joined(), receivedAt: receivedAt)
    }

    private func externalID(for group: GammuInboxGrouping.Group) -> String {
        guard group.name == nil else { return Self.idPrefix + group.primary.name }
        do {
            let bytes = try LocalFiles.contents(of: group.primary.path, limit: maxFileBytes)
            return Self.idPrefix + group.primary.name + "#" + Self.hash(bytes)
        } catch {
            return Self.idPrefix + group.primary.name
        }
    }

    private func fileName(in externalID: String) -> String {
        let rest = externalID.dropFirst(Self.idPrefix.count)
        if let hashMark = rest.lastIndex(of: "#"), GammuInboxFileName(String(rest)) == nil {
            return String(rest[..<hashMark])
        }
        return String(rest)
    }

    // MARK: - Moving

    /// Moves `inbox/<fileName>` to `processed/`, never over another file. False when the
    /// file was gone already.
    private func moveToProcessed(_ fileName: String) throws -> Bool {
        try LocalFiles.ensureDirectory(processed.path)
        let source = inbox.path + "/" + fileName
        var destination = processed.path + "/" + fileName
        var suffix = 0
        while FileManager.default.fileExists(atPath: destination) {
            suffix += 1
            destination = processed.path + "/" + fileName + ".\(suffix)"
        }
        return try LocalFiles.move(source, to: destination)
    }

    private func reportOnce(_ fileName: String, _ message: Logger.Message) {
        let isNew = reported.withLock { $0.insert(fileName).inserted }
        if isNew { logger.warning(message, metadata: ["mg.file": "\(fileName)"]) }
    }

    /// FNV-1a, 64 bits, hex: tells apart two texts dropped under one name.
    private static func hash(_ bytes: [UInt8]) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x0000_0100_0000_01B3
        }
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
