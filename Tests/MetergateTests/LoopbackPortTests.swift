import Foundation
import Testing
import TestSupport

/// The test ports: outside the ephemeral range when it leaves room, the kernel's choice when it
/// does not (a CI machine whose range began low had every test draw from one port and stop).
@Suite struct LoopbackPortTests {
    @Test func portsAreDrawnOutsideTheEphemeralRangeWhenItLeavesRoom() {
        let usual = ports(outside: 32768...60999)
        #expect(usual.count == (32768 - 10000) + (65000 - 60999))
        #expect(!usual.contains(32768) && !usual.contains(60999) && usual.contains(32767) && usual.contains(61000))
        // A range from 1024 up leaves 4 ports above it: too few to draw from.
        #expect(ports(outside: 1024...64995).isEmpty)
        #expect(ports(outside: 10000...65000).isEmpty)
        // A range from 20000 up to 64000 still leaves 10,000 ports below it.
        #expect(ports(outside: 20000...64000).count == 10000 + 1000)
    }

    @Test func theKernelsChoiceStandsInAndEveryPortIsFree() throws {
        let kernel = try #require(kernelChosenPort())
        #expect(kernel > 0 && kernel < 65536)
        var seen: Set<Int> = []
        for _ in 0..<50 {
            let port = freeLoopbackPort()
            #expect(port > 0 && port < 65536)
            seen.insert(port)
        }
        #expect(seen.count > 40, "50 draws gave \(seen.count) distinct ports")
    }
}
