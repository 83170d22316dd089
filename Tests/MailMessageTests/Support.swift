import Foundation
@testable import MailMessage

enum Fixture {
    static func bytes(_ name: String) -> [UInt8] {
        guard let base = Bundle.module.resourceURL else { return [] }
        let url = base.appendingPathComponent("Fixtures").appendingPathComponent(name)
        return (try? [UInt8](Data(contentsOf: url))) ?? []
    }

    static func message(_ name: String) -> MailMessage { MailMessage(raw: bytes(name)) }
}

func mail(_ text: String) -> MailMessage { MailMessage(raw: Array(text.utf8)) }
func mail(_ bytes: [UInt8]) -> MailMessage { MailMessage(raw: bytes) }

/// Headers + body with CRLF line ends.
func crlf(_ text: String) -> [UInt8] {
    Array(text.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\n", with: "\r\n").utf8)
}
