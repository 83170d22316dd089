import Foundation

/// The two calls of an SMSC.ru-style HTTP API that metergate uses, as SMSC.ru documents them
/// (https://smsc.ru/api/http/ — "Получение входящих сообщений" under "Получение данных", and
/// "Отправка SMS-сообщения" with its page "Ответ сервера и коды ошибок"; field names as there
/// and as the public client libraries read them):
///
/// - receive: `GET {base}/sys/get.php?get_answers=1&login=…&psw=…&after_id=N&fmt=3` → a JSON
///   array, each item `{"id", "received", "phone", "message", "to_phone", "sent"}` (times as
///   Unix seconds, or `dd.mm.yyyy hh:mm:ss` in Moscow time), or `{"error", "error_code"}`;
/// - send: `{base}/sys/send.php` with `login`, `psw`, `phones`, `mes`, `id` (ours, optional
///   there), `charset=utf-8`, `fmt=3` (GET or POST; we POST, so the password stays out of URLs) →
///   `{"id", "cnt"}` or `{"error", "error_code"[, "id"]}`.
///
/// Send error codes (the send page): 1 parameters, 2 login or password, 3 not enough money,
/// 4 IP blocked for a while after frequent errors, 5 date format, 6 message forbidden (text
/// or sender name), 7 phone number format, 8 cannot be delivered to that number, 9 the same
/// request more than once a minute or too many at once.
package enum SMSCAPI {
    package struct Answer: Sendable, Hashable {
        package var id: Int64
        package var phone: String
        package var message: String
        package var toPhone: String?
        package var time: Date?
        /// The source wrote a local Moscow time (`dd.mm.yyyy hh:mm:ss`): its UTC offset.
        package var utcOffset: Int?
    }

    package struct APIError: Error, Sendable, Hashable, CustomStringConvertible {
        package var code: Int
        package var message: String

        package var description: String { "SMSC error \(code): \(message)" }

        /// Whether the same request can succeed later without a person changing something
        /// about the message: login (2), money (3), a temporary block (4) can.
        package var isTemporary: Bool { [2, 3, 4].contains(code) }

        /// 9 on a send: the provider has had this very request (same phone, text and id)
        /// within the last minute, i.e. it already took it.
        package var isRepeatedRequest: Bool { code == 9 }
    }

    package struct ProtocolError: Error, Sendable, CustomStringConvertible {
        package var description: String
    }

    /// The get_answers call's URL and fields.
    package static func answersRequest(base: String, login: String, password: String, afterID: Int64) -> SMSHTTPRequest {
        SMSHTTPRequest(url: FormEncoding.url(trimmed(base) + "/sys/get.php", adding: [
            .init("get_answers", "1"), .init("login", login), .init("psw", password),
            .init("after_id", String(afterID)), .init("fmt", "3"),
        ]))
    }

    /// `id` is the documented client-assigned message id (1…2147483647).
    package static func sendRequest(base: String, login: String, password: String, phone: String, text: String, id: Int64) -> SMSHTTPRequest {
        SMSHTTPRequest(url: trimmed(base) + "/sys/send.php", form: [
            .init("login", login), .init("psw", password), .init("phones", phone), .init("mes", text),
            .init("id", String(id)), .init("charset", "utf-8"), .init("fmt", "3"),
        ])
    }

    static func trimmed(_ base: String) -> String {
        var base = base
        while base.hasSuffix("/") { base.removeLast() }
        return base
    }

    /// Parses a get_answers body: the answers, oldest first.
    package static func answers(from body: [UInt8]) throws -> [Answer] {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw ProtocolError(description: "get_answers did not return JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if let object = json as? [String: Any] {
            if let error = apiError(object) { throw error }
            throw ProtocolError(description: "get_answers returned an object without error_code")
        }
        guard let items = json as? [Any] else { throw ProtocolError(description: "get_answers did not return a JSON array") }
        var answers: [Answer] = []
        for item in items {
            guard let object = item as? [String: Any], let id = integer(object["id"]) else {
                throw ProtocolError(description: "get_answers item without a numeric id")
            }
            let phone = string(object["phone"]) ?? ""
            let when = object["sent"].flatMap(time) ?? object["received"].flatMap(time)
            answers.append(Answer(
                id: id, phone: phone, message: string(object["message"]) ?? "", toPhone: string(object["to_phone"]),
                time: when?.date, utcOffset: when?.offset))
        }
        return answers.sorted { $0.id < $1.id }
    }

    /// Parses a send body: the provider's message id, or the API error.
    package static func sendResult(from body: [UInt8]) throws -> (id: String, parts: Int) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            throw ProtocolError(description: "send did not return a JSON object: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if let error = apiError(object) { throw error }
        guard let id = object["id"].flatMap({ string($0) }) else {
            throw ProtocolError(description: "send returned no id")
        }
        return (id, integer(object["cnt"]).map(Int.init) ?? 1)
    }

    static func apiError(_ object: [String: Any]) -> APIError? {
        guard let code = integer(object["error_code"]) else { return nil }
        return APIError(code: Int(code), message: string(object["error"]) ?? "")
    }

    static func integer(_ value: Any?) -> Int64? {
        switch value {
        case let number as NSNumber:
            // `int64Value` of 1e300, inf or nan traps: a JSON number outside Int64 is no integer.
            if ["d", "f"].contains(String(cString: number.objCType)) {
                let value = number.doubleValue
                guard value.isFinite, value.rounded() == value, value.magnitude < 9.2e18 else { return nil }
                return Int64(value)
            }
            return number.int64Value
        case let text as String: return Int64(text.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }

    static func string(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: nil
        }
    }

    /// Unix seconds, or `dd.mm.yyyy hh:mm:ss` read as Moscow time (UTC+3).
    static func time(_ value: Any) -> (date: Date, offset: Int?)? {
        if let seconds = integer(value), seconds > 100_000_000 { return (Date(timeIntervalSince1970: TimeInterval(seconds)), nil) }
        // A number that is no integer (1e300, 1.5): kept as stated; the processor replaces a
        // time outside its window by the time of receipt and logs it.
        if let number = value as? NSNumber, integer(value) == nil { return (Date(timeIntervalSince1970: number.doubleValue), nil) }
        guard let text = value as? String else { return nil }
        let fields = text.split(whereSeparator: { $0 == "." || $0 == " " || $0 == ":" })
        // Every field a small number: `99999999999999999999` is not dropped (shifting the
        // others into the wrong places) but makes the whole time unreadable.
        let parts = fields.compactMap { $0.count <= 4 ? Int($0) : nil }
        guard parts.count == fields.count, (5...6).contains(parts.count) else { return nil }
        var components = DateComponents()
        components.day = parts[0]
        components.month = parts[1]
        components.year = parts[2]
        components.hour = parts[3]
        components.minute = parts[4]
        components.second = parts.count > 5 ? parts[5] : 0
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(secondsFromGMT: 3 * 3600)!
        return calendar.date(from: components).map { ($0, 3 * 3600) }
    }
}
