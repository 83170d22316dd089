import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago: each test takes its own, so suites run
/// side by side. It is drawn at random below the kernel's ephemeral range
/// (`ip_local_port_range`, 32768–60999 here) and checked with a bind. A port from `bind(0)`
/// comes from that range, where any outgoing connection of a parallel test (IMAP, SMTP, curl,
/// psql) may take it before the daemon listens on it ("Address already in use" in a Kannel
/// test on a fresh clone).
public func freeLoopbackPort() -> Int {
    let ephemeralLow = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .flatMap { $0.split(whereSeparator: \.isWhitespace).first.flatMap { Int($0) } } ?? 32768
    let range = 20000..<max(20001, min(ephemeralLow, 65536))
    for _ in 0..<1000 {
        let port = Int.random(in: range)
        if canBind(port: port) { return port }
    }
    preconditionFailure("no free loopback port in \(range)")
}

/// Whether 127.0.0.1:`port` can be bound now (then released at once).
func canBind(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Whether something accepts connections on 127.0.0.1:`port` now.
public func acceptsConnections(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// Waits (`Task.sleep`) until something accepts connections on 127.0.0.1:`port`.
public func waitForListener(port: Int, timeout: TimeInterval = 10) async -> Bool {
    await waitUntil(timeout: timeout, every: .milliseconds(50)) { acceptsConnections(port: port) }
}
