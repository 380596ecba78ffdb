import TestSupport
import XCTest
@testable import FlowData

final class FlowLoaderTests: XCTestCase {
    func testColumnsAreFoundByNameAndMissingValuesAreNaN() throws {
        let dir = try temporaryFolder(self)
        // Extra columns, shuffled order, CRLF, a quoted field, negative values and every missing spelling.
        let url = try writeFile(dir, "mixed_1.csv",
            "Extra,C,\"Flow, ID\",Label,B,A\r\n" +
            "x,3.5,\"1,2\",0,-2,1e3\r\n" +
            "y,Infinity,z,7,NaN,\r\n" +
            "y,-Infinity,z,7,-0.5,2\r\n")
        let t = try FlowLoader.load(url, options: FlowLoadOptions(features: smallFeatures))
        XCTAssertEqual(t.rowCount, 3)
        XCTAssertEqual(Array(t.row(0)), [1000, -2, 3.5])
        XCTAssertTrue(t.row(1).allSatisfy(\.isNaN))
        XCTAssertTrue(t.value(row: 2, feature: 2).isNaN)
        XCTAssertEqual(t.value(row: 2, feature: 1), -0.5)
        XCTAssertEqual(t.labels, [0, 7, 7])
        XCTAssertEqual(t.scenarioNames, ["benign", "mixed", "mixed"])
        XCTAssertEqual(t.location(ofRow: 2), "\(url.path):4")
        XCTAssertTrue(t.isMalicious(1))
        XCTAssertEqual(t.rows { t.labels[$0] == 7 }, [1, 2])
        let s = t.subset([2, 0])
        XCTAssertEqual(s.labels, [7, 0])
        XCTAssertEqual(Array(s.row(1)), [1000, -2, 3.5])
    }

    func testFoldersWithoutLabelUseBenignAndMaliciousSubfolders() throws {
        let dir = try temporaryFolder(self)
        try writeFile(dir, "benign/bg_1.csv", "A,B,C\n1,2,3\n4,5,6\n")
        try writeFile(dir, "malicious/reconnaissance_1.csv", "A,B,C\n7,8,9\n")
        try writeFile(dir, "malicious/newattack_1.csv", "A,B,C\n0,0,0\n")
        let t = try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures))
        XCTAssertEqual(t.labels, [0, 0, 100, 2])
        XCTAssertEqual(t.scenarioNames, ["benign", "benign", "newattack", "reconnaissance"])
        XCTAssertEqual(t.report.filesRead, 3)
    }

    func testFeaturesFromListOrFile() throws {
        XCTAssertEqual(try FeatureSet.parse("Flow Duration, Idle Min"), ["Flow Duration", "Idle Min"])
        let dir = try temporaryFolder(self)
        let url = try writeFile(dir, "f.txt", "# mine\nFlow Duration\n\nIdle Min\r\n")
        XCTAssertEqual(try FeatureSet.parse(url.path), ["Flow Duration", "Idle Min"])
        XCTAssertEqual(FeatureSet.default.count, 27)
    }

    func testSharedDatasetCountsPerScenario() throws {
        guard let url = sharedDatasetURL() else { throw XCTSkip("../shared/data/kubernetes-dataset is absent; skipping") }
        let t = try FlowLoader.load(url)
        XCTAssertEqual(t.scenarioCounts, [
            "benign": 4237, "attack-pods": 163, "cve201920933": 193, "cve202013379": 56, "cve202125741": 824,
            "cve202223648": 34, "rce-reverse-shell": 168, "reconnaissance": 2475,
        ])
        XCTAssertEqual(t.report.filesRead, 8)
        XCTAssertEqual(t.report.badRowsSkipped, 0)
        var idByName: [String: Set<Int>] = [:]
        for r in 0..<t.rowCount { idByName[t.scenarioNames[r], default: []].insert(t.labels[r]) }
        XCTAssertEqual(idByName, ["benign": [0], "cve202013379": [1], "reconnaissance": [2], "rce-reverse-shell": [3],
                                  "attack-pods": [4], "cve201920933": [6], "cve202125741": [8], "cve202223648": [9]])

        // A known row, checked by hand against the file (reconnaissance line 2).
        let recon = t.rows { t.scenarioNames[$0] == "reconnaissance" }[0]
        XCTAssertEqual(t.rowLines[recon], 2)
        let expected: [Float] = [116926584 /* 116926587 as a Float */, 478, 309, 10260.0, 773903.0, 6706.455906388511, 6.730718993790522,
                                 148761.5610687022, 933745.7558956578, 6382542.0, 1.0, 1.16926543E8, 1.16923882E8,
                                 0.0, 13480.0, 996.3951715374835, 2659.5687319232766, 1083, 502, 243679.27777777775,
                                 33280.011094464986, 298858.0, 220198.0, 6239859.555555555, 96660.95268528095,
                                 6382542.0, 6017242.0]
        XCTAssertEqual(Array(t.row(recon)), expected)
        // A benign single-packet flow: Infinity and NaN are missing.
        let single = t.rows { t.scenarioNames[$0] == "benign" && t.rowLines[$0] == 1121 }[0]
        let v = Array(t.row(single))
        XCTAssertEqual(v[3], 104)
        XCTAssertTrue(v[5].isNaN && v[6].isNaN && v[7].isNaN && v[10].isNaN)
        XCTAssertEqual(v[11], 0)
    }
}
