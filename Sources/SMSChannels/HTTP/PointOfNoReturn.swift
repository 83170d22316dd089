import Foundation
import MeterCore

/// What the SMS transports whose request is the point of no return (Kannel's sendsms, an
/// SMSC.ru-style send call) share: the mark before the request, and the plain call's answer.
extension DeliveryAttempt {
    /// The answer of a call that could not mark the reply first: a reply in doubt fails for good
    /// rather than risk a second SMS.
    var failingInDoubt: DeliveryResult {
        switch self {
        case .settled(let result): result
        case .inDoubt(let failure): .failed(failure)
        }
    }
}

enum PointOfNoReturn {
    /// Runs the outbox's mark (a blocking, durable commit) on a thread of its own, off the
    /// cooperative pool; a failure means the request must not go out.
    static func mark(_ beforeCommit: @escaping @Sendable () throws -> Void) async -> Result<Void, any Error> {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: Result { try beforeCommit() }) }.start()
        }
    }
}
