import Foundation
import Logging
import MeterCore

/// A Maildir (`new/ cur/ tmp/`) polled as a mailbox.
///
/// Maildir writers deliver into `tmp/` and then rename into `new/`, so every file in `new/`
/// is complete. `poll` returns the files of `new/`, oldest first (modification time, then
/// name), each as `raw` bytes; `acknowledge` moves `new/<name>` to `cur/<name>:2,S`.
/// Nothing is moved before `acknowledge`, so polling again returns the same messages.
///
/// `externalID` is `maildir:<unique part of the file name>` (the name before `:`).
/// A file larger than `maxMessageBytes` comes back with only its first `maxMessageBytes + 1`
/// bytes, so the pipeline sees it is too large without reading all of it.
public struct MaildirSource: MessageSource {
    public static let idPrefix = "maildir:"

    public let name: String
    public var channel: ChannelKind { .email }
    public let directory: URL
    public let maxMessageBytes: Int
    private let logger: Logger

    /// Creates `new/`, `cur/` and `tmp/` under `directory` when missing (failures show up at
    /// the first `poll`).
    public init(
        name: String, directory: URL, maxMessageBytes: Int = 10 * 1024 * 1024,
        logger: Logger = Logger(label: "metergate.channels.maildir")
    ) {
        self.name = name
        self.directory = directory
        self.maxMessageBytes = max(0, maxMessageBytes)
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(name)"
        self.logger = logger
        do {
            try Self.ensureLayout(directory.path)
        } catch {
            logger.warning("cannot create the maildir folders yet", metadata: ["mg.error": "\(error)"])
        }
    }

    public func poll(limit: Int) async throws -> [IncomingMessage] {
        guard limit > 0 else { return [] }
        let root = directory.path
        try Self.ensureLayout(root)
        let files = try LocalFiles.regularFiles(in: root + "/new").sorted { left, right in
            left.modified != right.modified ? left.modified < right.modified : left.name < right.name
        }
        var messages: [IncomingMessage] = []
        for file in files {
            if messages.count >= limit { break }
            let raw: [UInt8]
            do {
                raw = try LocalFiles.contents(of: file.path, limit: maxMessageBytes + 1)
            } catch {
                logger.warning(
                    "cannot read a maildir message, will retry at the next poll",
                    metadata: ["mg.file": "\(file.name)", "mg.error": "\(error)"])
                continue
            }
            messages.append(IncomingMessage(
                channel: .email, feed: name,
                externalID: Self.idPrefix + MaildirFileName(file.name).unique,
                sender: nil, raw: raw, receivedAt: file.modified))
        }
        return messages
    }

    public func acknowledge(_ externalIDs: [String]) async throws {
        let uniques = Set(externalIDs.compactMap { id -> Substring? in
            id.hasPrefix(Self.idPrefix) ? id.dropFirst(Self.idPrefix.count) : nil
        })
        guard !uniques.isEmpty else { return }
        let root = directory.path
        try Self.ensureLayout(root)
        var moved = false
        for file in try LocalFiles.regularFiles(in: root + "/new") {
            let fileName = MaildirFileName(file.name)
            guard uniques.contains(fileName.unique) else { continue }
            if try LocalFiles.move(file.path, to: root + "/cur/" + fileName.seenName) {
                moved = true
            }
        }
        if moved {
            try LocalFiles.syncDirectory(root + "/new")
            try LocalFiles.syncDirectory(root + "/cur")
        }
    }

    private static func ensureLayout(_ root: String) throws(ChannelFileError) {
        for sub in ["new", "cur", "tmp"] {
            try LocalFiles.ensureDirectory(root + "/" + sub)
        }
    }
}
