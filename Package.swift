// swift-tools-version:6.0
import PackageDescription

// MARK: - Products

let products: [Product] = [
    .executable(name: "gpu-train", targets: ["gpu-train"]),
    .library(name: "Backend", targets: ["Backend"]),
    .library(name: "Siamese", targets: ["Siamese"]),
    .library(name: "Detection", targets: ["Detection"]),
    .library(name: "FlowData", targets: ["FlowData"]),
    .library(name: "Reporting", targets: ["Reporting"]),
    .library(name: "FlowMeter", targets: ["FlowMeter"]),
]

// MARK: - Dependencies

let dependencies: [Package.Dependency] = [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // Prometheus text exposition (detect --metrics-listen) and a small HTTP server to serve it.
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    .package(url: "https://github.com/swhitty/FlyingFox", from: "0.27.1"),
]

// MARK: - System libraries

let systemLibraries: [Target] = [
    // OpenCL through the ocl-icd loader; headers from opencl-headers.
    .systemLibrary(name: "COpenCL", path: "Sources/COpenCL",
                   providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
    // OpenBLAS's cblas.h and libopenblas.
    .systemLibrary(name: "CBLAS", path: "Sources/CBLAS",
                   providers: [.apt(["libopenblas-dev"])]),
    // libpcap: pcap and pcapng files and live capture for the flow meter.
    .systemLibrary(name: "CPcap", path: "Sources/CPcap",
                   providers: [.apt(["libpcap-dev"])]),
]

// MARK: - Modules

// Release builds use SwiftPM's default -O with whole-module optimisation: bounds and overflow
// checks stay on (a package with unsafe flags cannot be used as a dependency, and -Ounchecked
// turned bad sizes into crashes and silent wrong results). The few measured hot loops that
// need checks off do it locally with unsafe buffer pointers; the heavy arithmetic is in C.

let modules: [Target] = [
    // Dependency-free helpers every module shares: AtomicFile, SeededGenerator, CPUInfo.
    .target(name: "Common", path: "Sources/Common"),
    // kernels/*.cl inside the binary: the EmbedKernels plugin runs embed-kernels on them at build time.
    .target(name: "Kernels", path: "Sources/Kernels", plugins: ["EmbedKernels"]),
    // C kernels with run-time AVX-512 dispatch for what Swift's portable codegen does slowly.
    .target(name: "CKernels", path: "Sources/CKernels"),
    .target(name: "Backend", dependencies: ["COpenCL", "CBLAS", "Kernels", "CKernels", "Common"],
            path: "Sources/Backend"),
    .target(name: "FlowData", dependencies: ["Common"], path: "Sources/FlowData"),
    .target(name: "Reporting", dependencies: ["Common"], path: "Sources/Reporting"),
    // Packets (pcap and pcapng files, live interfaces) to bidirectional CICFlowMeter flows; knows no model.
    .target(name: "FlowMeter", dependencies: ["CPcap", "Common", "FlowData"], path: "Sources/FlowMeter"),
    // The Siamese network, its layers and losses, pair sampling and the epoch loop.
    .target(name: "Siamese", dependencies: ["Backend", "FlowData", "Reporting"],
            path: "Sources/Siamese"),
    // The detector: recipes, the baseline bank and its periods, calibration, scoring, incidents,
    // cross-validation, model files, updates.
    .target(name: "Detection", dependencies: ["Backend", "Common", "FlowData", "Reporting", "Siamese"],
            path: "Sources/Detection"),
    // The benchmark harness behind `gpu-train bench`: peak probe, per-op and end-to-end timings, JSON.
    .target(name: "Bench", dependencies: ["Backend", "CKernels", "Common", "FlowData", "FlowMeter", "Siamese", "Reporting"],
            path: "Sources/Bench"),
    // What detect shows an operator's stack: Prometheus metrics served over HTTP.
    .target(name: "Operations", dependencies: ["Detection", "FlowData",
                                               .product(name: "Prometheus", package: "swift-prometheus"),
                                               .product(name: "FlyingFox", package: "FlyingFox")],
            path: "Sources/Operations"),
    .executableTarget(name: "gpu-train",
                      dependencies: ["Backend", "Bench", "Common", "Detection", "FlowData", "FlowMeter", "Operations", "Siamese", "Reporting",
                                     .product(name: "ArgumentParser", package: "swift-argument-parser")],
                      path: "Sources/gpu-train"),
]

// MARK: - Build tools

let buildTools: [Target] = [
    // Writes kernels/*.cl as a Swift source (KernelSources.embedded); needs only the C library.
    .executableTarget(name: "embed-kernels", path: "Sources/embed-kernels"),
    .plugin(name: "EmbedKernels", capability: .buildTool(), dependencies: ["embed-kernels"],
            path: "Plugins/EmbedKernels"),
]

// MARK: - Tests

let tests: [Target] = [
    .target(name: "TestSupport", dependencies: ["Backend"], path: "Sources/TestSupport"),
    .testTarget(name: "KernelsTests", dependencies: ["Kernels"], path: "Tests/KernelsTests"),
    .testTarget(name: "CommonTests", dependencies: ["Common"], path: "Tests/CommonTests"),
    .testTarget(name: "OperationsTests", dependencies: ["Operations", "Detection", "FlowData", "Siamese", "TestSupport",
                                                     .product(name: "FlyingFox", package: "FlyingFox")], path: "Tests/OperationsTests"),
    .testTarget(name: "BackendTests", dependencies: ["Backend", "CKernels", "TestSupport"], path: "Tests/BackendTests"),
    .testTarget(name: "FlowDataTests", dependencies: ["FlowData", "TestSupport"], path: "Tests/FlowDataTests",
                exclude: ["Fixtures"]),
    .testTarget(name: "SiameseTests", dependencies: ["Siamese", "Backend", "FlowData", "TestSupport"],
                path: "Tests/SiameseTests", exclude: ["Fixtures"]),
    .testTarget(name: "DetectionTests", dependencies: ["Detection", "Siamese", "Backend", "Common", "FlowData", "Reporting", "TestSupport"],
                path: "Tests/DetectionTests"),
    .testTarget(name: "BenchTests", dependencies: ["Bench", "Backend", "CKernels", "Siamese", "TestSupport"],
                path: "Tests/BenchTests"),
    .testTarget(name: "ReportingTests", dependencies: ["Reporting", "TestSupport"], path: "Tests/ReportingTests"),
    .testTarget(name: "FlowMeterTests", dependencies: ["FlowMeter", "TestSupport"], path: "Tests/FlowMeterTests"),
    .testTarget(name: "CLITests", dependencies: ["FlowData", "TestSupport"], path: "Tests/CLITests",
                exclude: ["Fixtures"]),
]

// MARK: - Package

let package = Package(
    name: "gpu-train",
    platforms: [.macOS(.v13)],
    products: products,
    dependencies: dependencies,
    targets: systemLibraries + buildTools + modules + tests,
    swiftLanguageModes: [.v5]
)
