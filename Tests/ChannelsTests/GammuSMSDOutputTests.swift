import Foundation
import Testing
@testable import Channels
import MeterCore

/// Inbox files written by a real gammu-smsd 1.42.0 (Debian 12 package; dummy phone,
/// `service = files`, `LANG=C.UTF-8`, `TZ=UTC`) for three received SMS: one single
/// message and a two-part long message (UDH `050003AB0201`/`…02`), in each inbox format.
@Suite("gammu-smsd 1.42 files backend output")
struct GammuSMSDOutputTests {
    static let files: [String: [String: String]] = [
        "unicode": [
            "IN20261120_081500_00_+79031234567_00.txt":
                "/v8AMQAyADMANAA1ADYAIAA3ADgAOQAwACAEHwRABDgEMgQ1BEIAAAAAAAAAAAAAAAA=",
            "IN20261120_081500_00_+79035555555_00.txt":
                "/v8EFAQ7BDgEPQQ9BD4ENQAgBEEEPgQ+BDEESQQ1BD0EOAQ1ACAERwQwBEEEQgRMACAEPgQ0BDgEPQAgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
            "IN20261120_081500_00_+79035555555_01.txt":
                "/v8EOAAgBEcEMARBBEIETAAgBDQEMgQwACAAMQAyADMANAA1ADYAIAA3ADgAOQAwAAAAAAAAAAAAAAAAAAAAAAAA",
        ],
        "standard": [
            "IN20261120_081500_00_+79031234567_00.txt":
                "MTIzNDU2IDc4OTAg0J/RgNC40LLQtdGC",
            "IN20261120_081500_00_+79035555555_00.txt":
                "0JTQu9C40L3QvdC+0LUg0YHQvtC+0LHRidC10L3QuNC1INGH0LDRgdGC0Ywg0L7QtNC40L0g",
            "IN20261120_081500_00_+79035555555_01.txt":
                "0Lgg0YfQsNGB0YLRjCDQtNCy0LAgMTIzNDU2IDc4OTA=",
        ],
        "detail": [
            "IN20261120_081500_00_+79031234567_00.txt":
                "OyBUaGlzIGZpbGUgZm9ybWF0IHdhcyBkZXNpZ25lZCBmb3IgR2FtbXUgYW5kIGlzIGNvbXBhdGlibGUgd2l0aCBHYW1tdSsKOyBTZWUgPGh0dHA6Ly93d3cuZ2FtbXUub3JnPiBmb3IgbW9yZSBpbmZvCjsgU2F2ZWQgMjAyNjExMjFUMDU0NjAzIChTYXQgTm92IDIxIDA1OjQ2OjAzIDIwMjYpCgpbU01TQmFja3VwMDAwXQo7IDEyMzQ1NiA3ODkwINCf0YDQuNCy0LXRggpTTVNDID0gIis3OTE2ODk5OTEwMCINClNNU0NVbmljb2RlID0gMDAyQjAwMzcwMDM5MDAzMTAwMzYwMDM4MDAzOTAwMzkwMDM5MDAzMTAwMzAwMDMwDQpQRFUgPSBEZWxpdmVyCkRhdGVUaW1lID0gMjAyNjExMjBUMDgxNTAwWg0KU3RhdGUgPSBVblJlYWQKTnVtYmVyID0gIis3OTAzMTIzNDU2NyINCk51bWJlclVuaWNvZGUgPSAwMDJCMDAzNzAwMzkwMDMwMDAzMzAwMzEwMDMyMDAzMzAwMzQwMDM1MDAzNjAwMzcNCk5hbWUgPSAiIg0KTmFtZVVuaWNvZGUgPSANClRleHQwMCA9IDAwMzEwMDMyMDAzMzAwMzQwMDM1MDAzNjAwMjAwMDM3MDAzODAwMzkwMDMwMDAyMDA0MUYwNDQwMDQzODA0MzIwNDM1MDQ0Mg0KQ29kaW5nID0gVW5pY29kZV9Ob19Db21wcmVzc2lvbgpGb2xkZXIgPSAxCkxlbmd0aCA9IDE4CkNsYXNzID0gLTEKUmVwbHlTTVNDID0gRmFsc2UKUmVqZWN0RHVwbGljYXRlcyA9IEZhbHNlClJlcGxhY2VNZXNzYWdlID0gMApNZXNzYWdlUmVmZXJlbmNlID0gMAoK",
            "IN20261120_081500_00_+79035555555_00.txt":
                "OyBUaGlzIGZpbGUgZm9ybWF0IHdhcyBkZXNpZ25lZCBmb3IgR2FtbXUgYW5kIGlzIGNvbXBhdGlibGUgd2l0aCBHYW1tdSsKOyBTZWUgPGh0dHA6Ly93d3cuZ2FtbXUub3JnPiBmb3IgbW9yZSBpbmZvCjsgU2F2ZWQgMjAyNjExMjFUMDU0NjAzIChTYXQgTm92IDIxIDA1OjQ2OjAzIDIwMjYpCgpbU01TQmFja3VwMDAwXQo7INCU0LvQuNC90L3QvtC1INGB0L7QvtCx0YnQtdC90LjQtSDRh9Cw0YHRgtGMINC+0LTQuNC9IApTTVNDID0gIis3OTE2ODk5OTEwMCINClNNU0NVbmljb2RlID0gMDAyQjAwMzcwMDM5MDAzMTAwMzYwMDM4MDAzOTAwMzkwMDM5MDAzMTAwMzAwMDMwDQpQRFUgPSBEZWxpdmVyCkRhdGVUaW1lID0gMjAyNjExMjBUMDgxNTAwWg0KU3RhdGUgPSBVblJlYWQKTnVtYmVyID0gIis3OTAzNTU1NTU1NSINCk51bWJlclVuaWNvZGUgPSAwMDJCMDAzNzAwMzkwMDMwMDAzMzAwMzUwMDM1MDAzNTAwMzUwMDM1MDAzNTAwMzUNCk5hbWUgPSAiIg0KTmFtZVVuaWNvZGUgPSANClVESCA9IDA1MDAwM0FCMDIwMQpUZXh0MDAgPSAwNDE0MDQzQjA0MzgwNDNEMDQzRDA0M0UwNDM1MDAyMDA0NDEwNDNFMDQzRTA0MzEwNDQ5MDQzNTA0M0QwNDM4MDQzNTAwMjAwNDQ3MDQzMDA0NDEwNDQyMDQ0QzAwMjAwNDNFMDQzNDA0MzgwNDNEMDAyMA0KQ29kaW5nID0gVW5pY29kZV9Ob19Db21wcmVzc2lvbgpGb2xkZXIgPSAxCkxlbmd0aCA9IDI5CkNsYXNzID0gLTEKUmVwbHlTTVNDID0gRmFsc2UKUmVqZWN0RHVwbGljYXRlcyA9IEZhbHNlClJlcGxhY2VNZXNzYWdlID0gMApNZXNzYWdlUmVmZXJlbmNlID0gMAoKW1NNU0JhY2t1cDAwMV0KOyDQuCDRh9Cw0YHRgtGMINC00LLQsCAxMjM0NTYgNzg5MApTTVNDID0gIis3OTE2ODk5OTEwMCINClNNU0NVbmljb2RlID0gMDAyQjAwMzcwMDM5MDAzMTAwMzYwMDM4MDAzOTAwMzkwMDM5MDAzMTAwMzAwMDMwDQpQRFUgPSBEZWxpdmVyCkRhdGVUaW1lID0gMjAyNjExMjBUMDgxNTAwWg0KU3RhdGUgPSBVblJlYWQKTnVtYmVyID0gIis3OTAzNTU1NTU1NSINCk51bWJlclVuaWNvZGUgPSAwMDJCMDAzNzAwMzkwMDMwMDAzMzAwMzUwMDM1MDAzNTAwMzUwMDM1MDAzNTAwMzUNCk5hbWUgPSAiIg0KTmFtZVVuaWNvZGUgPSANClVESCA9IDA1MDAwM0FCMDIwMgpUZXh0MDAgPSAwNDM4MDAyMDA0NDcwNDMwMDQ0MTA0NDIwNDRDMDAyMDA0MzQwNDMyMDQzMDAwMjAwMDMxMDAzMjAwMzMwMDM0MDAzNTAwMzYwMDIwMDAzNzAwMzgwMDM5MDAzMA0KQ29kaW5nID0gVW5pY29kZV9Ob19Db21wcmVzc2lvbgpGb2xkZXIgPSAxCkxlbmd0aCA9IDIzCkNsYXNzID0gLTEKUmVwbHlTTVNDID0gRmFsc2UKUmVqZWN0RHVwbGljYXRlcyA9IEZhbHNlClJlcGxhY2VNZXNzYWdlID0gMApNZXNzYWdlUmVmZXJlbmNlID0gMAoK",
        ],
    ]

    @Test(arguments: ["unicode", "standard", "detail"])
    func readsWhatSMSDWrote(_ format: String) async throws {
        let temp = try TemporaryDirectory()
        defer { temp.remove() }
        for (name, base64) in try #require(Self.files[format]) {
            try temp.write(Array(try #require(Data(base64Encoded: base64))), to: "inbox/" + name)
        }
        let source = GammuFilesSource(
            name: "gammu", inbox: temp.url.appendingPathComponent("inbox"),
            processed: temp.url.appendingPathComponent("processed"),
            settleInterval: 0, timeZone: try #require(TimeZone(identifier: "UTC")))
        let messages = try await source.poll(limit: 10)
        #expect(messages.map(\.externalID) == [
            "gammu-files:IN20261120_081500_00_+79031234567_00.txt",
            "gammu-files:IN20261120_081500_00_+79035555555_00.txt",
        ])
        #expect(messages.map(\.sender) == ["+79031234567", "+79035555555"])
        #expect(messages.map(\.text) == [
            "123456 7890 Привет", "Длинное сообщение часть один и часть два 123456 7890",
        ])
        #expect(messages.allSatisfy { $0.receivedAt == ISO8601DateFormatter().date(from: "2026-11-20T08:15:00Z") })
        try await source.acknowledge(messages.map(\.externalID))
        #expect(try temp.names(in: "inbox").isEmpty)
        #expect(try temp.names(in: "processed").count == Self.files[format]?.count)
    }
}
