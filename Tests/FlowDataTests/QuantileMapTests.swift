@testable import FlowData
import XCTest

/// The quantile transform against values computed by hand (and NumPy's quantile rule).
final class QuantileMapTests: XCTestCase {
    func testInverseNormalCDF() {
        // Reference values of the standard normal quantile function.
        let cases: [(Double, Double)] = [(0.5, 0), (0.975, 1.959963984540054), (0.2, -0.8416212335729143),
                                         (1e-6, -4.753424308822899), (0.9995, 3.290526731491926)]
        for (p, z) in cases {
            XCTAssertEqual(QuantileMap.inverseNormalCDF(p), z, accuracy: 1e-12, "p = \(p)")
        }
    }

    func testKnotsFollowNumPyLinearQuantiles() {
        // np.quantile([4, 1, 3, 2, 10], np.linspace(0, 1, 3)) = [1, 3, 10];
        // with 5 knots: [1, 2, 3, 4, 10]; with 4: positions 0, 4/3, 8/3, 4 -> [1, 2.333.., 3.666.., 10].
        XCTAssertEqual(QuantileMap.fit(columns: [[4, 1, 3, 2, 10]], knots: 3).knots, [[1, 3, 10]])
        XCTAssertEqual(QuantileMap.fit(columns: [[4, 1, 3, 2, 10]], knots: 5).knots, [[1, 2, 3, 4, 10]])
        let four = QuantileMap.fit(columns: [[4, 1, 3, 2, 10]], knots: 4).knots[0]
        XCTAssertEqual(four.count, 4)
        XCTAssertEqual(four[1], 2 + 1.0 / 3, accuracy: 1e-6)
        XCTAssertEqual(four[2], 3 + 2.0 / 3, accuracy: 1e-6)
        // More knots than values: one knot per value.
        XCTAssertEqual(QuantileMap.fit(columns: [[2, 1]], knots: 1000).knots, [[1, 2]])
    }

    func testMappingByHand() {
        let map = QuantileMap(knots: [[1, 2, 3, 4, 5]])
        // x = 3 is knot 2: p = 2.5 / 5 = 0.5 -> 0.
        XCTAssertEqual(map.map(3, feature: 0), 0, accuracy: 1e-7)
        // x = 1.5 lies halfway between knots 0 and 1: p = 1 / 5 = 0.2 -> -0.8416.
        XCTAssertEqual(map.map(1.5, feature: 0), -0.8416212, accuracy: 1e-6)
        // Beyond the range: clamped to the extreme knots, p = 0.1 and 0.9.
        XCTAssertEqual(map.map(-100, feature: 0), -1.2815516, accuracy: 1e-6)
        XCTAssertEqual(map.map(1e30, feature: 0), 1.2815516, accuracy: 1e-6)
        // Ties: x = 0 shared by knots 0...2 of [0, 0, 0, 7, 9] sits at their middle, position 1: p = 0.3.
        let tied = QuantileMap(knots: [[0, 0, 0, 7, 9]])
        XCTAssertEqual(tied.map(0, feature: 0), -0.5244005, accuracy: 1e-6)
    }

    func testScalerFitsOnTheBaselineAndFillsMissingWithTheMedian() throws {
        // Two features; rows 0-4 are the baseline, row 5 is not used for the fit.
        let values: [Float] = [1, 10, 2, 10, 3, 20, 4, 30, 5, .nan, 100, 100]
        let table = FlowTable(featureNames: ["a", "b"], values: values, labels: [0, 0, 0, 0, 0, 1],
                              scenarioNames: ["benign", "benign", "benign", "benign", "benign", "x"])
        let scaler = try Scaler.fit(table, rows: [0, 1, 2, 3, 4], transform: .quantile)
        XCTAssertEqual(scaler.quantiles?.knots, [[1, 2, 3, 4, 5], [10, 10, 20, 30]])
        XCTAssertEqual(scaler.fillValues, [3, 20])
        let out = scaler.scale(values: [3, .nan])
        XCTAssertEqual(out[0], 0, accuracy: 1e-7)
        // The missing b becomes the median knot 20: position 2 of 4, p = 2.5 / 4.
        XCTAssertEqual(out[1], Float(QuantileMap.inverseNormalCDF(0.625)), accuracy: 1e-6)
        // The scaler (with its map) survives JSON, as it is stored in a model.
        let copy = try JSONDecoder().decode(Scaler.self, from: try JSONEncoder().encode(scaler))
        XCTAssertEqual(copy, scaler)
    }
}
