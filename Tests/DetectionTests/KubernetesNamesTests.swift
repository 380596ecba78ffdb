import Detection
import Foundation
import XCTest

/// `--k8s-pods`: pod addresses to namespace, pod and owning workload, from `kubectl get pods -A -o json`.
final class KubernetesNamesTests: XCTestCase {
    static let podList = """
        {"apiVersion": "v1", "kind": "List", "items": [
          {"metadata": {"name": "web-5d8f7c9b6-abcde", "namespace": "shop", "labels": {"pod-template-hash": "5d8f7c9b6"},
                        "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d8f7c9b6", "controller": true}]},
           "spec": {}, "status": {"phase": "Running", "podIP": "10.0.0.5", "podIPs": [{"ip": "10.0.0.5"}]}},
          {"metadata": {"name": "db-0", "namespace": "shop", "ownerReferences": [{"kind": "StatefulSet", "name": "db"}]},
           "spec": {}, "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.6"}, {"ip": "fd00::6"}]}},
          {"metadata": {"name": "kube-proxy-x", "namespace": "kube-system", "ownerReferences": [{"kind": "DaemonSet", "name": "kube-proxy"}]},
           "spec": {"hostNetwork": true}, "status": {"phase": "Running", "podIP": "192.168.1.10"}},
          {"metadata": {"name": "backup-28391234-xyz", "namespace": "ops", "ownerReferences": [{"kind": "Job", "name": "backup-28391234"}]},
           "spec": {}, "status": {"phase": "Succeeded", "podIP": "10.0.0.7"}},
          {"metadata": {"name": "debug", "namespace": "default"}, "spec": {}, "status": {"phase": "Running", "podIP": "10.0.0.7"}},
          {"metadata": {"name": "late", "namespace": "ops", "ownerReferences": [{"kind": "Job", "name": "backup-28391299"}]},
           "spec": {}, "status": {"phase": "Succeeded", "podIP": "10.0.0.8"}}
        ]}
        """

    func testAddressesNameTheirPodAndOwningWorkload() throws {
        let names = try KubernetesDirectory(json: Data(Self.podList.utf8))
        XCTAssertEqual(names.name(of: "10.0.0.5"), KubernetesName(namespace: "shop", pod: "web-5d8f7c9b6-abcde", workload: "web", workloadKind: "Deployment"))
        XCTAssertEqual(names.name(of: "10.0.0.6")?.workloadKey, "shop/StatefulSet/db")
        XCTAssertEqual(names.name(of: "fd00::6")?.pod, "db-0", "every address of a dual-stack pod")
        XCTAssertNil(names.name(of: "192.168.1.10"), "a host-network pod's address is its node's: no single pod")
        XCTAssertEqual(names.name(of: "10.0.0.7")?.pod, "debug", "the running pod keeps an address a finished one had")
        XCTAssertEqual(names.name(of: "10.0.0.8")?.workloadKey, "ops/CronJob/backup", "a CronJob's Job ends in a number")
        XCTAssertEqual(names.name(of: " 10.0.0.5 ")?.workload, "web")
        XCTAssertNil(names.name(of: "10.9.9.9"), "addresses absent from the list stay addresses")
        XCTAssertEqual(names.count, 5)
        XCTAssertEqual(names.name(of: "10.0.0.5")?.json,
                       "{\"namespace\":\"shop\",\"pod\":\"web-5d8f7c9b6-abcde\",\"workload\":\"web\",\"workload_kind\":\"Deployment\"}")
    }

    func testTheFileIsReadAgainWhenItChanges() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pods-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Self.podList.write(to: url, atomically: true, encoding: .utf8)
        let names = try KubernetesDirectory(path: url.path)
        names.recheckInterval = 0
        XCTAssertNil(names.name(of: "10.0.0.99"))
        let changed = Self.podList.replacingOccurrences(of: "\"podIP\": \"10.0.0.5\", \"podIPs\": [{\"ip\": \"10.0.0.5\"}]",
                                                        with: "\"podIP\": \"10.0.0.99\", \"podIPs\": [{\"ip\": \"10.0.0.99\"}]")
        try changed.write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(names.name(of: "10.0.0.99")?.workload, "web", "the new address after the rewrite")
        XCTAssertNil(names.name(of: "10.0.0.5"))
        // A half-written file keeps the names read before.
        try "{\"items\": [".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertEqual(names.name(of: "10.0.0.99")?.workload, "web")
    }

    func testSomethingElseIsRefusedWithAHint() {
        XCTAssertThrowsError(try KubernetesDirectory(json: Data("[1, 2]".utf8), path: "p.json")) {
            XCTAssertTrue("\($0)".contains("kubectl get pods -A -o json"), "\($0)")
        }
        XCTAssertThrowsError(try KubernetesDirectory(path: "/nonexistent/pods.json"))
    }
}
