import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Gateway

/// `metergate console add-user NAME`: an operator of the web console (contract §2).
struct Console: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The operators' web console.", subcommands: [AddUser.self])

    struct AddUser: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add-user",
            abstract: "Add an operator of the web console, or change their password (read from standard input, one line).",
            discussion: "The password is never an argument. Example: printf '%s\\n' \"$PASSWORD\" | metergate console add-user anna --config /etc/metergate/metergate.yaml")

        @Argument(help: "The operator's name: letters, digits, '.', '_', '-', '@'.") var name: String
        @OptionGroup var options: ConfigOption

        func validate() throws {
            guard ConsoleUsers.isValidName(name) else {
                throw ValidationError("'\(name)' is not a valid operator name (letters, digits, '.', '_', '-', '@'; at most 64)")
            }
        }

        func run() async throws {
            let configuration = try options.load()
            let path = configuration.console.usersFile
            let password = Self.readPassword()
            guard let password, !password.isEmpty else {
                throw CommandFailure(message: "no password on standard input (one line)", code: 2)
            }
            if password.count < 8 { printError("warning: the password is shorter than 8 characters") }
            var users = ConsoleUsers()
            if FileManager.default.fileExists(atPath: path) {
                do { users = try ConsoleUsers.load(path: path) } catch { throw CommandFailure(message: "\(error)", code: 1) }
            }
            let known = users.hashes[name] != nil
            users.set(name, hash: try PasswordHash.make(password))
            do { try users.save(path: path) } catch { throw CommandFailure(message: "\(error)", code: 1) }
            print("\(known ? "changed the password of" : "added") operator \(name) in \(path)")
        }

        /// One line from standard input; on a terminal, asked for without echo.
        static func readPassword() -> String? {
            guard isatty(0) == 1 else { return readLine(strippingNewline: true) }
            FileHandle.standardError.write(Data("Password: ".utf8))
            var saved = termios()
            tcgetattr(0, &saved)
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSAFLUSH, &silent)
            defer {
                tcsetattr(0, TCSAFLUSH, &saved)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return readLine(strippingNewline: true)
        }
    }
}
