import Foundation
import Testing
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// End to end against the real peers: the SMS cases of the public corpus go in as a phone sends
/// them (Kannel + fakesmsc; the SMSC emulator of the documented API), the ledger holds the same
/// outcome `replay` gives for each, and every message with a reply gets exactly one at the peer:
/// one segment, readable Cyrillic.
@Suite("SMS providers end to end", .serialized, .tags(.peer), .timeLimit(.minutes(10)))
struct SMSProviderAcceptanceTests {
    /// The suites' peers: Kannel (bearerbox, smsbox, fakesmsc) and the sqlite3 command; the SMSC
    /// emulator is Python of our own.
    static let kannel = Peer.needs(Peer.kannel && Peer.sqlite3, "Kannel (kannel, kannel-extras) or sqlite3")
    static let smsc = Peer.needs(Peer.sqlite3, "sqlite3")

    /// Delivers the corpus one message at a time (the corpus's order matters: a second reading
    /// in a period is a duplicate), each after the previous one is in the ledger.
    static func deliverCorpus(_ driver: some SMSPeerDriver, store: URL, daemon: Daemon) async throws -> [(PhoneMessage, String)] {
        let cases = try SMSPeers.corpusSMS()
        for (index, item) in cases.enumerated() {
            try await driver.deliver([item.message])
            let stored = await waitUntil(timeout: 30) { await SMSPeers.count(store, "SELECT COUNT(*) FROM message") >= index + 1 }
            try #require(stored, "message \(index + 1) (\(item.id)) not in the ledger within 30 s; stderr: \(daemon.stderr.suffix(3000))")
        }
        return cases.map { ($0.message, $0.id) }
    }

    /// The ledger's outcomes, in arrival order, against `replay`'s for the same cases.
    static func checkOutcomes(store: URL, cases: [(PhoneMessage, String)]) async throws {
        let rows = try await SMSPeers.query(store, "SELECT outcome FROM message ORDER BY id")
        #expect(rows.count == cases.count, "\(rows.count) messages recorded for \(cases.count) sent")
        let replay = try CorpusReplay.shared.get()
        for (row, item) in zip(rows, cases) {
            let got = try OutcomeLine.parse(row["outcome"] as? String ?? "")
            guard let want = replay.byID[item.1] else { continue }
            #expect(got.status == want.status, "\(item.1) '\(item.0.text)': \(got) — replay: \(want)")
            #expect(got.anyReason == want.anyReason, "\(item.1): \(got) — replay: \(want)")
            #expect(got.results.map(\.uin) == want.results.map(\.uin), "\(item.1): \(got) — replay: \(want)")
            for (g, w) in zip(got.results, want.results) {
                #expect(sameReadings(g.readings, w.readings ?? []) || (g.readings ?? []).isEmpty == (w.readings ?? []).isEmpty,
                        "\(item.1): \(got) — replay: \(want)")
            }
        }
    }

    /// Every queued reply sent, and exactly those at the peer: one segment, readable Cyrillic.
    static func checkReplies(_ driver: some SMSPeerDriver & CurrentReplies, store: URL, daemon: Daemon) async throws {
        let expected = try await SMSPeers.query(store, "SELECT recipient, body FROM outbox WHERE channel = 'sms' ORDER BY id")
        #expect(!expected.isEmpty)
        let sent = await waitUntil(timeout: 60) {
            await SMSPeers.count(store, "SELECT COUNT(*) FROM outbox WHERE state != 'sent'") == 0
        }
        let waiting = try await SMSPeers.query(store, "SELECT state, last_error FROM outbox WHERE state != 'sent'")
        #expect(sent, "replies still waiting: \(waiting); stderr: \(daemon.stderr.suffix(2000))")
        var replies: [PeerReply] = []
        _ = await waitUntil(timeout: 30) {
            replies = (try? await driver.currentReplies()) ?? []
            return replies.count >= expected.count
        }
        #expect(replies.count == expected.count, "\(replies.count) replies at the peer for \(expected.count) queued")
        let want = expected.map { "\($0["recipient"] ?? "")|\($0["body"] ?? "")" }.sorted()
        let got = replies.map { "\($0.to)|\($0.text)" }.sorted()
        #expect(got == want)
        for reply in replies {
            #expect(reply.segments == 1, "not one segment: \(reply)")
            #expect(SMSPeers.readableCyrillic(reply.text), "not readable Cyrillic: \(reply.text)")
        }
    }

    @Test("Kannel + fakesmsc: the corpus SMS in, the same outcomes as replay, one reply each at the phone", SMSProviderAcceptanceTests.kannel)
    func kannelCorpus() async throws {
        let sandbox = try Sandbox("kannel")
        defer { sandbox.remove() }
        let driver = KannelDriver()
        let item = try await driver.start(state: sandbox.url)
        defer { driver.stopNow() }
        let config = try SMSPeers.writeConfig(sandbox, smsItem: item)
        try sandbox.write("accounts.csv", try Fixture.data("accounts.csv"))
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        try await #require(waitUntil(timeout: 20) { daemon.stderr.contains("Kannel endpoint listening") }, "endpoint not up: \(daemon.stderr)")
        let store = sandbox.file("store/metergate.sqlite")
        let cases = try await Self.deliverCorpus(driver, store: store, daemon: daemon)
        try await Self.checkOutcomes(store: store, cases: cases)
        try await Self.checkReplies(driver, store: store, daemon: daemon)
        await #expect(daemon.terminate(timeout: 15) == 0, "SIGTERM: \(daemon.stderr.suffix(1000))")
    }

    @Test("Kannel delivers a message again after a lost answer (same %I): recorded once, answered once", SMSProviderAcceptanceTests.kannel)
    func kannelRepeatedPush() async throws {
        let sandbox = try Sandbox("kannel-repeat")
        defer { sandbox.remove() }
        let driver = KannelDriver()
        let item = try await driver.start(state: sandbox.url)
        defer { driver.stopNow() }
        let config = try SMSPeers.writeConfig(sandbox, smsItem: item)
        try sandbox.write("accounts.csv", TestAccounts.basic)
        try await #require(try sandbox.run(["accounts", "import", "accounts.csv", "--config", config]).status == 0)
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        try await #require(waitUntil(timeout: 20) { daemon.stderr.contains("Kannel endpoint listening") }, "\(daemon.stderr)")
        try await driver.deliver([PhoneMessage(from: "89031234567", text: "1234567 день 12500 ночь 6100", duplicate: true)])
        let repeated = await waitUntil(timeout: 20) { driver.proxyLog().count >= 2 }
        let log = driver.proxyLog()
        #expect(repeated, "Kannel did not repeat the push: \(log)")
        #expect(log.first.map { $0.metergate == 200 && $0.kannel == 503 } == true, "\(log)")
        #expect(log.dropFirst().allSatisfy { $0.metergate == 200 && $0.kannel == 200 }, "\(log)")
        let store = sandbox.file("store/metergate.sqlite")
        #expect(await SMSPeers.count(store, "SELECT COUNT(*) FROM message") == 1)
        #expect(await SMSPeers.count(store, "SELECT COUNT(*) FROM submission") == 1)
        _ = await waitUntil(timeout: 20) { ((try? await driver.currentReplies()) ?? []).count >= 1 }
        await pause(1.5)
        let replies = try await driver.replies()
        #expect(replies.count == 1, "\(replies)")
        #expect(replies.first?.to == "+79031234567")
        await #expect(daemon.terminate(timeout: 15) == 0)
    }

    @Test("SMSC emulator: the corpus SMS polled, the same outcomes as replay, one reply each, cursor in the ledger", SMSProviderAcceptanceTests.smsc)
    func smscCorpus() async throws {
        let sandbox = try Sandbox("smsc")
        defer { sandbox.remove() }
        let driver = SMSCDriver()
        let item = try await driver.start(state: sandbox.url)
        defer { driver.stopNow() }
        let config = try SMSPeers.writeConfig(sandbox, smsItem: item)
        try sandbox.write("accounts.csv", try Fixture.data("accounts.csv"))
        let imported = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let daemon = try Daemon(["run", "--config", config], in: sandbox.url, environment: driver.environment)
        defer { daemon.cleanUp() }
        let store = sandbox.file("store/metergate.sqlite")
        let cases = try await Self.deliverCorpus(driver, store: store, daemon: daemon)
        try await Self.checkOutcomes(store: store, cases: cases)
        try await Self.checkReplies(driver, store: store, daemon: daemon)
        let cursor = try await SMSPeers.query(store, "SELECT cursor FROM feed WHERE name = 'smsc'").first?["cursor"] as? String
        #expect(cursor == String(cases.count), "cursor \(cursor ?? "nil") after \(cases.count) answers")
        await #expect(daemon.terminate(timeout: 15) == 0, "SIGTERM: \(daemon.stderr.suffix(1000))")
    }
}

/// A driver whose peer can be read without waiting for the replies to drain (inside `waitUntil`).
protocol CurrentReplies {
    func currentReplies() async throws -> [PeerReply]
}

extension KannelDriver: CurrentReplies {}
extension SMSCDriver: CurrentReplies {}
