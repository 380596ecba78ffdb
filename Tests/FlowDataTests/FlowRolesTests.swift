import FlowData
import Foundation
import XCTest

/// The per-flow roles reader (`--flow-roles`) and the timestamp parser that orders flows into
/// periods and incidents.
final class FlowRolesTests: XCTestCase {
    func testRolesAreReadByFileNameAndRowInAnyColumnOrder() throws {
        let roles = try FlowRoles.parse("""
            role,flow_id,row,file
            attack,1-2-3-4-6,1,capture_a.csv
            background,"x,y",2,/some/folder/capture_a.csv
            Background,z,1,capture_b.csv

            """, path: "roles.csv")
        XCTAssertEqual(roles.count, 3)
        XCTAssertEqual(roles.role(file: "/data/malicious/capture_a.csv", row: 1), .attack)
        XCTAssertEqual(roles.role(file: "capture_a.csv", row: 2), .background, "a path in the roles file counts by its name")
        XCTAssertEqual(roles.role(file: "capture_b.csv", row: 1), .background, "roles match ignoring case")
        XCTAssertNil(roles.role(file: "capture_a.csv", row: 3))
        XCTAssertNil(roles.role(file: "other.csv", row: 1))
        XCTAssertTrue(roles.covers(file: "x/capture_b.csv"))
    }

    func testRolesLineUpWithTheRowsOfALoadedTable() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("roles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("malicious"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A blank line inside the file: rows count flows, so line 4 is row 2 ... no: rows are lines - 1.
        try "a,Label\n1,1\n2,1\n3,1\n".write(to: dir.appendingPathComponent("malicious/s_x.csv"), atomically: true, encoding: .utf8)
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: ["a"]))
        let roles = try FlowRoles.parse("file,row,role\ns_x.csv,3,attack\ns_x.csv,1,background\n")
        XCTAssertEqual(roles.roles(for: table), [.background, nil, .attack])
    }

    func testBadRolesFilesNameTheLineAndTheProblem() {
        func message(_ text: String) -> String {
            do { _ = try FlowRoles.parse(text, path: "r.csv"); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message("file,row\na,1\n").contains("needs the columns file, row and role"), message("file,row\na,1\n"))
        XCTAssertTrue(message("file,row,role\na,0,attack\n").contains("r.csv:2"))
        XCTAssertTrue(message("file,row,role\na,0,attack\n").contains("not a positive integer"))
        XCTAssertTrue(message("file,row,role\na,1,benign-ish\n").contains("is not attack or background"))
        XCTAssertTrue(message("file,row,role\na,1,attack\na,1,background\n").contains("two roles"))
        XCTAssertTrue(message("file,row,role\na,1\n").contains("2 fields, the header has 3"))
        XCTAssertTrue(message("file,row,role\n").contains("header only"))
        XCTAssertTrue(message("").contains("empty"))
    }

    func testTimestampsInTheDialectsFormats() throws {
        // 2023-03-19 15:02:18.5 UTC = 1679238138.5
        XCTAssertEqual(try XCTUnwrap(FlowTimestamp.parse("2023-03-19 15:02:18.5")), 1_679_238_138.5, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(FlowTimestamp.parse("2023-03-19 15:02:18.745393")), 1_679_238_138.745393, accuracy: 1e-5)
        XCTAssertEqual(FlowTimestamp.parse("2023-03-19T15:02:18Z"), 1_679_238_138)
        XCTAssertEqual(FlowTimestamp.parse("19/03/2023 03:02:18 PM"), 1_679_238_138)
        XCTAssertEqual(FlowTimestamp.parse("19/03/2023 12:02:18 AM"), 1_679_184_138)
        XCTAssertEqual(FlowTimestamp.parse("7/7/2017 8:59"), 1_499_417_940)
        XCTAssertEqual(FlowTimestamp.parse("1679238138"), 1_679_238_138)
        XCTAssertEqual(FlowTimestamp.parse("1679238138500"), 1_679_238_138.5)
        for bad in ["", "yesterday", "2023-13-01 00:00:00", "2023-03-19", "2023-03-19 25:00:00", "19/03/2023 03:02 XM"] {
            XCTAssertNil(FlowTimestamp.parse(bad), bad)
        }
        XCTAssertEqual(FlowTimestamp.iso8601(1_679_238_138.745), "2023-03-19T15:02:18.745Z")
    }

    func testTimestampsAreLoadedWithTheEndpoints() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ts-\(UUID().uuidString).csv")
        defer { try? FileManager.default.removeItem(at: dir) }
        try "Src IP,Dst IP,Dst Port,Timestamp,a,Label\n1.1.1.1,2.2.2.2,80,2023-03-19 15:02:18,1,0\n1.1.1.1,2.2.2.2,80,garbage,2,0\n"
            .write(to: dir, atomically: true, encoding: .utf8)
        let table = try FlowLoader.load(dir, options: FlowLoadOptions(features: ["a"], readEndpoints: true))
        let t = try XCTUnwrap(table.timestamps)
        XCTAssertEqual(t[0], 1_679_238_138)
        XCTAssertTrue(t[1].isNaN, "an unreadable timestamp is unknown, never an error")
        XCTAssertNil(try FlowLoader.load(dir, options: FlowLoadOptions(features: ["a"])).timestamps)
    }
}
