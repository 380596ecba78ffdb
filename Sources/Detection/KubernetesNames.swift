import Foundation

/// Where an address lives in a Kubernetes cluster: its pod and the workload that owns it.
public struct KubernetesName: Sendable, Equatable {
    public var namespace: String
    public var pod: String
    /// The owning workload: a Deployment (from its ReplicaSet's name), StatefulSet, DaemonSet,
    /// Job or CronJob, or the pod itself when nothing owns it.
    public var workload: String
    /// "Deployment", "StatefulSet", ..., or "Pod".
    public var workloadKind: String

    public init(namespace: String, pod: String, workload: String, workloadKind: String) {
        self.namespace = namespace
        self.pod = pod
        self.workload = workload
        self.workloadKind = workloadKind
    }

    /// "namespace/Kind/name", the key an edge by workload would use.
    public var workloadKey: String { "\(namespace)/\(workloadKind)/\(workload)" }

    /// A JSON object (schema v1's `src_k8s` / `dst_k8s`).
    public var json: String {
        "{\"namespace\":\(VerdictFormatter.jsonString(namespace)),\"pod\":\(VerdictFormatter.jsonString(pod)),"
            + "\"workload\":\(VerdictFormatter.jsonString(workload)),\"workload_kind\":\(VerdictFormatter.jsonString(workloadKind))}"
    }
}

/// Pod addresses to names, from the JSON of `kubectl get pods -A -o json`, re-read when the file
/// changes. Names only label outputs: they never enter a score. Pods on the host network share
/// their node's address, so that address names no single pod and is left out; an address two pods
/// claim (a pod that ended and one that took its address) keeps the running pod's name.
public final class KubernetesDirectory: @unchecked Sendable {
    public let path: String
    private var byAddress: [String: KubernetesName] = [:]
    private var signature: (size: Int64, modified: Double) = (-1, -1)
    private var lastCheck = Date.distantPast
    /// Seconds between looks at the file for changes.
    public var recheckInterval: TimeInterval = 5
    private let lock = NSLock()

    /// Reads `path` now; throws when it is missing or not the JSON of a pod list.
    public init(path: String) throws {
        self.path = path
        try reload()
    }

    /// For tests and other sources: a directory from JSON text.
    public init(json: Data, path: String = "<memory>") throws {
        self.path = path
        byAddress = try Self.parse(json, path: path)
    }

    /// The names of `address`, re-reading the file first when it has changed (at most every
    /// `recheckInterval` seconds); nil for an address no pod has.
    public func name(of address: String) -> KubernetesName? {
        lock.lock(); defer { lock.unlock() }
        if Date().timeIntervalSince(lastCheck) >= recheckInterval {
            lastCheck = Date()
            try? reloadIfChanged()
        }
        return byAddress[address.trimmingCharacters(in: .whitespaces)]
    }

    public var count: Int { lock.lock(); defer { lock.unlock() }; return byAddress.count }

    private func currentSignature() -> (Int64, Double)? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path) else { return nil }
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? -1
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? -1
        return (size, modified)
    }

    private func reloadIfChanged() throws {
        guard let now = currentSignature(), now != signature else { return }
        try reload()
    }

    /// Reads the file; a file that cannot be parsed keeps the names read before (a half-written
    /// file while kubectl rewrites it) unless there are none yet.
    private func reload() throws {
        let sig = currentSignature()
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PodListError(path: path, message: "cannot read the pod list (kubectl get pods -A -o json > FILE)")
        }
        do {
            byAddress = try Self.parse(data, path: path)
            if let sig { signature = sig }
        } catch where !byAddress.isEmpty {
            return
        }
    }

    /// Address -> name for every running (or otherwise listed) pod with its own address.
    public static func parse(_ data: Data, path: String) throws -> [String: KubernetesName] {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let items = root["items"] as? [Any] else {
            throw PodListError(path: path, message: "not the JSON of a pod list: expected an object with \"items\" "
                                   + "(the output of kubectl get pods -A -o json)")
        }
        var out: [String: (name: KubernetesName, running: Bool)] = [:]
        for case let item as [String: Any] in items {
            let metadata = item["metadata"] as? [String: Any] ?? [:]
            let spec = item["spec"] as? [String: Any] ?? [:]
            let status = item["status"] as? [String: Any] ?? [:]
            guard let pod = metadata["name"] as? String else { continue }
            if spec["hostNetwork"] as? Bool == true { continue }
            let namespace = metadata["namespace"] as? String ?? "default"
            var workload = pod, kind = "Pod"
            if let owner = (metadata["ownerReferences"] as? [[String: Any]])?.first(where: { $0["controller"] as? Bool ?? true }),
               let ownerKind = owner["kind"] as? String, let ownerName = owner["name"] as? String {
                (workload, kind) = workloadOf(ownerKind: ownerKind, ownerName: ownerName, labels: metadata["labels"] as? [String: String] ?? [:])
            }
            var addresses = (status["podIPs"] as? [[String: Any]])?.compactMap { $0["ip"] as? String } ?? []
            if let ip = status["podIP"] as? String, !addresses.contains(ip) { addresses.append(ip) }
            let running = (status["phase"] as? String) == "Running"
            let name = KubernetesName(namespace: namespace, pod: pod, workload: workload, workloadKind: kind)
            for address in addresses where !address.isEmpty {
                if let existing = out[address], existing.running && !running { continue }
                out[address] = (name, running)
            }
        }
        return out.mapValues(\.name)
    }

    /// A ReplicaSet made by a Deployment is named after it plus the pod template hash; the pod's
    /// `pod-template-hash` label says which suffix to strip. A Job made by a CronJob likewise ends
    /// in a number.
    static func workloadOf(ownerKind: String, ownerName: String, labels: [String: String]) -> (String, String) {
        switch ownerKind {
        case "ReplicaSet":
            if let hash = labels["pod-template-hash"], ownerName.hasSuffix("-" + hash) {
                return (String(ownerName.dropLast(hash.count + 1)), "Deployment")
            }
            return (ownerName, "ReplicaSet")
        case "Job":
            if let dash = ownerName.lastIndex(of: "-"), ownerName[ownerName.index(after: dash)...].allSatisfy(\.isNumber),
               ownerName.index(after: dash) < ownerName.endIndex {
                return (String(ownerName[..<dash]), "CronJob")
            }
            return (ownerName, "Job")
        default:
            return (ownerName, ownerKind)
        }
    }
}

/// How a flow's edge is written in a model's `edges`: by address ("10.16.0.5>10.96.0.1:443"), or
/// with each end that a pod list names replaced by its workload ("shop/Deployment/web>10.96.0.1:443").
/// Pod addresses change with every restart; workloads hold from day to day.
public enum EdgeKeys: String, Sendable, Codable {
    case address
    case workload

    /// The key of the edge source -> destination:port; `names` (workload keys only) names the ends.
    public static func key(source: String, destination: String, port: String, names: KubernetesDirectory?) -> String {
        Detector.edge(source: names?.name(of: source)?.workloadKey ?? source,
                      destination: names?.name(of: destination)?.workloadKey ?? destination, port: port)
    }

    /// The key of an endpoint as `FlowTable.endpoints` writes it ("source>destination:port").
    public static func key(endpoint: String, names: KubernetesDirectory?) -> String {
        guard let names else { return endpoint }
        let (s, d, p) = IncidentGrouper.split(endpoint: endpoint)
        return key(source: s, destination: d, port: p, names: names)
    }
}

/// A pod list that cannot be read: its path and what is wrong.
public struct PodListError: Error, CustomStringConvertible, LocalizedError {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
    public var errorDescription: String? { description }
}
