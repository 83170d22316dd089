import Foundation
import MailMessage
import MeterCore

/// Writes replies as files in a folder instead of sending them (`outbox/` in the embedded
/// default), so a person can read what metergate would answer.
///
/// - e-mail: `<id>-email-<recipient>.eml`, the whole RFC 5322 message as SMTP would send it
///   (`ReplyComposer`), dated when the reply was created (a rewrite gives the same bytes);
/// - SMS: `<id>-sms-<recipient>.txt`, the reply text in UTF-8.
///
/// The recipient is made safe for a file name (anything but letters, digits and `+@._-`
/// becomes `_`). Each file is written to `.tmp-<id>` and renamed into place after its data is
/// durable, so a reader never sees half a reply. A batch of replies is made durable with one
/// sync of the file system and one of the folder (not one fsync per file: about 0.5 ms instead
/// of 8 ms a reply here), and only then reported delivered. Delivering the same reply again
/// (after a crash before the sync) rewrites the same file. A write failure is `.retry`, never
/// `.failed`.
public struct FileOutboxTransport: BatchReplyTransport {
    public let name: String
    public let directory: URL
    private let composeEmail: @Sendable (OutgoingReply) -> [UInt8]

    public init(
        directory: URL, from: String, name: String = "outbox",
        composeEmail: (@Sendable (OutgoingReply) -> [UInt8])? = nil
    ) {
        self.name = name
        self.directory = directory
        let composer = ReplyComposer(from: from)
        self.composeEmail = composeEmail ?? { composer.compose($0, date: $0.createdAt) }
    }

    public func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        await deliver(batch: [reply])[0]
    }

    /// Writes every reply of the batch, then makes them all durable with one sync
    /// (`LocalFiles.writeDurably`): a reply is `.delivered` only once its file survives a power
    /// cut. Results come in the batch's order.
    public func deliver(batch replies: [OutgoingReply]) async -> [DeliveryResult] {
        guard !replies.isEmpty else { return [] }
        do {
            try LocalFiles.ensureDirectory(directory.path)
        } catch {
            return replies.map { _ in Self.failure(error, directory.path) }
        }
        let files = replies.map { reply in
            let bytes: [UInt8] = switch reply.channel {
            case .email: composeEmail(reply)
            case .sms: Array(reply.body.utf8)
            }
            return LocalFiles.PendingFile(bytes, to: Self.fileName(for: reply), temporaryName: ".tmp-\(reply.id)")
        }
        return LocalFiles.writeDurably(files, in: directory.path).map { error in
            error.map { Self.failure($0, directory.path) } ?? .delivered
        }
    }

    private static func failure(_ error: ChannelFileError, _ directory: String) -> DeliveryResult {
        // No file name in the failure: it holds the recipient.
        var cause = error
        cause.path = directory
        return .retry(DeliveryFailure(.localFailure, "cannot write the reply file", cause: cause))
    }

    /// `<id>-email-<recipient>.eml` or `<id>-sms-<recipient>.txt`.
    public static func fileName(for reply: OutgoingReply) -> String {
        let suffix = reply.channel == .email ? "eml" : "txt"
        return "\(reply.id)-\(reply.channel.rawValue)-\(safeRecipient(reply.recipient)).\(suffix)"
    }

    static func safeRecipient(_ recipient: String) -> String {
        let safe = String(recipient.unicodeScalars.prefix(100).map { scalar -> Character in
            let allowed = scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || "+@._-".unicodeScalars.contains(scalar))
            return allowed ? Character(scalar) : "_"
        })
        return safe.isEmpty ? "unknown" : safe
    }
}
