import XCTest
@testable import FlowData

final class ScalerImageTests: XCTestCase {
    /// Two benign rows and one malicious row, with a missing value and a constant column.
    func smallTable() -> FlowTable {
        FlowTable(featureNames: smallFeatures,
                  values: [1, 10, 5,
                           3, 10, .nan,
                           100, 7, .nan],
                  labels: [0, 0, 2], scenarioNames: ["benign", "benign", "reconnaissance"])
    }

    func testScalerFitsOnTheGivenRowsOnly() throws {
        let t = smallTable()
        let s = try Scaler.fit(t, rows: t.benignRows, transform: .none)
        XCTAssertEqual(s.fillValues, [2, 10, 5])
        XCTAssertEqual(s.means, [2, 10, 5])
        XCTAssertEqual(s.stds, [1, 0, 0])  // population std; B constant; C one value + its own fill
        // The malicious row's 100 would move the statistics if it leaked into the fit.
        let all = try Scaler.fit(t, rows: [0, 1, 2], transform: .none)
        XCTAssertNotEqual(all.means[0], s.means[0])
        XCTAssertEqual(s.scale(t), [-1, 0, 0,
                                    1, 0, 0,
                                    98, 0, 0])
        XCTAssertEqual(s.scaleRow([2.5, 99, .nan]), [0.5, 0, 0])
        // Codable round trip.
        let decoded = try? JSONDecoder().decode(Scaler.self, from: s.jsonData())
        XCTAssertEqual(decoded, s)
    }

    func testLogTransformIsSignedLog1pBeforeTheZScore() throws {
        let t = FlowTable(featureNames: ["A"], values: [-3, 0, 3, .nan], labels: [0, 0, 0, 0],
                          scenarioNames: Array(repeating: "benign", count: 4))
        let s = try Scaler.fit(t, rows: [0, 1, 2, 3], transform: .log)
        XCTAssertEqual(s.fillValues, [0])
        XCTAssertEqual(s.means[0], 0, accuracy: 1e-6)
        let l = Float(log1p(3.0))
        let std = (2 * l * l / 4).squareRoot()
        XCTAssertEqual(s.stds[0], std, accuracy: 1e-6)
        let z = s.scaleRow([-3, 3, .nan])
        XCTAssertEqual(z[0], -l / std, accuracy: 1e-5)
        XCTAssertEqual(z[1], l / std, accuracy: 1e-5)
        XCTAssertEqual(z[2], 0, accuracy: 1e-6)
    }

    func testImageOfAKnownRowEqualsTheHandComputedOne() throws {
        let t = smallTable()
        let s = try Scaler.fit(t, rows: t.benignRows, transform: .none)
        let z = s.scale(t)
        // Row 2 scales to [98, 0, 0]; pixel k = z[k mod 3]: 98 at k = 0, 3, 6, ..., 1023.
        let image = FlowImage.render(z[6..<9])
        var expected = [Float](repeating: 0, count: 1024)
        for k in stride(from: 0, to: 1024, by: 3) { expected[k] = 98 }
        XCTAssertEqual(image, expected)
        // 27 features: pixel (row 1, column 5) = index 37 -> feature 10.
        let f27 = (0..<27).map(Float.init)
        let img27 = FlowImage.render(f27)
        XCTAssertEqual(img27[37], 10)
        XCTAssertEqual(img27[1023], Float(1023 % 27))
        // The batch variant writes the same images into a caller buffer.
        var out = [Float](repeating: -1, count: 2 * 1024)
        z.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { FlowImage.renderBatch(scaled: src, featureCount: 3, rows: [2, 0], into: $0) }
        }
        XCTAssertEqual(Array(out[0..<1024]), expected)
        XCTAssertEqual(Array(out[1024..<2048]), FlowImage.render(z[0..<3]))
    }

    func testGrayMapping() {
        XCTAssertEqual(FlowImage.gray(-3), 0)
        XCTAssertEqual(FlowImage.gray(-10), 0)
        XCTAssertEqual(FlowImage.gray(0), 128)
        XCTAssertEqual(FlowImage.gray(3), 255)
        XCTAssertEqual(FlowImage.gray(1.5), 191)  // (1.5 + 3) / 6 * 255 = 191.25
        let pixels = FlowImage.grayPixels(FlowImage.render([3, -3])[...], factor: 2)
        XCTAssertEqual(pixels.count, 64 * 64)
        XCTAssertEqual(Array(pixels[0..<6]), [255, 255, 0, 0, 255, 255])
        XCTAssertEqual(pixels[64], 255)
    }
}
