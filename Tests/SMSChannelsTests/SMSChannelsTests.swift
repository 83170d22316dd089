import Foundation
import Ledger
import Synchronization
import Testing
import Logging
import MeterCore
@testable import SMSChannels

@Suite("Kannel push decoding")
struct KannelMessageTests {
    @Test("GSM text as Kannel sends it: UTF-8, coding 0, '+' for spaces")
    func plainText() throws {
        let message = try KannelMessage.decode(
            query: "from=%2B79031234567&to=1234&text=1234567+12345&charset=UTF-8&coding=0&id=82681adf-ed05&time=1795247607",
            headers: [:], body: nil)
        #expect(message.from == "+79031234567")
        #expect(message.to == "1234")
        #expect(message.text == "1234567 12345")
        #expect(message.messageID == "82681adf-ed05")
        #expect(message.time == Date(timeIntervalSince1970: 1_795_247_607))
    }

    @Test("UCS-2 as Kannel 1.4.5 sends it: URL-encoded UTF-16BE bytes, a '+' inside a character")
    func ucs2() throws {
        // Captured from smsbox: "1234567  Привет  Р" — 'Р' is 04 20, whose low byte is written '+'.
        let query = "from=%2B79031234567&to=1234&text=%001%002%003%004%005%006%007%00+%00+%04%1F%04%40%048%042%045%04B%00+%00+%04+&charset=UTF-16BE&coding=2"
        let message = try KannelMessage.decode(query: query, headers: [:], body: nil)
        #expect(message.text == "1234567  Привет  Р")
    }

    @Test("coding=2 without a charset is UTF-16BE; a UTF-8 label on UTF-16 bytes is recovered")
    func codingWithoutCharset() throws {
        #expect(try KannelMessage.decode(query: "from=1&text=%04%1F%04%40&coding=2", headers: [:], body: nil).text == "Пр")
        #expect(try KannelMessage.decode(query: "from=1&text=%04%1F%04%40&charset=UTF-8", headers: [:], body: nil).text == "Пр")
    }

    @Test("post-url: body in the Content-Type charset (quoted), sender from X-Kannel-From")
    func post() throws {
        let body = Array("Показания 12345".utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] })
        let message = try KannelMessage.decode(
            query: "secret=x",
            headers: ["content-type": "text/plain; charset=\"UTF-16BE\"", "x-kannel-from": "+79031234567", "x-kannel-coding": "2"],
            body: body)
        #expect(message.text == "Показания 12345")
        #expect(message.from == "+79031234567")
    }

    @Test("no sender or unknown charset: refused with a reason")
    func refused() {
        #expect(throws: KannelMessage.DecodingError.self) { try KannelMessage.decode(query: "text=a", headers: [:], body: nil) }
        #expect(throws: KannelMessage.DecodingError.self) {
            try KannelMessage.decode(query: "from=1&text=a&charset=EBCDIC", headers: [:], body: nil)
        }
    }

    @Test("external id: Kannel's id, else a hash of the fields when the time is given, else fresh")
    func externalID() throws {
        let withID = KannelMessage(from: "+7903", to: "1234", text: "a", messageID: "abc", time: nil)
        #expect(withID.incoming(feed: "k", now: Date()).externalID == "kannel:k:abc")
        let timed = KannelMessage(from: "+7903", to: "1234", text: "a", messageID: nil, time: Date(timeIntervalSince1970: 5))
        let first = timed.incoming(feed: "k", now: Date()).externalID
        #expect(first == timed.incoming(feed: "k", now: Date()).externalID)
        var other = timed
        other.text = "b"
        #expect(first != other.incoming(feed: "k", now: Date()).externalID)
        let bare = KannelMessage(from: "+7903", to: nil, text: "a", messageID: nil, time: nil)
        #expect(bare.incoming(feed: "k", now: Date(), fresh: { "1" }).externalID == "kannel:k:u1")
    }

    @Test("allowed addresses: loopback by default, networks, IPv4-mapped IPv6")
    func allowList() throws {
        #expect(AddressAllowList.loopback.allows("127.0.0.1"))
        #expect(AddressAllowList.loopback.allows("::1"))
        #expect(!AddressAllowList.loopback.allows("10.0.0.1"))
        #expect(!AddressAllowList.loopback.allows(nil))
        let list = try AddressAllowList(["10.1.0.0/16", "192.168.1.5"])
        #expect(list.allows("10.1.200.3"))
        #expect(list.allows("::ffff:10.1.0.9"))
        #expect(!list.allows("10.2.0.1"))
        #expect(list.allows("192.168.1.5") && !list.allows("192.168.1.6"))
        #expect(throws: AddressAllowList.InvalidEntry.self) { try AddressAllowList(["10.0.0.0/33"]) }
        #expect(throws: AddressAllowList.InvalidEntry.self) { try AddressAllowList(["example.org"]) }
    }
}

/// Answers from a list, records requests (a unit-test fake; the real peers are in MetergateTests).
final class ScriptedHTTP: SMSHTTPClient {
    let answers = Mutex<[Result<SMSHTTPResponse, SMSHTTPError>]>([])
    let requests = Mutex<[SMSHTTPRequest]>([])

    init(_ answers: [Result<SMSHTTPResponse, SMSHTTPError>]) { self.answers.withLock { $0 = answers } }

    func send(_ request: SMSHTTPRequest) async throws -> SMSHTTPResponse {
        requests.withLock { $0.append(request) }
        let next = answers.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        guard let next else { throw SMSHTTPError(description: "no answer scripted", isTransient: true) }
        return try next.get()
    }
}

func ok(_ status: Int, _ body: String) -> Result<SMSHTTPResponse, SMSHTTPError> {
    .success(SMSHTTPResponse(status: status, body: Array(body.utf8)))
}

let sampleReply = OutgoingReply(id: 7, channel: .sms, recipient: "+79031234567", body: "Показания приняты: 12345", createdAt: Date())

@Suite("Kannel sendsms transport")
struct KannelSendSMSTests {
    @Test("Cyrillic goes as UTF-8 with charset=UTF-8&coding=2; GSM text without coding")
    func fields() {
        let transport = KannelSendSMSTransport(
            name: "k", url: "http://127.0.0.1:1/cgi-bin/sendsms", username: "u", password: "p&w", sender: nil,
            client: ScriptedHTTP([]))
        let url = FormEncoding.url(transport.url, adding: transport.fields(for: sampleReply))
        #expect(url.hasPrefix("http://127.0.0.1:1/cgi-bin/sendsms?username=u&password=p%26w&to=%2B79031234567&text=%D0%9F"))
        #expect(url.hasSuffix("&charset=UTF-8&coding=2"))
        var latin = sampleReply
        latin.body = "Readings accepted: 12345"
        #expect(!transport.fields(for: latin).contains { $0.name == "coding" })
    }

    @Test("202 delivered; refused connection, 503, auth failure retried; 400 and not routable failed")
    func outcomes() async {
        let cases: [(Result<SMSHTTPResponse, SMSHTTPError>, String)] = [
            (ok(202, "0: Accepted for delivery"), "delivered"),
            (ok(202, "3: Queued for later delivery"), "delivered"),
            (.failure(SMSHTTPError(description: "connection refused", isTransient: true)), "retry"),
            (ok(503, "Sendsms queue full"), "retry"),
            (ok(403, "Authorization failed for sendsms"), "retry"),
            (ok(400, "Missing receiver number, rejected"), "failed"),
            (ok(403, "Not routable. Do not try again."), "failed"),
        ]
        for (answer, expected) in cases {
            let transport = KannelSendSMSTransport(name: "k", url: "http://x/", username: nil, password: nil, sender: nil, client: ScriptedHTTP([answer]))
            let result = await transport.deliver(sampleReply)
            let kind = switch result { case .delivered: "delivered"; case .retry: "retry"; case .failed: "failed" }
            #expect(kind == expected, "\(answer) → \(result)")
        }
    }
}

extension KannelSendSMSTests {
    /// A network partition after the request went out: Kannel may have queued the SMS, so the
    /// reply is in doubt (held), never retried into a second SMS; a request that surely never
    /// arrived is retried; the mark comes before the request, and a failed mark sends nothing.
    @Test("the request is the point of no return: unanswered after it went out, in doubt; refused before, retried")
    func pointOfNoReturn() async {
        final class Marks: Sendable { let count = Mutex(0) }
        let marks = Marks()
        func attempt(_ answer: Result<SMSHTTPResponse, SMSHTTPError>, markFails: Bool = false) async -> (DeliveryAttempt, Int) {
            let http = ScriptedHTTP([answer])
            let transport = KannelSendSMSTransport(name: "k", url: "http://x/", username: nil, password: nil, sender: nil, client: http)
            let result = await transport.deliver(sampleReply, connection: 0) {
                marks.count.withLock { $0 += 1 }
                if markFails { throw SMSHTTPError(description: "the store is down", isTransient: true) }
                #expect(http.requests.withLock { $0.isEmpty }, "the mark comes before the request")
            }
            return (result, http.requests.withLock { $0.count })
        }
        let cut = await attempt(.failure(SMSHTTPError(description: "Operation timed out after 30000 ms with 0 bytes received", isTransient: true, requestSent: true)))
        guard case .inDoubt(let failure) = cut.0 else { Issue.record("a request cut after it went out: \(cut.0)"); return }
        #expect(failure.code == .noAnswer && cut.1 == 1)
        let refused = await attempt(.failure(SMSHTTPError(description: "Couldn't connect to server", isTransient: true, requestSent: false)))
        #expect(refused.0 == .settled(.retry(DeliveryFailure(.unreachable, "Kannel sendsms"))), "\(refused.0)")
        let accepted = await attempt(ok(202, "0: Accepted for delivery"))
        #expect(accepted.0 == .settled(.delivered))
        let unmarked = await attempt(ok(202, "0: Accepted for delivery"), markFails: true)
        guard case .settled(.retry) = unmarked.0 else { Issue.record("a failed mark: \(unmarked.0)"); return }
        #expect(unmarked.1 == 0, "nothing is sent when the mark could not be recorded")
        #expect(marks.count.withLock { $0 } == 4)
        // Without a point of no return (the plain call), a request cut after it went out fails for good.
        let plain = KannelSendSMSTransport(
            name: "k", url: "http://x/", username: nil, password: nil, sender: nil,
            client: ScriptedHTTP([.failure(SMSHTTPError(description: "reset", isTransient: true, requestSent: true))]))
        let plainResult = await plain.deliver(sampleReply)
        guard case .failed = plainResult else { Issue.record("the plain call retried a request that went out: \(plainResult)"); return }
    }
}

@Suite("SMSC-style provider")
struct SMSCTests {
    @Test("get_answers JSON: numeric or string fields, Moscow times, sorted by id; errors")
    func parse() throws {
        let body = """
            [{"id": 12, "received": "21.11.2026 10:54:27", "phone": "79031234567", "message": "Привет", "to_phone": "79001112233", "sent": "21.11.2026 10:54:20"},
             {"id": "11", "received": 1795247660, "phone": "+79031234567", "message": "1234567 12345", "sent": 1795247600}]
            """
        let answers = try SMSCAPI.answers(from: Array(body.utf8))
        #expect(answers.map(\.id) == [11, 12])
        #expect(answers[0].time == Date(timeIntervalSince1970: 1_795_247_600))
        #expect(answers[1].utcOffset == 10800)
        #expect(answers[1].time == Date(timeIntervalSince1970: 1_795_247_660))  // 10:54:20 MSK = 07:54:20 UTC
        #expect(throws: SMSCAPI.APIError(code: 2, message: "authorise error")) {
            try SMSCAPI.answers(from: Array(#"{"error": "authorise error", "error_code": 2}"#.utf8))
        }
    }

    @Test("the cursor moves only on acknowledge, to the highest acknowledged id")
    func cursor() async throws {
        let page = #"[{"id": 3, "phone": "+79031234567", "message": "a", "sent": 1795247600}, {"id": 4, "phone": "+79031234567", "message": "b", "sent": 1795247601}]"#
        let http = ScriptedHTTP([ok(200, page), ok(200, "[]"), ok(200, page), ok(200, "[]"), ok(200, "[]")])
        let cursor = InMemoryLedger()
        let source = SMSCSource(
            name: "smsc", baseURL: "https://provider.test/", login: "l", password: "p w", cursor: cursor, client: http,
            logger: Logger(label: "test"))
        let first = try await source.poll(limit: 10)
        #expect(first.map(\.externalID) == ["smsc:smsc:3", "smsc:smsc:4"])
        #expect(try await cursor.cursor(feed: "smsc") == nil)
        // Not acknowledged (a crash): the same answers again.
        #expect(try await source.poll(limit: 10).count == 2)
        try await source.acknowledge(first.map(\.externalID))
        #expect(try await cursor.cursor(feed: "smsc") == "4")
        #expect(try await source.poll(limit: 10).isEmpty)
        let urls = http.requests.withLock { $0.map(\.url) }
        #expect(urls[0] == "https://provider.test/sys/get.php?get_answers=1&login=l&psw=p%20w&after_id=0&fmt=3")
        #expect(urls[1].contains("after_id=4"), "the next page asked from the last id of the first")
        #expect(urls[2].contains("after_id=0"), "not acknowledged: asked again from the cursor")
        #expect(urls[4].contains("after_id=4"))
    }

    @Test("send: {id,cnt} delivered; 9 (the same request within a minute) delivered; 2,3,4 and 5xx retried; 1,6,7,8 failed")
    func send() async {
        let cases: [(Result<SMSHTTPResponse, SMSHTTPError>, String)] = [
            (ok(200, #"{"id": 5, "cnt": 1}"#), "delivered"),
            (ok(200, #"{"error": "authorise error", "error_code": 2}"#), "retry"),
            (ok(200, #"{"error": "no money", "error_code": 3}"#), "retry"),
            (ok(200, #"{"error": "duplicate", "error_code": 9}"#), "delivered"),
            (ok(502, "bad gateway"), "retry"),
            (.failure(SMSHTTPError(description: "timeout", isTransient: true)), "retry"),
            (ok(200, #"{"error": "invalid number", "error_code": 7}"#), "failed"),
            (ok(200, #"{"error": "forbidden", "error_code": 6, "id": 4}"#), "failed"),
            (ok(200, #"{"error": "undeliverable", "error_code": 8}"#), "failed"),
        ]
        for (answer, expected) in cases {
            let http = ScriptedHTTP([answer])
            let transport = SMSCTransport(name: "s", baseURL: "https://p.test", login: "l", password: "p", client: http, logger: Logger(label: "t"))
            let result = await transport.deliver(sampleReply)
            let kind = switch result { case .delivered: "delivered"; case .retry: "retry"; case .failed: "failed" }
            #expect(kind == expected, "\(answer) → \(result)")
            let request = http.requests.withLock { $0.first }
            #expect(request?.url == "https://p.test/sys/send.php")
            #expect(request?.form?.contains(SMSFormField("charset", "utf-8")) == true)
            #expect(request?.form?.contains(SMSFormField("mes", sampleReply.body)) == true)
            #expect(request?.form?.contains(SMSFormField("id", "113")) == true)  // reply 7 × 16 + 0 attempts + 1
        }
    }

    /// The send request is the point of no return: a request that went out and got no answer, a
    /// gateway's 504 or a 2xx body that is not the provider's may each have sent the SMS: in
    /// doubt (held), never retried with a new `id`. Refused before it went out: retried. The mark
    /// comes first, and a failed mark sends nothing.
    @Test("send: unanswered after it went out, 504, or a foreign 2xx body: in doubt; refused before: retried; mark first")
    func sendPointOfNoReturn() async {
        func attempt(_ answer: Result<SMSHTTPResponse, SMSHTTPError>, markFails: Bool = false) async -> (DeliveryAttempt, Int) {
            let http = ScriptedHTTP([answer])
            let transport = SMSCTransport(name: "s", baseURL: "https://p.test", login: "l", password: "p", client: http, logger: Logger(label: "t"))
            let result = await transport.deliver(sampleReply, connection: 0) {
                #expect(http.requests.withLock { $0.isEmpty }, "the mark comes before the request")
                if markFails { throw SMSHTTPError(description: "the store is down", isTransient: true) }
            }
            return (result, http.requests.withLock { $0.count })
        }
        for answer in [
            Result<SMSHTTPResponse, SMSHTTPError>.failure(SMSHTTPError(description: "Operation timed out", isTransient: true, requestSent: true)),
            ok(504, "Gateway Time-out"),
            ok(200, "<html>proxy error</html>"),
        ] {
            let (result, requests) = await attempt(answer)
            guard case .inDoubt(let failure) = result else { Issue.record("\(answer): \(result)"); continue }
            #expect(failure.code == .noAnswer && requests == 1)
        }
        let refused = await attempt(.failure(SMSHTTPError(description: "Couldn't connect to server", isTransient: true, requestSent: false)))
        guard case .settled(.retry(let why)) = refused.0 else { Issue.record("refused: \(refused.0)"); return }
        #expect(why.code == .unreachable)
        #expect(await attempt(ok(200, #"{"id": 5, "cnt": 1}"#)).0 == .settled(.delivered))
        let unmarked = await attempt(ok(200, #"{"id": 5, "cnt": 1}"#), markFails: true)
        guard case .settled(.retry) = unmarked.0 else { Issue.record("a failed mark: \(unmarked.0)"); return }
        #expect(unmarked.1 == 0, "nothing is sent when the mark could not be recorded")
    }
}

@Suite("Group commit of pushed messages")
struct IngestQueueTests {
    @Test("concurrent submits share batches; each returns after its batch; a failed batch throws to its senders")
    func batches() async throws {
        let batches = Mutex<[Int]>([])
        let failNext = Mutex(false)
        let queue = IngestQueue(logger: Logger(label: "t")) { messages in
            try await Task.sleep(for: .milliseconds(20))
            batches.withLock { $0.append(messages.count) }
            if failNext.withLock({ $0 }) { throw SMSCError("disk full") }
        }
        func message(_ n: Int) -> IncomingMessage {
            IncomingMessage(channel: .sms, feed: "k", externalID: "k:\(n)", sender: "+7903", text: "x", receivedAt: Date())
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await queue.run() }
            try await withThrowingTaskGroup(of: Void.self) { senders in
                for n in 0..<200 { senders.addTask { try await queue.submit(message(n)) } }
                try await senders.waitForAll()
            }
            let counts = batches.withLock { $0 }
            #expect(counts.reduce(0, +) == 200)
            #expect(counts.count < 200, "expected shared batches, got \(counts.count)")
            failNext.withLock { $0 = true }
            await #expect(throws: SMSCError.self) { try await queue.submit(message(999)) }
            group.cancelAll()
        }
    }
}

/// Issue 13: every numeric field a provider sends is swept with hostile values; none traps.
@Suite("SMS providers: hostile numbers and encodings")
struct SMSHostileInputTests {
    static let hostile = ["nan", "inf", "-inf", "-1", "1e300", "9223372036854775808", "18446744073709551616",
                          "99999999999999", "9223372036854775000", "NaN", "0x1p1023"]

    @Test("Kannel time= with a hostile number decodes (the processor replaces the time), never traps", arguments: hostile)
    func kannelTime(_ value: String) throws {
        let message = try KannelMessage.decode(
            query: "from=%2B79031234567&text=1234567+12345&time=\(value)", headers: [:], body: nil)
        let incoming = message.incoming(feed: "k", now: Date())
        #expect(incoming.externalID.hasPrefix("kannel:k:h"))
        _ = try KannelMessage.decode(query: "from=%2B79031234567&text=x", headers: ["x-kannel-time": value], body: nil)
        _ = try KannelMessage.decode(query: "from=%2B79031234567&text=x&coding=\(value)", headers: [:], body: nil)
    }

    @Test("Kannel text, from or charset with broken percent-encoding is refused with a clear answer",
          arguments: ["text=12%", "text=12%4", "text=%zz", "from=%2B7903%", "charset=UTF%2"])
    func kannelBrokenEncoding(_ field: String) {
        var query = "from=%2B79031234567&text=1234567+12345"
        let name = field.split(separator: "=")[0]
        query = query.split(separator: "&").filter { !$0.hasPrefix(name + "=") }.joined(separator: "&") + "&" + field
        #expect {
            try KannelMessage.decode(query: query, headers: [:], body: nil)
        } throws: { error in
            "\(error)".contains("percent-encoding") && "\(error)".contains(name)
        }
    }

    @Test("a Kannel sender longer than E.164 allows (15 digits) is refused")
    func kannelOverlongSender() {
        for from in [String(repeating: "9", count: 20_000), "%2B7903123456789012"] {
            #expect(throws: KannelMessage.DecodingError.self) {
                try KannelMessage.decode(query: "from=\(from)&text=x", headers: [:], body: nil)
            }
        }
    }

    @Test("SMSC get_answers with hostile id/sent/received/cnt/error_code never traps", arguments: hostile)
    func smscNumbers(_ value: String) throws {
        let number = Double(value) != nil && !value.contains("x") && value != "nan" && value != "NaN" && !value.contains("inf")
            ? value : "\"\(value)\""
        let body = #"[{"id": 5, "phone": "+79031234567", "message": "m", "sent": \#(number), "received": \#(number)}]"#
        let answers = try SMSCAPI.answers(from: Array(body.utf8))
        #expect(answers.count == 1)
        _ = try? SMSCAPI.answers(from: Array(#"[{"id": \#(number), "phone": "+7", "message": "m"}]"#.utf8))
        _ = try? SMSCAPI.sendResult(from: Array(#"{"id": 5, "cnt": \#(number)}"#.utf8))
        _ = try? SMSCAPI.answers(from: Array(#"{"error": "x", "error_code": \#(number)}"#.utf8))
        _ = try? SMSCAPI.answers(from: Array(#"[{"id": 6, "phone": "+7", "message": "m", "sent": "21.11.\#(value) 10:54:27"}]"#.utf8))
    }
}
