import Foundation

/// Checks a JSON value against the subset of JSON Schema (draft 2020-12) that schemas/*.json use:
/// type (one or a list), const, enum, required, properties, additionalProperties: false, items,
/// minimum, maximum, pattern. Returns every violation as "path: what"; empty when valid.
enum JSONSchemaSubset {
    static func violations(_ value: Any, schema: [String: Any], path: String = "$") -> [String] {
        var out: [String] = []
        if let types = (schema["type"] as? [String]) ?? (schema["type"] as? String).map({ [$0] }) {
            guard types.contains(where: { matches(value, type: $0) }) else {
                return ["\(path): \(describe(value)) is not \(types.joined(separator: " or "))"]
            }
        }
        if let c = schema["const"], !equal(value, c) { out.append("\(path): \(describe(value)) is not \(c)") }
        if let options = schema["enum"] as? [Any], !options.contains(where: { equal(value, $0) }) {
            out.append("\(path): \(describe(value)) is not one of \(options)")
        }
        if let number = value as? NSNumber, !isBool(value) {
            if let minimum = schema["minimum"] as? Double, number.doubleValue < minimum { out.append("\(path): \(number) < \(minimum)") }
            if let maximum = schema["maximum"] as? Double, number.doubleValue > maximum { out.append("\(path): \(number) > \(maximum)") }
        }
        if let s = value as? String, let pattern = schema["pattern"] as? String,
           s.range(of: pattern, options: .regularExpression) == nil {
            out.append("\(path): '\(s)' does not match \(pattern)")
        }
        if let object = value as? [String: Any] {
            for key in (schema["required"] as? [String]) ?? [] where object[key] == nil { out.append("\(path): missing '\(key)'") }
            let properties = (schema["properties"] as? [String: Any]) ?? [:]
            for (key, v) in object {
                if let sub = properties[key] as? [String: Any] {
                    out += violations(v, schema: sub, path: "\(path).\(key)")
                } else if (schema["additionalProperties"] as? Bool) == false {
                    out.append("\(path): unexpected key '\(key)'")
                }
            }
        }
        if let array = value as? [Any], let items = schema["items"] as? [String: Any] {
            for (i, v) in array.enumerated() { out += violations(v, schema: items, path: "\(path)[\(i)]") }
        }
        return out
    }

    /// JSON true and false: NSNumber's boolean class (`is Bool` also holds for the numbers 0 and 1).
    static func isBool(_ v: Any) -> Bool {
        guard let n = v as? NSNumber else { return false }
        return String(describing: type(of: n)).contains("Boolean") || String(cString: n.objCType) == "c"
    }

    static func matches(_ v: Any, type: String) -> Bool {
        switch type {
        case "null": return v is NSNull
        case "boolean": return isBool(v)
        case "string": return v is String
        case "object": return v is [String: Any]
        case "array": return v is [Any]
        case "number": return !isBool(v) && v is NSNumber
        case "integer":
            guard !isBool(v), let n = v as? NSNumber else { return false }
            return n.doubleValue == n.doubleValue.rounded()
        default: return false
        }
    }

    static func equal(_ a: Any, _ b: Any) -> Bool {
        if let a = a as? String, let b = b as? String { return a == b }
        if let a = a as? NSNumber, let b = b as? NSNumber { return a == b }
        return false
    }

    static func describe(_ v: Any) -> String { v is NSNull ? "null" : "\(v)" }

    /// The schema file `name` from the repository's schemas/ folder.
    static func load(_ name: String) throws -> [String: Any] {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("schemas/\(name)")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
    }
}
