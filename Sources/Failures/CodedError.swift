#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The one shape of metergate's errors, as swift-nio's `FileSystemError` and
/// swift-service-lifecycle's `ServiceGroupError`: a code to catch by, the operator's words, the
/// error underneath kept as an error (not flattened into text), and where it was raised.
///
/// `CurlError`, `ChannelFileError`, `DeliveryFailure`, `LedgerError`, `MailSourceError`,
/// `ConfigurationError` and `CommandFailure` conform. Each keeps its own `description` where
/// the operator (or the contract) reads it; the default below is the message, then the
/// cause's words. What an abonent reads never comes from here: replies come from templates.
public protocol CodedError: Error, CustomStringConvertible {
    associatedtype Code: Hashable & Sendable & CustomStringConvertible
    /// What kind of failure: what a caller switches on.
    var code: Code { get }
    /// The operator's words: no password, personal data only masked.
    var message: String { get }
    /// The error underneath (`CurlError`, GRDB's `DatabaseError`, `PostgresError`, a `SystemError`).
    var cause: (any Error)? { get }
    /// Where it was raised, when the error records it.
    var location: SourceLocation? { get }
}

extension CodedError {
    public var cause: (any Error)? { nil }
    public var location: SourceLocation? { nil }

    /// `message`, then the cause's own words when the message does not already hold them.
    public var description: String {
        guard let cause else { return message }
        let underneath = String(describing: cause)
        return message.contains(underneath) ? message : "\(message): \(underneath)"
    }

    /// This error's causes, the nearest first (a `CodedError`'s own cause, and so on down).
    public var causes: [any Error] {
        var chain: [any Error] = []
        var next = cause
        while let error = next, chain.count < 16 {
            chain.append(error)
            next = (error as? any CodedError)?.cause
        }
        return chain
    }

    /// For a debug log: each layer's code, words and place, the outermost first.
    public var trace: String {
        var lines = ["\(code): \(message)" + (location.map { " (\($0))" } ?? "")]
        for error in causes {
            if let coded = error as? any CodedError {
                lines.append("caused by \(coded.code): \(coded.message)" + (coded.location.map { " (\($0))" } ?? ""))
            } else {
                lines.append("caused by \(error)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Where an error was raised: `#fileID` and `#line`.
public struct SourceLocation: Sendable, Hashable, CustomStringConvertible {
    public var file: String
    public var line: Int

    public init(file: String = #fileID, line: Int = #line) {
        self.file = file
        self.line = line
    }

    public var description: String { "\(file):\(line)" }
}

/// A system call's failure, `errno` kept as a cause: `strerror`'s words.
public struct SystemError: Error, Sendable, Hashable, CustomStringConvertible {
    public var errno: Int32

    public init(errno: Int32) { self.errno = errno }

    public var description: String {
        guard let text = strerror(errno) else { return "errno \(errno)" }
        return String(cString: text)
    }
}
