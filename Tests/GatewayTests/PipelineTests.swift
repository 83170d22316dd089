import DefaultFiles
import Foundation
import Ledger
import Logging
import MeterCore
import ReadingsGrammar
import Testing
@testable import Gateway

/// A message's whole path in process: an in-memory source, the pipeline, the in-memory ledger,
/// the outbox and a recording transport.
@Suite struct PipelineTests {
    static let processor: MessageProcessor = {
        let grammar = try! Runtime.loadGrammar(path: nil)
        let templates = try! Runtime.loadTemplates(path: nil)
        return MessageProcessor(parser: MessageParser(grammar: grammar), templates: templates, policy: Policy())
    }()

    func sms(_ id: String, _ text: String, from sender: String = "+79031234567") -> IncomingMessage {
        IncomingMessage(channel: .sms, feed: "memory", externalID: id, sender: sender, text: text, receivedAt: Date())
    }

    @Test func recordsThenAcknowledgesThenAnswers() async throws {
        let ledger = InMemoryLedger()
        _ = try await ledger.importAccounts(
            [Account(uin: "1234567", meters: ["T1"], previous: ["12000"], phones: ["+79031234567"])], replacing: false)
        let source = InMemorySource([sms("m1", "1234567 12345"), sms("m2", "1234567 12346"), sms("m3", "как передать показания?")])
        let pipeline = Pipeline(ledger: ledger, processor: Self.processor, logger: Logger(label: "test"), personalData: false)

        #expect(try await pipeline.pollOnce(source, limit: 10) == 3)
        #expect(source.acknowledged == ["m1", "m2", "m3"] && source.waiting == 0)
        #expect(try await ledger.knownExternalIDs(channel: "sms", ["m1", "m2", "m3", "m4"]) == ["m1", "m2", "m3"])
        let queued = try await ledger.outboxCounts()["pending"] ?? 0
        #expect(queued > 0)

        let transport = RecordingTransport()
        let outbox = OutboxDispatcher(ledger: ledger, transports: [.sms: transport], logger: Logger(label: "test"))
        #expect(try await outbox.deliverDue() == queued)
        #expect(transport.handed.allSatisfy { $0.recipient == "+79031234567" && $0.channel == .sms })
        #expect(transport.handed.first?.body.contains("12345") == true, "\(transport.handed.map(\.body))")
        #expect(try await pipeline.pollOnce(source, limit: 10) == 0)
    }

    @Test func aCommitThatFailsAcknowledgesNothing() async throws {
        let source = InMemorySource([sms("m1", "1234567 12345")])
        let pipeline = Pipeline(ledger: RefusingLedger(), processor: Self.processor, logger: Logger(label: "test"), personalData: false)
        await #expect(throws: LedgerError.self) { try await pipeline.pollOnce(source, limit: 10) }
        #expect(source.acknowledged.isEmpty && source.waiting == 1, "a message not committed stays at its source")
    }

    @Test func aMessageFetchedTwiceIsRecordedOnce() async throws {
        let ledger = InMemoryLedger()
        let pipeline = Pipeline(ledger: ledger, processor: Self.processor, logger: Logger(label: "test"), personalData: false)
        let message = sms("m1", "1234567 12345")
        let first = try await pipeline.ingest([message])
        let again = try await pipeline.ingest([message])
        #expect(first.map(\.isNew) == [true] && again.map(\.isNew) == [false])
        #expect(try await ledger.outboxCounts()["pending"] == 1, "one reply, not two")
    }
}

/// A ledger whose every commit fails (a full disk).
struct RefusingLedger: MessageRecording, FeedStateStore {
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any LedgerTransaction) throws -> T) async throws -> T {
        throw LedgerError(.write, "the disk is full")
    }
    func cursor(feed: String) async throws -> String? { nil }
    func saveCursor(_ cursor: String, feed: String) async throws {}
    func recordPoll(feed: String, error: String?, at date: Date) async throws {}
    func feedStates() async throws -> [FeedState] { [] }
    func knownExternalIDs(channel: String, _ externalIDs: [String]) async throws -> Set<String> { [] }
    func forEachRawMessage(feed: String, channel: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async throws {}
}
