@testable import Backend
import Kernels
import XCTest

/// Every kernel file compiles on its own with its default tunables (DESIGN.md), and the one
/// program made of two files, gemm_tiled_conv, builds for every convolution operand mode.
final class KernelFilesTests: XCTestCase {
    func testEveryKernelFileBuildsOnItsOwn() throws {
        let backend = try openCLOrSkip()
        for family in KernelSources.families {
            let source = try XCTUnwrap(KernelSources.source(named: family)?.text, family)
            XCTAssertNoThrow(try backend.cl.program(source: source, options: "-cl-std=CL1.2", label: "\(family).cl"), family)
        }
    }

    func testConvolutionOperandModesNeedTheirFile() throws {
        let backend = try openCLOrSkip()
        let tiled = try XCTUnwrap(KernelSources.source(named: "gemm_tiled")?.text)
        // gemm_tiled.cl alone refuses a convolution mode with a message naming gemm_conv.cl.
        XCTAssertThrowsError(try backend.cl.program(source: tiled, options: "-cl-std=CL1.2 -DOPERANDS=1", label: "gemm_tiled.cl")) { error in
            XCTAssert("\(error)".contains("gemm_conv.cl"), "\(error)")
        }
        let combined = try backend.programSource("gemm_tiled_conv")
        XCTAssertEqual(combined.label, "gemm_conv.cl+gemm_tiled.cl")
        for operands in 1...3 {
            XCTAssertNoThrow(try backend.cl.program(source: combined.text, options: "-cl-std=CL1.2 -DOPERANDS=\(operands)",
                                                    label: combined.label).kernel("gemm_tiled"), "OPERANDS \(operands)")
        }
    }
}
