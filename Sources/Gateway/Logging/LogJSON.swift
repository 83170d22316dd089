import MeterCore

/// One log record written as one JSON line, keys sorted, through the outcome lines' writer
/// (`MeterCore.JSONLine`: the same escaping), without `JSONSerialization`'s bridging.
enum LogJSON {
    /// A log value: text, a list, or an object.
    indirect enum Value {
        case string(String)
        case array([Value])
        case object([String: Value])
    }

    static func encode(_ object: [String: Value]) -> String {
        var json = JSONLine()
        write(.object(object), to: &json)
        return json.text
    }

    private static func write(_ value: Value, to json: inout JSONLine) {
        switch value {
        case .string(let text):
            json.string(text)
        case .array(let items):
            json.raw("[")
            for (index, item) in items.enumerated() {
                if index > 0 { json.raw(",") }
                write(item, to: &json)
            }
            json.raw("]")
        case .object(let object):
            json.open()
            for key in object.keys.sorted() {
                json.key(key)
                write(object[key]!, to: &json)
            }
            json.close()
        }
    }
}
