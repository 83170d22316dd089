import Testing
@testable import ReadingsGrammar

/// Branch points: every plausible reading must be offered, ranked by penalty.
struct AlternativeInterpretationTests {
    /// (text, an interpretation that must be among the results, its expected penalty)
    static let included: [(String, String, Int)] = [
        ("014417241 33690,5", "014417241: 33690.5", 0),
        ("014417241 33690,5", "014417241: 33690, 5", 1),
        ("304497617 43937.6", "304497617: 43937, 6", 1),
        ("009547501237 41 011", "009547501237: 41, 11", 0),
        ("009547501237 41 011", "009547501237: 41011", 1),
        ("009547501237 41\u{00A0}011", "009547501237: 41011", 1),
        ("009547501237 41\u{2009}011", "009547501237: 41011", 1),
        ("009547501237 41\u{202F}011", "009547501237: 41011", 1),
        ("7215023 15 889", "7215023: 15889", 1),
        ("7215023 15 889", "7215023: 15, 889", 0),
        ("739371620 51 412 518", "739371620: 51412518", 3),
        ("739371620 51 412 518", "739371620: 51412, 518", 1),
        ("739371620 51 412 518", "739371620: 51, 412518", 1),
        ("739371620 51 412 518", "739371620: 51, 412, 518", 0),
        ("1234567 1 234 567,5", "1234567: 1234567.5", 2),
        ("1234567 12 345,5", "1234567: 12345.5", 1),
        ("1234567 12 345,5", "1234567: 12, 345, 5", 1),
        ("269474975 44712 387018862329 344348", "269474975: 44712; 387018862329: 344348", 0),
        ("269474975 44712 387018862 344348", "269474975: 44712, 387018862, 344348", 1),
        ("269474975 44712 387018862 344348", "269474975: 44712; 387018862: 344348", 0),
        ("256610770 48444\n256610770 48453", "256610770: 48444; 256610770: 48453", 0),
        ("483737403051 20.11", "483737403051: 20.11", 1),
        ("483737403051 30774 20.11", "483737403051: 30774, 20.11", 1),
        ("89031234567 12345", "89031234567: 12345", 2),
        ("показания 1234567 12345", "1234567: 12345", 2),
        ("1234567 7654321 12345", "1234567: 7654321, 12345", 1),
        ("1234567 7654321 12345", "7654321: 1234567, 12345", 3),
        ("12345 1234567", "1234567: 12345", 2),
        ("5198535,123 12345", "5198535: 123, 12345", 1),
        ("5953328 21911 20/11", "5953328: 21911, 20, 11", 1),
        ("558795465563 27803/8077", "558795465563: 27803, 8077", 0),
        // a dot or comma before exactly three digits may be a thousands mark
        ("1234567 17.300", "1234567: 17.3", 0),
        ("1234567 17.300", "1234567: 17300", 1),
        ("1234567 17,300", "1234567: 17300", 1),
        ("1234567 т1 17.300 т2 5.250", "1234567: T1=17300, T2=5250", 2),
        ("УИН 1234567 12345 7654321 23456", "1234567: 12345; 7654321: 23456", 0),
        ("УИН 1234567 12345 7654321 23456", "1234567: 12345, 7654321, 23456", 1),
    ]

    @Test(arguments: included)
    func offersAlternative(_ text: String, _ expected: String, _ penalty: Int) {
        let result = Fixture.parse(text)
        let match = result.interpretations.first { Fixture.summary($0) == expected }
        #expect(match != nil, "\(text.debugDescription) → \(result.interpretations.map(\.description))")
        #expect(match?.penalty == penalty, "\(text.debugDescription) → \(result.interpretations.map(\.description))")
    }

    /// (text, an interpretation that must NOT be offered)
    static let excluded: [(String, String)] = [
        ("6648892,40906,14995", "6648892: 40906.14995"),
        ("0063801-36537-14605", "0063801: -36537, -14605"),
        ("483737403051 30774 20.11.2026", "483737403051: 30774, 20.11, 2026"),
        ("483737403051 30774 20.11.2026", "483737403051: 30774, 20, 11, 2026"),
        ("6742473 5895 тел 89031234567", "6742473: 5895, 89031234567"),
        ("6742473 5895 +79031234567", "6742473: 5895; 79031234567: 5895"),
        ("6742473 5895 кв 12", "6742473: 5895, 12"),
        ("1234567 17.30", "1234567: 1730"),
        ("5953328 Т1 21911 Т2 7779 Т3", "5953328: T2=21911, T3=7779"),
        ("л/с 12 345 678 90 21911", "12345678: 90, 21911"),
        ("УИН 595 332 8 показания 21911", "595: 332, 8, 21911"),
        ("5953328 показания 21911 7779 день ночь", "5953328: 21911, T1=7779"),
        ("5953328 день ночь 21911 7779", "5953328: T2=21911, 7779"),
        ("1234567 1234.300", "1234567: 1234300"),
        ("1234567 17.3000", "1234567: 173000"),
        ("5953328 день/ночь 21911/7779", "5953328: T2=21911, 7779"),
        ("5953328 день/ночь 21911/7779", "5953328: T1=7779, T2=21911"),
        ("5953328 ул. Ленина д. 5 кв. 12 21911", "5953328: T1=5, 21911"),
        ("6742473 5895 10:15", "6742473: 5895, 10, 15"),
        ("5953328 день 21911 ночь 7779", "5953328: 21911, 7779"),
        ("УИН 5953328 21911", "21911: 5953328"),
        ("9452653 04488 квт", "04488: 9452653"),
        ("1234567 12 3456", "1234567: 123456"),
        ("1234567 12  345", "1234567: 12345"),
        ("1234567 12\n345", "1234567: 12345"),
        ("1234567 12, 345", "1234567: 12345"),
        ("1234567 12\t345", "1234567: 12345"),
        ("1234567 12\u{2003}345", "1234567: 12345"),
    ]

    @Test(arguments: excluded)
    func neverOffers(_ text: String, _ unexpected: String) {
        let result = Fixture.parse(text)
        #expect(!result.interpretations.contains { Fixture.summary($0) == unexpected },
                "\(text.debugDescription) → \(result.interpretations.map(\.description))")
    }

    @Test(arguments: ["1234567 12345", "009547501237 41 011", "739371620 51 412 518", "1 2 3 4 5 6 7 1234567",
                      "1234567 7654321 2345678 3456789 12345 23456"])
    func interpretationsAreDistinctAndRanked(_ text: String) {
        let result = Fixture.parse(text)
        let keys = result.interpretations.map(\.submissions)
        #expect(Set(keys).count == keys.count)
        #expect(result.interpretations.map(\.penalty) == result.interpretations.map(\.penalty).sorted())
        #expect(result.interpretations.first?.penalty ?? 0 >= 0)
    }

    @Test func zonesAndRawAreKept() throws {
        let result = Fixture.parse("081071152 ночь 13310 день 045119,5")
        let readings = try #require(result.interpretations.first?.submissions.first?.readings)
        #expect(readings.map(\.zone) == ["T2", "T1"])
        #expect(readings.map(\.raw) == ["13310", "045119,5"])
        #expect(readings.map(\.value.description) == ["13310", "45119.5"])
    }

    @Test func uinKeepsLeadingZerosAndLabel() throws {
        let result = Fixture.parse("уин: 004211430198 показания 36679 18225")
        let submission = try #require(result.interpretations.first?.submissions.first)
        #expect(submission.uin == "004211430198")
        #expect(submission.uinLabeled)
        #expect(Fixture.parse("0042114 36679").interpretations.first?.submissions.first?.uinLabeled == false)
    }

    @Test func lookalikeUINIsMapped() {
        #expect(Fixture.first("4O99669 12345") == "4099669: 12345")
        #expect(Fixture.parse("4099669 11O77").diagnostics.contains { $0.message == "lookalike 'O' read as 0" })
    }

    @Test func notesExplainAlternatives() {
        let result = Fixture.parse("009547501237 41 011 33690,5")
        let notes = result.interpretations.flatMap(\.notes)
        #expect(notes.contains("joined '41 011' as 41011"))
        #expect(notes.contains("',' read as decimal comma"))
        #expect(notes.contains("'33690,5' read as two numbers"))
        #expect(result.interpretations.first?.notes.contains("',' read as decimal comma") == true)
    }

    @Test func duplicateUINIsNotMerged() throws {
        let result = Fixture.parse("256610770 48444\n256610770 48444")
        let first = try #require(result.interpretations.first)
        #expect(first.submissions.count == 2)
        #expect(first.submissions[0] == first.submissions[1])
    }
}
