import Curl
import Dispatch
import Foundation
import MeterCore

/// One SMTP connection that sends replies one after another (RFC 2920 PIPELINING when the
/// server offers it: `MAIL`, `RCPT` and `DATA` in one write, then the message and its end, so a
/// reply costs two round trips instead of five; and when the caller names the reply it sends
/// next, that reply's `MAIL`, `RCPT` and `DATA` go out in the same write as this one's end of
/// data, as RFC 2920's own example sends `QUIT` after the `.`: one round trip a reply). The
/// answers to such an envelope are read by the next call, which must be for that reply; any
/// other call closes the connection first (a server in the DATA state would otherwise take the
/// next lines as a message). libcurl opens the connection, sets up TLS and
/// logs in (`EHLO`, STARTTLS, `AUTH`; `CURLOPT_CONNECT_ONLY`); the pipe then sends `EHLO`
/// once more itself to learn the extensions. Blocking work runs on the pipe's own queue.
///
/// The point of no return is unchanged: `beforeCommit` runs after the whole message (dot-stuffed)
/// is written and before the final `.` is; a failure after that without the server's answer is
/// in doubt.
final class SMTPPipe: @unchecked Sendable {
    private let queue: DispatchQueue
    private let stream = CurlStream()
    // Touched only on `queue`.
    private var pipelining = false
    private var buffer: [UInt8] = []
    /// The reply whose `MAIL`, `RCPT` and `DATA` were written after the last end of data and
    /// whose answers are still to be read.
    private var sentAhead: Int64?

    init(label: String) {
        queue = DispatchQueue(label: "metergate.smtp.\(label)")
    }

    struct Envelope: Sendable {
        /// The reply's id in the outbox.
        var id: Int64
        var from: String
        var recipient: String
        var message: [UInt8]
    }

    /// Sends one message; the whole exchange on the pipe's queue. `next` (its message unused)
    /// is the reply the next call sends: its envelope may follow this one's end of data.
    func send(
        _ envelope: Envelope, next: Envelope? = nil, connect: CurlMailRequest, ehloName: String,
        beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt {
        let stream = self.stream
        stream.cancellation.set(false)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(returning: self.sendBlocking(envelope, next: next, connect: connect, ehloName: ehloName, beforeCommit: beforeCommit))
                }
            }
        } onCancel: {
            stream.cancellation.set(true)
        }
    }

    private func sendBlocking(
        _ envelope: Envelope, next: Envelope?, connect: CurlMailRequest, ehloName: String, beforeCommit: () throws -> Void
    ) -> DeliveryAttempt {
        // An envelope sent ahead for another reply: the server may be waiting for that one's
        // message, so this one starts on a fresh connection.
        if let ahead = sentAhead, ahead != envelope.id { close() }
        // A reused connection may have been closed by the server meanwhile: one fresh try, as
        // long as nothing of this message reached the point of no return.
        for attempt in 0..<2 {
            let reused = stream.isOpen
            do {
                if !stream.isOpen { try open(connect, ehloName: ehloName) }
                return try transaction(envelope, next: next, timeout: connect.timeout, beforeCommit: beforeCommit)
            } catch let failure as Failure {
                close()
                switch failure {
                case .beforeData(let error):
                    if reused, attempt == 0, error.isTransient { continue }
                    return .settled(SMTPTransport.result(of: error))
                case .answered(let result):
                    return .settled(result)
                case .inDoubt(let error):
                    return .inDoubt(DeliveryFailure(.noAnswer, "no answer after the end of data", cause: error))
                case .commitRefused(let error):
                    return .settled(.retry(DeliveryFailure(.unreachable, "aborted before the end of data: the reply could not be marked", cause: error)))
                }
            } catch let error as CurlError {
                close()
                if reused, attempt == 0, error.isTransient { continue }
                return .settled(SMTPTransport.result(of: error))
            } catch {
                close()
                return .settled(.retry(DeliveryFailure(.unreachable, "SMTP transfer failed", cause: error)))
            }
        }
        return .settled(.retry(DeliveryFailure(.unreachable, "SMTP transfer failed")))
    }

    private enum Failure: Error {
        /// Nothing was accepted; the error says whether the server answered (and what).
        case beforeData(CurlError)
        /// The server answered the end of data (or refused the envelope) with this.
        case answered(DeliveryResult)
        case inDoubt(CurlError)
        case commitRefused(any Error)
    }

    private func open(_ request: CurlMailRequest, ehloName: String) throws {
        buffer = []
        try stream.open(request)
        try write("EHLO \(ehloName)\r\n", timeout: request.timeout)
        let (code, lines) = try readReply(timeout: request.timeout)
        guard code == 250 else { throw CurlError(code: 8, message: "EHLO refused", serverResponse: lines.last, url: request.url) }
        pipelining = lines.contains { $0.dropFirst(4).uppercased().hasPrefix("PIPELINING") }
    }

    func close() {
        stream.close()
        buffer = []
        sentAhead = nil
    }

    static func commands(_ envelope: Envelope) -> [String] {
        ["MAIL FROM:\(envelope.from)\r\n", "RCPT TO:\(envelope.recipient)\r\n", "DATA\r\n"]
    }

    private func transaction(_ envelope: Envelope, next: Envelope?, timeout: Duration, beforeCommit: () throws -> Void) throws -> DeliveryAttempt {
        let commands = Self.commands(envelope)
        var answers: [(Int, String)] = []
        do {
            if pipelining {
                // Written after the last end of data already (the caller named this reply then).
                if sentAhead != envelope.id { try write(commands.joined(), timeout: timeout) }
                sentAhead = nil
                for _ in commands { answers.append(try readAnswer(timeout: timeout)) }
            } else {
                for command in commands {
                    try write(command, timeout: timeout)
                    let answer = try readAnswer(timeout: timeout)
                    answers.append(answer)
                    if answer.0 >= 400 { break }
                }
            }
        } catch let error as CurlError {
            throw Failure.beforeData(error)
        }
        if let refused = answers.first(where: { $0.0 >= 400 && $0.0 != 354 }) {
            // A DATA that was accepted anyway would take the next line as the message: start afresh.
            if answers.count == 3, answers[2].0 == 354 { throw Failure.answered(Self.result(refused)) }
            _ = try? write("RSET\r\n", timeout: timeout)
            if (try? readAnswer(timeout: timeout))?.0 != 250 { close() }
            return .settled(Self.result(refused))
        }
        guard answers.count == 3, answers[2].0 == 354 else {
            throw Failure.beforeData(CurlError(code: 8, message: "unexpected answer to DATA", serverResponse: answers.last?.1))
        }
        do {
            try stream.send(Self.dotStuffed(envelope.message), timeout: timeout)
        } catch let error as CurlError {
            throw Failure.beforeData(error)
        }
        do {
            try beforeCommit()
        } catch {
            throw Failure.commitRefused(error)
        }
        let answer: (Int, String)
        // The next reply's envelope in the same write as this end of data: its answers come
        // after this one's and are read by the next call.
        let ahead = pipelining ? next : nil
        do {
            try stream.send(Array((".\r\n" + (ahead.map { Self.commands($0).joined() } ?? "")).utf8), timeout: timeout)
            if let ahead { sentAhead = ahead.id }
            answer = try readAnswer(timeout: timeout)
        } catch let error as CurlError {
            throw Failure.inDoubt(error)
        }
        if answer.0 == 250 { return .settled(.delivered) }
        return .settled(Self.result(answer))
    }

    /// The server's answer to the end of data or to the envelope: 5xx gives up (but an
    /// authentication refusal is retried, see `SMTPTransport.result`), anything else retries.
    static func result(_ answer: (Int, String)) -> DeliveryResult {
        SMTPTransport.result(of: CurlError(code: 55, message: "the server answered \(answer.0)", serverResponse: answer.1))
    }

    /// The message with every line that starts with `.` doubled, CRLF line ends, ending in CRLF.
    static func dotStuffed(_ message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + 64)
        var lineStart = true
        var previous: UInt8 = 0
        for byte in message {
            if byte == 0x0A, previous != 0x0D { out.append(0x0D) }
            if lineStart, byte == UInt8(ascii: ".") { out.append(byte) }
            out.append(byte)
            lineStart = byte == 0x0A
            previous = byte
        }
        if !lineStart { out += [0x0D, 0x0A] }
        return out
    }

    private func write(_ text: String, timeout: Duration) throws {
        try stream.send(Array(text.utf8), timeout: timeout)
    }

    private func readAnswer(timeout: Duration) throws -> (Int, String) {
        let (code, lines) = try readReply(timeout: timeout)
        return (code, lines.last ?? "")
    }

    /// One reply (`250-…` lines, then `250 …`): its code and lines.
    private func readReply(timeout: Duration) throws -> (Int, [String]) {
        var lines: [String] = []
        while true {
            let line = try readLine(timeout: timeout)
            lines.append(line)
            let bytes = Array(line.utf8)
            guard bytes.count >= 3, let code = Int(String(decoding: bytes.prefix(3), as: UTF8.self)) else {
                throw CurlError(code: 8, message: "an unreadable SMTP answer", serverResponse: line, url: stream.url)
            }
            if bytes.count == 3 || bytes[3] == 0x20 { return (code, lines) }
        }
    }

    private func readLine(timeout: Duration) throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var end = newline
                if end > 0, buffer[end - 1] == 0x0D { end -= 1 }
                let line = String(decoding: buffer[..<end], as: UTF8.self)
                buffer.removeFirst(newline + 1)
                return line
            }
            guard buffer.count < 64 << 10 else {
                throw CurlError(code: 8, message: "an SMTP answer line longer than 64 KiB", url: stream.url)
            }
            guard let bytes = try stream.receive(wait: timeout) else {
                throw CurlError(code: 28, message: "no SMTP answer within \(timeout)", url: stream.url)
            }
            buffer += bytes
        }
    }
}
