import Foundation
import Hummingbird
import Logging
import MeterCore
import ServiceLifecycle

/// The HTTP endpoint Kannel's smsbox calls (`get-url` / `post-url`) for every mobile-originated
/// message, on `listen` at `/sms/kannel`.
///
/// It answers `200` with an empty body only after the message is committed in the ledger
/// (through the `IngestQueue`, which batches concurrent pushes into one transaction), so
/// Kannel, configured with `max-messages = 0`, sends nothing itself and retries (with
/// `http-request-retry`) whatever was not answered 2xx:
/// - `403` for a client address outside `allowed` or a missing/wrong `secret` parameter;
/// - `400` for a push that cannot be read (no sender, unknown charset);
/// - `503` when the ledger refused the write or metergate is shutting down.
/// Replies go separately, through Kannel's `sendsms` (`KannelSendSMSTransport`).
public struct KannelEndpoint: Service {
    public struct Configuration: Sendable {
        public var feed: String
        public var host: String
        public var port: Int
        public var path: String
        /// When set, every request must carry `secret=<value>` in its query.
        public var secret: String?
        public var allowed: AddressAllowList
        /// The largest POST body taken (an SMS is at most a few KiB, even concatenated).
        public var maximumBodyBytes: Int
        /// A taken port is tried again this often (as `http.listen`): the other feeds go on.
        public var listenRetryInterval: Duration = .seconds(30)

        public init(
            feed: String, host: String, port: Int, path: String = "/sms/kannel", secret: String?,
            allowed: AddressAllowList = .loopback, maximumBodyBytes: Int = 64 * 1024
        ) {
            self.feed = feed
            self.host = host
            self.port = port
            self.path = path
            self.secret = secret
            self.allowed = allowed
            self.maximumBodyBytes = maximumBodyBytes
        }
    }

    public let configuration: Configuration
    public let queue: IngestQueue
    private let logger: Logger
    private let onListening: @Sendable (Int) async -> Void

    /// `onListening` gets the bound port once the server accepts connections.
    public init(
        configuration: Configuration, queue: IngestQueue, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.configuration = configuration
        self.queue = queue
        var logger = logger
        logger[metadataKey: "mg.feed"] = "\(configuration.feed)"
        self.logger = logger
        self.onListening = onListening
    }

    public func run() async throws {
        let logger = self.logger
        let configuration = self.configuration
        let onListening = self.onListening
        let router = Router(context: KannelRequestContext.self)
        let handler = KannelPushHandler(configuration: configuration, queue: queue, logger: logger)
        router.get(RouterPath(configuration.path)) { request, context in
            await handler.respond(request, context, body: nil)
        }
        router.post(RouterPath(configuration.path)) { request, context in
            var request = request
            let body: [UInt8]
            do {
                let buffer = try await request.collectBody(upTo: configuration.maximumBodyBytes)
                body = Array(buffer.readableBytesView)
            } catch {
                return Response(status: .contentTooLarge)
            }
            return await handler.respond(request, context, body: body)
        }
        // The queue runs beside the server, not as its service: a server that cannot bind (the
        // port taken) is retried every `listenRetryInterval` without stopping the daemon, and
        // the queue lives on across the attempts.
        let queue = self.queue
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await queue.run() }
            var failures = 0
            while !Task.isCancelled, !Task.isShuttingDownGracefully {
                let application = Application(
                    router: router,
                    configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil, backlog: 1024),
                    onServerRunning: { channel in
                        let port = channel.localAddress?.port ?? configuration.port
                        logger.notice("sms \(configuration.feed): Kannel endpoint listening on http://\(configuration.host):\(port)\(configuration.path) (clients: \(configuration.allowed))")
                        await onListening(port)
                    },
                    logger: logger)
                do {
                    try await application.run()
                    break
                } catch {
                    failures += 1
                    if failures == 1 {
                        logger.error(
                            "sms \(configuration.feed): cannot listen on \(configuration.host):\(configuration.port): \(error); pushes wait at Kannel (it retries), retrying every \(configuration.listenRetryInterval)",
                            metadata: ["mg.event": "kannel-down"])
                    }
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.listenRetryInterval) }
                }
            }
            try await group.waitForAll()
        }
    }
}

/// Hummingbird's basic context plus the client's address (for `allowed`).
public struct KannelRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteIP: String?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress
    }
}

struct KannelPushHandler: Sendable {
    let configuration: KannelEndpoint.Configuration
    let queue: IngestQueue
    let logger: Logger

    func respond(_ request: Request, _ context: KannelRequestContext, body: [UInt8]?) async -> Response {
        guard configuration.allowed.allows(context.remoteIP) else {
            logger.warning("sms \(configuration.feed): push refused: client address not allowed", metadata: ["mg.client": "\(context.remoteIP ?? "-")"])
            return Self.plain(.forbidden, "client address not allowed\n")
        }
        if let secret = configuration.secret {
            let given = KannelQuery.parse(request.uri.query ?? "")["secret"] ?? []
            guard Self.constantTimeEqual(given, Array(secret.utf8)) else {
                logger.warning("sms \(configuration.feed): push refused: wrong or missing secret", metadata: ["mg.client": "\(context.remoteIP ?? "-")"])
                return Self.plain(.forbidden, "wrong or missing secret\n")
            }
        }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let message: KannelMessage
        do {
            message = try KannelMessage.decode(query: request.uri.query, headers: headers, body: body)
        } catch {
            logger.warning("sms \(configuration.feed): push refused: \(error)")
            return Self.plain(.badRequest, "\(error)\n")
        }
        do {
            try await queue.submit(message.incoming(feed: configuration.feed, now: Date()))
        } catch {
            return Self.plain(.serviceUnavailable, "not recorded, retry later\n")
        }
        // Recorded: an empty 2xx, so Kannel (max-messages = 0) sends nothing itself.
        return Response(status: .ok, headers: [.contentLength: "0"])
    }

    static func plain(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
