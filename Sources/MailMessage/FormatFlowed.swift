/// RFC 3676 `format=flowed` text/plain: a line ending in a space continues on the next line
/// (the space is dropped too with `delsp=yes`); one leading "stuffing" space is removed; the
/// signature line "-- " never flows. Quoted lines are passed through (they are stripped later).
enum FormatFlowed {
    static func unflow(_ text: String, delSp: Bool) -> String {
        var out: [Substring] = []
        var pendingFlow = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix(">") {
                out.append(line)
                pendingFlow = false
                continue
            }
            var c = line
            if c.hasPrefix(" ") { c = c.dropFirst() }
            let flowed = c != "-- " && c.hasSuffix(" ")
            var piece = c
            if flowed, delSp { piece = piece.dropLast() }
            if pendingFlow, let last = out.popLast() {
                out.append(Substring(String(last) + piece))
            } else {
                out.append(piece)
            }
            pendingFlow = flowed
        }
        return out.joined(separator: "\n")
    }
}
