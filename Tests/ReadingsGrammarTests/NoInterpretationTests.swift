import Testing
@testable import ReadingsGrammar

/// Texts with no UIN-with-structure: the validator answers `unparsed`.
struct NoInterpretationTests {
    static let texts: [String] = [
        "", " ", "\n\n\t", "Как передать показания?", "Добрый день", "спасибо!", "👍", "☀️🌙",
        "показания", "день 12345 ночь 2345", "12345", "12345 6789", "20.11.2026", "10:15",
        "89031234567", "+7 903 123-45-67", "тел 1234567", "ivanov@example.ru", "https://example.ru/1234567",
        "кв 1234567 12345", "сумма 1234567 руб", "1234567 квт 12345 квт", "33690,5 12345",
        "поверка пломба абонент квитанция ответ счетчика пожалуйста подключение коллеги? счетчика здравствуйте",
        String(repeating: "слово ", count: 3000),
        "> 1234567 12345", "Иван пишет:\n1234567 12345",
        "О О О", "lll III", "ЗЗЗ ббб",
        "40817810099910004312",
        "1234567 расход 345", "1234567 было 12000",
    ]

    @Test(arguments: texts)
    func hasNoInterpretation(_ text: String) {
        let result = Fixture.parse(text)
        #expect(result.interpretations.isEmpty, "\(text.prefix(80).debugDescription) → \(result.interpretations.map(\.description))")
        #expect(!result.limitReached)
    }

    @Test func uinAloneIsASubmissionWithoutReadings() {
        #expect(Fixture.first("УИН 1234567") == "1234567: ")
    }
}
