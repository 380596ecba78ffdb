import Backend
import Foundation

/// A tensor read from or written to a safetensors file (float32 only).
public struct NamedTensor: Equatable {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
/// header length, a JSON header naming each tensor's dtype, shape and byte range, then the data.
/// Every check names what is wrong, so a truncated, corrupted or foreign file is explained.
public enum SafeTensors {
    /// Headers larger than this are rejected before parsing (real ones are a few KB).
    static let maxHeaderBytes = 100 << 20

    public struct File {
        public var tensors: [String: NamedTensor]
        public var order: [String]
        public var metadata: [String: String]
    }

    /// Serializes tensors (in the given order) and string metadata.
    public static func encode(_ tensors: [NamedTensor], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            guard TensorSize.product(t.shape) == t.values.count else {
                throw SiameseError.invalidData("tensor \(t.name): \(t.values.count) values for shape \(t.shape)")
            }
            let bytes = t.values.count * 4
            header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        // Pad the header with spaces to a multiple of 8 so the data is aligned.
        while (json.count % 8) != 0 { json.append(0x20) }
        var data = Data(capacity: 8 + json.count + offset)
        var length = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &length) { data.append(contentsOf: $0) }
        data.append(json)
        for t in tensors {
            t.values.withUnsafeBufferPointer { buffer in
                guard let base = buffer.baseAddress else { return }  // an empty tensor has no bytes
                #if _endian(big)
                for v in buffer { var le = v.bitPattern.littleEndian; withUnsafeBytes(of: &le) { data.append(contentsOf: $0) } }
                #else
                data.append(UnsafeBufferPointer(start: UnsafeRawPointer(base).assumingMemoryBound(to: UInt8.self),
                                                count: buffer.count * 4))
                #endif
            }
        }
        return data
    }

    /// Parses and validates a safetensors file in memory; `path` only labels errors. Every
    /// tensor's entry is checked, but only those `include` accepts are copied out.
    public static func decode(_ data: Data, path: String, include: (String) -> Bool = { _ in true }) throws -> File {
        // The offsets below count from 0; a slice of a larger Data does not.
        let data = data.startIndex == 0 ? data : Data(data)
        func bad(_ reason: String) -> SiameseError { .badModelFile(path: path, reason: reason) }
        guard data.count >= 8 else {
            throw bad(data.isEmpty ? "the file is empty" : "the file is \(data.count) bytes, too short for a safetensors header")
        }
        let headerLength = data.prefix(8).withUnsafeBytes { raw -> UInt64 in
            var v: UInt64 = 0
            for i in 0..<8 { v |= UInt64(raw[i]) << (8 * UInt64(i)) }
            return v
        }
        guard headerLength > 0, headerLength <= UInt64(maxHeaderBytes) else {
            throw bad("header length \(headerLength) is not plausible: this is not a safetensors file")
        }
        guard 8 + Int(headerLength) <= data.count else {
            throw bad("the file is truncated: its header claims \(headerLength) bytes but only \(data.count - 8) follow")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let object = try? JSONSerialization.jsonObject(with: headerData), let header = object as? [String: Any] else {
            throw bad("the header is not a JSON object: this is not a safetensors file, or it is corrupted")
        }
        let dataStart = 8 + Int(headerLength)
        let dataBytes = data.count - dataStart
        var metadata: [String: String] = [:]
        if let m = header["__metadata__"] {
            guard let dict = m as? [String: String] else { throw bad("__metadata__ must map strings to strings") }
            metadata = dict
        }
        var entries: [(name: String, shape: [Int], start: Int, end: Int)] = []
        for (name, value) in header where name != "__metadata__" {
            guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
                  let shape = info["shape"] as? [Int], let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw bad("tensor '\(name)' has a malformed header entry")
            }
            guard dtype == "F32" else { throw bad("tensor '\(name)' has dtype \(dtype); only F32 is supported") }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw bad("tensor '\(name)' has a negative dimension in \(shape)") }
            // The shape is the file's word: its product may overflow, and a wrapped product
            // could even match the offsets (2^62 x 4 floats "need" 0 bytes).
            guard let elements = TensorSize.product(shape), elements <= TensorSize.maxElements else {
                throw bad("tensor '\(name)' has shape \(shape), " +
                          (TensorSize.product(shape).map { "\($0) elements" } ?? "more elements than an Int can count") +
                          "; at most \(TensorSize.maxElements) (2^31 - 1) are supported")
            }
            let expected = elements * 4
            guard offsets[0] >= 0, offsets[1] >= offsets[0] else {
                throw bad("tensor '\(name)' has data offsets \(offsets); they must be a range [begin, end] with 0 <= begin <= end")
            }
            guard offsets[1] - offsets[0] == expected else {
                throw bad("tensor '\(name)' of shape \(shape) needs \(expected) bytes but its offsets \(offsets) give \(offsets[1] - offsets[0])")
            }
            guard offsets[1] <= dataBytes else {
                throw bad("the file is truncated: tensor '\(name)' ends at byte \(offsets[1]) of the data but the data has \(dataBytes) bytes")
            }
            entries.append((name, shape, offsets[0], offsets[1]))
        }
        entries.sort { $0.start < $1.start }
        var cursor = 0
        for e in entries {
            guard e.start == cursor else {
                throw bad(e.start < cursor ? "tensor '\(e.name)' overlaps the tensor before it" : "there is a gap before tensor '\(e.name)'")
            }
            cursor = e.end
        }
        guard cursor == dataBytes else {
            throw bad("\(dataBytes - cursor) bytes after the last tensor belong to no tensor (corrupted or foreign file)")
        }
        var tensors: [String: NamedTensor] = [:]
        data.withUnsafeBytes { raw in
            for e in entries where include(e.name) {
                let count = (e.end - e.start) / 4
                var values = [Float](repeating: 0, count: count)
                values.withUnsafeMutableBytes { dst in
                    dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.start)..<(dataStart + e.end)]))
                }
                #if _endian(big)
                values = values.map { Float(bitPattern: UInt32(littleEndian: $0.bitPattern)) }
                #endif
                tensors[e.name] = NamedTensor(name: e.name, shape: e.shape, values: values)
            }
        }
        return File(tensors: tensors, order: entries.map(\.name), metadata: metadata)
    }

    public static func read(_ url: URL, include: (String) -> Bool = { _ in true }) throws -> File {
        // Foundation reports a folder as "NSCocoaErrorDomain error 256"; say what it is.
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            throw SiameseError.badModelFile(path: url.path, reason: "it is a folder, not a model file")
        }
        // Foundation's message for a missing or unreadable file names no reason on Linux; the system's does.
        if access(url.path, R_OK) != 0 {
            throw SiameseError.badModelFile(path: url.path, reason: "cannot read it (\(String(cString: strerror(errno))))")
        }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw SiameseError.badModelFile(path: url.path, reason: "cannot read it (\(error.localizedDescription))")
        }
        return try decode(data, path: url.path, include: include)
    }
}
