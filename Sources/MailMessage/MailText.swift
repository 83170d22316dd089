/// Text helpers for bodies that arrive without MIME (e.g. replay's `text` of an e-mail).
public enum MailText {
    /// The same cleaning as `MailMessage.meaningfulText`, applied to a plain body: quoted
    /// replies, quote headers, signatures and mobile footers removed.
    public static func meaningfulText(ofPlainBody text: String, words: MailWords = .builtIn) -> String {
        ReplyStripper.meaningfulText(text, words: words)
    }

    /// The sender's text and the lines that may be quoted or may be the sender's.
    public static func split(plainBody text: String, words: MailWords = .builtIn) -> (meaningful: String, uncertain: String) {
        ReplyStripper.split(text, words: words)
    }
}
