/// Builds the `MIMEPart` tree of a message within `MailLimits`: depth and part count are bounded,
/// and every byte is scanned at most once per nesting level, so time is O(depth × size).
struct MIMEParser {
    let limits: MailLimits
    var defects: [MailDefect] = []
    var parts = 0

    init(limits: MailLimits) { self.limits = limits }

    mutating func parseEntity(_ bytes: ArraySlice<UInt8>, depth: Int, defaultType: ContentType, isTopLevel: Bool) -> MIMEPart {
        parts += 1
        let block = HeaderBlock.parse(bytes, limits: limits, defects: &defects, isTopLevel: isTopLevel)
        let headers = block.headers
        let body = bytes[min(block.bodyStart, bytes.endIndex)...]

        var contentType = defaultType
        if let ct = headers.first(named: "content-type") {
            if let parsed = ContentType.parse(ct) { contentType = parsed } else {
                defects.record(.invalidContentType)
                contentType = .textPlain
            }
        }
        var cte = (headers.first(named: "content-transfer-encoding") ?? "").trimmingASCIIWhitespace().lowercased()
        cte = String(cte.filter { $0 != "\"" })
        var disposition: String? = nil
        var filename: String? = nil
        if let cd = headers.first(named: "content-disposition") {
            let d = ContentType.parseDisposition(cd)
            disposition = d.kind.isEmpty ? nil : d.kind
            filename = d.parameters["filename"]
        }
        if filename == nil { filename = contentType.parameter("name") }
        if let f = filename { filename = EncodedWord.decode(f) }

        var part = MIMEPart(headers: headers, contentType: contentType, transferEncoding: cte,
                            disposition: disposition, filename: filename, children: [],
                            rawBody: body, preamble: body[body.startIndex..<body.startIndex],
                            epilogue: body[body.endIndex...])

        if contentType.isMultipart {
            guard depth < limits.maxDepth else {
                defects.record(.depthLimit)
                return part
            }
            guard let boundary = contentType.parameter("boundary"), !boundary.isEmpty else {
                defects.record(.missingBoundary)
                part.contentType = ContentType(type: "text", subtype: "plain", parameters: contentType.parameters)
                return part
            }
            let split = splitMultipart(body, boundary: Array(boundary.utf8))
            guard let split else {
                defects.record(.boundaryNotFound)
                part.contentType = ContentType(type: "text", subtype: "plain", parameters: contentType.parameters)
                return part
            }
            part.preamble = split.preamble
            part.epilogue = split.epilogue
            if !split.closed { defects.record(.missingCloseDelimiter) }
            // Only a close delimiter (no start boundary): a multipart without parts.
            if split.parts.isEmpty { defects.record(.boundaryNotFound) }
            let childDefault: ContentType = contentType.subtype == "digest" ? .messageRFC822 : .textPlain
            // Empty parts (a delimiter right after another) are ignored, as RFC 2046 readers do.
            for slice in split.parts where !slice.isEmpty {
                if parts >= limits.maxParts {
                    defects.record(.partLimit)
                    break
                }
                part.children.append(parseEntity(slice, depth: depth + 1, defaultType: childDefault, isTopLevel: false))
            }
            if split.truncatedByLimit { defects.record(.partLimit) }
        } else if contentType.type == "message", contentType.subtype == "rfc822" || contentType.subtype == "global" || contentType.subtype == "news",
                  cte != "base64", cte != "quoted-printable" {
            guard depth < limits.maxDepth else {
                defects.record(.depthLimit)
                return part
            }
            if parts >= limits.maxParts {
                defects.record(.partLimit)
                return part
            }
            part.children.append(parseEntity(body, depth: depth + 1, defaultType: .textPlain, isTopLevel: false))
        }
        return part
    }

    struct Split {
        var preamble: ArraySlice<UInt8>
        var parts: [ArraySlice<UInt8>]
        var epilogue: ArraySlice<UInt8>
        var closed: Bool
        var truncatedByLimit: Bool
    }

    /// Finds delimiter lines `--boundary` (optionally followed by `--`, then only blanks).
    /// The line break before a delimiter belongs to the delimiter. nil when no delimiter occurs.
    func splitMultipart(_ body: ArraySlice<UInt8>, boundary: [UInt8]) -> Split? {
        var delimiterStarts: [(lineStart: Int, contentStart: Int, close: Bool)] = []
        var i = body.startIndex
        let end = body.endIndex
        let maxSplits = max(0, limits.maxParts - parts) + 1
        var closed = false
        var truncated = false
        while i < end {
            var lineEnd = i
            while lineEnd < end, body[lineEnd] != 0x0A { lineEnd += 1 }
            let next = lineEnd < end ? lineEnd + 1 : end
            if lineEnd - i >= boundary.count + 2, body[i] == 0x2D, body[i + 1] == 0x2D,
               body[(i + 2)..<(i + 2 + boundary.count)].elementsEqual(boundary) {
                var k = i + 2 + boundary.count
                var isClose = false
                if k + 1 < lineEnd, body[k] == 0x2D, body[k + 1] == 0x2D {
                    isClose = true
                    k += 2
                }
                var onlyBlanks = true
                while k < lineEnd {
                    let b = body[k]
                    if b != 0x20 && b != 0x09 && b != 0x0D { onlyBlanks = false; break }
                    k += 1
                }
                if onlyBlanks {
                    delimiterStarts.append((i, next, isClose))
                    if isClose { closed = true; break }
                    if delimiterStarts.count > maxSplits { truncated = true; break }
                }
            }
            i = next
        }
        guard let first = delimiterStarts.first else { return nil }
        if first.close {
            // Only a close delimiter: no parts, all text before it is preamble.
            return Split(preamble: body[body.startIndex..<stripLineBreak(body, before: first.lineStart)], parts: [],
                         epilogue: body[first.contentStart...], closed: true, truncatedByLimit: false)
        }
        var parts: [ArraySlice<UInt8>] = []
        for (n, d) in delimiterStarts.enumerated() where !d.close {
            let partEnd: Int
            if n + 1 < delimiterStarts.count {
                partEnd = stripLineBreak(body, before: delimiterStarts[n + 1].lineStart)
            } else {
                partEnd = end
            }
            parts.append(body[d.contentStart..<max(d.contentStart, partEnd)])
        }
        let last = delimiterStarts[delimiterStarts.count - 1]
        let epilogue = last.close ? body[last.contentStart...] : body[end...]
        return Split(preamble: body[body.startIndex..<stripLineBreak(body, before: first.lineStart)], parts: parts,
                     epilogue: epilogue, closed: closed, truncatedByLimit: truncated)
    }

    /// `index` moved back over one CRLF or LF just before it.
    private func stripLineBreak(_ body: ArraySlice<UInt8>, before index: Int) -> Int {
        var j = index
        if j > body.startIndex, body[j - 1] == 0x0A { j -= 1 }
        if j > body.startIndex, body[j - 1] == 0x0D { j -= 1 }
        return j
    }
}
