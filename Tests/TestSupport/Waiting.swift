import Foundation

/// Looks at `condition` every 100 ms (`Task.sleep`, no thread held) until it holds, `timeout`
/// seconds pass or the task is cancelled (a test's time limit); returns whether it held.
@discardableResult
public func waitUntil(timeout: TimeInterval, every interval: Duration = .milliseconds(100),
                      _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    while ContinuousClock.now < deadline, !Task.isCancelled {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Waits `seconds` without holding a thread (`Task.sleep`): what a test gives a daemon or a
/// peer to do something it must not do.
public func pause(_ seconds: Double) async {
    try? await Task.sleep(for: .milliseconds(Int(seconds * 1000)))
}
