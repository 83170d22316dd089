import Foundation
import Ledger
import Logging
import MailChannels
import MeterCore
import Synchronization
import Testing
@testable import Gateway

/// The outbox against the in-memory ledger and recording transports, the clock moved by hand:
/// no binary, no peer, no sleeping for backoffs.
@Suite struct OutboxDispatcherTests {
    let clock = ManualClock()

    func dispatcher(_ ledger: InMemoryLedger, _ transports: [ChannelKind: any ReplyTransport]) -> OutboxDispatcher {
        var dispatcher = OutboxDispatcher(ledger: ledger, transports: transports, logger: Logger(label: "test"))
        dispatcher.now = clock.read
        dispatcher.retry = OutboxRetry(minimumBackoff: .seconds(30), maximumBackoff: .seconds(600))
        return dispatcher
    }

    @Test func aRetriedReplyWaitsForItsBackoffThenGoes() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingTransport()
        let outbox = dispatcher(ledger, [.sms: transport])
        let ids = try await enqueue([pendingReply("+79031234567"), pendingReply("+79037654321")], in: ledger)
        transport.script("+79031234567", [.retry(DeliveryFailure(.unreachable, "connection refused"))])

        #expect(try await outbox.deliverDue() == 1)
        #expect(try await ledger.replyAttempts(outboxID: ids[0]) == 1)
        #expect(try await ledger.outboxCounts() == ["pending": 1, "sent": 1])
        // Not due again before its backoff.
        clock.advance(.seconds(29))
        #expect(try await outbox.deliverDue() == 0)
        #expect(transport.handed.count == 2)
        clock.advance(.seconds(2))
        #expect(try await outbox.deliverDue() == 1)
        #expect(transport.handed.map(\.id) == [ids[0], ids[1], ids[0]])
        #expect(try await ledger.outboxCounts() == ["sent": 2])
    }

    @Test func aSecondRetryWaitsTwiceAsLong() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingTransport()
        let outbox = dispatcher(ledger, [.sms: transport])
        _ = try await enqueue([pendingReply("+79031234567")], in: ledger)
        let down = DeliveryFailure(.unreachable, "connection refused")
        transport.script("+79031234567", [.retry(down), .retry(down)])
        #expect(try await outbox.deliverDue() == 0)
        clock.advance(.seconds(31))
        #expect(try await outbox.deliverDue() == 0)
        clock.advance(.seconds(59))
        #expect(try await outbox.deliverDue() == 0, "the second backoff is 60 s")
        clock.advance(.seconds(2))
        #expect(try await outbox.deliverDue() == 1)
        #expect(transport.handed.count == 3)
    }

    @Test func aFailedReplyIsKeptAndNeverSentAgain() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingTransport()
        let outbox = dispatcher(ledger, [.email: transport])
        _ = try await enqueue([pendingReply("nobody@example.test", channel: .email)], in: ledger)
        transport.script("nobody@example.test", [.failed(DeliveryFailure(.rejected, "550 no such user"))])
        #expect(try await outbox.deliverDue() == 0)
        clock.advance(.seconds(7200))
        #expect(try await outbox.deliverDue() == 0)
        #expect(transport.handed.count == 1)
        #expect(try await ledger.outboxCounts() == ["failed": 1])
    }

    @Test func concurrentConnectionsNeverCarryTwoRepliesToOneRecipient() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingConcurrentTransport(connections: 4)
        let outbox = dispatcher(ledger, [.email: transport])
        let replies = (0..<40).map { pendingReply("r\($0 % 5)@example.test", channel: .email, body: "reply \($0)") }
        let ids = try await enqueue(replies, in: ledger)
        #expect(try await outbox.deliverDue() == 40)
        #expect(transport.mostInFlightPerRecipient == 1)
        #expect(transport.mostInFlight > 1, "the connections worked at once")
        #expect(Set(transport.attempts) == Set(ids) && transport.attempts.count == 40)
        #expect(try await ledger.outboxCounts() == ["sent": 40])
    }

    @Test func aReplyInDoubtIsHeldAndNotSentAgain() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingConcurrentTransport(connections: 2)
        let outbox = dispatcher(ledger, [.email: transport])
        let ids = try await enqueue((0..<3).map { pendingReply("r\($0)@example.test", channel: .email) }, in: ledger)
        transport.script(ids[1], .inDoubt(DeliveryFailure(.noAnswer, "no answer after the end of data")))
        #expect(try await outbox.deliverDue() == 2)
        clock.advance(.seconds(7200))
        #expect(try await outbox.deliverDue() == 0)
        #expect(transport.attempts.filter { $0 == ids[1] }.count == 1)
        #expect(try await ledger.outboxCounts() == ["sent": 2, "failed": 1])
    }

    @Test func aConcurrentRetryIsScheduledByTheSameMachine() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingConcurrentTransport(connections: 2)
        let outbox = dispatcher(ledger, [.email: transport])
        let ids = try await enqueue([pendingReply("a@example.test", channel: .email)], in: ledger)
        transport.script(ids[0], .settled(.retry(DeliveryFailure(.refused, "451 try later"))))
        #expect(try await outbox.deliverDue() == 0)
        clock.advance(.seconds(29))
        #expect(try await outbox.deliverDue() == 0)
        #expect(transport.attempts.count == 1)
        transport.script(ids[0], .settled(.delivered))
        clock.advance(.seconds(2))
        #expect(try await outbox.deliverDue() == 1)
    }
}

extension OutboxDispatcherTests {
    /// Issue 17: a transport that starts on a connection's next reply early (SMTP) is told it,
    /// and its connection's next call is for exactly that reply; a reply held as next keeps its
    /// recipient busy (no other connection carries a reply to the same recipient meanwhile).
    @Test func aConnectionIsToldItsNextReplyAndSendsExactlyThat() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingNextTransport(connections: 3)
        let outbox = dispatcher(ledger, [.email: transport])
        let replies = (0..<60).map { pendingReply("r\($0 % 7)@example.test", channel: .email, body: "reply \($0)") }
        let ids = try await enqueue(replies, in: ledger)
        #expect(try await outbox.deliverDue() == 60)
        let calls = transport.calls
        #expect(calls.map(\.id).sorted() == ids.sorted(), "each reply once")
        #expect(calls.contains { $0.next != nil }, "no call was told its next reply")
        for connection in Set(calls.map(\.connection)) {
            let own = calls.filter { $0.connection == connection }
            for (call, following) in zip(own, own.dropFirst()) where call.next != nil {
                #expect(following.id == call.next, "connection \(connection) announced \(call.next!) and sent \(following.id)")
            }
            #expect(own.last?.next == nil, "connection \(connection) ended with an announced reply unsent")
        }
        #expect(transport.mostHeldPerRecipient == 1)
        #expect(try await ledger.outboxCounts() == ["sent": 60])
    }
}

/// A `NextReplyTransport` that records each call (its connection, its reply, the reply announced
/// next) and how many replies to one recipient were in flight or announced at once.
final class RecordingNextTransport: NextReplyTransport, Sendable {
    struct Call: Sendable {
        var connection: Int
        var id: Int64
        var next: Int64?
    }
    let name = "recording-next"
    let connections: Int
    private struct State {
        var calls: [Call] = []
        var held: [String: Int] = [:]
        var announced: [Int: Int64] = [:]
        var mostHeldPerRecipient = 0
    }
    private let state = Mutex(State())

    init(connections: Int) {
        self.connections = connections
    }

    var calls: [Call] { state.withLock { $0.calls } }
    var mostHeldPerRecipient: Int { state.withLock { $0.mostHeldPerRecipient } }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult { .delivered }

    func deliver(_ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void) async -> DeliveryAttempt {
        await deliver(reply, connection: connection, next: nil, beforeCommit: beforeCommit)
    }

    func deliver(
        _ reply: OutgoingReply, connection: Int, next: OutgoingReply?, beforeCommit: @escaping @Sendable () throws -> Void
    ) async -> DeliveryAttempt {
        state.withLock { state in
            state.calls.append(Call(connection: connection, id: reply.id, next: next?.id))
            if state.announced[connection] != reply.id { state.held[reply.recipient, default: 0] += 1 }
            if let next { state.held[next.recipient, default: 0] += 1 }
            state.announced[connection] = next?.id
            state.mostHeldPerRecipient = max(state.mostHeldPerRecipient, state.held.values.max() ?? 0)
        }
        try? await Task.sleep(for: .milliseconds(1))
        do {
            try beforeCommit()
        } catch {
            state.withLock { $0.held[reply.recipient]! -= 1 }
            return .settled(.retry(DeliveryFailure(.localFailure, "the mark before the point of no return failed", cause: error)))
        }
        state.withLock { $0.held[reply.recipient]! -= 1 }
        return .settled(.delivered)
    }
}

/// A `BatchReplyTransport` (the file outbox's shape) that records each batch it is handed.
final class RecordingBatchTransport: BatchReplyTransport, Sendable {
    let name = "recording-batch"
    let replies = RecordingTransport()
    private let batches = Mutex<[[Int64]]>([])

    var handedBatches: [[Int64]] { batches.withLock { $0 } }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        await deliver(batch: [reply])[0]
    }

    func deliver(batch: [OutgoingReply]) async -> [DeliveryResult] {
        batches.withLock { $0.append(batch.map(\.id)) }
        var results: [DeliveryResult] = []
        for reply in batch { results.append(await replies.deliver(reply)) }
        return results
    }
}

extension OutboxDispatcherTests {
    @Test func aBatchTransportGetsTheDueRepliesAtOnceAndEachResultIsRecorded() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingBatchTransport()
        let outbox = dispatcher(ledger, [.email: transport])
        let ids = try await enqueue((0..<10).map { pendingReply("r\($0)@example.test", channel: .email) }, in: ledger)
        transport.replies.script("r3@example.test", [.retry(DeliveryFailure(.localFailure, "disk full"))])
        transport.replies.script("r7@example.test", [.failed(DeliveryFailure(.rejected, "no"))])

        #expect(try await outbox.deliverDue() == 8)
        #expect(transport.handedBatches == [ids], "one batch for ten recipients")
        #expect(try await ledger.outboxCounts() == ["pending": 1, "sent": 8, "failed": 1])
        #expect(try await ledger.replyAttempts(outboxID: ids[0]) == 1)
        #expect(try await ledger.replyAttempts(outboxID: ids[3]) == 1)
        clock.advance(.seconds(31))
        #expect(try await outbox.deliverDue() == 1)
        #expect(transport.handedBatches.last == [ids[3]])
        #expect(try await ledger.outboxCounts() == ["sent": 9, "failed": 1])
    }

    @Test func aBatchNeverCarriesTwoRepliesToOneRecipient() async throws {
        let ledger = InMemoryLedger(now: clock.read)
        let transport = RecordingBatchTransport()
        let outbox = dispatcher(ledger, [.email: transport])
        let ids = try await enqueue(
            ["a@x.test", "b@x.test", "a@x.test", "c@x.test"].map { pendingReply($0, channel: .email) }, in: ledger)
        #expect(try await outbox.deliverDue() == 4)
        #expect(transport.handedBatches == [[ids[0], ids[1]], [ids[2], ids[3]]])
        #expect(try await ledger.outboxCounts() == ["sent": 4])
    }
}
