import Backend
import FlowData
import Foundation
import Detection
import Siamese
import XCTest

/// Models trained with window features: the option is recorded, read back, and scoring computes
/// the features the same way from a file load and from a stream.
final class WindowModelTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpu-train-window-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let features = ["Flow Duration", "Total Fwd Packet"] + WindowFeatures.names

    static let header = "Src IP,Src Port,Dst IP,Dst Port,Protocol,Timestamp,Flow Duration,Total Fwd Packet,Total Bwd packets,"
        + "Total Length of Fwd Packet,Total Length of Bwd Packet,Label"

    /// Flow k of three clients polling two services, one flow every 2.5 s from `start`.
    static func poll(_ k: Int, start: Double) -> String {
        "10.0.0.\(k % 3 + 1),\(40000 + k),10.0.1.\(k % 2 + 1),\(k % 2 == 0 ? 443 : 53),6,\(start + Double(k) * 2.5),"
            + "\(900 + (k * 37) % 200),\(4 + k % 3),\(3 + k % 2),\(300 + (k * 13) % 100),\(2000 + (k * 7) % 500),0"
    }

    /// A benign file: ten minutes of polling. A later file: the same polling, and after 150 s one
    /// source probing 40 ports in 4 seconds, every probe unanswered, with flows like the polls'
    /// (duration, packets): only their context is unusual. Returns the probes' rows in the later file.
    func writeFlows() throws -> (benign: URL, later: URL, probes: [Int]) {
        let benign = [Self.header] + (0..<240).map { Self.poll($0, start: 1_700_000_000) }
        var later = [Self.header], probes: [Int] = []
        for k in 0..<100 {
            later.append(Self.poll(k, start: 1_700_010_000))
            if k == 60 {
                for p in 0..<40 {
                    probes.append(later.count - 1)
                    later.append("10.0.9.9,\(50000 + p),10.0.1.1,\(1000 + p),6,\(1_700_010_150 + Double(p) * 0.1),950,5,0,0,0,2")
                }
            }
        }
        let b = dir.appendingPathComponent("benign.csv"), a = dir.appendingPathComponent("later.csv")
        try Data((benign.joined(separator: "\n") + "\n").utf8).write(to: b)
        try Data((later.joined(separator: "\n") + "\n").utf8).write(to: a)
        return (b, a, probes)
    }

    func baselineOptions(window: Bool) -> TrainingOptions {
        var o = TrainingOptions.defaults(for: .baseline)
        o.maliciousShots = 0
        o.windowFeatures = window
        return o
    }

    func testTheOptionIsRecordedAndScoringComputesTheSameFeaturesFromAFileAndAStream() throws {
        let (benignURL, laterURL, probes) = try writeFlows()
        let benign = try FlowLoader.load(benignURL, options: FlowLoadOptions(features: Self.features))
        let model = try Trainer(backend: CPUBackend(), config: .default, options: baselineOptions(window: true)).train(table: benign)
        let url = dir.appendingPathComponent("m.safetensors")
        try model.write(to: url)
        let back = try TrainedModel.read(url)
        XCTAssertTrue(back.options.windowFeatures)
        XCTAssertEqual(back.scaler.featureNames, Self.features)
        XCTAssertEqual(try SafeTensors.decode(try Data(contentsOf: url), path: "m").metadata["options"]?.contains("\"windowFeatures\":true"), true)

        let detector = try Detector(model: back, backend: CPUBackend())
        let later = try FlowLoader.load(laterURL, options: FlowLoadOptions(features: back.scaler.featureNames, requireLabels: false))
        let loaded = try detector.scores(later)
        let reader = try FlowStreamReader(url: laterURL, options: FlowLoadOptions(features: back.scaler.featureNames, requireLabels: false),
                                          batchSize: 7)
        var streamed: [Float] = []
        while let batch = try reader.next() { streamed += try detector.scores(rawRows: batch.values, count: batch.rowCount) }
        XCTAssertEqual(streamed.map(\.bitPattern), loaded.map(\.bitPattern))
        // The window context flags the probes after the first few (before their burst builds up);
        // the polls stay below the threshold.
        let probeSet = Set(probes)
        let flaggedProbes = probes.filter { detector.isMalicious(loaded[$0]) }.count
        let flaggedPolls = (0..<later.rowCount).filter { !probeSet.contains($0) && detector.isMalicious(loaded[$0]) }.count
        XCTAssertGreaterThanOrEqual(flaggedProbes, 35, "threshold \(back.threshold), probe scores \(probes.map { loaded[$0] })")
        XCTAssertLessThanOrEqual(flaggedPolls, 2, "threshold \(back.threshold)")
        // Without the window the probes look like the polls.
        let plain = try Trainer(backend: CPUBackend(), config: .default, options: baselineOptions(window: false))
            .train(table: try FlowLoader.load(benignURL, options: FlowLoadOptions(features: Array(Self.features.prefix(2)))))
        XCTAssertFalse(plain.options.windowFeatures)
        let plainDetector = try Detector(model: plain, backend: CPUBackend())
        let plainScores = try plainDetector.scores(try FlowLoader.load(laterURL, options: FlowLoadOptions(features: plain.scaler.featureNames,
                                                                                                          requireLabels: false)))
        XCTAssertEqual(probes.filter { plainDetector.isMalicious(plainScores[$0]) }.count, 0)
    }

    func testTheTrainerRefusesATableThatDisagreesWithTheOption() throws {
        let (benignURL, _, _) = try writeFlows()
        let withWindows = try FlowLoader.load(benignURL, options: FlowLoadOptions(features: Self.features))
        XCTAssertThrowsError(try Trainer(backend: CPUBackend(), config: .default, options: baselineOptions(window: false))
            .train(table: withWindows)) { XCTAssertTrue("\($0)".contains("window features are off but the table's features include them"), "\($0)") }
        let without = try FlowLoader.load(benignURL, options: FlowLoadOptions(features: ["Flow Duration", "Total Fwd Packet"]))
        XCTAssertThrowsError(try Trainer(backend: CPUBackend(), config: .default, options: baselineOptions(window: true))
            .train(table: without)) { XCTAssertTrue("\($0)".contains("window features are on but the table's features lack them"), "\($0)") }
    }

    func testOldModelsReadAsOffAndAModelThatContradictsItselfIsRefused() throws {
        // Options written before the option existed.
        let old = try JSONDecoder().decode(TrainingOptions.self, from: Data(#"{"recipe":"baseline","k":1}"#.utf8))
        XCTAssertFalse(old.windowFeatures)
        XCTAssertFalse(TrainingOptions().windowFeatures, "off by default")

        let (benignURL, _, _) = try writeFlows()
        let benign = try FlowLoader.load(benignURL, options: FlowLoadOptions(features: Self.features))
        let model = try Trainer(backend: CPUBackend(), config: .default, options: baselineOptions(window: true)).train(table: benign)
        let url = dir.appendingPathComponent("m.safetensors")
        try model.write(to: url)
        var file = try SafeTensors.read(url)
        file.metadata["options"] = file.metadata["options"]?.replacingOccurrences(of: "\"windowFeatures\":true", with: "\"windowFeatures\":false")
        let bad = dir.appendingPathComponent("bad.safetensors")
        try SafeTensors.encode(file.order.compactMap { file.tensors[$0] }, metadata: file.metadata).write(to: bad)
        XCTAssertThrowsError(try TrainedModel.read(bad)) {
            XCTAssertTrue("\($0)".contains("its window_features option (off) disagrees with its feature list, which names 18 of the 18 window features"), "\($0)")
        }
    }
}
