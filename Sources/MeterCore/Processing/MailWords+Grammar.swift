import MailMessage
import ReadingsGrammar

extension MailWords {
    /// The mail reader's word lists from a grammar (`Grammars/mail.grammar` and the grammar's
    /// `quote_intro` words); a list the grammar folder does not have (an older folder) keeps
    /// the built-in one.
    public init(grammar: Grammar) {
        let builtIn = MailWords.builtIn
        func list(_ key: String, _ fallback: [String]) -> [String] {
            grammar.mailLists[key].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
        }
        self.init(
            footers: list("mail_footer", builtIn.footers),
            signOffs: list("mail_signoff", builtIn.signOffs),
            separators: list("mail_separator", Array(builtIn.separators)),
            quoteVerbs: grammar.quoteIntroWords.isEmpty ? builtIn.quoteVerbs : grammar.quoteIntroWords,
            autoReplySubjects: list("auto_reply_subject", builtIn.autoReplySubjects),
            autoReplyPhrases: list("auto_reply_phrase", builtIn.autoReplyPhrases))
    }
}
