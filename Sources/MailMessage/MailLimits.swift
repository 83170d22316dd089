/// Bounds that keep parsing linear and memory-bounded on hostile input.
public struct MailLimits: Sendable {
    /// Deepest MIME nesting that is descended into (multiparts and message/rfc822).
    public var maxDepth = 16
    /// Most MIME entities (including the root) that are parsed; further parts are ignored.
    public var maxParts = 256
    /// Most bytes a text part may decode to (after transfer decoding); the rest is dropped.
    public var maxDecodedBytes = 2 << 20
    /// Most header fields kept per entity.
    public var maxHeaders = 2_000

    public init() {}
}
