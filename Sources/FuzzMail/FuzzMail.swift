import MailMessage

#if FUZZING
/// libFuzzer entry: parse arbitrary bytes and touch everything derived from them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let m = MailMessage(raw: bytes)
    var sink = m.subject.utf8.count &+ m.bodyText.utf8.count &+ m.meaningfulText.utf8.count
    sink &+= m.automatic == nil ? 0 : 1
    sink &+= m.from?.address.utf8.count ?? 0
    sink &+= m.references.count &+ m.defects.count &+ m.partCount
    sink &+= ReplySubject.stripPrefixes(m.subject).utf8.count
    if let h = m.header("to") { sink &+= h.utf8.count }
    if sink == Int.min { print(sink) }
    return 0
}

#else
import Foundation

/// Replays files (fuzzer reproducers, fixtures) and prints a summary of each.
@main
struct FuzzMailReplay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else {
                print("\(path): cannot read")
                continue
            }
            let start = Date()
            let m = MailMessage(raw: [UInt8](data))
            let ms = Int(Date().timeIntervalSince(start) * 1000)
            print("""
            \(path): \(data.count) bytes, \(ms) ms, \(m.partCount) parts
              subject: \(m.subject.debugDescription)
              from: \(m.from?.address ?? "-") \(m.from?.displayName ?? "")
              automatic: \(m.automatic?.rawValue ?? "-")
              defects: \(m.defects)
              meaningfulText: \(String(m.meaningfulText.prefix(300)).debugDescription)
            """)
        }
    }
}
#endif
