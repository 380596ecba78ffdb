import Foundation

/// What a finished gpu-train run left: its exit status and everything it printed.
struct CLIResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs the gpu-train executable to completion, as a user would: `stdin` is written and closed,
/// stdout and stderr are read concurrently (so a full pipe never blocks the child).
/// `environment` adds to (or, with a nil value, removes from) this process's variables.
func runGPUTrain(_ args: [String], stdin: Data? = nil, environment: [String: String?] = [:]) throws -> CLIResult {
    let p = Process()
    p.executableURL = CLITests.binary
    p.arguments = args
    if !environment.isEmpty {
        var variables = ProcessInfo.processInfo.environment
        for (key, value) in environment { variables[key] = value }
        p.environment = variables
    }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    let input = Pipe()
    p.standardInput = input
    try p.run()
    if let stdin { input.fileHandleForWriting.write(stdin) }
    try input.fileHandleForWriting.close()
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    group.wait()
    p.waitUntilExit()
    return CLIResult(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                     stderr: String(decoding: errBox.data, as: UTF8.self))
}
