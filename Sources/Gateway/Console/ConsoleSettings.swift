import Foundation

/// The operators' web console (contract §3): off unless `console.listen` is set.
///
/// - `console.listen` (none: off): `HOST:PORT` of the console; port 0 picks a free port (logged)
/// - `console.users_file` (`$CREDENTIALS_DIRECTORY/metergate_console-users` under systemd,
///   else `/etc/metergate/credentials/console-users`): `name:bcrypt-hash` lines, written by
///   `metergate console add-user`; must not be readable or writable by others
/// - `console.lockout_failures` (5): wrong passwords in a row that lock an operator out
/// - `console.lockout` (`15m`): how long the lock-out lasts
/// - `console.session_idle` (`30m`): a session unused this long ends
package struct ConsoleSettings: Sendable {
    package var listenHost: String?
    package var listenPort: Int
    package var usersFile: String
    package var lockoutFailures: Int
    package var lockout: Duration
    package var sessionIdle: Duration

    package var enabled: Bool { listenHost != nil }

    package var listenDescription: String { listenHost.map { "\($0):\(listenPort)" } ?? "off" }

    package init(
        listenHost: String? = nil, listenPort: Int = 9110, usersFile: String = ConsoleSettings.defaultUsersFile,
        lockoutFailures: Int = 5, lockout: Duration = .seconds(900), sessionIdle: Duration = .seconds(1800)
    ) {
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.usersFile = usersFile
        self.lockoutFailures = lockoutFailures
        self.lockout = lockout
        self.sessionIdle = sessionIdle
    }

    /// Without `console.users_file`: the systemd credential when the unit passes one
    /// (`LoadCredential=metergate:/etc/metergate/credentials` hands
    /// `/etc/metergate/credentials/console-users` to the service as
    /// `$CREDENTIALS_DIRECTORY/metergate_console-users`), else that file itself, where
    /// `metergate console add-user` run by root writes it.
    package static var defaultUsersFile: String {
        if let directory = ProcessInfo.processInfo.environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty {
            return directory + "/metergate_console-users"
        }
        return "/etc/metergate/credentials/console-users"
    }

    init(tree: ConfigTree) throws {
        self.init()
        let console = tree.section("console")
        if let listen = try tree.string(console, "listen", at: "console.listen"), listen != "off" {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
                  (0...65535).contains(port), colon > listen.startIndex
            else {
                throw ConfigurationError(file: tree.file, key: "console.listen", reason: "'\(listen)' is not HOST:PORT (e.g. 127.0.0.1:9110) or off")
            }
            var host = String(listen[..<colon])
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            listenHost = host
            listenPort = port
        }
        usersFile = try tree.string(console, "users_file", at: "console.users_file") ?? usersFile
        lockoutFailures = try tree.int(console, "lockout_failures", at: "console.lockout_failures", range: 1...1000) ?? lockoutFailures
        lockout = try tree.duration(console, "lockout", at: "console.lockout") ?? lockout
        sessionIdle = try tree.duration(console, "session_idle", at: "console.session_idle") ?? sessionIdle
    }

    /// What `check-config` and `run` refuse: an enabled console whose users file is missing,
    /// unreadable, readable or writable by others, or names no operator. Nil when all is well.
    package func usersFileProblem(file: String) -> String? {
        guard enabled else { return nil }
        let key = "\(file): console.users_file"
        var status = stat()
        guard stat(usersFile, &status) == 0 else { return "\(key): \(usersFile) does not exist (create it with: metergate console add-user NAME)" }
        guard (status.st_mode & mode_t(S_IFMT)) == mode_t(S_IFREG) else { return "\(key): \(usersFile) is not a regular file" }
        if status.st_mode & 0o007 != 0 {
            return "\(key): \(usersFile) is readable or writable by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 or 640 it"
        }
        do {
            let users = try ConsoleUsers.load(path: usersFile)
            if users.isEmpty { return "\(key): \(usersFile) names no operator (metergate console add-user NAME)" }
        } catch {
            return "\(key): \(error)"
        }
        return nil
    }
}
