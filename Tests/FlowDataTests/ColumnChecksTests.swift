import XCTest
@testable import FlowData

/// Columns that must never feed a model: the label and the identifiers as features, a used column
/// named twice in a header, and a feature the baseline never has a value for.
final class ColumnChecksTests: XCTestCase {
    let because = "the label and the identifier columns (Flow ID, Src IP, Src Port, Dst IP, Dst Port, Timestamp, "
        + "Protocol, Label) say which flow it is or what it was labelled, not how it behaved, so a model would learn "
        + "the capture instead of the traffic; leave them out of --features"

    func testLabelAndIdentifiersAreRefusedAsFeaturesInEverySpelling() throws {
        assertFlowError("Label cannot be a feature: \(because)") { try FeatureSet.parse("Flow Duration,Label") }
        assertFlowError("Source IP, src_ip, Protocol, Timestamp, Flow ID, Dst Port cannot be features: \(because)") {
            try FeatureSet.parse("Source IP,Flow Duration,src_ip, Protocol,Timestamp,Flow ID,Dst Port")
        }
        XCTAssertEqual(try FeatureSet.parse("Flow Duration,Total Fwd Packet"), ["Flow Duration", "Total Fwd Packet"])
        // Wherever the features are resolved: the loader and the stream reader refuse them too.
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "x.csv", "A,B,Protocol,Label\n1,2,6,0\n")
        assertFlowError("Label cannot be a feature: \(because)") {
            try FlowLoader.load(url, options: FlowLoadOptions(features: ["A", "Label"]))
        }
        assertFlowError("Protocol cannot be a feature: \(because)") {
            try FlowStreamReader(url: url, options: FlowLoadOptions(features: ["A", "Protocol"]))
        }
    }

    func testAUsedColumnNamedTwiceIsRefusedWithBothPositions() throws {
        let dir = try temporaryFolder(self)
        let options = FlowLoadOptions(features: smallFeatures)
        // The decoy first: before, its values were used silently.
        let url = try writeFile(dir, "x.csv", "B,A,b,C,Label\n99,1,2,3,0\n")
        let message = "\(url.path): the header names the column 'B' twice (columns 1 and 3); which one holds the values "
            + "is a guess: rename or remove one of them"
        assertFlowError(message) { try FlowLoader.load(url, options: options) }
        assertFlowError(message) { try FlowStreamReader(url: url, options: options) }
        // The same name in two spellings of the header matching (case, spaces, underscores).
        let spaced = try writeFile(dir, "s.csv", "Flow Duration,flow_duration,Label\n1,2,0\n")
        assertFlowError("\(spaced.path): the header names the column 'Flow Duration' twice (columns 1 and 2); which one "
                        + "holds the values is a guess: rename or remove one of them") {
            try FlowLoader.load(spaced, options: FlowLoadOptions(features: ["Flow Duration"]))
        }
        // Label and identifiers are used columns too, when they are read.
        let labels = try writeFile(dir, "l.csv", "A,B,C,Label,Label\n1,2,3,0,4\n")
        assertFlowError("\(labels.path): the header names the column 'Label' twice (columns 4 and 5); which one holds the "
                        + "values is a guess: rename or remove one of them") { try FlowLoader.load(labels, options: options) }
        XCTAssertNotNil(try FlowStreamReader(url: labels, options: options).next(), "detect never reads the label")
        let ids = try writeFile(dir, "i.csv", "Src IP,A,B,C,Src IP\n1.1.1.1,1,2,3,2.2.2.2\n")
        assertFlowError("\(ids.path): the header names the column 'Src IP' twice (columns 1 and 5); which one holds the "
                        + "values is a guess: rename or remove one of them") { try FlowStreamReader(url: ids, options: options) }
        // A column named twice that nothing reads is no one's concern.
        let unused = try writeFile(dir, "u.csv", "A,B,C,X,X,Label\n1,2,3,4,5,0\n")
        XCTAssertEqual(try FlowLoader.load(unused, options: options).values, [1, 2, 3])
    }

    func testAFeatureMissingInEveryBaselineRowIsRefused() throws {
        let table = FlowTable(featureNames: smallFeatures, values: [1, 2, .nan,
                                                                   3, 4, .nan,
                                                                   5, 6, 7],
                              labels: [0, 0, 2], scenarioNames: ["benign", "benign", "reconnaissance"])
        for transform in FeatureTransform.allCases {
            assertFlowError("feature 'C' is missing (empty, NaN or Infinity) in all 2 baseline flows, so it cannot be scaled "
                            + "and would flag almost every flow that has it; train with --features without 'C'") {
                try Scaler.fit(table, rows: table.benignRows, transform: transform)
            }
        }
        // One value present is enough to fill and scale with.
        XCTAssertEqual(try Scaler.fit(table, rows: [0, 2], transform: .none).fillValues, [3, 4, 7])
    }
}
