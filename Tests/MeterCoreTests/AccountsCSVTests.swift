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
