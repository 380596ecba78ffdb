// `gpu-train bench`'s detector path: nearest-neighbour scoring flows/s against banks of several
// sizes on each backend, and the quantile transform's rows/s.
import Backend
import Common
import FlowData
import Reporting
import Foundation

/// What the detector part of a bench run measures.
public struct DetectorBenchSettings: Sendable, Equatable {
    /// Bank flows per measurement.
    public var bankSizes: [Int]
    /// Query flows scored per timed run, at most (fewer for large banks: `queries(bank:pairs:)`).
    public var queries: Int
    public var features = 19
    /// The detector's defaults: the nearest flow, each feature's difference clipped at 1.
    public var k = 1
    public var clip: Float = 1
    /// Query x bank pairs per timed run of the CPU's fast search and of FAISS in the reference.
    public var fastPairs = 10_000_000_000
    /// Query x bank pairs per timed run of the direct scan, the OpenCL backend and scikit-learn: the
    /// 1M bank with 100k queries would take minutes per run on them.
    public var slowPairs = 1_000_000_000
    public var minimumQueries = 1_000
    /// Raw rows the quantile transform maps per timed run.
    public var quantileRows = 200_000
    public var repeats: Int
    public var minimumSampleSeconds: Double

    public static let standardBankSizes = [20_000, 100_000, 1_000_000]

    /// The issue's sizes: banks of 20k, 100k and 1M flows, up to 100k queries.
    public static func standard(repeats: Int = 5, bankSizes: [Int] = standardBankSizes, queries: Int = 100_000) -> DetectorBenchSettings {
        DetectorBenchSettings(bankSizes: bankSizes, queries: queries, repeats: repeats, minimumSampleSeconds: 0.05)
    }

    /// Tiny sizes, for tests (the figures mean nothing).
    public static func quick(repeats: Int = 1, bankSizes: [Int] = [800, 3000], queries: Int = 300) -> DetectorBenchSettings {
        var s = DetectorBenchSettings(bankSizes: bankSizes, queries: queries, repeats: repeats, minimumSampleSeconds: 0.001)
        s.fastPairs = 600_000
        s.slowPairs = 200_000
        s.minimumQueries = 50
        s.quantileRows = 2_000
        return s
    }

    /// Queries per timed run against `bank` flows within a budget of `pairs` (query x bank pairs).
    public func queries(bank: Int, pairs: Int) -> Int {
        min(queries, max(min(queries, minimumQueries), pairs / max(bank, 1)))
    }

    /// Bank sizes from "20000,100000,1000000": positive integers, no repeats.
    public static func parseBankSizes(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        var sizes: [Int] = []
        for p in parts {
            guard let n = Int(p), n > 0, n <= NeighborGeometry.maxBankRows else {
                throw BackendError.invalidArgument(op: "--bank-sizes",
                                                   detail: "'\(p)' is not a bank size (a whole number of flows from 1 to \(NeighborGeometry.maxBankRows))")
            }
            guard !sizes.contains(n) else { throw BackendError.invalidArgument(op: "--bank-sizes", detail: "\(n) is given twice") }
            sizes.append(n)
        }
        return sizes
    }
}

/// Synthetic transformed flows: what the quantile transform makes of a cluster's traffic. Each
/// cluster (a service's typical flows) has a centre of standard normal values and a spread of its
/// own (0.01 to 0.15, log-uniform); a third of the features are discrete in real exports (protocol,
/// flag counts), so within a cluster they keep the centre's value exactly; cluster sizes follow a
/// Zipf law (a few services carry most flows); every value stays within the transform's range
/// (+-3.7). Queries come from the same clusters, except one in `anomalyEvery`, drawn far from all of
/// them (N(0, 2^2) per feature): the flows a detector exists for, and the ones its fast search scans directly.
public struct FlowMixture: Sendable {
    public static let clusters = 200
    public static let range: Float = 3.7
    public let features: Int
    let centres: [Float], spreads: [Float], cumulative: [Double], discrete: [Bool]

    public init(features: Int, seed: UInt64 = 42) {
        var rng = SeededGenerator(seed: seed)
        self.features = features
        centres = (0..<Self.clusters * features).map { _ in rng.normal() }
        spreads = (0..<Self.clusters).map { _ in Float(exp(log(0.01) + Double(rng.uniform(0, 1)) * (log(0.15) - log(0.01)))) }
        discrete = (0..<features).map { $0 % 3 == 2 }
        let weights = (1...Self.clusters).map { 1 / Double($0) }
        let total = weights.reduce(0, +)
        var running = 0.0
        cumulative = weights.map { running += $0 / total; return running }
    }

    /// `count` rows (row-major, `features` wide) drawn with `seed`; one in `anomalyEvery` far from
    /// every cluster (none when nil).
    public func sample(_ count: Int, seed: UInt64, anomalyEvery: Int? = nil) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        var out = [Float](repeating: 0, count: count * features)
        for r in 0..<count {
            let base = r * features
            if let every = anomalyEvery, r % every == every - 1 {
                for j in 0..<features { out[base + j] = min(max(2 * rng.normal(), -Self.range), Self.range) }
                continue
            }
            let u = Double(rng.uniform(0, 1))
            var lo = 0, hi = Self.clusters - 1
            while lo < hi { let mid = (lo + hi) / 2; if cumulative[mid] < u { lo = mid + 1 } else { hi = mid } }
            let c = lo
            for j in 0..<features {
                let centre = centres[c * features + j]
                let v = discrete[j] ? centre : centre + spreads[c] * rng.normal()
                out[base + j] = min(max(v, -Self.range), Self.range)
            }
        }
        return out
    }
}

/// One scoring figure: a backend and method searching one bank.
public struct DetectorRate: Codable, Equatable, Sendable {
    /// "cpu" (the default fast search), "cpu-direct" (the oracle) or "opencl".
    public var method: String
    public var device: String
    /// The per-feature clip, or nil for the Euclidean distance.
    public var clip: Double?
    public var bank: Int
    public var queries: Int
    /// Query flows scored per second at the median, slowest and fastest sample.
    public var flowsPerS: Double
    public var flowsPerSMin: Double
    public var flowsPerSMax: Double
    public var ms: Double
    /// 2 x features x bank x queries per second (the GEMM form's arithmetic).
    public var gflops: Double
    /// The fast search's share of queries proved from their candidates (the rest scanned directly); nil for other methods.
    public var provedShare: Double?

    enum CodingKeys: String, CodingKey {
        case method, device, clip, bank, queries, flowsPerS = "flows_per_s", flowsPerSMin = "flows_per_s_min",
             flowsPerSMax = "flows_per_s_max", ms, gflops, provedShare = "proved_share"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(method, forKey: .method); try c.encode(device, forKey: .device); try c.encode(clip, forKey: .clip)
        try c.encode(bank, forKey: .bank); try c.encode(queries, forKey: .queries); try c.encode(flowsPerS, forKey: .flowsPerS)
        try c.encode(flowsPerSMin, forKey: .flowsPerSMin); try c.encode(flowsPerSMax, forKey: .flowsPerSMax)
        try c.encode(ms, forKey: .ms); try c.encode(gflops, forKey: .gflops); try c.encode(provedShare, forKey: .provedShare)
    }
}

/// The detector part of a bench run.
public struct DetectorBenchmark: Codable, Equatable, Sendable {
    public var features: Int
    public var k: Int
    /// The detector's clip (the headline figures use it).
    public var clip: Double
    public var bankSizes: [Int]
    /// The --detector-queries cap.
    public var queries: Int
    public var data: String
    public var rates: [DetectorRate]
    /// Headline: the CPU's default search with the detector's clip, flows/s keyed by bank size.
    public var flowsPerS: [String: Double]
    /// The CPU's default search without the clip (what the references compute), keyed by bank size.
    public var flowsPerSEuclidean: [String: Double]
    public var flowsPerSDirect: [String: Double]
    public var flowsPerSOpenCL: [String: Double]
    /// Raw rows per second through `Scaler.scale` with the quantile transform (one thread).
    public var quantileRowsPerS: Double
    public var quantileRows: Int
    public var note: String

    enum CodingKeys: String, CodingKey {
        case features, k, clip, bankSizes = "bank_sizes", queries, data, rates, flowsPerS = "flows_per_s",
             flowsPerSEuclidean = "flows_per_s_euclidean", flowsPerSDirect = "flows_per_s_direct",
             flowsPerSOpenCL = "flows_per_s_opencl", quantileRowsPerS = "quantile_rows_per_s", quantileRows = "quantile_rows", note
    }
}

extension Benchmark {
    /// The seeds of the bank (per size) and of the queries: `writeDetectorData` writes the same rows.
    static let bankSeed: UInt64 = 1_000, querySeed: UInt64 = 2_000
    /// One query in this many is an anomaly (far from every cluster).
    public static let anomalyEvery = 100

    public static func detectorBank(_ settings: DetectorBenchSettings, mixture: FlowMixture, size: Int) -> [Float] {
        mixture.sample(size, seed: bankSeed + UInt64(size))
    }

    public static func detectorQueries(_ settings: DetectorBenchSettings, mixture: FlowMixture) -> [Float] {
        mixture.sample(settings.queries, seed: querySeed, anomalyEvery: anomalyEvery)
    }

    /// Scoring flows/s of every bank size on each backend, and the quantile transform's rows/s.
    public static func detector(backends: [Backend], settings s: DetectorBenchSettings,
                                progress: (String) -> Void = { _ in }) throws -> DetectorBenchmark {
        let mixture = FlowMixture(features: s.features)
        let allQueries = detectorQueries(s, mixture: mixture)
        var rates: [DetectorRate] = []
        for size in s.bankSizes {
            let bankValues = detectorBank(s, mixture: mixture, size: size)
            for backend in backends {
                let bank = try backend.makeTensor([size, s.features])
                try backend.upload(bankValues, to: bank)
                let k = min(s.k, size)
                func measure(_ method: String, clip: Float, pairs: Int,
                             _ search: (Tensor, Tensor, Tensor) throws -> NeighborSearchCounts?) throws {
                    let n = s.queries(bank: size, pairs: pairs)
                    progress("detector: \(method) clip \(clip.isFinite ? "\(clip)" : "none"), bank \(size), \(n) queries")
                    let values = Array(allQueries.prefix(n * s.features))
                    let queries = try backend.makeTensor([n, s.features])
                    let distances = try backend.makeTensor([n, k]), indices = try backend.makeTensor([n, k])
                    var counts: NeighborSearchCounts?
                    let t = try time(repeats: s.repeats, minimumSeconds: s.minimumSampleSeconds, backend: backend) {
                        try backend.upload(values, to: queries)
                        counts = try search(queries, distances, indices)
                        _ = try backend.download(distances)
                    }
                    let q = Double(n)
                    rates.append(DetectorRate(method: method, device: backend.deviceDescription, clip: clip.isFinite ? Double(clip) : nil,
                                              bank: size, queries: n, flowsPerS: q / t.wall.median, flowsPerSMin: q / t.wall.max,
                                              flowsPerSMax: q / t.wall.min, ms: t.wall.median * 1e3,
                                              gflops: 2 * Double(s.features) * Double(size) * q / t.wall.median / 1e9,
                                              provedShare: counts.map { Double($0.certified) / Double(max($0.queries, 1)) }))
                }
                if let cpu = backend as? CPUBackend {
                    for clip in [s.clip, .infinity] {
                        try measure("cpu", clip: clip, pairs: s.fastPairs) { q, d, i in
                            try cpu.nearestNeighborsFast(queries: q, bank: bank, k: k, clip: clip, distances: d, indices: i)
                        }
                    }
                    try measure("cpu-direct", clip: s.clip, pairs: s.slowPairs) { q, d, i in
                        try cpu.nearestNeighborsDirect(queries: q, bank: bank, k: k, clip: s.clip, distances: d, indices: i)
                        return nil
                    }
                } else {
                    for clip in [s.clip, .infinity] {
                        try measure(backend.name, clip: clip, pairs: s.slowPairs) { q, d, i in
                            try backend.nearestNeighbors(queries: q, bank: bank, k: k, clip: clip, distances: d, indices: i)
                            return nil
                        }
                    }
                }
            }
        }
        progress("detector: quantile transform")
        let quantile = try quantileTransform(s)
        func figures(_ method: String, clipped: Bool) -> [String: Double] {
            Dictionary(rates.filter { $0.method == method && ($0.clip != nil) == clipped }.map { (String($0.bank), $0.flowsPerS) },
                       uniquingKeysWith: { a, _ in a })
        }
        let note = "flows/s = query flows scored per second (upload, k-nearest search, download), k = \(s.k), " +
            "\(s.features) features; queries per run capped by \(s.fastPairs) query x bank pairs for the CPU's fast search " +
            "and \(s.slowPairs) for the direct scan and OpenCL (fewer queries on large banks: see each rate's queries)."
        return DetectorBenchmark(features: s.features, k: s.k, clip: Double(s.clip), bankSizes: s.bankSizes, queries: s.queries,
                                 data: "FlowMixture: \(FlowMixture.clusters) Zipf-sized clusters of quantile-transformed-like flows, " +
                                    "1 query in \(anomalyEvery) an anomaly",
                                 rates: rates, flowsPerS: figures("cpu", clipped: true), flowsPerSEuclidean: figures("cpu", clipped: false),
                                 flowsPerSDirect: figures("cpu-direct", clipped: true),
                                 flowsPerSOpenCL: figures("opencl", clipped: true),
                                 quantileRowsPerS: quantile, quantileRows: s.quantileRows, note: note)
    }

    /// Rows/s of `Scaler.scale` with a quantile map fitted on heavy-tailed raw columns (as flow
    /// statistics are: byte counts, durations), 1000 knots per feature, one thread.
    static func quantileTransform(_ s: DetectorBenchSettings) throws -> Double {
        var rng = SeededGenerator(seed: 7)
        let f = s.features, rows = s.quantileRows
        let raw = (0..<rows * f).map { i -> Float in
            // Every fifth feature takes few distinct values (ties in the map); the rest are log-normal.
            i % 5 == 4 ? Float(Int(rng.uniform(0, 6))) : Float(exp(2 * Double(rng.normal())))
        }
        let columns = (0..<f).map { j in stride(from: j, to: raw.count, by: f).map { raw[$0] } }
        let scaler = Scaler(featureNames: (0..<f).map { "f\($0)" }, transform: .quantile, fillValues: [Float](repeating: 0, count: f),
                            means: [Float](repeating: 0, count: f), stds: [Float](repeating: 1, count: f),
                            quantiles: QuantileMap.fit(columns: columns))
        var out = [Float](repeating: 0, count: raw.count)
        let t = try time(repeats: s.repeats, minimumSeconds: s.minimumSampleSeconds, backend: nil) {
            raw.withUnsafeBufferPointer { src in out.withUnsafeMutableBufferPointer { scaler.scale(raw: src, into: $0) } }
        }
        return Double(rows) / t.wall.median
    }

    /// Writes the bank of each size (bank_<N>.npy, float32 [N, features]), the queries
    /// (queries.npy) and manifest.json (sizes, query counts per run, k, clip) for
    /// bench/reference/knn_bench.py, which searches the same rows.
    public static func writeDetectorData(_ s: DetectorBenchSettings, to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let mixture = FlowMixture(features: s.features)
        try AtomicFile.write(NPY.encode(float32: detectorQueries(s, mixture: mixture), shape: [s.queries, s.features]),
                             to: folder.appendingPathComponent("queries.npy"))
        var banks: [[String: Any]] = []
        for size in s.bankSizes {
            let name = "bank_\(size).npy"
            try AtomicFile.write(NPY.encode(float32: detectorBank(s, mixture: mixture, size: size), shape: [size, s.features]),
                                 to: folder.appendingPathComponent(name))
            banks.append(["size": size, "file": name, "fast_queries": s.queries(bank: size, pairs: s.fastPairs),
                          "slow_queries": s.queries(bank: size, pairs: s.slowPairs)])
        }
        let manifest: [String: Any] = ["features": s.features, "k": s.k, "clip": Double(s.clip), "queries_file": "queries.npy",
                                       "queries": s.queries, "banks": banks, "repeats": s.repeats]
        try AtomicFile.write(try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]),
                             to: folder.appendingPathComponent("manifest.json"))
    }
}

extension DetectorBenchmark {
    /// The table `gpu-train bench` prints.
    public var text: String {
        var out = "\n== detector: nearest-neighbour scoring (\(data))\n"
        let rows = rates.map { r -> [String] in
            [r.method, r.clip.map { String(format: "%g", $0) } ?? "none", String(r.bank), String(r.queries),
             String(format: "%.0f", r.flowsPerS), String(format: "%.0f", r.flowsPerSMin), String(format: "%.0f", r.flowsPerSMax),
             String(format: "%.1f", r.gflops), r.provedShare.map { String(format: "%.1f%%", 100 * $0) } ?? "-"]
        }
        out += TextTable.render(header: ["method", "clip", "bank", "queries", "flows/s med", "min", "max", "GFLOP/s", "proved"], rows: rows)
        out += note + "\n"
        out += "proved = share of queries the fast search proved from its GEMM-form candidates (the rest were scanned directly).\n"
        out += String(format: "quantile transform: %.0f rows/s (%d rows of %d features, one thread, median)\n",
                      quantileRowsPerS, quantileRows, features)
        return out
    }
}
