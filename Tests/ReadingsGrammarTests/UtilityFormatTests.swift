import Foundation
import Testing
@testable import ReadingsGrammar

/// Formats Russian utilities document for their customers, and texts where letters are glued
/// to digits. Each case says why its answer is the right one.
struct UtilityFormatTests {
    /// A value glued to letters the grammar does not know is a code, never a reading or UIN.
    @Test(arguments: [
        // "abc8": what "abc" means is unknown, so 8 is not a reading.
        ("1234567 abc8", [String]()),
        // "8abc" likewise.
        ("1234567 8abc", []),
        // "ЛС123": glued to a UIN label it could only be a UIN, and it is too short for one.
        ("ЛС123 4567", []),
        // "Т112345": T1 + 12345 or T + 112345? The letters alone mean nothing: no reading.
        ("1234567 Т112345", []),
        // A service code glued to the value is set aside; the clean pair is read.
        ("КОД5 1234567 12345", ["1234567: 12345"]),
    ])
    func gluedDigits(_ text: String, _ expected: [String]) {
        #expect(Fixture.summaries(text) == expected, "\(text)")
    }

    /// Company requisites and phone extensions in a signature: КПП and БИК have nine digits (a
    /// UIN's length), ОКПО eight; none of them is a reading or a UIN (each was read as one).
    @Test(arguments: [
        "1234567 12345\nООО «Ромашка», ИНН 7701234567, КПП 770101001",
        "1234567 12345\nБИК 044525225, к/с 30101810400000000225",
        "1234567 12345\nОКПО 12345678, ОКТМО 45382000",
        "1234567 12345\nДоговор № 7654321 от 01.01.2020",
        "1234567 12345\nтел. 8 (495) 123-45-67, доб. 1234",
        "1234567 12345\nфакс 4951234567",
        // A city phone without a label, with its area code in brackets or not.
        "1234567 12345\n555-12-34",
        "1234567 12345 (495) 555-12-34",
        // A total of the zones is no meter's reading.
        "1234567 12345 итого 12345",
    ])
    func requisitesAreSetAside(_ text: String) {
        #expect(Fixture.summaries(text) == ["1234567: 12345"], "\(text)")
    }

    @Test func aTotalAfterTheZonesIsSetAside() {
        #expect(Fixture.summaries("0012345 день 23500 ночь 7950 итого 31450") == ["0012345: T1=23500, T2=7950"])
        #expect(Fixture.summaries("0012345 день 23500 всего 31450") == ["0012345: T1=23500"])
        // "всего доброго" stays a farewell.
        #expect(Fixture.summaries("0012345 23500 7950 всего доброго") == ["0012345: 23500, 7950"])
    }

    /// An address without a street word: the house number before the flat label belongs to the
    /// address (it was read as a reading), a reading before a flat label does not.
    @Test(arguments: [
        ("1234567 Ленина 5 кв 12 12345", "1234567: 12345"),
        ("1234567 12345 Ленина 5 кв 12", "1234567: 12345"),
        ("1234567 Ленина 5, кв.12 12345", "1234567: 12345"),
        ("1234567 показания 12345 кв 12", "1234567: 12345"),
        ("1234567 12345 кв 12", "1234567: 12345"),
    ])
    func houseNumberBeforeFlat(_ text: String, _ expected: String) {
        #expect(Fixture.summaries(text) == [expected], "\(text)")
    }

    /// Digits glued to a phrase the grammar knows keep that phrase's meaning.
    @Test(arguments: [
        ("УИН3462933 38318", "3462933: 38318"),
        ("4548163 155431квт.ч", "4548163: 155431"),
        ("1234567 день21911 ночь7779", "1234567: T1=21911, T2=7779"),
    ])
    func gluedToAKnownPhrase(_ text: String, _ expected: String) {
        #expect(Fixture.first(text) == expected, "\(text)")
    }

    /// An operator names a utility's glued zone codes in a grammar file, without a rebuild.
    @Test func anOperatorsZoneCodesAreRead() throws {
        var files = DefaultFilesGrammar.files
        files.append(("/etc/metergate/grammar/utility.grammar", "zone T1: 1д\nzone T2: 2н\n"))
        let parser = MessageParser(grammar: try Grammar.load(files: files))
        let result = parser.parse("1234567 2н6789 1д12345")
        #expect(result.interpretations.first.map(Fixture.summary) == "1234567: T2=6789, T1=12345")
        // Without the rule the same text has no reading at all.
        #expect(Fixture.summaries("1234567 2н6789 1д12345").isEmpty)
    }

    @Test func aDigitFirstSynonymMustBeAZoneCodeWithLetters() {
        #expect(throws: GrammarError.self) { try Grammar.load(files: [("a.grammar", "noise: 1д\n")]) }
        #expect(throws: GrammarError.self) { try Grammar.load(files: [("a.grammar", "zone T1: 12\n")]) }
    }

    /// Real formats: keywords before the account, '*' and '#', units of every meter kind,
    /// inflected zone words, meter labels in any order.
    @Test(arguments: [
        ("ПОК 1234567 12345", "1234567: 12345"),
        ("1234567*12345#", "1234567: 12345"),
        ("1234567#12345#6789", "1234567: 12345, 6789"),
        ("1234567 1234,5 м3", "1234567: 1234.5"),
        ("1234567 345 куб.м", "1234567: 345"),
        ("1234567 12,345 Гкал", "1234567: 12.345"),
        ("1234567 днем 12345 ночью 6789", "1234567: T1=12345, T2=6789"),
        ("1234567 ночное 6789 дневное 12345", "1234567: T2=6789, T1=12345"),
        ("1234567 в пик 8153 п/пик 13464 ночь 12014", "1234567: T1=8153, T3=13464, T2=12014"),
        ("1234567 М2 6789 М1 12345", "1234567: M2=6789, M1=12345"),
        ("1234567 счетчик 2 6789 счетчик 1 12345", "1234567: M2=6789, M1=12345"),
    ])
    func realFormats(_ text: String, _ expected: String) {
        #expect(Fixture.first(text) == expected, "\(text) → \(Fixture.summaries(text))")
    }

    /// Addresses are set aside: a street word with the street's name, brackets without "д.".
    @Test(arguments: [
        ("ул. Ленина 5-12 1234567 12345", "1234567: 12345"),
        ("1234567 (Ленина 5-12) 12345", "1234567: 12345"),
        ("1234567 12345 [пр. Мира 7, 45]", "1234567: 12345"),
        ("проспект Мира, 5 кв 7 УИН 1234567 показания 12345", "1234567: 12345"),
    ])
    func addresses(_ text: String, _ expected: String) {
        #expect(Fixture.summaries(text) == [expected], "\(text) → \(Fixture.summaries(text))")
    }

    /// "12345,6 789": a decimal 12345.6 then 789, or 12345 and 6 789 (= 6789). Both must be
    /// offered so that the accounts decide (both fitting: ambiguous).
    @Test func decimalCommaOrSeparatorBeforeAGroup() {
        let found = Fixture.summaries("1234567 12345,6 789")
        #expect(found.contains("1234567: 12345.6, 789"))
        #expect(found.contains("1234567: 12345, 6789"))
    }

    /// The UIN length range stays a grammar setting.
    @Test func uinLengthIsASetting() throws {
        var files = DefaultFilesGrammar.files.filter { !$0.name.hasSuffix("numbers.grammar") }
        let numbers = DefaultFilesGrammar.files.first { $0.name.hasSuffix("numbers.grammar") }!.contents
            .replacingOccurrences(of: "uin_digits = 7-12", with: "uin_digits = 10-10")
        files.append(("numbers.grammar", numbers))
        let parser = MessageParser(grammar: try Grammar.load(files: files))
        #expect(parser.parse("1234567 12345").interpretations.isEmpty)
        #expect(parser.parse("1234567890 12345").interpretations.first.map(Fixture.summary) == "1234567890: 12345")
    }
}

import DefaultFiles

enum DefaultFilesGrammar {
    static var files: [(name: String, contents: String)] { DefaultFiles.grammar.map { ($0.name, $0.contents) } }
}
