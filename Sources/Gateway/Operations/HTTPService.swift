import Foundation
import Hummingbird
import Ledger
import Logging
import NIOCore
import ServiceLifecycle

/// `/metrics` (Prometheus text format) and `/healthz` on `http.listen`, as one service of
/// `metergate run`'s group.
package struct HTTPService: Service {
    let host: String
    let port: Int
    let metrics: MetergateMetrics
    let health: HealthState
    let ledger: any OperatorViews
    let logger: Logger

    package func run() async throws {
        let router = Router()
        let metrics = self.metrics
        let health = self.health
        let ledger = self.ledger
        let logger = self.logger
        router.get("metrics") { _, _ -> Response in
            do {
                metrics.queues(try await Self.snapshot(ledger))
                health.storeWrite(failed: nil)
            } catch {
                logger.warning("metrics: cannot read the queues from the store", metadata: ["mg.error": "\(error)"])
            }
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
        router.get("healthz") { _, _ -> Response in
            let problem = health.problem()
            return Response(
                status: problem == nil ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: (problem.map { "unhealthy: \($0)" } ?? "ok") + "\n")))
        }
        // A taken port must not stop the readings: say so once, retry every 30 s.
        try await Self.serve(
            router, host: host, port: port, logger: logger, listening: "http-listening", down: "http-down",
            running: { "http: /metrics and /healthz on \($0)" },
            failed: { "http: cannot listen on \(host):\(port): \($0); /metrics and /healthz unavailable, retrying every 30s" })
    }

    /// Serves `router` on `host:port` until the graceful shutdown. A port that cannot be bound
    /// (taken, say) is logged once (`down`) and tried again every 30 s; the bound address is
    /// logged (`listening`) each time the server runs. Hummingbird's own logging is quieted.
    static func serve(
        _ router: Router<BasicRequestContext>, host: String, port: Int, logger: Logger, listening: String, down: String,
        running: @escaping @Sendable (String) -> String, failed: (any Error) -> String
    ) async throws {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .critical)
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let application = Application(
                router: router,
                configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    let address = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
                    logger.notice("\(running(address))", metadata: ["mg.event": "\(listening)", "mg.listen": "\(address)"])
                },
                logger: quiet)
            do {
                try await application.run()
                return
            } catch {
                failures += 1
                if failures == 1 { logger.error("\(failed(error))", metadata: ["mg.event": "\(down)"]) }
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(30)) }
            }
        }
    }

    static func snapshot(_ ledger: any OperatorViews, now: Date = Date()) async throws -> QueueSnapshot {
        let counts = try await ledger.outboxCounts()
        var snapshot = QueueSnapshot(
            pending: counts["pending"] ?? 0, failed: counts["failed"] ?? 0, expired: counts["expired"] ?? 0,
            held: try await ledger.heldCount())
        if let oldest = try await ledger.oldestDueReply(now: now) { snapshot.oldestDueAge = max(0, now.timeIntervalSince(oldest)) }
        return snapshot
    }
}
