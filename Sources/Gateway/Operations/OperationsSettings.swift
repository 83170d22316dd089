import Foundation

/// The operations keys: health, outbox lifetime, loop guard.
///
/// - `http.listen` (`127.0.0.1:9108`): `HOST:PORT` of `/metrics` and `/healthz`; port 0 picks a free
///   port (logged at start); `off` disables the server
/// - `http.unhealthy_after_failed_polls` (3): `/healthz` fails once a feed failed this many polls in a row
/// - `http.unhealthy_after` (`15m`): `/healthz` fails when a feed has not polled successfully for this long
/// - `outbox.max_age` (`72h`): a reply not delivered within this time expires (state `expired`, logged)
/// - `policy.max_same_reply` (3): the same reply text goes to the same recipient at most this many
///   times per `policy.same_reply_window` (`24h`); more are suppressed (state `failed`, logged)
package struct OperationsSettings: Sendable {
    var listenHost: String?
    var listenPort: Int
    package var unhealthyAfterFailedPolls: Int
    package var unhealthyAfter: Duration
    package var outboxMaxAge: Duration
    package var maxSameReply: Int
    package var sameReplyWindow: Duration

    package var listenDescription: String { listenHost.map { "\($0):\(listenPort)" } ?? "off" }

    init(
        listenHost: String? = "127.0.0.1", listenPort: Int = 9108, unhealthyAfterFailedPolls: Int = 3,
        unhealthyAfter: Duration = .seconds(900), outboxMaxAge: Duration = .seconds(72 * 3600),
        maxSameReply: Int = 3, sameReplyWindow: Duration = .seconds(24 * 3600)
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.unhealthyAfterFailedPolls = unhealthyAfterFailedPolls
        self.unhealthyAfter = unhealthyAfter
        self.outboxMaxAge = outboxMaxAge
        self.maxSameReply = maxSameReply
        self.sameReplyWindow = sameReplyWindow
    }

    init(tree: ConfigTree) throws {
        self.init()
        let http = tree.section("http")
        let listen = try tree.string(http, "listen", at: "http.listen") ?? "127.0.0.1:9108"
        if listen == "off" {
            listenHost = nil
        } else {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
                  (0...65535).contains(port), colon > listen.startIndex else {
                throw ConfigurationError(file: tree.file, key: "http.listen", reason: "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:9108) or off")
            }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            listenHost = host
            listenPort = port
        }
        unhealthyAfterFailedPolls = try tree.int(
            http, "unhealthy_after_failed_polls", at: "http.unhealthy_after_failed_polls", range: 1...1_000_000) ?? 3
        unhealthyAfter = try tree.duration(http, "unhealthy_after", at: "http.unhealthy_after") ?? unhealthyAfter
        outboxMaxAge = try tree.duration(tree.section("outbox"), "max_age", at: "outbox.max_age") ?? outboxMaxAge
        let policy = tree.section("policy")
        maxSameReply = try tree.int(policy, "max_same_reply", at: "policy.max_same_reply", range: 1...1_000_000) ?? maxSameReply
        sameReplyWindow = try tree.duration(policy, "same_reply_window", at: "policy.same_reply_window") ?? sameReplyWindow
    }
}
