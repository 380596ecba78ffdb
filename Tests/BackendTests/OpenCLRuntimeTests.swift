@testable import Backend
import TestSupport
import XCTest

/// The OpenCL runtime: listing, selection, errors, offsets and the program cache.
final class OpenCLRuntimeTests: XCTestCase {
    func testErrorNames() {
        XCTAssertEqual(openCLErrorName(-5), "CL_OUT_OF_RESOURCES")
        XCTAssertEqual(openCLErrorName(-11), "CL_BUILD_PROGRAM_FAILURE")
        XCTAssertEqual(openCLErrorName(-9999), "CL_UNKNOWN_ERROR")
    }

    func testListingAndSelection() throws {
        let backend = try openCLOrSkip()
        let devices = try OpenCLDevices.all()
        XCTAssertEqual(devices.map(\.index), Array(devices.indices))
        XCTAssert(devices.allSatisfy { !$0.name.isEmpty && $0.computeUnits > 0 && $0.globalMemoryBytes > 0 })
        XCTAssertEqual(try OpenCLDevices.select("0").name, devices[0].name)
        let part = String(devices[0].name.prefix(5)).uppercased()
        XCTAssertEqual(try OpenCLDevices.select(part).name, devices[0].name)
        XCTAssertEqual(backend.name, "opencl")
        for bad in ["\(devices.count)", "no-such-device-xyz"] {
            XCTAssertThrowsError(try OpenCLBackend(device: bad)) { error in
                guard case BackendError.noDevice(let message) = error else { return XCTFail("\(error)") }
                XCTAssert(message.contains("--backend cpu"), message)
            }
        }
    }

    func testForeignTensorsAndShapeErrorsMatchCPU() throws {
        let cl = try openCLOrSkip()
        let cpu = CPUBackend()
        let cpuTensor = try cpu.makeTensor([2, 2])
        XCTAssertThrowsError(try cl.download(cpuTensor)) { error in
            XCTAssertEqual(error as? BackendError, .foreignTensor(op: "download", backend: "opencl"))
        }
        func shapeError(_ b: Backend) -> BackendError? {
            do {
                try b.gemm(try b.makeTensor([2, 3]), transposeA: false, try b.makeTensor([4, 2]), transposeB: false,
                           into: try b.makeTensor([2, 2]), alpha: 1, beta: 0)
                return nil
            } catch { return error as? BackendError }
        }
        XCTAssertNotNil(shapeError(cl))
        XCTAssertEqual(shapeError(cl), shapeError(cpu))
    }

    /// A buffer beyond the device's largest allocation is refused with the sizes in MiB; a tensor
    /// past it is refused by whichever limit comes first (PoCL's CPU device allows 2^33 bytes and
    /// more, so there the 2^31 - 1 element limit answers), and both errors say how much.
    func testAllocationFailureSaysHowMuch() throws {
        let cl = try openCLOrSkip()
        let limit = cl.device.maxAllocationBytes
        XCTAssertThrowsError(try cl.cl.buffer(bytes: limit + 1024)) { error in
            guard case BackendError.outOfMemory(let asked, let available, let detail) = error else { return XCTFail("\(error)") }
            XCTAssertGreaterThan(asked, available)
            XCTAssert(detail.contains("MiB"), detail)
            XCTAssert("\(error)".contains("MiB"), "\(error)")
        }
        let huge = limit / 4 + 1024
        XCTAssertThrowsError(try cl.makeTensor([huge])) { error in
            switch error {
            case BackendError.outOfMemory(let asked, let available, let detail):
                XCTAssertGreaterThan(asked, available)
                XCTAssert(detail.contains("MiB"), detail)
            case BackendError.invalidArgument(_, let detail):
                XCTAssert(detail.contains("\(huge) elements") && detail.contains("at most"), detail)
            default:
                XCTFail("\(error)")
            }
        }
    }

    func testBuildFailureCarriesLog() throws {
        let cl = try openCLOrSkip()
        XCTAssertThrowsError(try cl.cl.program(source: "__kernel void broken(__global float* x) { x[0] = undefined_name; }",
                                                options: "", label: "broken.cl")) { error in
            guard case BackendError.buildFailed(let program, _, let log) = error else { return XCTFail("\(error)") }
            XCTAssert(program.contains("broken.cl"))
            XCTAssert(log.contains("undefined_name"), log)
        }
    }

    func testProgramsAreCached() throws {
        let cl = try openCLOrSkip()
        let a = try cl.kernel("elementwise", "relu_forward")
        let b = try cl.kernel("elementwise", "relu_forward")
        XCTAssert(a === b)
        let p1 = try cl.cl.program(source: "__kernel void k(__global float* x) { x[0] = 1; }", options: "", label: "k")
        let p2 = try cl.cl.program(source: "__kernel void k(__global float* x) { x[0] = 1; }", options: "", label: "k")
        XCTAssert(p1 === p2)
    }

    func testViewsUploadDownloadFillCopy() throws {
        let cl = try openCLOrSkip()
        let t = try TestSupport.makeTensor(cl, [4, 3], (0..<12).map(Float.init))
        let middle = try t.rows(1..<3)
        XCTAssertEqual(try cl.download(middle), [3, 4, 5, 6, 7, 8])
        try cl.fill(try t.rows(0..<1), with: -1)
        try cl.copy(try t.rows(3..<4), to: try t.rows(2..<3))
        XCTAssertEqual(try cl.download(t), [-1, -1, -1, 3, 4, 5, 9, 10, 11, 9, 10, 11])
        XCTAssertEqual(try cl.download(try cl.makeTensor([5])), [0, 0, 0, 0, 0])
    }
}
