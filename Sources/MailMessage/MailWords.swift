/// The word lists that help quote, signature and machine-mail detection. They are a help, not
/// the mechanism: quotes and header blocks are found by their shape (see `ReplyStripper`), and
/// these words only catch what has no shape of its own (a mobile footer, a sign-off, an
/// auto-reply subject). The lists come from the grammar files (`Grammars/mail.grammar`:
/// `mail_footer`, `mail_signoff`, `mail_separator`, `auto_reply_subject`, and the grammar's
/// `quote_intro` words for attribution endings), so an operator edits them without a rebuild;
/// `builtIn` is the copy used when a grammar folder has none.
public struct MailWords: Sendable {
    /// Lines starting with one of these (lower-cased) end the sender's text: mobile and
    /// webmail footers. Compared on lines shorter than 200 characters.
    public let footers: [String]
    /// Sign-offs that start a signature block (short lines without digits).
    public let signOffs: [String]
    /// Separator lines of forwarded or original messages that carry no dashes of their own
    /// (compared with dashes, underscores and `=` removed, lower-cased).
    public let separators: Set<String>
    /// Verbs that end an attribution ("пишет", "wrote", "a écrit"); matched before a final `:`,
    /// with or without a space before it.
    public let quoteVerbs: [String]
    /// Subject prefixes of auto-responders (lower-cased), compared after any "Re:"/"Fwd:".
    public let autoReplySubjects: [String]
    /// Unmistakable auto-reply phrases, matched anywhere in a subject.
    public let autoReplyPhrases: [String]

    let footerBytes: [[UInt8]]
    let signOffBytes: [[UInt8]]
    let endingBytes: [[UInt8]]

    public init(footers: [String], signOffs: [String], separators: [String], quoteVerbs: [String], autoReplySubjects: [String],
                autoReplyPhrases: [String]) {
        func lowered(_ list: [String]) -> [String] {
            var seen = Set<String>()
            return list.map { $0.lowercased() }.filter { !$0.isEmpty && seen.insert($0).inserted }
        }
        self.footers = lowered(footers)
        self.signOffs = lowered(signOffs)
        self.separators = Set(lowered(separators).map { $0.filter { $0 != "-" && $0 != "_" && $0 != "=" }.trimmingASCIIWhitespace() })
        self.quoteVerbs = lowered(quoteVerbs)
        self.autoReplySubjects = lowered(autoReplySubjects)
        self.autoReplyPhrases = lowered(autoReplyPhrases)
        footerBytes = self.footers.map { Array($0.utf8) }
        signOffBytes = self.signOffs.map { Array($0.utf8) }
        endingBytes = self.quoteVerbs.flatMap { [Array(($0 + ":").utf8), Array(($0 + " :").utf8)] }
    }

    /// The lists of the built-in grammar (`Grammars/mail.grammar` as shipped).
    public static let builtIn = MailWords(
        footers: [
            "отправлено с iphone", "отправлено с ipad", "отправлено с моего ", "отправлено из мобильной ",
            "отправлено из приложения ", "отправлено из яндекс", "отправлено из почты ", "отправлено с мобильного",
            "отправлено с помощью ", "отправлено через ", "яндекс.почта для мобильных", "яндекс почта для мобильных",
            "sent from my ", "sent from mail for windows", "sent from outlook", "sent from yahoo mail",
            "sent from samsung", "sent from the all new aol", "sent via ", "sent with ", "get outlook for ",
            "mail.ru для ", "почта mail.ru для ", "скачайте почту mail.ru", "отправлено из почты mail.ru",
            "envoyé de mon ", "envoyé à partir de ", "envoyé depuis ", "von meinem ", "gesendet von ",
            "inviato da ", "enviado desde mi ", "enviado do meu ", "wysłane z ", "надіслано з ",
        ],
        signOffs: ["с уважением", "с наилучшими пожеланиями", "best regards", "kind regards", "regards"],
        separators: [
            "original message", "исходное сообщение", "пересылаемое сообщение", "forwarded message",
            "оригинальное сообщение", "переадресованное сообщение", "начало переадресованного сообщения:",
            "begin forwarded message:", "message d'origine", "ursprüngliche nachricht", "пересланное сообщение",
            "début du message réexpédié :", "début du message réexpédié:", "anfang der weitergeleiteten nachricht:",
            "inizio messaggio inoltrato:", "comienzo del mensaje reenviado:", "início da mensagem reencaminhada:",
        ],
        quoteVerbs: [
            "пишет", "написал", "написала", "написал(а)", "wrote", "писал", "писал(а)", "schrieb",
            "a écrit", "ha scritto", "escribió", "escreveu", "napisał", "napisała", "napisał(a)", "pisze",
            "написав", "написала(в)", "пише", "schreef", "skrev", "kirjoitti", "napsal", "napsala", "írta",
            "yazdı", "scrisse",
        ],
        autoReplySubjects: [
            "auto reply", "auto-reply", "autoreply", "automatic reply", "auto response", "auto-response", "autoresponse",
            "automatische antwort", "autosvar", "automatisch antwoord", "réponse automatique", "reponse automatique",
            "risposta automatica", "respuesta automática", "respuesta automatica", "resposta automática",
            "odpowiedź automatyczna", "automatická odpověď", "автоответ", "автоматический ответ", "автоответчик",
            "автоматична відповідь", "автовідповідь", "out of office", "out of the office", "abwesenheitsnotiz",
            "absence du bureau", "fuori sede", "fuera de la oficina", "vacation reply", "vacation response",
            "не в офисе", "вне офиса", "undeliverable", "delivery status notification",
            "returned mail", "недоставленное сообщение", "не доставлено",
        ],
        autoReplyPhrases: ["out of office", "automatic reply", "auto-reply", "autoreply", "автоответ", "abwesenheitsnotiz"])
}
