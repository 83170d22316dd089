import Foundation
import MailMessage

extension OutgoingReply {
    /// The subject of every e-mail reply: ours, never the sender's (see
    /// `MessageProcessor.replySubject`); threading goes by In-Reply-To and References.
    public static let emailSubject = "Re: показания"
}

extension ReplyComposer {
    /// The e-mail of `reply` as it is sent or kept: its Message-ID from its id and creation
    /// time, its subject ours when it has none, dated `date`.
    public func compose(_ reply: OutgoingReply, date: Date) -> [UInt8] {
        compose(
            to: reply.recipient, subject: reply.subject ?? OutgoingReply.emailSubject, body: reply.body,
            inReplyTo: reply.inReplyTo, references: reply.references,
            messageID: messageID(reply: reply.id, createdAt: reply.createdAt), date: date)
    }
}
