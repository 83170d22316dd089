import Testing
@testable import MeterCore

@Suite struct AccountsCSVTests {
    @Test func readsColumnsInAnyOrderAndIgnoresUnknownOnes() {
        let csv = "emails,note,meters,uin,previous,digits,phones\r\nA@B.RU,\"x, y\",T1;T2,0012345,100;50.5,6,8 903 123-45-67\r\n"
        let result = AccountsCSV.parse(Array(csv.utf8))
        #expect(result.problems.isEmpty)
        let account = result.accounts.first
        #expect(account?.uin == "0012345")
        #expect(account?.meters == ["T1", "T2"])
        #expect(account?.previous == ["100", "50.5"])
        #expect(account?.digits == 6)
        #expect(account?.phones == ["+79031234567"])
        #expect(account?.emails == ["a@b.ru"])
    }

    @Test func badRowsAreReportedWithTheirLineAndSkipped() {
        let csv = """
            uin,meters,previous,digits
            1111111,T1,100,
            12a4567,T1,100,
            2222222,,100,
            3333333,T1;T2,100,
            4444444,T1,abc,
            5555555,T1,100,99
            "6666666,T1,100,
            """
        let result = AccountsCSV.parse(Array((csv + "\n7777777,T1;T2,1;2,5\n").utf8))
        #expect(result.accounts.map(\.uin) == ["1111111", "7777777"])  // the open quote loses only its own row
        #expect(result.problems.map(\.line) == [3, 4, 5, 6, 7, 8])
        #expect(result.problems[0].reason.contains("12a4567"))
    }

    @Test func aQuotedFieldMaySpanLines() {
        let csv = "uin,meters,note\n1111111,T1,\"two\nlines\"\n2222222,T1,x\n"
        let result = AccountsCSV.parse(Array(csv.utf8))
        #expect(result.accounts.map(\.uin) == ["1111111", "2222222"])
        #expect(result.problems.isEmpty)
    }

    @Test func missingRequiredColumn() {
        let result = AccountsCSV.parse(Array("uin,previous\n1,2\n".utf8))
        #expect(result.accounts.isEmpty)
        #expect(result.problems.first?.reason.contains("meters") == true)
    }

    @Test func aRepeatedUINKeepsTheLaterRowAndWarns() {
        let result = AccountsCSV.parse(Array("uin,meters\n1111111,T1\n1111111,T1;T2\n".utf8))
        #expect(result.accounts.count == 1)
        #expect(result.accounts.first?.meters == ["T1", "T2"])
        #expect(result.problems.isEmpty)
        #expect(result.warnings.map(\.line) == [3])
    }
}

@Suite struct CSVReaderTests {
    @Test func anUnterminatedQuoteLosesOnlyItsOwnRow() {
        let csv = "uin,meters\n1111111,T1\n\"2222222,T1\n3333333,T1\n4444444,T1\n"
        let result = AccountsCSV.parse(Array(csv.utf8))
        #expect(result.accounts.map(\.uin) == ["1111111", "3333333", "4444444"])
        #expect(result.problems.map(\.line) == [3])
    }
}

/// Issue 13, item 3: hostile rows in a billing export.
@Suite struct AccountsCSVHostileTests {
    @Test func uinsOutsideTheGrammarsLengthPreviousOverTheRegisterControlCharactersAndBadUTF8AreRefused() {
        var bytes = Array("""
            uin,meters,previous,digits,phones
            1234567,T1,100,5,
            1,T1,100,,
            \(String(repeating: "9", count: 1_000_000)),T1,100,,
            7654321,T1,999999,5,
            7654322,"T1\u{1B}[31m",100,,
            7654323,T1,100,,\(String(repeating: "7", count: 20))
            7654324,T1,99999.5,5,

            """.utf8)
        bytes += Array("7654325,T".utf8) + [0xFF, 0xFE] + Array(",100,,\n".utf8)
        let result = AccountsCSV.parse(bytes, uinDigits: 7...12)
        #expect(result.accounts.map(\.uin) == ["1234567", "7654324"])
        #expect(result.problems.map(\.line) == [3, 4, 5, 6, 7, 9])
        for problem in result.problems {
            #expect(problem.reason.count < 200, "an error line quotes at most 80 characters: \(problem.reason.prefix(300))")
            #expect(!problem.reason.contains("\u{1B}"), "\(problem.reason)")
        }
        #expect(result.problems[0].reason.contains("7–12"), "\(result.problems[0])")
        #expect(result.problems[2].reason.contains("register"), "\(result.problems[2])")
        #expect(result.problems[3].reason.contains("\\u{1B}"), "\(result.problems[3])")
        #expect(result.problems[4].reason.contains("E.164"), "\(result.problems[4])")
        #expect(result.problems[5].reason.contains("UTF-8"), "\(result.problems[5])")
    }
}
