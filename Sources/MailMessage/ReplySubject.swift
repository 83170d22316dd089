/// Reply and forward prefixes in subjects.
public enum ReplySubject {
    /// Prefix words (lower-case) that mark replies and forwards in the languages our abonents use.
    static let prefixes: Set<String> = [
        "re", "fwd", "fw", "отв", "ответ", "пересл", "переслать", "aw", "wg", "sv", "tr", "vs", "rif", "antw",
        "odp", "rv", "enc", "res", "fs", "vb", "ynt", "ha", "на", "отвт", "vl", "pd", "doorst", "переслано",
    ]
    /// The prefixes among them that mark a forward: the subject then belongs to the forwarded mail.
    static let forwardPrefixes: Set<String> = ["fwd", "fw", "пересл", "переслать", "переслано", "wg", "tr", "enc", "rv", "vl", "pd", "doorst"]

    /// True when a forward prefix ("Fwd:", "FW:", "Пересл:", "WG:", "TR:" …) stands among the
    /// subject's leading prefixes: the subject is the forwarded message's, not the sender's.
    public static func isForward(_ subject: String) -> Bool {
        var rest = Substring(subject)
        while true {
            let trimmed = rest.drop(while: { $0 == " " || $0 == "\t" })
            let word = trimmed.prefix(while: { $0.isLetter })
            guard !word.isEmpty, prefixes.contains(word.lowercased()) else { return false }
            var after = trimmed.dropFirst(word.count)
            while let f = after.first, f == "[" || f == "(" || f == "]" || f == ")" || f == "^" || f == "*" || f.isNumber || f == " " {
                after = after.dropFirst()
            }
            guard let colon = after.first, colon == ":" || colon == "：" else { return false }
            if forwardPrefixes.contains(word.lowercased()) { return true }
            rest = after.dropFirst()
        }
    }

    /// Removes any number of leading "Re:", "Fwd:", "RE[2]:", "Re(3):", "Re^2:", "Отв:", "Ответ:", "Пересл:",
    /// "AW:", "WG:", "SV:", "TR:" … (case-insensitive, also with a full-width colon), returning the rest trimmed.
    public static func stripPrefixes(_ subject: String) -> String {
        var rest = Substring(subject)
        while true {
            let trimmed = rest.drop(while: { $0 == " " || $0 == "\t" })
            let word = trimmed.prefix(while: { $0.isLetter })
            guard !word.isEmpty, prefixes.contains(word.lowercased()) else { return String(trimmed).trimmingASCIIWhitespace() }
            var after = trimmed.dropFirst(word.count)
            // Optional counter: [2], (2), ^2, *2
            if let f = after.first, f == "[" || f == "(" {
                let close: Character = f == "[" ? "]" : ")"
                let inner = after.dropFirst().prefix(while: { $0.isNumber })
                if !inner.isEmpty, after.dropFirst(1 + inner.count).first == close { after = after.dropFirst(2 + inner.count) }
            } else if let f = after.first, f == "^" || f == "*" {
                let inner = after.dropFirst().prefix(while: { $0.isNumber })
                if !inner.isEmpty { after = after.dropFirst(1 + inner.count) }
            }
            after = after.drop(while: { $0 == " " })
            guard let colon = after.first, colon == ":" || colon == "：" else { return String(trimmed).trimmingASCIIWhitespace() }
            rest = after.dropFirst()
        }
    }
}
