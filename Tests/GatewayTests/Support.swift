import Foundation
import Ledger
import MeterCore
import Synchronization

/// A wall clock the test moves by hand.
final class ManualClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_795_000_000)) {
        current = Mutex(start)
    }

    var now: Date { current.withLock { $0 } }
    var read: @Sendable () -> Date { { self.now } }

    func advance(_ duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(Double(duration.components.seconds)) }
    }
}

/// A transport that records every reply handed to it and answers from a script (by recipient),
/// `.delivered` when the script says nothing.
final class RecordingTransport: ReplyTransport, Sendable {
    let name = "recording"
    private let state = Mutex<(delivered: [OutgoingReply], script: [String: [DeliveryResult]])>(([], [:]))

    /// The next attempts to `recipient` end as `results`, in order.
    func script(_ recipient: String, _ results: [DeliveryResult]) {
        state.withLock { $0.script[recipient, default: []] += results }
    }

    var handed: [OutgoingReply] { state.withLock { $0.delivered } }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        state.withLock { state in
            state.delivered.append(reply)
            guard var results = state.script[reply.recipient], !results.isEmpty else { return .delivered }
            let result = results.removeFirst()
            state.script[reply.recipient] = results
            return result
        }
    }
}

/// A `ConcurrentReplyTransport` that records the point of no return of each reply and how many
/// replies to one recipient were in flight at once.
final class RecordingConcurrentTransport: ConcurrentReplyTransport, Sendable {
    let name = "recording-concurrent"
    let connections: Int
    private struct State {
        var inFlight: [String: Int] = [:]
        var mostInFlightPerRecipient = 0
        var mostInFlight = 0
        var attempts: [Int64] = []
        var script: [Int64: DeliveryAttempt] = [:]
    }
    private let state = Mutex(State())

    init(connections: Int) {
        self.connections = connections
    }

    func script(_ id: Int64, _ attempt: DeliveryAttempt) {
        state.withLock { $0.script[id] = attempt }
    }

    var attempts: [Int64] { state.withLock { $0.attempts } }
    var mostInFlightPerRecipient: Int { state.withLock { $0.mostInFlightPerRecipient } }
    var mostInFlight: Int { state.withLock { $0.mostInFlight } }

    func deliver(_ reply: OutgoingReply) async -> DeliveryResult {
        switch await deliver(reply, connection: 0, beforeCommit: {}) {
        case .settled(let result): result
        case .inDoubt(let failure): .retry(failure)
        }
    }

    func deliver(_ reply: OutgoingReply, connection: Int, beforeCommit: @escaping @Sendable () throws -> Void) async -> DeliveryAttempt {
        state.withLock { state in
            state.attempts.append(reply.id)
            state.inFlight[reply.recipient, default: 0] += 1
            state.mostInFlightPerRecipient = max(state.mostInFlightPerRecipient, state.inFlight[reply.recipient]!)
            state.mostInFlight = max(state.mostInFlight, state.inFlight.values.reduce(0, +))
        }
        defer { state.withLock { $0.inFlight[reply.recipient]! -= 1 } }
        try? await Task.sleep(for: .milliseconds(2))
        do {
            try beforeCommit()
        } catch {
            return .settled(.retry(DeliveryFailure(.localFailure, "the mark before the point of no return failed", cause: error)))
        }
        return state.withLock { $0.script[reply.id] } ?? .settled(.delivered)
    }
}

/// Messages in memory, handed out oldest first and removed only when acknowledged.
final class InMemorySource: MessageSource, Sendable {
    let name: String
    let channel: ChannelKind
    private let state = Mutex<(waiting: [IncomingMessage], acknowledged: [String], polls: Int)>(([], [], 0))

    init(name: String = "memory", channel: ChannelKind = .sms, _ messages: [IncomingMessage] = []) {
        self.name = name
        self.channel = channel
        state.withLock { $0.waiting = messages }
    }

    var acknowledged: [String] { state.withLock { $0.acknowledged } }
    var waiting: Int { state.withLock { $0.waiting.count } }

    func poll(limit: Int) async throws -> [IncomingMessage] {
        state.withLock { state in
            state.polls += 1
            return Array(state.waiting.prefix(limit))
        }
    }

    func acknowledge(_ externalIDs: [String]) async throws {
        state.withLock { state in
            state.acknowledged += externalIDs
            state.waiting.removeAll { externalIDs.contains($0.externalID) }
        }
    }
}

func pendingReply(_ recipient: String, channel: ChannelKind = .sms, body: String = "Показания приняты. Спасибо!") -> NewReply {
    NewReply(messageID: nil, channel: channel.rawValue, recipient: recipient, subject: channel == .email ? "Re: показания" : nil,
             inReplyTo: nil, references: [], body: body, state: .pending)
}

func enqueue(_ replies: [NewReply], in ledger: InMemoryLedger) async throws -> [Int64] {
    try await ledger.transaction { tx in try replies.map { try tx.enqueueReply($0) } }
}
