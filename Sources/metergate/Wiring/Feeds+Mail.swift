import Curl
import Foundation
import Gateway
import Ledger
import Logging
import MailChannels
import MeterCore

/// IMAP/POP3 mailboxes and the SMTP transport, built from the configuration.
extension Run {
    static func makeMailSource(
        _ mailbox: MetergateConfiguration.Mailbox, _ configuration: MetergateConfiguration, ledger: any LedgerDriver,
        logger: Logger
    ) -> (any MessageSource)? {
        guard let after = MailboxAfter(mailbox.after) else { return nil }
        let password = passwordReader(mailbox.secret)
        let settings = MailboxSettings(
            url: mailbox.url, username: mailbox.username,
            password: password,
            oauth2TokenFile: mailbox.oauth2TokenFile, startTLS: mailbox.startTLS,
            tls: CurlTLS(verify: mailbox.tlsVerify, caFile: mailbox.caFile), after: after,
            maxMessageBytes: max(configuration.policy.maxMessageBytes, 10 << 20), fetchConnections: mailbox.fetchConnections)
        let store = ledger
        switch mailbox.scheme {
        case "imap", "imaps":
            return IMAPSource(name: mailbox.name, settings: settings, store: store, logger: logger)
        case "pop3", "pop3s":
            return POP3Source(name: mailbox.name, settings: settings, store: store, logger: logger)
        default:
            logger.error("mailbox \(mailbox.name): \(mailbox.scheme):// is not a mailbox kind; feed skipped")
            return nil
        }
    }

    /// Reads the secret when called (a password file rotated meanwhile is picked up).
    static func passwordReader(_ secret: MetergateConfiguration.SecretReference?) -> (@Sendable () throws -> String?)? {
        guard let secret else { return nil }
        return { @Sendable in try secret.resolve(ProcessInfo.processInfo.environment) }
    }

    /// The SMTP transport when `smtp.url` is set (replaces the file outbox for e-mail).
    static func makeSMTPTransport(_ configuration: MetergateConfiguration, logger: Logger) -> (any ReplyTransport)? {
        guard let url = configuration.smtpURL else { return nil }
        let smtp = configuration.smtp
        let password = passwordReader(smtp.secret)
        return SMTPTransport(
            configuration: .init(
                url: url, from: configuration.smtpFrom ?? "metergate <readings@metergate.invalid>",
                username: smtp.username,
                password: password,
                startTLS: smtp.startTLS, tls: CurlTLS(verify: smtp.tlsVerify, caFile: smtp.caFile),
                connections: smtp.connections),
            logger: logger)
    }
}
