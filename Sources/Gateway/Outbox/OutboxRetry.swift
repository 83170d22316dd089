import Ledger
import MeterCore

/// What the outbox does with a reply after one delivery attempt: the retry state machine.
///
/// A reply is `pending` until an attempt settles it. The transport's answer and the attempts
/// made so far decide, without I/O, the one action the dispatcher performs: mark it sent,
/// schedule the next attempt after a backoff that doubles from `minimumBackoff` up to
/// `maximumBackoff` (Postfix's queue: retries between a minimum and a maximum, ended by the
/// reply's lifetime, `outbox.max_age`), fail it for good, or hold it in doubt.
package struct OutboxRetry: Sendable, Hashable {
    package var minimumBackoff: Duration
    package var maximumBackoff: Duration

    package init(minimumBackoff: Duration = .seconds(30), maximumBackoff: Duration = .seconds(3600)) {
        self.minimumBackoff = minimumBackoff
        self.maximumBackoff = max(minimumBackoff, maximumBackoff)
    }

    package enum Action: Sendable, Hashable {
        /// The peer accepted it: mark it `sent`.
        case markSent
        /// Try again after `delay`: the attempt is counted and the reply stays `pending`.
        case retry(after: Duration, failure: DeliveryFailure)
        /// Give up: `failed`, kept for the operator.
        case fail(DeliveryFailure)
        /// The point of no return passed without an answer: `failed` (in doubt), never sent again.
        case holdInDoubt(DeliveryFailure)
    }

    /// The wait before attempt `attempts + 1`, after `attempts` failed ones.
    package func backoff(afterAttempts attempts: Int) -> Duration {
        var delay = minimumBackoff
        for _ in 0..<max(0, min(attempts, 62)) {
            if delay >= maximumBackoff { break }
            delay *= 2
        }
        return min(delay, maximumBackoff)
    }

    /// The action for the outcome of one attempt of a reply that had `attempts` before it.
    package func settle(_ attempt: DeliveryAttempt, attempts: Int) -> Action {
        switch attempt {
        case .settled(.delivered): .markSent
        case .settled(.retry(let failure)): .retry(after: backoff(afterAttempts: attempts), failure: failure)
        case .settled(.failed(let failure)): .fail(failure)
        case .inDoubt(let failure): .holdInDoubt(failure)
        }
    }
}
