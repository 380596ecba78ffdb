import Backend
import XCTest

/// Tensor sizes are computed with overflow checks: an absurd shape is an error, never a
/// wrapped count that allocates too little (issue 13, item 1).
final class TensorSizeTests: XCTestCase {
    func testProductReportsOverflowAndNegativeDimensions() {
        XCTAssertEqual(TensorSize.product([3, 4, 5]), 60)
        XCTAssertEqual(TensorSize.product([]), 1)
        XCTAssertNil(TensorSize.product([1 << 62, 4]))
        XCTAssertNil(TensorSize.product([Int.max, 2]))
        XCTAssertNil(TensorSize.product([-1, 2]))
    }

    func testMakeTensorRefusesShapesBeyondTheLimit() {
        let backend = CPUBackend()
        XCTAssertThrowsError(try backend.makeTensor([1 << 62, 4])) { error in
            XCTAssertTrue("\(error)".contains("more elements than an Int can count"), "\(error)")
        }
        XCTAssertThrowsError(try backend.makeTensor([65536, 65536])) { error in
            XCTAssertTrue("\(error)".contains("4294967296 elements"), "\(error)")
        }
        XCTAssertThrowsError(try backend.makeTensor([0, 4])) { error in
            XCTAssertTrue("\(error)".contains("every dimension must be positive"), "\(error)")
        }
        XCTAssertNoThrow(try backend.makeTensor([2, 3]))
    }
}
