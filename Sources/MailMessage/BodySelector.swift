/// Chooses the sender's own text: text/plain preferred inside multipart/alternative, else text/html
/// converted to text. Forwarded or bounced mail (`message/*`, `text/rfc822-headers`) and attachments
/// are not the sender's text and are skipped.
struct BodySelector {
    let limits: MailLimits

    private enum Kind { case plain, html }

    func text(of root: MIMEPart, defects: inout [MailDefect]) -> String {
        guard let (part, kind) = pick(root, depth: 0) else { return "" }
        let text = part.decodedText(maxBytes: limits.maxDecodedBytes, defects: &defects)
        return kind == .html ? HTMLText.toText(text, markingQuotes: true) : text
    }

    private func leafKind(_ p: MIMEPart) -> Kind? {
        if p.isAttachment { return nil }
        let ct = p.contentType
        guard ct.type == "text" else { return nil }
        switch ct.subtype {
        case "plain": return .plain
        case "html": return .html
        default: return nil
        }
    }

    private func pick(_ p: MIMEPart, depth: Int) -> (MIMEPart, Kind)? {
        guard depth <= limits.maxDepth + 1 else { return nil }
        let ct = p.contentType
        if ct.type == "message" { return nil }
        if ct.isMultipart {
            if ct.subtype == "alternative" {
                // Last alternative is the "best" by RFC 2046, but we want text: plain first, then html.
                var html: (MIMEPart, Kind)? = nil
                for c in p.children {
                    if let found = pick(c, depth: depth + 1) {
                        if found.1 == .plain { return found }
                        if html == nil { html = found }
                    }
                }
                return html
            }
            for c in p.children {
                if let found = pick(c, depth: depth + 1) { return found }
            }
            return nil
        }
        // Empty text parts (e.g. an unsplittable inner multipart) are passed over.
        if let k = leafKind(p), p.rawBody.contains(where: { $0 > 0x20 }) { return (p, k) }
        return nil
    }
}
