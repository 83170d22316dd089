import Foundation

/// The operator-editable grammar: label synonyms, noise, set-aside words, units,
/// look-alike digits, month names and number shapes. Built from `*.grammar` files
/// (see `Grammars/README.md` for the format).
public struct Grammar: Sendable {
    /// UIN shape: how many digits (leading zeros counted) an abonent id has.
    public internal(set) var uinDigits: ClosedRange<Int> = 7...12
    /// How many digits may follow a decimal comma or point.
    public internal(set) var fractionDigits: ClosedRange<Int> = 1...3
    /// Most significant integer digits a reading may have.
    public internal(set) var maxReadingDigits: Int = 9
    /// Most distinct interpretations returned before `limitReached`.
    public internal(set) var maxInterpretations: Int = 64
    /// Canonical meter labels in the order the grammar declared them ("T1", "T2", …).
    public internal(set) var meterLabels: [String] = []
    /// `history: …, ?`: a question mark beside a lone UIN (`1234567 ?`) asks for the history.
    public internal(set) var historyQuestionMark = false

    /// The e-mail word lists (`mail_footer`, `mail_signoff`, `mail_separator`,
    /// `auto_reply_subject`, `auto_reply_phrase`) as written, lower-cased; a key the grammar
    /// does not list is absent.
    public internal(set) var mailLists: [String: [String]] = [:]
    /// The `quote_intro` words as written, lower-cased ("пишет", "wrote", "a écrit"): the mail
    /// reader also ends an attribution line with them.
    public internal(set) var quoteIntroWords: [String] = []

    /// Space characters (before normalisation) that may separate thousands.
    var thousandsSeparators: Set<UInt32> = [0x20, 0xA0, 0x2009, 0x202F, 0x2007]
    /// Look-alike character → ASCII digit byte.
    var lookalikes = LookalikeTable()
    var phrases = PhraseTable()
    /// `aside_near KIND: …`: folded phrase → KIND. Such a phrase (usually also a label, like
    /// `д`) sets the number after it aside only beside a KIND phrase (`ул. Ленина д. 5 кв. 12`).
    var asideNear: [[UInt32]: String] = [:] {
        didSet { asideNearLongest = asideNear.keys.map(\.count).max() ?? 0 }
    }
    /// The longest `asideNear` key, in scalars (a quick rejection).
    private(set) var asideNearLongest = 0
    /// Folded phrase key → where it was defined (only while loading).
    var origins: [[UInt32]: Origin] = [:]

    struct Origin: Sendable {
        var meaning: PhraseMeaning
        var file: String
        var line: Int
    }

    init() {}

    /// Loads every `*.grammar` file of a folder, in name order.
    public static func load(directory: URL) throws -> Grammar {
        let path = directory.path
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: path)
        } catch {
            throw GrammarError(code: .unreadable, file: path, line: 0, reason: "cannot list the grammar folder")
        }
        var files: [(name: String, contents: String)] = []
        for name in names.sorted() where name.hasSuffix(".grammar") && !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw GrammarError(code: .unreadable, file: url.path, line: 0, reason: "cannot read file")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw GrammarError(code: .unreadable, file: url.path, line: 0, reason: "not valid UTF-8")
            }
            files.append((name: url.path, contents: text))
        }
        if files.isEmpty {
            throw GrammarError(code: .unreadable, file: path, line: 0, reason: "no *.grammar files in the folder")
        }
        return try load(files: files)
    }

    /// Loads from in-memory files (e.g. `DefaultFiles.grammar`); files whose name does not
    /// end in `.grammar` are ignored.
    public static func load(files: [(name: String, contents: String)]) throws -> Grammar {
        var grammar = Grammar()
        var settings: [String: (file: String, line: Int)] = [:]
        for file in files where file.name.hasSuffix(".grammar") {
            try grammar.read(file.contents, file: file.name, settings: &settings)
        }
        grammar.origins = [:]
        return grammar
    }
}
