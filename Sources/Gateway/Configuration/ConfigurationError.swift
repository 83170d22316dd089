import Failures

/// A configuration problem: the file and key (or value) at fault, in one line. Its code is the
/// key at fault ("" for the file as a whole).
package struct ConfigurationError: CodedError {
    var file: String
    var key: String
    var reason: String

    package var code: String { key }
    package var message: String { reason }

    package var description: String { key.isEmpty ? "\(file): \(reason)" : "\(file): \(key): \(reason)" }
}
