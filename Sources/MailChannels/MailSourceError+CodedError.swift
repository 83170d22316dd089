import Failures

/// `MailSourceError` in the one shape of metergate's errors.
extension MailSourceError: CodedError {
    public var location: SourceLocation? { SourceLocation(file: file, line: line) }
}
