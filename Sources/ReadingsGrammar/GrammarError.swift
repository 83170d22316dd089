/// A grammar file that cannot be used: where, and why.
public struct GrammarError: Error, CustomStringConvertible, Sendable, Hashable {
    /// What kind of fault, for callers that want to tell them apart.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        public static let unreadable = Code(name: "unreadable")
        public static let syntax = Code(name: "syntax")
        public static let unknownKey = Code(name: "unknown key")
        public static let badValue = Code(name: "bad value")
        public static let emptySynonym = Code(name: "empty synonym")
        public static let conflict = Code(name: "conflict")
    }

    public var code: Code
    public var file: String
    public var line: Int
    public var reason: String

    public init(code: Code, file: String, line: Int, reason: String) {
        self.code = code
        self.file = file
        self.line = line
        self.reason = reason
    }

    /// "Grammars/zones.grammar:12: unknown key 'lables' (expected one of …)"
    public var description: String {
        line > 0 ? "\(file):\(line): \(reason)" : "\(file): \(reason)"
    }
}
