import Foundation
import Testing
import TestSupport
@testable import MailMessage

/// Hostile input: bounded time and memory, a defect, never a crash.
struct RobustnessTests {
    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    func timed(_ body: () -> Void) -> Duration {
        threadCPUTime(body)
    }

    @Test func tenMegabytesOfRandomBytes() {
        var rng = SplitMix(state: 42)
        var bytes = [UInt8](repeating: 0, count: 10 << 20)
        for i in stride(from: 0, to: bytes.count, by: 8) {
            let v = rng.next()
            for k in 0..<8 where i + k < bytes.count { bytes[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
        }
        var m: MailMessage? = nil
        let t = timed { m = MailMessage(raw: bytes) }
        #expect(m != nil)
        #expect(m?.defects.isEmpty == false)
        #expect(t < .seconds(20))   // debug build; about 0.3 s in release
    }

    @Test func randomBytesAfterHeaders() {
        var rng = SplitMix(state: 7)
        let body = (0..<(3 << 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let m = MailMessage(raw: Array("Subject: x\nContent-Type: text/plain; charset=utf-8\n\n".utf8) + body)
        #expect(m.defects.contains(.truncated))
        #expect(m.bodyText.utf8.count <= 3 * (2 << 20))
    }

    @Test func hundredKilobyteHeaderLine() {
        let long = String(repeating: "=?utf-8?Q?=D0=9F?= ", count: 5_000) + String(repeating: "x", count: 20_000)
        let raw = "Subject: " + long + "\nX-Long: " + String(repeating: "a", count: 100_000) + "\n\nbody"
        var m: MailMessage? = nil
        let t = timed { m = mail(raw) }
        #expect(m?.subject.hasPrefix("ППП") == true)
        #expect(m?.header("x-long")?.count == 100_000)
        #expect(m?.bodyText == "body")
        #expect(t < .seconds(2))
    }

    @Test func manySmallEncodedWordsStayLinear() {
        let raw = "Subject: " + String(repeating: "=?utf-8?Q?=D0=9F?= ", count: 50_000) + "\n\nx"
        var m: MailMessage? = nil
        let t = timed { m = mail(raw) }
        #expect(m?.subject.count == 50_000)
        #expect(t < .seconds(3))
    }

    @Test func deeplyNestedMultipartBomb() {
        var raw = "Content-Type: multipart/mixed; boundary=b0\n\n"
        for i in 1...10_000 {
            raw += "--b\(i - 1)\nContent-Type: multipart/mixed; boundary=b\(i)\n\n"
        }
        raw += "--b10000\nContent-Type: text/plain\n\ndeep 123\n"
        let bytes = Array(raw.utf8)
        var m: MailMessage? = nil
        let t = timed { m = MailMessage(raw: bytes) }
        #expect(m?.defects.contains(.depthLimit) == true)
        #expect((m?.partCount ?? 0) <= 17)
        #expect(m?.bodyText == "")
        #expect(t < .seconds(1))
    }

    @Test func hundredThousandParts() {
        var raw = "Content-Type: multipart/mixed; boundary=b\n\n"
        raw.reserveCapacity(4_000_000)
        for i in 0..<100_000 { raw += "--b\nContent-Type: text/plain\n\npart \(i)\n" }
        raw += "--b--\n"
        let bytes = Array(raw.utf8)
        var m: MailMessage? = nil
        let t = timed { m = MailMessage(raw: bytes) }
        #expect(m?.defects.contains(.partLimit) == true)
        #expect(m?.partCount == 256)
        #expect(m?.bodyText == "part 0")
        #expect(t < .seconds(1))
    }

    @Test func nestedMessageRFC822Bomb() {
        var raw = ""
        for _ in 0..<10_000 { raw += "Content-Type: message/rfc822\n\n" }
        raw += "Subject: inner\n\ntext"
        var m: MailMessage? = nil
        let t = timed { m = mail(raw) }
        #expect(m?.defects.contains(.depthLimit) == true)
        #expect(t < .seconds(1))
    }

    @Test func boundaryAppearsNowhere() {
        let m = mail("Content-Type: multipart/mixed; boundary=\"never-used\"\n\n--other\nContent-Type: text/plain\n\n1234567 12345\n--other--\n")
        #expect(m.defects == [.boundaryNotFound])
        #expect(m.bodyText.contains("1234567 12345"))
    }

    @Test func customLimits() {
        var limits = MailLimits()
        limits.maxDecodedBytes = 10
        let m = MailMessage(raw: Array("Subject: s\n\n0123456789abcdef".utf8), limits: limits)
        #expect(m.bodyText == "0123456789")
        #expect(m.defects == [.truncated])
        var l2 = MailLimits()
        l2.maxHeaders = 2
        let h = MailMessage(raw: Array("A: 1\nB: 2\nC: 3\n\nx".utf8), limits: l2)
        #expect(h.headers.count == 2)
        #expect(h.defects == [.headerLimit])
    }

    @Test func degenerateInputs() {
        for raw in ["", "\n", "\r\n\r\n", ":", "=?", "Content-Type: multipart/mixed; boundary=\n\n--\n", "Content-Type: multipart/mixed; boundary=a\n\n--a", "Content-Type: ;;;==\"\n\n", "Subject: =?utf-8?B?=?=\n\n"] {
            let m = mail(raw)
            #expect(m.subject.count >= 0)
        }
        #expect(mail("").bodyText == "")
        #expect(mail("Content-Type: multipart/mixed; boundary=a\n\n--a").defects.contains(.missingCloseDelimiter))
    }
}
