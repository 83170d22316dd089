import Testing
@testable import ReadingsGrammar

struct MeterValueTests {
    static let parsed: [(String, String?)] = [
        ("04488", "4488"), ("33690.5", "33690.5"), ("12345.00", "12345"), ("0", "0"), ("000", "0"),
        ("0.5", "0.5"), ("1.125", "1.125"), ("1.1250", "1.125"), ("999999999999999", "999999999999999"),
        ("1000000000000000", nil), ("1.1234", nil), ("", nil), (".5", nil), ("5.", nil), ("1,5", nil),
        ("-5", nil), ("1.2.3", nil), ("12a", nil), (" 1", nil), ("١٢", nil),
    ]

    @Test(arguments: parsed)
    func parses(_ text: String, _ expected: String?) {
        #expect(MeterValue(text)?.description == expected)
    }

    @Test func arithmeticAndOrder() throws {
        let a = try #require(MeterValue("99999")), b = try #require(MeterValue("00167"))
        #expect((b + MeterValue.powerOfTen(5) - a).description == "168")
        #expect((b - a).description == "-99832")
        #expect(a > b)
        #expect(MeterValue("0.5")! < MeterValue("1")!)
        #expect(MeterValue.powerOfTen(0).description == "1")
        #expect(MeterValue.powerOfTen(6).description == "1000000")
        #expect((MeterValue("0.25")! - MeterValue("1")!).description == "-0.75")
    }

    @Test(arguments: [("0", 1), ("7", 1), ("04488", 4), ("33690.5", 5), ("100000", 6), ("0.999", 1)])
    func significantDigits(_ text: String, _ digits: Int) {
        #expect(MeterValue(text)?.significantIntegerDigits == digits)
    }
}
