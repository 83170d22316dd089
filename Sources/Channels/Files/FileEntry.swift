import Foundation

/// One regular file in a directory, as `stat(2)` saw it.
package struct FileEntry: Sendable, Hashable {
    package var name: String
    package var path: String
    package var size: Int
    package var modified: Date
}
