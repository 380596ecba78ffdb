@testable import Backend
import TestSupport
import XCTest

/// Opens the default OpenCL device, or skips the test with a message when there is none.
/// `tuning` forces a variant (nil: the table's entry for the device).
func openCLOrSkip(tuning: OpenCLTuning? = nil) throws -> OpenCLBackend {
    let devices = (try? OpenCLDevices.all()) ?? []
    try XCTSkipIf(devices.isEmpty, "no OpenCL platform or device (install pocl-opencl-icd); OpenCL tests skipped")
    return try OpenCLBackend(tuning: tuning)
}

/// Runs `cases` on `candidate` and the CPU oracle and fails once per mismatching case.
func checkConformance(_ cases: [ConformanceCase], candidate: Backend, label: String,
                      file: StaticString = #filePath, line: UInt = #line) {
    // The im2col + SGEMM path: the oracle the CPU's own direct kernels are tested against too.
    let reference = CPUBackend(convolution: .im2col, neighborSearch: .direct)
    for c in cases {
        do {
            let comparison = try c.check(candidate: candidate, reference: reference)
            XCTAssert(comparison.passed, "\(label): \(c.op) \(c.shape): \(comparison)", file: file, line: line)
        } catch {
            XCTFail("\(label): \(c.op) \(c.shape) threw \(error)", file: file, line: line)
        }
    }
}

/// Every op on the OpenCL backend against the CPU backend (on PoCL's CPU device in CI).
final class ConformanceTests: XCTestCase {
    func cases(_ prefix: String) -> [ConformanceCase] {
        OpConformance.cases().filter { $0.op.hasPrefix(prefix) }
    }

    func testConvolution() throws {
        checkConformance(cases("conv2d"), candidate: try openCLOrSkip(), label: "default style")
    }

    func testPooling() throws {
        checkConformance(cases("maxPool"), candidate: try openCLOrSkip(), label: "default style")
    }

    func testGemmAndBias() throws {
        let backend = try openCLOrSkip()
        checkConformance(cases("gemm") + cases("addBias") + cases("biasGradient"), candidate: backend, label: backend.tuning.entry)
    }

    func testElementwise() throws {
        let backend = try openCLOrSkip()
        checkConformance(cases("relu") + cases("sigmoid") + cases("absDifference"), candidate: backend, label: "default style")
    }

    func testLossesAndAdam() throws {
        let backend = try openCLOrSkip()
        checkConformance(cases("binaryCrossEntropy") + cases("contrastive") + cases("adam"), candidate: backend, label: "default style")
    }

    /// The CPU entry of the table when the device took another (on a GPU), so that
    /// gemm_registers and the im2col convolutions stay checked there too. (On PoCL the GPU
    /// variants are checked, shape by shape, in OpenCLTiledTests.)
    func testOtherTableEntry() throws {
        let preferred = try openCLOrSkip()
        let other = preferred.tuning.gemm == .registers ? OpenCLTuning.gpu : OpenCLTuning.cpu
        let backend = try OpenCLBackend(tuning: other)
        // Two convolutions: one with 65 output channels (past a 64 tile), one of the network's layers.
        let convs = cases("conv2d").filter { $0.shape.hasPrefix("N5 Ci3 Co65") || $0.shape.hasPrefix("N2 Ci128 Co256") }
        checkConformance(cases("gemm") + convs, candidate: backend, label: other.entry)
    }

    /// The CPU backend against itself: the harness is deterministic and every case runs.
    func testCasesAreDeterministic() throws {
        let cpu = CPUBackend()
        for c in OpConformance.cases().prefix(8) {
            XCTAssertEqual(try c.outputs(on: cpu), try c.outputs(on: cpu), "\(c.op) \(c.shape)")
        }
    }
}
