#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Failures

/// A failure of a file-based channel: which operation, on which path, and why.
///
/// Callers catch by `code`; `errno` keeps the system's own reason when there is one.
public struct ChannelFileError: CodedError, Sendable, Hashable {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Kind: String, Sendable, Hashable {
            case createDirectory, listDirectory, readFile, writeFile, moveFile, syncFile
        }
        private let kind: Kind
        public static let createDirectory = Code(kind: .createDirectory)
        public static let listDirectory = Code(kind: .listDirectory)
        public static let readFile = Code(kind: .readFile)
        public static let writeFile = Code(kind: .writeFile)
        public static let moveFile = Code(kind: .moveFile)
        public static let syncFile = Code(kind: .syncFile)
        public var description: String { kind.rawValue }
    }

    public var code: Code
    public var message: String
    public var path: String
    /// The `errno` value the system reported, 0 when none.
    public var errno: Int32

    public init(code: Code, message: String, path: String, errno: Int32 = 0) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// The system's reason, kept as an error.
    public var cause: (any Error)? { errno == 0 ? nil : SystemError(errno: errno) }

    /// True when trying again later may help: the disk is full or failing.
    public var isTransient: Bool {
        errno == ENOSPC || errno == EIO || errno == EDQUOT || errno == EAGAIN || errno == EINTR
    }

    public var description: String {
        var text = "\(code): \(message) (\(path))"
        if errno != 0, let reason = strerror(errno) {
            text += ": \(String(cString: reason))"
        }
        return text
    }
}
