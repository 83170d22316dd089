import Logging
import MeterCore
import ServiceLifecycle
import Synchronization

/// Group commit for pushed messages: every HTTP request hands its message to `submit`, which
/// returns only once the message is durably in the ledger (or throws when it is not).
///
/// Requests that arrive while a batch is being written wait for the next one, so under load
/// many pushes share one transaction and one fsync (Postfix's queue manager and SQLite's own
/// advice: batch the commits, never acknowledge before one). `run()` is the writer loop, a
/// `Service`; after graceful shutdown it writes what is queued once more and fails the rest.
public final class IngestQueue: Service, Sendable {
    /// Records a batch in one transaction; returns only after the commit.
    public typealias Sink = @Sendable ([IncomingMessage]) async throws -> Void

    struct Entry: Sendable {
        var message: IncomingMessage
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var entries: [Entry] = []
        var closed = false
    }

    private let state = Mutex(State())
    private let signal: AsyncStream<Void>
    private let signalContinuation: AsyncStream<Void>.Continuation
    private let sink: Sink
    private let maximumBatch: Int
    private let logger: Logger

    public init(maximumBatch: Int = 500, logger: Logger, sink: @escaping Sink) {
        (signal, signalContinuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.sink = sink
        self.maximumBatch = maximumBatch
        self.logger = logger
    }

    /// Queues `message` and waits for its commit. Throws `IngestQueueError.closed` once the
    /// writer has stopped, or the ledger's error when the batch could not be written.
    public func submit(_ message: IncomingMessage) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let accepted = state.withLock { state in
                guard !state.closed else { return false }
                state.entries.append(Entry(message: message, continuation: continuation))
                return true
            }
            if accepted {
                signalContinuation.yield()
            } else {
                continuation.resume(throwing: IngestQueueError.closed)
            }
        }
    }

    public func run() async throws {
        for await _ in signal.cancelOnGracefulShutdown() {
            await drain()
        }
        // Shutdown: the HTTP server has stopped taking requests (it shuts down first); write
        // what was handed over, refuse anything later.
        await drain()
        let left = state.withLock { state in
            state.closed = true
            defer { state.entries = [] }
            return state.entries
        }
        for entry in left { entry.continuation.resume(throwing: IngestQueueError.closed) }
        signalContinuation.finish()
    }

    private func drain() async {
        while true {
            let batch: [Entry] = state.withLock { state in
                let count = min(maximumBatch, state.entries.count)
                defer { state.entries.removeFirst(count) }
                return Array(state.entries.prefix(count))
            }
            if batch.isEmpty { return }
            do {
                try await sink(batch.map(\.message))
                for entry in batch { entry.continuation.resume() }
            } catch {
                logger.error("pushed messages not recorded (the sender will retry): \(error)", metadata: ["mg.batch": "\(batch.count)"])
                for entry in batch { entry.continuation.resume(throwing: error) }
            }
        }
    }
}

public enum IngestQueueError: Error, CustomStringConvertible {
    case closed

    public var description: String { "metergate is shutting down: message not taken" }
}
