import Foundation

/// The built-in copies of `Grammars/` and `Templates/`, embedded at build time.
public enum DefaultFiles {
    /// One embedded file: its name and its UTF-8 text.
    public struct File: Sendable, Hashable {
        public var name: String
        public var contents: String
    }

    /// The files of the built-in grammar (`Grammars/`), sorted by name.
    public static var grammar: [File] { files(in: "Grammars") }

    /// The files of the built-in reply templates (`Templates/`), sorted by name.
    public static var templates: [File] { files(in: "Templates") }

    static func files(in folder: String) -> [File] {
        embedded.filter { $0.folder == folder }.compactMap { entry in
            guard let data = Data(base64Encoded: entry.base64) else { return nil }
            return File(name: entry.name, contents: String(decoding: data, as: UTF8.self))
        }
        .sorted { $0.name < $1.name }
    }
}
