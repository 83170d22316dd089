import Testing
@testable import ReadingsGrammar

/// Normalisation, token kinds, byte ranges and diagnostics.
struct TokenTests {
    /// (text, the kind of the token with this text)
    static let kinds: [(String, String, Token.Kind)] = [
        ("1234567 20.11.2026 12345", "20.11.2026", .date),
        ("1234567 20.11.26 12345", "20.11.26", .date),
        ("1234567 20/11/2026 12345", "20/11/2026", .date),
        ("1234567 2026-11-20 12345", "2026-11-20", .date),
        ("1234567 11.2026 12345", "11.2026", .date),
        ("1234567 20 ноября 2026 г. 12345", "20 ноября 2026 г.", .date),
        ("1234567 за ноябрь 2026 12345", "ноябрь 2026", .date),
        ("1234567 12345 2026 года", "2026 года", .date),
        ("1234567 20.11 12345", "20.11", .date),
        ("1234567 10:15 12345", "10:15", .time),
        ("1234567 12345 +7 (903) 123-45-67", "+7 (903) 123-45-67", .phone),
        ("1234567 12345 8-903-123-45-67", "8-903-123-45-67", .phone),
        ("1234567 12345 8 903 123 45 67", "8 903 123 45 67", .phone),
        ("1234567 12345 89031234567", "89031234567", .phone),
        ("1234567 12345 a.b@example.ru", "a.b@example.ru", .email),
        ("1234567 12345 <a@example.ru>", "a@example.ru", .email),
        ("1234567 12345 http://example.ru/x?y=1", "http://example.ru/x?y=1", .url),
        ("1234567 12345 тел 1234", "тел", .setAsideLabel("phone")),
        ("1234567 12345 тел 1234", "1234", .setAside("phone")),
        ("1234567 12345 кв. 12", "12", .setAside("address")),
        ("1234567 12345 1500 руб", "1500", .setAside("money")),
        ("1234567 12345 квт.ч", "квт.ч", .unit),
        ("УИН 1234567 12345", "УИН", .label("uin")),
        ("л/с 1234567 12345", "л/с", .label("uin")),
        ("1234567 день 12345", "день", .label("T1")),
        ("1234567 НОЧЬ 12345", "НОЧЬ", .label("T2")),
        ("1234567 пп 12345", "пп", .label("T3")),
        ("1234567 сч2 12345", "сч2", .label("M2")),
        ("1234567 показания 12345", "показания", .label("hint")),
        ("Добрый день 1234567 12345", "Добрый день", .noise),
        ("1234567 12345 спасибо", "спасибо", .noise),
        ("1234567 12345 Петров", "Петров", .word),
        ("1234567 12345\n> 1234567 2", "> 1234567 2", .quoted),
        ("1234567 ноябрь 12345", "ноябрь", .month),
    ]

    @Test(arguments: kinds)
    func tokenKind(_ text: String, _ tokenText: String, _ kind: Token.Kind) {
        let result = Fixture.parse(text)
        let token = result.tokens.first { $0.text == tokenText }
        #expect(token?.kind == kind, "\(text) → \(result.tokens.map(\.description))")
    }

    @Test(arguments: ["УИН 1234567 ☀️ 12345", "１０６４４０４３８８７４ ２４６３２", "Т1-12740 ночь 7779 ₽ №", "a\r\nb\tc", "ёлка Ёж 1234567"])
    func rangesPointIntoNormalizedText(_ text: String) {
        let result = Fixture.parse(text)
        let bytes = Array(result.normalized.utf8)
        for token in result.tokens {
            #expect(token.range.upperBound <= bytes.count)
            #expect(String(decoding: bytes[token.range], as: UTF8.self) == token.text)
        }
        for diagnostic in result.diagnostics where !diagnostic.range.isEmpty {
            #expect(String(decoding: bytes[diagnostic.range], as: UTF8.self) == diagnostic.token)
        }
    }

    static let normalizations: [(String, String)] = [
        ("１２３", "123"),
        ("a\u{00A0}b\u{2009}c\u{202F}d\u{2007}e\u{3000}f", "a b c d e f"),
        ("a\u{200B}b\u{200C}c\u{200D}d\u{2060}e\u{FEFF}f\u{00AD}g", "abcdefg"),
        ("☀\u{FE0F}", "☀"),
        ("1\u{2010}2\u{2011}3\u{2012}4\u{2013}5\u{2014}6\u{2015}7\u{2212}8\u{FE58}9\u{FE63}0\u{FF0D}1", "1-2-3-4-5-6-7-8-9-0-1"),
        ("a\r\nb\rc\nd", "a\nb\nc\nd"),
        ("٠١٢٣٤٥٦٧٨٩", "0123456789"),
        ("№ 5", "№ 5"),
        ("ｋＷｈ", "kWh"),
        ("и\u{0306}", "й"),
        ("12345 м³", "12345 м "),
        ("12345 ½", "12345  "),
        ("x²", "x "),
    ]

    @Test(arguments: normalizations)
    func normalizes(_ text: String, _ expected: String) {
        #expect(Fixture.parse(text).normalized == expected)
    }

    @Test func diagnosticsExplainDecisions() {
        let messages = Fixture.parse("Добрый день! 1234567 ночь 12345 155 квт 20.11.2026 тел 89031234567 4O99").diagnostics.map(\.message)
        #expect(messages.contains("noise"))
        #expect(messages.contains("label 'ночь' → T2"))
        #expect(messages.contains("unit квт"))
        #expect(messages.contains("date set aside"))
        #expect(messages.contains { $0.hasPrefix("phone set aside") })
        #expect(messages.contains("lookalike 'O' read as 0"))
    }

    @Test func labelWithoutNumberIsADiagnostic() {
        let result = Fixture.parse("1234567 12345 день")
        #expect(result.interpretations.first.map(Fixture.summary) == "1234567: T1=12345")
        #expect(Fixture.first("1234567 12345 ночь 23456 день") == "1234567: T2=12345, T1=23456")
        let lone = Fixture.parse("ночь 1234567 12345")
        #expect(lone.interpretations.first.map(Fixture.summary) == "1234567: 12345")
        #expect(lone.diagnostics.contains { $0.message.contains("has no number") })
    }
}
