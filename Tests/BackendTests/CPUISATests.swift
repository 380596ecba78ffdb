@testable import Backend
import CKernels
import Foundation
import XCTest

/// GPU_TRAIN_CPU_ISA: parsed strictly, and honoured by every kernel's dispatch. `make test` runs
/// the ISA-sensitive tests a second time with GPU_TRAIN_CPU_ISA=avx2, where these check the force.
final class CPUISATests: XCTestCase {
    func testValuesAreParsedStrictly() {
        let portable = Int32(GT_ISA_PORTABLE), avx2 = Int32(GT_ISA_AVX2), avx512 = Int32(GT_ISA_AVX512)
        XCTAssertEqual(gt_isa_parse_limit(nil), avx512)
        XCTAssertEqual(gt_isa_parse_limit(""), avx512)
        XCTAssertEqual(gt_isa_parse_limit("avx512"), avx512)
        XCTAssertEqual(gt_isa_parse_limit("AVX2"), avx2)
        XCTAssertEqual(gt_isa_parse_limit("Portable"), portable)
        for bad in ["avx-2", "sse", "avx2 ", "1", "none"] { XCTAssertEqual(gt_isa_parse_limit(bad), -1, bad) }
    }

    func testTheEnvironmentIsHonoured() {
        let value = ProcessInfo.processInfo.environment[CPUISA.variable]
        let limit = gt_isa_parse_limit(value)
        let hardware = gt_hardware_isa()
        if limit < 0 {
            // Unrecognised: nothing is limited, and the error says what was wrong.
            XCTAssertEqual(gt_best_isa(), hardware)
            XCTAssert("\(CPUISA.environmentError.map { "\($0)" } ?? "")".contains(value ?? "?"))
            return
        }
        XCTAssertNil(CPUISA.environmentError)
        XCTAssertEqual(gt_best_isa(), min(hardware, limit), "\(CPUISA.variable)=\(value ?? "")")
        XCTAssertEqual(CPUBackend().convolutionISA, min(hardware, limit))
        for level in [GT_ISA_PORTABLE, GT_ISA_AVX2, GT_ISA_AVX512].map(Int32.init) {
            XCTAssertEqual(gt_isa_supported(level) != 0, level <= min(hardware, limit), "level \(level)")
        }
        XCTAssertEqual(gt_has_avx512() != 0, min(hardware, limit) >= GT_ISA_AVX512)
        if limit < hardware {
            XCTAssert(CPUISA.description.contains("forced by \(CPUISA.variable)"), CPUISA.description)
            print("CPU kernels forced to \(CPUConvolution.isaName(limit)) on a CPU that runs \(CPUConvolution.isaName(hardware))")
        }
    }
}
