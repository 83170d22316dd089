import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A TCP port on 127.0.0.1 that was free a moment ago: each test takes its own, so suites run
/// side by side. It is drawn at random outside the kernel's ephemeral range
/// (`ip_local_port_range`) and checked with a bind: a port from `bind(0)` comes from that
/// range, where any outgoing connection of a parallel test (IMAP, SMTP, curl, psql) may take it
/// before the daemon listens on it ("Address already in use" in a Kannel test on a fresh
/// clone). Ports 10000–65000 outside the range count when at least 1000 do; on a machine whose
/// range leaves fewer (one starting at 1024, say), and after 5000 taken tries, the kernel's own
/// choice is taken instead. The peers' scripts pick theirs the same way
/// (`scripts/peers/free-ports.py`).
public func freeLoopbackPort() -> Int {
    let pool = portsOutsideEphemeralRange
    if !pool.isEmpty {
        for _ in 0..<5000 {
            let port = pool.randomElement()!
            if canBind(port: port) { return port }
        }
    }
    return kernelChosenPort() ?? 0
}

/// Ports 10000–65000 outside `ip_local_port_range`, or none when fewer than 1000 are.
let portsOutsideEphemeralRange: [Int] = {
    let bounds = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))
        .map { $0.split(whereSeparator: \.isWhitespace).compactMap { Int($0) } } ?? []
    return bounds.count >= 2 ? ports(outside: bounds[0]...max(bounds[0], bounds[1])) : ports(outside: 32768...60999)
}()

/// Ports 10000–65000 outside `ephemeral`, or none when fewer than 1000 are.
public func ports(outside ephemeral: ClosedRange<Int>) -> [Int] {
    let ports = (10000...65000).filter { !ephemeral.contains($0) }
    return ports.count >= 1000 ? ports : []
}

/// A port the kernel picks (bind to port 0), released at once.
public func kernelChosenPort() -> Int? { bindAndRelease(port: 0) }

/// Whether 127.0.0.1:`port` can be bound now (then released at once).
func canBind(port: Int) -> Bool { bindAndRelease(port: port) != nil }

/// Binds 127.0.0.1:`port` (0: the kernel's choice) and releases it; the port bound, or nil.
func bindAndRelease(port: Int) -> Int? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var address = loopback(port: port)
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    return bound ? Int(UInt16(bigEndian: address.sin_port)) : nil
}

/// Whether something accepts connections on 127.0.0.1:`port` now.
public func acceptsConnections(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = loopback(port: port)
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// 127.0.0.1:`port` as a socket address.
func loopback(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

/// Waits (`Task.sleep`) until something accepts connections on 127.0.0.1:`port`.
public func waitForListener(port: Int, timeout: TimeInterval = 10) async -> Bool {
    await waitUntil(timeout: timeout, every: .milliseconds(50)) { acceptsConnections(port: port) }
}
