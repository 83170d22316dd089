import ArgumentParser
import Foundation
import Gateway
import Ledger
import LedgerSQLite

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Queue depths, last successful poll and last error per feed, today's counts.")
    @OptionGroup var options: ConfigOption

    func run() async throws {
        let configuration = try options.load()
        let runtime = try await Runtime.open(configuration)
        let ledger = runtime.ledger
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = configuration.policy.timeZone ?? .current
        let today = calendar.startOfDay(for: Date())
        print("store: \(ledger.location) (\(try await ledger.accountCount()) accounts)")
        let feeds = try await ledger.feedStates()
        let configured = configuration.mailboxes.map(\.name) + configuration.sms.map(\.name)
        print("feeds:")
        for name in configured {
            let state = feeds.first { $0.feed == name }
            let success = state?.lastSuccessAt.map { Timestamp.iso8601($0) } ?? "never"
            var line = "  \(name): last successful poll \(success)"
            if let state, state.consecutiveFailures > 0, let error = state.lastError {
                line += "; failing (\(state.consecutiveFailures) in a row), last error \(state.lastErrorAt.map { Timestamp.iso8601($0) } ?? ""): \(error)"
            }
            print(line)
        }
        if let shared = ledger as? any FeedLeasing {
            // A shared store (contract §7): every instance, its heartbeat, the feeds it holds.
            let instances = try await shared.instances()
            print("instances:")
            for instance in instances {
                let state = instance.alive ? "alive" : instance.stoppedAt.map { "stopped \(Timestamp.iso8601($0))" } ?? "silent (dead?)"
                let feeds = instance.feeds.isEmpty ? "none" : instance.feeds.joined(separator: ", ")
                print("  \(instance.name): \(state), last heartbeat \(Timestamp.iso8601(instance.heartbeatAt)), host \(instance.host), pid \(instance.pid), started \(Timestamp.iso8601(instance.startedAt)); feeds: \(feeds)")
            }
            let held = Set(instances.filter(\.alive).flatMap(\.feeds))
            let polled = configuration.mailboxes.map(\.name) + configuration.sms.filter { $0.kind != "kannel" }.map(\.name)
            let orphans = polled.filter { !held.contains($0) }
            if !orphans.isEmpty { print("  feeds held by no live instance: \(orphans.joined(separator: ", "))") }
        }
        let outbox = try await ledger.outboxCounts()
        let oldest = try await ledger.oldestDueReply().map { "; oldest due reply waiting \(Int(Date().timeIntervalSince($0)))s" } ?? ""
        print("outbox: pending \(outbox["pending"] ?? 0), sent \(outbox["sent"] ?? 0), failed \(outbox["failed"] ?? 0), expired \(outbox["expired"] ?? 0), replay-only \(outbox["recorded"] ?? 0)\(oldest)")
        print("review: \(try await ledger.heldSubmissions().count) held reading(s) waiting")
        let counts = try await ledger.messageCountsByReason(since: today)
        let order = ["accepted", "held", "duplicate", "rejected", "answered", "ignored"]
        print("today: " + order.map { "\($0) \(counts[$0] ?? 0)" }.joined(separator: ", "))
        let operations = configuration.operations
        print("limits: \(configuration.policy.maxMessagesPerSenderPerHour) messages per sender per hour (\(configuration.policy.maxUnauthenticatedMessagesPerSenderPerHour) for mail whose From is not authenticated), \(configuration.policy.maxMessageBytes) bytes per message, the same reply to the same recipient at most \(operations.maxSameReply) times per \(OutboxOperations.describe(operations.sameReplyWindow)), replies expire after \(OutboxOperations.describe(operations.outboxMaxAge))")
        print("senders over the limit today: \(try await ledger.rateLimitedSenders(since: today)) (\(counts["ignored:rate_limited"] ?? 0) message(s) ignored)")
        print("health: /healthz and /metrics on \(operations.listenDescription); unhealthy after \(operations.unhealthyAfterFailedPolls) failed polls in a row or \(OutboxOperations.describe(operations.unhealthyAfter)) without a successful poll")
    }
}
