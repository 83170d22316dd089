import CCurl

/// libcurl's global state, initialised once per process before any handle exists.
public enum CurlRuntime {
    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    /// Runs `curl_global_init` once (idempotent, thread-safe: a lazily initialised static).
    public static func initialize() {
        _ = initialized
    }

    /// The linked libcurl's version text, e.g. `libcurl/7.88.1 OpenSSL/3.0.15 …`.
    public static var version: String {
        String(cString: curl_version())
    }
}

/// TLS options shared by every protocol.
public struct CurlTLS: Sendable, Hashable {
    /// Peer certificate and host name verified (the default).
    public var verify: Bool
    /// A PEM file of trusted certificates (`CURLOPT_CAINFO`), instead of the system's.
    public var caFile: String?

    public init(verify: Bool = true, caFile: String? = nil) {
        self.verify = verify
        self.caFile = caFile
    }
}
