import CCurl
import Synchronization

/// What one transfer collects through libcurl's callbacks; passed to them as the context pointer.
final class CurlTransfer {
    var body: [UInt8] = []
    var headerLines: [String] = []
    /// The server's protocol lines (IMAP/POP3/SMTP responses), most recent last, capped.
    var serverLines: [String] = []
    var upload: [UInt8] = []
    var uploadOffset = 0
    /// Abort the transfer when the body grows beyond this many bytes.
    var maxBodyBytes = Int.max
    var bodyTooLarge = false
    /// Keep only this many bytes and stop the transfer there (reported as success, `truncated`).
    var truncateAt = Int.max
    var truncated = false
    /// Called once, when the upload's last byte has been handed to libcurl and before libcurl
    /// sends what ends it (SMTP: the `CRLF.CRLF` after which the server may accept the message).
    /// When it throws, the transfer is aborted and the end is never sent.
    var beforeEndOfData: (() throws -> Void)?
    /// `beforeEndOfData` passed (sticky across `reset`: a first attempt may have sent the end).
    var endOfDataSent = false
    /// How many server lines had arrived when the end of data went out; all lines ever seen.
    var serverLinesAtEndOfData = 0
    var serverLineCount = 0
    /// Why `beforeEndOfData` refused (the transfer was aborted before the end of data).
    var endOfDataRefusal: String?
    /// libcurl said it cut a response line it found too long (`Excessive server response line
    /// length received … Stripping`): what the transfer returned is not the server's answer.
    var strippedLine: String?
    /// Set (from any thread) when the task waiting for the transfer is cancelled; libcurl's
    /// progress callback then aborts the transfer within about a second.
    let cancelled = Atomic<Bool>(false)

    static let serverLineLimit = 16

    /// Back to the state before the transfer (the upload is kept), for a retry.
    func reset() {
        body = []
        headerLines = []
        serverLines = []
        uploadOffset = 0
        bodyTooLarge = false
        truncated = false
        strippedLine = nil
    }

    func appendBody(_ pointer: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        if body.count + count >= truncateAt {
            body.append(contentsOf: UnsafeBufferPointer(start: pointer, count: truncateAt - body.count))
            truncated = true
            return false
        }
        if body.count + count > maxBodyBytes {
            bodyTooLarge = true
            return false
        }
        body.append(contentsOf: UnsafeBufferPointer(start: pointer, count: count))
        return true
    }

    func appendServerText(_ pointer: UnsafePointer<UInt8>, _ count: Int) {
        let text = String(decoding: UnsafeBufferPointer(start: pointer, count: min(count, 2048)), as: UTF8.self)
        for line in text.split(whereSeparator: { $0 == "\r" || $0 == "\n" }) where !line.isEmpty {
            serverLines.append(String(line.prefix(400)))
            serverLineCount += 1
        }
        if serverLines.count > Self.serverLineLimit {
            serverLines.removeFirst(serverLines.count - Self.serverLineLimit)
        }
    }

    /// The server answered after the end of the data went out.
    var answeredAfterEndOfData: Bool { endOfDataSent && serverLineCount > serverLinesAtEndOfData }

    /// Fills `buffer` with the next part of the upload; returns how many bytes were written, 0 at
    /// the end, or `CURL_READFUNC_ABORT` when `beforeEndOfData` refused the end.
    func readUpload(into buffer: UnsafeMutablePointer<CChar>, capacity: Int) -> Int {
        let count = min(capacity, upload.count - uploadOffset)
        guard count > 0 else {
            if let hook = beforeEndOfData {
                do {
                    try hook()
                } catch {
                    endOfDataRefusal = "\(error)"
                    return Int(CURL_READFUNC_ABORT)
                }
                endOfDataSent = true
                serverLinesAtEndOfData = serverLineCount
            }
            return 0
        }
        upload.withUnsafeBufferPointer { source in
            UnsafeMutableRawPointer(buffer).copyMemory(from: source.baseAddress! + uploadOffset, byteCount: count)
        }
        uploadOffset += count
        return count
    }
}

/// The C callbacks: plain functions (no captured context), the transfer comes back through
/// the `…DATA` pointer.
enum CurlCallbacks {
    static let write: ccurl_data_callback = { buffer, size, count, context in
        guard let context, let buffer else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        let bytes = size * count
        return buffer.withMemoryRebound(to: UInt8.self, capacity: bytes) { transfer.appendBody($0, bytes) } ? bytes : 0
    }

    static let header: ccurl_data_callback = { buffer, size, count, context in
        guard let context, let buffer else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        let bytes = size * count
        let line = buffer.withMemoryRebound(to: UInt8.self, capacity: bytes) {
            String(decoding: UnsafeBufferPointer(start: $0, count: bytes), as: UTF8.self)
        }
        transfer.headerLines.append(line)
        return bytes
    }

    static let read: ccurl_data_callback = { buffer, size, count, context in
        guard let context, let buffer else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        return transfer.readUpload(into: buffer, capacity: size * count)
    }

    /// Called by libcurl at least once a second while a transfer runs (also while it waits
    /// for the server): a non-zero answer aborts it (`CURLE_ABORTED_BY_CALLBACK`).
    static let progress: ccurl_progress_callback = { context, _, _, _, _ in
        guard let context else { return 0 }
        return Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue().cancelled.load(ordering: .relaxed) ? 1 : 0
    }

    /// Keeps what the server said (`CURLINFO_HEADER_IN`: protocol response lines); never what we
    /// sent, which holds credentials. Of libcurl's own text only the note that it cut a line.
    static let debug: ccurl_debug_callback = { _, type, data, size, context in
        guard let context, let data else { return 0 }
        let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
        if type == CURLINFO_HEADER_IN {
            data.withMemoryRebound(to: UInt8.self, capacity: size) { transfer.appendServerText($0, size) }
        } else if type == CURLINFO_TEXT, transfer.strippedLine == nil {
            let text = data.withMemoryRebound(to: UInt8.self, capacity: size) {
                String(decoding: UnsafeBufferPointer(start: $0, count: min(size, 200)), as: UTF8.self)
            }
            if text.hasPrefix("Excessive server response line length") {
                transfer.strippedLine = String(text.prefix { $0 != "\n" && $0 != "\r" })
            }
        }
        return 0
    }
}
