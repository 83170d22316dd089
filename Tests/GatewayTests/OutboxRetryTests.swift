import MeterCore
import Testing
@testable import Gateway

@Suite struct OutboxRetryTests {
    let retry = OutboxRetry(minimumBackoff: .seconds(30), maximumBackoff: .seconds(3600))

    @Test func backoffDoublesFromTheMinimumUpToTheMaximum() {
        #expect(retry.backoff(afterAttempts: 0) == .seconds(30))
        #expect(retry.backoff(afterAttempts: 1) == .seconds(60))
        #expect(retry.backoff(afterAttempts: 4) == .seconds(480))
        #expect(retry.backoff(afterAttempts: 7) == .seconds(3600))
        #expect(retry.backoff(afterAttempts: 1000) == .seconds(3600))
        #expect(retry.backoff(afterAttempts: -1) == .seconds(30))
    }

    @Test func eachOutcomeLeadsToOneAction() {
        let down = DeliveryFailure(.unreachable, "the server did not answer")
        let refused = DeliveryFailure(.rejected, "550 no such user")
        let silent = DeliveryFailure(.noAnswer, "no answer after the end of data")
        #expect(retry.settle(.settled(.delivered), attempts: 3) == .markSent)
        #expect(retry.settle(.settled(.retry(down)), attempts: 2) == .retry(after: .seconds(120), failure: down))
        #expect(retry.settle(.settled(.failed(refused)), attempts: 0) == .fail(refused))
        #expect(retry.settle(.inDoubt(silent), attempts: 0) == .holdInDoubt(silent))
    }
}
