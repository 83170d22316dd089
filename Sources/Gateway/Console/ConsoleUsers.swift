import Foundation

/// The console's operators: a file of `name:bcrypt-hash` lines (contract §3), written by
/// `metergate console add-user`. Blank lines and `#` comments are allowed.
package struct ConsoleUsers: Sendable {
    package private(set) var hashes: [String: String]

    package init(hashes: [String: String] = [:]) {
        self.hashes = hashes
    }

    package var isEmpty: Bool { hashes.isEmpty }

    package struct Problem: Error, CustomStringConvertible {
        package var description: String
    }

    /// An operator's name: letters, digits, `.`, `_`, `-`, `@`; 1 to 64 characters.
    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "._-@".unicodeScalars.contains($0) }
    }

    package static func parse(_ text: String, path: String) throws -> ConsoleUsers {
        var hashes: [String: String] = [:]
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw Problem(description: "\(path): line \(index + 1): not name:bcrypt-hash")
            }
            let name = String(trimmed[..<colon])
            let hash = String(trimmed[trimmed.index(after: colon)...])
            guard isValidName(name) else { throw Problem(description: "\(path): line \(index + 1): not a valid operator name") }
            guard PasswordHash.isBcrypt(hash) else {
                throw Problem(description: "\(path): line \(index + 1): the hash of '\(name)' is not a bcrypt hash ($2b$…)")
            }
            hashes[name] = hash
        }
        return ConsoleUsers(hashes: hashes)
    }

    package static func load(path: String) throws -> ConsoleUsers {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Problem(description: "\(path): cannot read it")
        }
        return try parse(text, path: path)
    }

    package mutating func set(_ name: String, hash: String) {
        hashes[name] = hash
    }

    package var fileText: String {
        hashes.keys.sorted().map { "\($0):\(hashes[$0]!)\n" }.joined()
    }

    /// Writes the file anew (a temporary file renamed over it), mode 0600 for a new file, the
    /// old file's mode otherwise when it is no wider than 0640.
    package func save(path: String) throws {
        let url = URL(fileURLWithPath: path)
        var mode: mode_t = 0o600
        var status = stat()
        if stat(path, &status) == 0 { mode = status.st_mode & 0o640 }
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp").path
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard descriptor >= 0 else { throw Problem(description: "\(path): cannot write beside it (\(String(cString: strerror(errno))))") }
        let bytes = Array(fileText.utf8)
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard written == bytes.count, synced, rename(temporary, path) == 0 else {
            unlink(temporary)
            throw Problem(description: "\(path): cannot write it")
        }
    }
}
