/// A configuration problem: the file and key (or value) at fault, in one line.
struct ConfigurationError: Error, CustomStringConvertible {
    var file: String
    var key: String
    var reason: String

    var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
