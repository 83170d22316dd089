/// Text helpers for bodies that arrive without MIME (e.g. replay's `text` of an e-mail).
public enum MailText {
    /// The same cleaning as `MailMessage.meaningfulText`, applied to a plain body: quoted
    /// replies, quote headers, signatures and mobile footers removed.
    public static func meaningfulText(ofPlainBody text: String) -> String {
        ReplyStripper.meaningfulText(text)
    }
}
