import Foundation
import PackagePlugin

/// Embeds the package's `Grammars/` and `Templates/` folders into the `DefaultFiles`
/// module, so the binary carries a built-in copy and runs from any directory.
@main
struct EmbedDefaults: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL
        let folders = ["Grammars", "Templates"].map { root.appending(path: $0) }
        var inputs: [URL] = []
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path(percentEncoded: false))) ?? []
            for name in names.sorted() where !name.hasPrefix(".") && name != "README.md" {
                inputs.append(folder.appending(path: name))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "DefaultFiles+Embedded.swift")
        return [
            .buildCommand(
                displayName: "Embedding default grammar and templates",
                executable: try context.tool(named: "EmbedDefaultsTool").url,
                arguments: [output.path(percentEncoded: false)] + inputs.map { $0.path(percentEncoded: false) },
                inputFiles: inputs,
                outputFiles: [output]
            )
        ]
    }
}
