import Failures
import Foundation

/// A command's failure with the exit code it stands for (its `code`).
package struct CommandFailure: CodedError {
    package var message: String
    package var code: Int32 = 1

    package init(message: String, code: Int32 = 1) {
        self.message = message
        self.code = code
    }
}

/// One line on standard error.
package func printError(_ text: String) {
    FileHandle.standardError.write(Data((text.hasSuffix("\n") ? text : text + "\n").utf8))
}
