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
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .critical)
        // A taken port must not stop the readings: say so once, retry every 30 s.
        var failures = 0
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let application = Application(
                router: router,
                configuration: .init(address: .hostname(host, port: port), serverName: nil),
                onServerRunning: { channel in
                    let address = channel.localAddress.map { "\($0.ipAddress ?? host):\($0.port ?? port)" } ?? "\(host):\(port)"
                    logger.notice("http: /metrics and /healthz on \(address)", metadata: ["mg.event": "http-listening", "mg.listen": "\(address)"])
                },
                logger: quiet)
            do {
                try await application.run()
                return
            } catch {
                failures += 1
                if failures == 1 {
                    logger.error(
                        "http: cannot listen on \(host):\(port): \(error); /metrics and /healthz unavailable, retrying every 30s",
                        metadata: ["mg.event": "http-down"])
                }
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
