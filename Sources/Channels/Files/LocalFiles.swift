import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few blocking POSIX file operations the file channels need.
///
/// Files here are small, so plain blocking calls are used; every failure becomes a
/// `ChannelFileError` carrying the path and `errno`.
package enum LocalFiles {
    /// Creates `path` and its missing parents (`mkdir -p`, mode 0750/umask).
    package static func ensureDirectory(_ path: String) throws(ChannelFileError) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return
        }
        let parent = (path as NSString).deletingLastPathComponent
        if !parent.isEmpty, parent != path {
            try ensureDirectory(parent)
        }
        if mkdir(path, 0o750) != 0 {
            let failure = errno
            if failure == EEXIST,
               FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                return  // made by someone else meanwhile
            }
            throw ChannelFileError(
                code: .createDirectory, message: "cannot create directory", path: path, errno: failure)
        }
    }

    /// Regular files in `directory` whose names do not start with a dot (symbolic links are
    /// followed). Unordered.
    package static func regularFiles(in directory: String) throws(ChannelFileError) -> [FileEntry] {
        guard let stream = opendir(directory) else {
            throw ChannelFileError(
                code: .listDirectory, message: "cannot list directory", path: directory, errno: errno)
        }
        defer { closedir(stream) }
        var entries: [FileEntry] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: Int(NAME_MAX) + 1) { String(cString: $0) }
            }
            if name.hasPrefix(".") { continue }
            let path = directory + "/" + name
            guard let info = status(of: path), (info.st_mode & S_IFMT) == S_IFREG else { continue }
            entries.append(FileEntry(name: name, path: path, size: Int(info.st_size), modified: modificationDate(info)))
        }
        return entries
    }

    /// At most `limit` bytes from the start of the file at `path`.
    package static func contents(of path: String, limit: Int = .max) throws(ChannelFileError) -> [UInt8] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ChannelFileError(code: .readFile, message: "cannot open file", path: path, errno: errno)
        }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ChannelFileError(code: .readFile, message: "cannot read file", path: path, errno: errno)
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return bytes
    }

    /// Renames `source` to `destination` atomically (`rename(2)`, replacing a file already
    /// there). Returns false when `source` is gone already, which callers treat as done.
    @discardableResult
    package static func move(_ source: String, to destination: String) throws(ChannelFileError) -> Bool {
        if rename(source, destination) == 0 { return true }
        let failure = errno
        if failure == ENOENT, !FileManager.default.fileExists(atPath: source) { return false }
        throw ChannelFileError(code: .moveFile, message: "cannot move file to \(destination)", path: source, errno: failure)
    }

    /// Writes `bytes` to `directory/name` so that a reader sees the old file or the whole new
    /// one, never part: write `directory/temporaryName`, fsync, rename, fsync the directory.
    package static func writeAtomically(
        _ bytes: [UInt8], to name: String, in directory: String, temporaryName: String
    ) throws(ChannelFileError) {
        let temporaryPath = directory + "/" + temporaryName
        let finalPath = directory + "/" + name
        let descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw ChannelFileError(code: .writeFile, message: "cannot create file", path: temporaryPath, errno: errno)
        }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, bytes.count - written)
            }
            if count < 0 {
                if errno == EINTR { continue }
                let failure = errno
                close(descriptor)
                unlink(temporaryPath)
                throw ChannelFileError(code: .writeFile, message: "cannot write file", path: temporaryPath, errno: failure)
            }
            written += count
        }
        if fsync(descriptor) != 0 {
            let failure = errno
            close(descriptor)
            unlink(temporaryPath)
            throw ChannelFileError(code: .syncFile, message: "cannot sync file", path: temporaryPath, errno: failure)
        }
        if close(descriptor) != 0 {
            let failure = errno
            unlink(temporaryPath)
            throw ChannelFileError(code: .writeFile, message: "cannot close file", path: temporaryPath, errno: failure)
        }
        if rename(temporaryPath, finalPath) != 0 {
            let failure = errno
            unlink(temporaryPath)
            throw ChannelFileError(code: .moveFile, message: "cannot rename into place", path: finalPath, errno: failure)
        }
        try syncDirectory(directory)
    }

    /// Makes a rename in `directory` durable.
    package static func syncDirectory(_ directory: String) throws(ChannelFileError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else {
            throw ChannelFileError(code: .syncFile, message: "cannot open directory", path: directory, errno: errno)
        }
        defer { close(descriptor) }
        if fsync(descriptor) != 0, errno != EINVAL {
            throw ChannelFileError(code: .syncFile, message: "cannot sync directory", path: directory, errno: errno)
        }
    }

    private static func status(of path: String) -> stat? {
        var info = stat()
        return stat(path, &info) == 0 ? info : nil
    }

    private static func modificationDate(_ info: stat) -> Date {
        #if canImport(Darwin)
        let time = info.st_mtimespec
        #else
        let time = info.st_mtim
        #endif
        return Date(timeIntervalSince1970: Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000)
    }
}
