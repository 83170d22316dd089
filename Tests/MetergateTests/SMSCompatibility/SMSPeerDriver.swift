import Foundation

// The driver shape of the shared SMS compatibility suite (/work/wt/SMS-COMPAT.md). The suite's
// owner commits this file with the suite; until that lands on main, this copy of the documented
// shape lets the Kannel and SMSC drivers build (take the owner's version on merge).

/// One SMS as a phone sends it.
struct PhoneMessage: Sendable {
    var from: String
    var text: String
    var parts: Int = 1
    var duplicate: Bool = false
}

/// One reply as the peer received it for sending to a phone.
struct PeerReply: Sendable {
    var to: String
    var text: String
    var segments: Int
}

/// A real peer (or the files folder) that metergate reads SMS from and sends replies through.
protocol SMSPeerDriver: Sendable {
    var kind: String { get }
    var pushes: Bool { get }
    func start(state: URL) async throws -> String
    func deliver(_ messages: [PhoneMessage]) async throws
    func replies() async throws -> [PeerReply]
    func stop() async
    /// Why the peer cannot run on this machine (its program is not installed), or nil.
    func unavailableReason() -> String?
}

extension SMSPeerDriver {
    func unavailableReason() -> String? { nil }
}
