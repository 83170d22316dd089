/// Pieces → public tokens.
extension ParseRun {
    func makeTokens() -> [Token] {
        var tokens: [Token] = []
        tokens.reserveCapacity(pieces.count)
        for piece in pieces {
            let kind: Token.Kind
            switch piece.kind {
            case .number:
                if let aside = piece.aside { kind = .setAside(aside) } else { kind = .number }
            case .word: kind = .word
            case .symbol: kind = .noise
            case .punct, .space: kind = .separator
            case .newline: kind = .lineBreak
            case .date, .dateOrPair: kind = .date
            case .time: kind = .time
            case .phone: kind = .phone
            case .email: kind = .email
            case .url: kind = .url
            case .quoted: kind = .quoted
            case .listMarker: kind = .noise
            case .phrase(let meaning):
                switch meaning {
                case .uinLabel: kind = .label("uin")
                case .filler: kind = .label("filler")
                case .hint: kind = .label("hint")
                case .history: kind = .label("history")
                case .zone(let zone): kind = .label(zone)
                case .noise, .quoteIntro, .yearWord: kind = .noise
                case .unit: kind = .unit
                case .aside(let k), .asideAfter(let k): kind = .setAsideLabel(k)
                case .month: kind = .month
                }
            }
            tokens.append(Token(kind: kind, text: string(of: piece), range: byteRange(of: piece)))
        }
        return tokens
    }
}
