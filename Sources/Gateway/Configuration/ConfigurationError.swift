/// A configuration problem: the file and key (or value) at fault, in one line.
package struct ConfigurationError: Error, CustomStringConvertible {
    var file: String
    var key: String
    var reason: String

    package var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
