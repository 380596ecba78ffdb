import Foundation
import PackagePlugin

/// Embeds kernels/*.cl in the Kernels module at build time: one build command runs the
/// embed-kernels tool on every .cl file of the package's kernels/ folder and compiles the Swift
/// source it writes (`KernelSources.embedded`). Editing, adding or removing a .cl file reruns it.
@main
struct EmbedKernels: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let folder = context.package.directoryURL.appendingPathComponent("kernels")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            .filter { $0.hasSuffix(".cl") }.sorted()
        guard !names.isEmpty else {
            throw EmbedKernelsError("no .cl files in \(folder.path)")
        }
        let inputs = names.map { folder.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedKernels.swift")
        return [.buildCommand(displayName: "Embedding \(names.count) kernel files from kernels/",
                              executable: try context.tool(named: "embed-kernels").url,
                              arguments: [output.path] + inputs.map(\.path),
                              inputFiles: inputs,
                              outputFiles: [output])]
    }
}

struct EmbedKernelsError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = "EmbedKernels: " + description }
}
