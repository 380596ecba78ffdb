// embed-kernels OUTPUT FILE.cl...: writes a Swift source defining `KernelSources.embedded`, each
// file's text under its name without ".cl", byte for byte. Run by the EmbedKernels build-tool
// plugin on kernels/*.cl; it needs nothing but the C library, so it builds and runs in moments.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func fail(_ message: String) -> Never {
    fputs("embed-kernels: \(message)\n", stderr)
    exit(1)
}

func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fail("\(path): cannot open (\(String(cString: strerror(errno))))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, file)
        bytes += chunk[0..<n]
        if n < chunk.count {
            if ferror(file) != 0 { fail("\(path): read error") }
            break
        }
    }
    return bytes
}

/// The text of `bytes` as a Swift raw multi-line string literal that reads back exactly: a
/// delimiter with more #s than any `"""#...` or `\#...` run in the text, and no carriage returns
/// (a multi-line literal would turn CR LF into LF).
func literal(_ bytes: [UInt8], path: String) -> String {
    let text = String(decoding: bytes, as: UTF8.self)
    guard Array(text.utf8) == bytes else { fail("\(path): not valid UTF-8") }
    if let cr = bytes.firstIndex(of: 13) {
        let line = bytes[..<cr].filter { $0 == 10 }.count + 1
        fail("\(path):\(line): carriage return; kernel files use LF line endings")
    }
    var hashes = 1, i = 0
    while i < bytes.count {
        // A run of #s after a backslash or after three quotes would end or escape the literal.
        let quotes = i + 2 < bytes.count && bytes[i] == 34 && bytes[i + 1] == 34 && bytes[i + 2] == 34
        if bytes[i] == 92 || quotes {
            var j = i + (quotes ? 3 : 1), run = 0
            while j < bytes.count && bytes[j] == 35 { run += 1; j += 1 }
            hashes = max(hashes, run + 1)
        }
        i += 1
    }
    let fence = String(repeating: "#", count: hashes)
    // The line break after the opening quotes and the one before the closing quotes are not part
    // of a multi-line literal's value, so the text goes between them unchanged.
    return fence + "\"\"\"\n" + text + "\n\"\"\"" + fence
}

let arguments = CommandLine.arguments
guard arguments.count >= 3 else { fail("usage: embed-kernels OUTPUT FILE.cl...") }
let output = arguments[1]
var entries: [(name: String, path: String)] = []
for path in arguments.dropFirst(2) {
    let base = path.split(separator: "/").last.map(String.init) ?? path
    guard base.hasSuffix(".cl"), base.count > 3 else { fail("\(path): not a .cl file") }
    entries.append((String(base.dropLast(3)), path))
}
entries.sort { $0.name < $1.name }

var source = "// Generated at build time by the EmbedKernels plugin from kernels/*.cl. Do not edit.\n\n"
source += "extension KernelSources {\n"
source += "    /// Kernel sources by file name without \".cl\", exactly as in kernels/.\n"
source += "    public static let embedded: [String: String] = [\n"
for entry in entries {
    source += "        \"\(entry.name)\": \(literal(readFile(entry.path), path: entry.path)),\n"
}
source += "    ]\n}\n"

// Written beside the output and renamed over it, so a build never compiles half a file.
let temporary = output + ".tmp-\(getpid())"
guard let file = fopen(temporary, "wb") else { fail("\(temporary): cannot create (\(String(cString: strerror(errno))))") }
let bytes = Array(source.utf8)
let written = fwrite(bytes, 1, bytes.count, file)
if fclose(file) != 0 || written != bytes.count {
    unlink(temporary)
    fail("\(temporary): write failed")
}
if rename(temporary, output) != 0 {
    unlink(temporary)
    fail("\(output): rename failed (\(String(cString: strerror(errno))))")
}
