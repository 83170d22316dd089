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
        try writeFile(bytes, to: temporaryPath, sync: true)
        if rename(temporaryPath, finalPath) != 0 {
            let failure = errno
            unlink(temporaryPath)
            throw ChannelFileError(code: .moveFile, message: "cannot rename into place", path: finalPath, errno: failure)
        }
        try syncDirectory(directory)
    }

    /// One file of `writeDurably`: `bytes` go to `temporaryName`, then are renamed to `name`.
    package struct PendingFile: Sendable {
        package var bytes: [UInt8]
        package var name: String
        package var temporaryName: String

        package init(_ bytes: [UInt8], to name: String, temporaryName: String) {
            self.bytes = bytes
            self.name = name
            self.temporaryName = temporaryName
        }
    }

    /// Writes several files into `directory` like `writeAtomically`, with one sync for all of
    /// them instead of one per file: every file is written under its temporary name, the
    /// folder's file system is synced once (`syncfs`; elsewhere than Linux each file is
    /// fsynced), then each is renamed into place and the folder is fsynced once.
    ///
    /// Returns one entry per file, in order: `nil` when that file is durable under its name,
    /// else why not. A file never appears half written under its final name, even after a power
    /// cut (its data is durable before the rename); a cut before the last sync may leave some
    /// files in place that the caller was not told about (rewriting them gives the same file).
    package static func writeDurably(_ files: [PendingFile], in directory: String) -> [ChannelFileError?] {
        var outcome = [ChannelFileError?](repeating: nil, count: files.count)
        var written: [Int] = []
        for (index, file) in files.enumerated() {
            do throws(ChannelFileError) {
                try writeFile(file.bytes, to: directory + "/" + file.temporaryName, sync: !canSyncFileSystem)
                written.append(index)
            } catch {
                outcome[index] = error
            }
        }
        guard !written.isEmpty else { return outcome }
        let temporaryPaths = written.map { directory + "/" + files[$0].temporaryName }
        let folder = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folder >= 0 else {
            let failure = ChannelFileError(code: .syncFile, message: "cannot open directory", path: directory, errno: errno)
            for (index, path) in zip(written, temporaryPaths) { outcome[index] = failure; unlink(path) }
            return outcome
        }
        defer { close(folder) }
        // One journal commit for the whole batch (Linux ≥ 5.8 reports write-back errors here).
        if let syncFileSystem, syncFileSystem(folder) != 0 {
            let failure = ChannelFileError(code: .syncFile, message: "cannot sync file system", path: directory, errno: errno)
            for (index, path) in zip(written, temporaryPaths) { outcome[index] = failure; unlink(path) }
            return outcome
        }
        var renamed: [Int] = []
        for (index, temporaryPath) in zip(written, temporaryPaths) {
            let finalPath = directory + "/" + files[index].name
            if rename(temporaryPath, finalPath) != 0 {
                outcome[index] = ChannelFileError(code: .moveFile, message: "cannot rename into place", path: finalPath, errno: errno)
                unlink(temporaryPath)
            } else {
                renamed.append(index)
            }
        }
        if fsync(folder) != 0, errno != EINVAL {
            // In place but perhaps not durable: reported as failed, so they are written again.
            let failure = ChannelFileError(code: .syncFile, message: "cannot sync directory", path: directory, errno: errno)
            for index in renamed { outcome[index] = failure }
        }
        return outcome
    }

    /// glibc's `syncfs(2)`, looked up at run time (Swift's Glibc module leaves out the GNU
    /// extensions); `nil` elsewhere, where each file is fsynced instead.
    private static let syncFileSystem: (@convention(c) (Int32) -> Int32)? = {
        #if os(Linux)
        guard let symbol = dlsym(nil, "syncfs") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32) -> Int32).self)
        #else
        return nil
        #endif
    }()
    /// Whether `writeDurably` syncs a batch with one `syncfs` (else one fsync a file).
    package static var canSyncFileSystem: Bool { syncFileSystem != nil }

    /// Creates or truncates `path` with `bytes`, fsynced when `sync`; unlinks it on failure.
    private static func writeFile(_ bytes: [UInt8], to path: String, sync: Bool) throws(ChannelFileError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else {
            throw ChannelFileError(code: .writeFile, message: "cannot create file", path: path, errno: errno)
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
                unlink(path)
                throw ChannelFileError(code: .writeFile, message: "cannot write file", path: path, errno: failure)
            }
            written += count
        }
        if sync, fsync(descriptor) != 0 {
            let failure = errno
            close(descriptor)
            unlink(path)
            throw ChannelFileError(code: .syncFile, message: "cannot sync file", path: path, errno: failure)
        }
        if close(descriptor) != 0 {
            let failure = errno
            unlink(path)
            throw ChannelFileError(code: .writeFile, message: "cannot close file", path: path, errno: failure)
        }
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
