import CCrypt
import Foundation

/// bcrypt password hashes through libxcrypt's `crypt_r` (Debian's libcrypt1): `$2b$` written,
/// `$2b$`, `$2y$` and `$2a$` checked. No package of our own does cryptography.
package enum PasswordHash {
    /// The work factor of new hashes (2^12 rounds: about a quarter of a second).
    package static let cost = 12

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// A new `$2b$` hash of `password` with a fresh random salt.
    package static func make(_ password: String, cost: Int = cost) throws -> String {
        var salt = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        guard ccrypt_gensalt_bcrypt(UInt(cost), &salt, salt.count) == 0 else {
            throw Failure(description: "cannot make a bcrypt salt (libcrypt without bcrypt?)")
        }
        var out = [CChar](repeating: 0, count: Int(CRYPT_OUTPUT_SIZE))
        guard ccrypt_hash(password, salt, &out, out.count) == 0 else { throw Failure(description: "cannot hash the password") }
        return String(cString: out)
    }

    /// Whether `password` matches the stored bcrypt `hash`; false for anything but a bcrypt hash.
    /// The comparison takes the same time whatever the first differing byte.
    package static func verify(_ password: String, hash: String) -> Bool {
        guard isBcrypt(hash) else { return false }
        var out = [CChar](repeating: 0, count: Int(CRYPT_OUTPUT_SIZE))
        guard ccrypt_hash(password, hash, &out, out.count) == 0 else { return false }
        let computed = Array(String(cString: out).utf8)
        let stored = Array(hash.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(computed, stored) { difference |= a ^ b }
        return difference == 0
    }

    /// `$2a$`, `$2b$` or `$2y$`, a two-digit cost, then 53 characters of salt and hash.
    package static func isBcrypt(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == 0x24, bytes[1] == 0x32, [0x61, 0x62, 0x79].contains(bytes[2]), bytes[3] == 0x24,
              bytes[6] == 0x24
        else { return false }
        return bytes[4...5].allSatisfy { (0x30...0x39).contains($0) }
    }

    /// A hash of nothing anyone can type, checked for an unknown name so that the answer takes
    /// as long as for a known one.
    package static let decoy: String = (try? make(UUID().uuidString)) ?? ""
}
