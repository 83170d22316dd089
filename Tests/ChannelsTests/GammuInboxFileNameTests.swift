import Foundation
import Testing
@testable import Channels

@Suite("Gammu inbox file names")
struct GammuInboxFileNameTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var file: String
        var sender: String
        var serial: Int
        var part: Int
        var kind: GammuInboxFileName.Kind
        var testDescription: String { file }
    }

    @Test(arguments: [
        Case(file: "IN20261120_081500_00_+79031234567_00.txt", sender: "+79031234567", serial: 0, part: 0, kind: .text),
        Case(file: "IN20021130_021531_00_+45409000931640979_00.txt", sender: "+45409000931640979", serial: 0, part: 0, kind: .text),
        Case(file: "IN20261120_081500_03_89031234567_01.txt", sender: "89031234567", serial: 3, part: 1, kind: .text),
        Case(file: "IN20261120_081500_00_MTS_00.txt", sender: "MTS", serial: 0, part: 0, kind: .text),
        Case(file: "IN20261120_081500_00_Sber_Bank_02.txt", sender: "Sber_Bank", serial: 0, part: 2, kind: .text),
        Case(file: "IN20261120_081500_00_XBank_00.txt", sender: "XBank", serial: 0, part: 0, kind: .text),
        Case(file: "IN20261120_081500_00_X100#_00.txt", sender: "*100#", serial: 0, part: 0, kind: .text),
        Case(file: "IN20261120_081500_01_+79031234567_00.bin", sender: "+79031234567", serial: 1, part: 0, kind: .binary),
        Case(file: "IN20261120_081500_00_+79031234567_00.smsbackup", sender: "+79031234567", serial: 0, part: 0, kind: .smsBackup),
    ])
    func parses(_ item: Case) throws {
        let name = try #require(GammuInboxFileName(item.file))
        #expect(name.sender == item.sender)
        #expect(name.serial == item.serial)
        #expect(name.part == item.part)
        #expect(name.kind == item.kind)
        #expect(name.year == Int(item.file.dropFirst(2).prefix(4)))
    }

    @Test(arguments: [
        "reading.txt", "IN.txt", "IN20261120_081500_00_00.txt", "IN2026112_081500_00_+7903_00.txt",
        "IN20261320_081500_00_+7903_00.txt", "IN20261120_081500_00_+7903_00.doc", "OUT+79031234567.txt",
        "IN20261120_081500_00_+7903_0a.txt",
    ])
    func rejects(_ file: String) {
        #expect(GammuInboxFileName(file) == nil)
    }

    @Test func dateIsReadInTheGivenZone() throws {
        let name = try #require(GammuInboxFileName("IN20261120_081500_00_+79031234567_00.txt"))
        let moscow = try #require(TimeZone(identifier: "Europe/Moscow"))
        let date = try #require(name.date(in: moscow))
        #expect(date == ISO8601DateFormatter().date(from: "2026-11-20T05:15:00Z"))
    }
}
