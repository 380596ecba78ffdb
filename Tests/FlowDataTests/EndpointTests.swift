import Foundation
import XCTest
@testable import FlowData

/// `FlowLoadOptions.readEndpoints`: each row's source, destination and port, for evaluation only.
final class EndpointTests: XCTestCase {
    func testEndpointsAreReadInEveryDialectSpellingWhenAsked() throws {
        let dir = try temporaryFolder(self)
        try writeFile(dir, "benign/a.csv", "Src IP,Dst IP,Dst Port,A,B,C,Label\n10.0.0.1,10.0.0.2,443,1,2,3,0\n\"10.0.0.3\",10.0.0.2, 53 ,4,5,6,0\n")
        // CIC-IDS2017 spelling, with its leading spaces.
        try writeFile(dir, "malicious/x_1.csv", "Flow ID, Source IP, Source Port, Destination IP, Destination Port,A,B,C,Label\nf,10.0.0.9,5555,203.0.113.4,4444,7,8,9,1\n")
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures, readEndpoints: true))
        XCTAssertEqual(table.endpoints, ["10.0.0.1>10.0.0.2:443", "10.0.0.3>10.0.0.2:53", "10.0.0.9>203.0.113.4:4444"])
        XCTAssertEqual(table.values, [1, 2, 3, 4, 5, 6, 7, 8, 9], "endpoints never become features")
        XCTAssertEqual(table.subset([2, 0]).endpoints, ["10.0.0.9>203.0.113.4:4444", "10.0.0.1>10.0.0.2:443"])
    }

    func testNoEndpointsUnlessAskedOrWhenAFileLacksTheColumns() throws {
        let dir = try temporaryFolder(self)
        try writeFile(dir, "benign/a.csv", "Src IP,Dst IP,Dst Port,A,B,C,Label\n10.0.0.1,10.0.0.2,443,1,2,3,0\n")
        XCTAssertNil(try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures)).endpoints)
        try writeFile(dir, "malicious/x_1.csv", "Src IP,Dst IP,A,B,C,Label\n10.0.0.9,203.0.113.4,7,8,9,1\n")
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: smallFeatures, readEndpoints: true))
        XCTAssertEqual(table.rowCount, 2)
        XCTAssertNil(table.endpoints, "one file without Dst Port: no split rather than a partial one")
    }
}
