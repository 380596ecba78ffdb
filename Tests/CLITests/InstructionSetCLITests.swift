import Foundation
import XCTest

/// GPU_TRAIN_CPU_ISA forces the C kernels' instruction set in a real run; a bad value is refused.
extension CLITests {
    func testTheInstructionSetSwitchIsHonouredAndCheckedByCommands() throws {
        let flags = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let hasAVX2 = flags.contains("avx2") && flags.contains("fma")
        let portable = try runGPUTrain(["devices"], environment: ["GPU_TRAIN_CPU_ISA": "portable"])
        XCTAssertEqual(portable.status, 0, portable.stderr)
        XCTAssertTrue(portable.stdout.contains("C kernels: portable"), portable.stdout)
        if hasAVX2 {
            XCTAssertTrue(portable.stdout.contains("forced by GPU_TRAIN_CPU_ISA=portable"), portable.stdout)
            let avx2 = try runGPUTrain(["devices"], environment: ["GPU_TRAIN_CPU_ISA": "AVX2"])
            XCTAssertEqual(avx2.status, 0, avx2.stderr)
            XCTAssertTrue(avx2.stdout.contains("C kernels: AVX2+FMA"), avx2.stdout)
        }
        for args in [["devices"], ["detect", "--model", "m", "--input", "-", "--backend", "cpu"]] {
            let bad = try runGPUTrain(args, stdin: Data(), environment: ["GPU_TRAIN_CPU_ISA": "avx-2"])
            XCTAssertNotEqual(bad.status, 0, "\(args)")
            XCTAssertTrue(bad.stderr.contains("GPU_TRAIN_CPU_ISA: 'avx-2' is not avx512, avx2 or portable"), "\(args): \(bad.stderr)")
        }
    }
}
