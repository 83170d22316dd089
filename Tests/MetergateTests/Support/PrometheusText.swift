import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A strict reader of the Prometheus text exposition format (version 0.0.4): every line is a
/// `# HELP`, a `# TYPE`, another comment or a sample; names, labels, escapes and values are
/// checked; a TYPE comes at most once and before its samples; histogram buckets carry `le`,
/// are cumulative and end with `+Inf` equal to `_count`.
enum PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct ParseError: Error, CustomStringConvertible {
        var line: Int
        var reason: String
        var description: String { "line \(line): \(reason)" }
    }

    static func isName(_ text: Substring, colons: Bool = true) -> Bool {
        guard let first = text.first, first.isASCII, first.isLetter || first == "_" || (colons && first == ":") else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || (colons && $0 == ":")) }
    }

    static func value(_ text: Substring) -> Double? {
        switch text {
        case "+Inf": return .infinity
        case "-Inf": return -.infinity
        case "NaN": return .nan
        default:
            guard !text.isEmpty, text.allSatisfy({ "0123456789.eE+-".contains($0) }) else { return nil }
            return Double(text)
        }
    }

    static func parse(_ text: String) throws -> [Sample] {
        guard text.isEmpty || text.hasSuffix("\n") else { throw ParseError(line: 0, reason: "the exposition must end with a newline") }
        var samples: [Sample] = []
        var types: [String: String] = [:]
        var sampled = Set<String>()
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().enumerated() {
            let number = index + 1
            let line = Substring(raw)
            if line.isEmpty { continue }
            if line.hasPrefix("#") {
                let parts = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                guard parts.count >= 2, parts[0] == "#" else { continue }
                if parts[1] == "TYPE" {
                    guard parts.count == 4, isName(parts[2]) else { throw ParseError(line: number, reason: "bad TYPE line: \(line)") }
                    guard ["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3])) else {
                        throw ParseError(line: number, reason: "unknown type \(parts[3])")
                    }
                    let name = String(parts[2])
                    guard types[name] == nil else { throw ParseError(line: number, reason: "second TYPE for \(name)") }
                    guard !sampled.contains(name) else { throw ParseError(line: number, reason: "TYPE for \(name) after its samples") }
                    types[name] = String(parts[3])
                } else if parts[1] == "HELP" {
                    guard parts.count >= 3, isName(parts[2]) else { throw ParseError(line: number, reason: "bad HELP line") }
                }
                continue
            }
            var rest = line[...]
            let name = rest.prefix { $0 != "{" && $0 != " " }
            guard isName(name) else { throw ParseError(line: number, reason: "bad metric name in: \(line)") }
            rest = rest.dropFirst(name.count)
            var labels: [String: String] = [:]
            if rest.first == "{" {
                rest = rest.dropFirst()
                while rest.first != "}" {
                    let label = rest.prefix { $0 != "=" }
                    guard isName(label, colons: false), !label.hasPrefix("__") else { throw ParseError(line: number, reason: "bad label name '\(label)'") }
                    rest = rest.dropFirst(label.count)
                    guard rest.hasPrefix("=\"") else { throw ParseError(line: number, reason: "label \(label) without a quoted value") }
                    rest = rest.dropFirst(2)
                    var value = ""
                    var closed = false
                    while let character = rest.first {
                        rest = rest.dropFirst()
                        if character == "\"" { closed = true; break }
                        if character == "\\" {
                            guard let escaped = rest.first else { break }
                            rest = rest.dropFirst()
                            switch escaped {
                            case "\\": value.append("\\")
                            case "\"": value.append("\"")
                            case "n": value.append("\n")
                            default: throw ParseError(line: number, reason: "bad escape \\\(escaped)")
                            }
                        } else {
                            value.append(character)
                        }
                    }
                    guard closed else { throw ParseError(line: number, reason: "unterminated label value") }
                    guard labels.updateValue(value, forKey: String(label)) == nil else { throw ParseError(line: number, reason: "label \(label) twice") }
                    if rest.first == "," { rest = rest.dropFirst() } else if rest.first != "}" {
                        throw ParseError(line: number, reason: "expected , or } after a label")
                    }
                }
                rest = rest.dropFirst()
            }
            guard rest.first == " " else { throw ParseError(line: number, reason: "no space before the value: \(line)") }
            let fields = rest.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
            guard (1...2).contains(fields.count), let number64 = value(fields[0]) else {
                throw ParseError(line: number, reason: "bad value in: \(line)")
            }
            if fields.count == 2, Int64(fields[1]) == nil { throw ParseError(line: number, reason: "bad timestamp in: \(line)") }
            var family = String(name)
            for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                let base = String(name.dropLast(suffix.count))
                if types[base] == "histogram" || types[base] == "summary" { family = base }
            }
            if types[family] == "counter", number64 < 0 { throw ParseError(line: number, reason: "negative counter") }
            if types[family] == "histogram", name.hasSuffix("_bucket"), labels["le"] == nil {
                throw ParseError(line: number, reason: "bucket without le")
            }
            sampled.insert(family)
            samples.append(Sample(name: String(name), labels: labels, value: number64))
        }
        // Histograms: cumulative buckets, +Inf equal to _count.
        for (family, type) in types where type == "histogram" {
            var series: [String: [(Double, Double)]] = [:]
            for sample in samples where sample.name == family + "_bucket" {
                var key = sample.labels
                let le = key.removeValue(forKey: "le")!
                guard let bound = value(Substring(le)) else { throw ParseError(line: 0, reason: "bad le \(le)") }
                series[key.sorted { $0.key < $1.key }.description, default: []].append((bound, sample.value))
            }
            for (key, buckets) in series {
                let sorted = buckets.sorted { $0.0 < $1.0 }
                guard sorted.last?.0 == .infinity else { throw ParseError(line: 0, reason: "\(family)\(key): no +Inf bucket") }
                for pair in zip(sorted, sorted.dropFirst()) where pair.1.1 < pair.0.1 {
                    throw ParseError(line: 0, reason: "\(family)\(key): buckets not cumulative")
                }
                let count = samples.first { $0.name == family + "_count" && $0.labels.sorted { $0.key < $1.key }.description == key }
                guard count?.value == sorted.last?.1 else { throw ParseError(line: 0, reason: "\(family)\(key): +Inf bucket differs from _count") }
            }
        }
        return samples
    }
}

extension Array where Element == PrometheusText.Sample {
    /// The sum of every series of `name` whose labels include `matching`.
    func total(_ name: String, _ matching: [String: String] = [:]) -> Double {
        filter { sample in sample.name == name && matching.allSatisfy { sample.labels[$0.key] == $0.value } }
            .reduce(0) { $0 + $1.value }
    }

    func has(_ name: String) -> Bool { contains { $0.name == name } }
}

/// A plain HTTP/1.0 GET on 127.0.0.1 (no client library: the test reads what a scraper reads).
enum LocalHTTP {
    /// The blocking socket calls run on a thread of their own, never on the cooperative pool.
    static func get(port: Int, path: String) async -> (status: Int, body: String)? {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: fetch(port: port, path: path)) }.start()
        }
    }

    private static func fetch(port: Int, path: String) -> (status: Int, body: String)? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".utf8)
        guard write(descriptor, request, request.count) == request.count else { return nil }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            response += buffer[..<count]
        }
        let text = String(decoding: response, as: UTF8.self)
        guard let headerEnd = text.range(of: "\r\n\r\n"),
              let status = text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return (status, String(text[headerEnd.upperBound...]))
    }
}
