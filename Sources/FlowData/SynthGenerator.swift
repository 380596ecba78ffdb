import Common
import Foundation

/// Writes a synthetic dataset in exactly the real files' CICFlowMeter format: the same 87-column
/// header with `Label` last, `benign/background_traffic_<time>.pcap_Flow.csv` and
/// `malicious/<scenario>_<time>.pcap_Flow.csv`, plus a README.md saying it is synthetic.
///
/// Each flow is simulated packet by packet (times, directions, payload sizes, TCP flags) and
/// its columns are computed from the packets the way CICFlowMeter does (simplified: no bulk
/// statistics, one subflow), so the columns are consistent with each other. Benign traffic is
/// cluster background (OVN database keep-alives, DNS, health probes, metric scrapes, mDNS
/// single-packet flows, ICMP); five attack scenarios differ in plausible ways; a fifth of each
/// attack file is background traffic captured during the attack, labelled with the scenario
/// id as in the real captures. Deterministic per seed.
public enum SynthGenerator {
    /// The attack scenarios: file name prefix, scenario id (as in the public dataset),
    /// capture time in the file name, and rows per 600 benign flows.
    public static let scenarios: [(name: String, id: Int, time: String, per600: Int)] = [
        ("cve202013379", 1, "20230318T2159", 30),
        ("reconnaissance", 2, "20230319T1704", 80),
        ("rce-reverse-shell", 3, "20230319T1710", 40),
        ("attack-pods", 4, "20230319T1712", 50),
        ("cve202125741", 8, "20230319T1549", 60),
    ]

    /// The header of the real files, 87 columns (the dialect the flow meter writes too).
    public static var header: [String] { FlowDialect.cicflowmeterHeader }

    public static let defaultBenign = 600
    public static let benignFileTime = "20230319T1802"

    /// Rows of scenario `per600` for a dataset with `benign` benign rows (at least 8).
    public static func scenarioCount(per600: Int, benign: Int) -> Int {
        max(8, (per600 * benign + 300) / 600)
    }

    /// The files a dataset consists of, relative to its folder: the benign file, one per scenario,
    /// then README.md.
    public static var fileNames: [String] {
        ["benign/background_traffic_\(benignFileTime).pcap_Flow.csv"]
            + scenarios.map { "malicious/\($0.name)_\($0.time).pcap_Flow.csv" } + ["README.md"]
    }

    /// Writes the dataset under `dir` (created if needed; files replaced atomically). Unless
    /// `force`, a file already there that this run would change (another seed or size, or
    /// someone's own data) is refused before anything is written, naming the files; a file with
    /// exactly the contents it would get is no loss, so running the same command again succeeds.
    public static func write(to dir: URL, benign: Int = defaultBenign, seed: UInt64 = 42, force: Bool = false) throws {
        precondition(benign > 0, "synth: benign must be positive")
        let names = fileNames
        if !force {
            var differing: [String] = []
            for (index, name) in names.enumerated() {
                let url = dir.appendingPathComponent(name)
                var isFolder: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else { continue }
                // Read at most what this file would hold, plus one byte: a larger file differs.
                let expected = Data(contents(ofFile: index, benign: benign, seed: seed).utf8)
                if isFolder.boolValue || (try? readPrefix(url, count: expected.count + 1)) != expected { differing.append(name) }
            }
            if !differing.isEmpty {
                throw FlowDataError.io(path: dir.path, message: "already holds \(differing.joined(separator: ", ")), which synth "
                                       + "would replace with other contents; choose another --out, or pass --force to replace them")
            }
        }
        // A failure (a full disk) takes back what this run added: new files, then new folders.
        let subfolders = [dir.appendingPathComponent("benign"), dir.appendingPathComponent("malicious")]
        let newSubfolders = subfolders.filter { !FileManager.default.fileExists(atPath: $0.path) }
        try OutputFolders.creating(for: dir.appendingPathComponent(names[0])) {
            var added: [URL] = []
            do {
                for (index, name) in names.enumerated() {
                    let url = dir.appendingPathComponent(name)
                    var info = stat()
                    let existed = lstat(url.path, &info) == 0
                    try AtomicFile.write(contents(ofFile: index, benign: benign, seed: seed), to: url)
                    if !existed { added.append(url) }
                }
            } catch {
                for url in added { unlink(url.path) }
                OutputFolders.removeEmpty(newSubfolders.filter { $0.lastPathComponent != "benign" })
                OutputFolders.removeEmpty(newSubfolders.filter { $0.lastPathComponent == "benign" })
                throw error
            }
        }
    }

    /// The contents of `fileNames[index]`.
    static func contents(ofFile index: Int, benign: Int, seed: UInt64) -> String {
        if index == 0 {
            var rng = SeededGenerator(seed: seed ^ 0xB3_7A_11)
            var benignRows: [String] = []
            var clock = Clock(day: "2023-03-19", secondOfDay: 15 * 3600)
            for _ in 0..<benign { benignRows.append(Traffic.background(&rng, &clock).csvRow(label: 0)) }
            return csv(benignRows)
        }
        guard index <= scenarios.count else { return readme(benign: benign, seed: seed) }
        let scenario = scenarios[index - 1]
        var rng = SeededGenerator(seed: seed &+ UInt64(index) &* 0x9E37_79B9_7F4A_7C15)
        let hour = Int(scenario.time.dropFirst(9).prefix(2)) ?? 12
        let minute = Int(scenario.time.dropFirst(11).prefix(2)) ?? 0
        let d = scenario.time.prefix(8)
        var clock = Clock(day: "\(d.prefix(4))-\(d.dropFirst(4).prefix(2))-\(d.suffix(2))",
                          secondOfDay: Double(hour * 3600 + minute * 60))
        var rows: [String] = []
        for _ in 0..<scenarioCount(per600: scenario.per600, benign: benign) {
            // A fifth of an attack capture is background traffic that happened meanwhile.
            let flow = rng.uniform(0, 1) < 0.2 ? Traffic.background(&rng, &clock)
                                                : Traffic.attack(scenario.name, &rng, &clock)
            rows.append(flow.csvRow(label: scenario.id))
        }
        return csv(rows)
    }

    /// Up to `count` bytes from the start of `url`.
    private static func readPrefix(_ url: URL, count: Int) throws -> Data {
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        return try handle.read(upToCount: count) ?? Data()
    }

    static func csv(_ rows: [String]) -> String {
        header.joined(separator: ",") + "\n" + rows.joined(separator: "\n") + "\n"
    }

    static func readme(benign: Int, seed: UInt64) -> String {
        var s = """
        # Synthetic flows (not real traffic)

        Written by `gpu-train synth --benign \(benign) --seed \(seed)`. Every flow here is simulated
        packet by packet and summarised in CICFlowMeter's 87-column CSV format, so that the tools and
        tests can run without the real Kubernetes dataset. Do not report results on these files as
        results on real traffic.

        | file | label | rows |
        |---|---|---|
        | benign/background_traffic_\(benignFileTime).pcap_Flow.csv | 0 | \(benign) |

        """
        for sc in scenarios {
            s += "| malicious/\(sc.name)_\(sc.time).pcap_Flow.csv | \(sc.id) | \(scenarioCount(per600: sc.per600, benign: benign)) |\n"
        }
        s += "\nAbout a fifth of the rows of each malicious file are background traffic captured during the\nattack, labelled with the scenario id as in the real captures.\n"
        return s
    }
}

/// A wall clock for flow start times: a day and seconds since its midnight.
struct Clock {
    var day: String
    var secondOfDay: Double

    mutating func advance(_ rng: inout SeededGenerator, meanSeconds: Double) -> String {
        secondOfDay += Rand.exponential(&rng, mean: meanSeconds)
        let total = Int(secondOfDay)
        let micro = Int((secondOfDay - Double(total)) * 1_000_000)
        let h = (total / 3600) % 24, m = (total / 60) % 60, s = total % 60
        return day + " " + pad(h, 2) + ":" + pad(m, 2) + ":" + pad(s, 2) + "." + pad(micro, 6)
    }

    func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}

enum Rand {
    static func exponential(_ rng: inout SeededGenerator, mean: Double) -> Double {
        -mean * Foundation.log(max(1e-12, Double(rng.uniform(0, 1))))
    }
    static func logNormal(_ rng: inout SeededGenerator, median: Double, sigma: Double) -> Double {
        median * Foundation.exp(sigma * Double(rng.normal()))
    }
    static func int(_ rng: inout SeededGenerator, _ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(rng.next() % UInt64(range.count))
    }
    static func pick<T>(_ rng: inout SeededGenerator, _ items: [T]) -> T { items[int(&rng, 0...(items.count - 1))] }
    static func chance(_ rng: inout SeededGenerator, _ p: Float) -> Bool { rng.uniform(0, 1) < p }
}

/// TCP flag bits as CICFlowMeter counts them.
enum Flag {
    static let fin: UInt8 = 1, syn: UInt8 = 2, rst: UInt8 = 4, psh: UInt8 = 8, ack: UInt8 = 16, urg: UInt8 = 32
}

/// One simulated flow: endpoints and its packets.
struct SynthFlow {
    struct Packet { var time: Double; var forward: Bool; var payload: Int; var flags: UInt8 }

    var srcIP: String, srcPort: Int, dstIP: String, dstPort: Int, proto: Int
    var timestamp: String
    var packets: [Packet] = []
    var fwdWindow = 0, bwdWindow = 0
    var time = 0.0  // microseconds since the first packet

    init(_ srcIP: String, _ srcPort: Int, _ dstIP: String, _ dstPort: Int, proto: Int, timestamp: String) {
        self.srcIP = srcIP; self.srcPort = srcPort; self.dstIP = dstIP; self.dstPort = dstPort
        self.proto = proto; self.timestamp = timestamp
    }

    /// Adds a packet `gap` microseconds after the previous one.
    mutating func add(_ forward: Bool, _ payload: Int, _ flags: UInt8 = Flag.ack, gap: Double = 0) {
        if !packets.isEmpty { time += max(1, gap.rounded()) }
        packets.append(Packet(time: time, forward: forward, payload: payload, flags: flags))
    }

    /// SYN, SYN-ACK, ACK.
    mutating func handshake(_ rng: inout SeededGenerator, rtt: Double) {
        fwdWindow = Rand.pick(&rng, [64240, 65535, 42340, 29200])
        bwdWindow = Rand.pick(&rng, [65160, 64308, 28960, 502, 1083])
        add(true, 0, Flag.syn)
        add(false, 0, Flag.syn | Flag.ack, gap: rtt)
        add(true, 0, Flag.ack, gap: rtt * 0.2)
    }

    /// A request of `request` bytes and a response of `response` bytes in segments of at most `mss`.
    mutating func exchange(_ rng: inout SeededGenerator, request: Int, response: Int, rtt: Double,
                           think: Double, mss: Int = 1448) {
        var left = request
        while left > 0 { let n = min(left, mss); add(true, n, Flag.psh | Flag.ack, gap: rtt * 0.1); left -= n }
        left = response
        var first = true
        while left > 0 {
            let n = min(left, mss)
            add(false, n, Flag.psh | Flag.ack, gap: first ? think : rtt * 0.05)
            first = false
            left -= n
        }
        if response > 0 { add(true, 0, Flag.ack, gap: rtt * 0.5) }
    }

    mutating func close(_ rng: inout SeededGenerator, rtt: Double) {
        add(true, 0, Flag.fin | Flag.ack, gap: rtt)
        add(false, 0, Flag.fin | Flag.ack, gap: rtt)
        add(true, 0, Flag.ack, gap: rtt * 0.2)
    }

    /// The CSV row: the 86 CICFlowMeter columns computed from the packets, then the label.
    func csvRow(label: Int) -> String {
        let fwd = packets.filter(\.forward), bwd = packets.filter { !$0.forward }
        let tcp = proto == 6
        let headerBytes = tcp ? 32 : (proto == 17 ? 8 : 0)
        let duration = (packets.last?.time ?? 0) - (packets.first?.time ?? 0)
        let fwdBytes = Double(fwd.reduce(0) { $0 + $1.payload }), bwdBytes = Double(bwd.reduce(0) { $0 + $1.payload })
        let all = Stats(packets.map { Double($0.payload) })
        let fs = Stats(fwd.map { Double($0.payload) }), bs = Stats(bwd.map { Double($0.payload) })
        func gaps(_ p: [Packet]) -> [Double] { p.count < 2 ? [] : (1..<p.count).map { p[$0].time - p[$0 - 1].time } }
        let flowIAT = Stats(gaps(packets)), fwdIAT = Stats(gaps(fwd)), bwdIAT = Stats(gaps(bwd))
        func count(_ p: [Packet], _ flag: UInt8) -> Int { p.filter { $0.flags & flag != 0 }.count }
        let seconds = duration / 1e6
        var active: [Double] = [], idle: [Double] = []
        if var startActive = packets.first?.time {
            var lastActive = startActive
            for p in packets.dropFirst() {
                if p.time - lastActive > 5_000_000 {
                    if lastActive > startActive { active.append(lastActive - startActive) }
                    idle.append(p.time - lastActive)
                    startActive = p.time
                }
                lastActive = p.time
            }
            if lastActive > startActive { active.append(lastActive - startActive) }
        }
        let act = Stats(active), idl = Stats(idle)
        let n = Double(packets.count)

        var f: [String] = [
            "\(srcIP)-\(dstIP)-\(srcPort)-\(dstPort)-\(proto)", srcIP, String(srcPort), dstIP, String(dstPort),
            String(proto), timestamp, String(Int(duration)), String(fwd.count), String(bwd.count),
            java(fwdBytes), java(bwdBytes), java(fs.max), java(fs.min), java(fs.mean), java(fs.std),
            java(bs.max), java(bs.min), java(bs.mean), java(bs.std),
        ]
        if duration > 0 {
            f += [java((fwdBytes + bwdBytes) / seconds), java(n / seconds)]
        } else {
            f += [fwdBytes + bwdBytes > 0 ? "Infinity" : "NaN", "Infinity"]
        }
        if packets.count > 1 {
            f += [java(flowIAT.mean), java(flowIAT.std), java(flowIAT.max), java(flowIAT.min)]
        } else {
            f += ["NaN", "NaN", "NaN", "NaN"]
        }
        f += [java(fwdIAT.sum), java(fwdIAT.mean), java(fwdIAT.std), java(fwdIAT.max), java(fwdIAT.min)]
        f += [java(bwdIAT.sum), java(bwdIAT.mean), java(bwdIAT.std), java(bwdIAT.max), java(bwdIAT.min)]
        f += [count(fwd, Flag.psh), count(bwd, Flag.psh), count(fwd, Flag.urg), count(bwd, Flag.urg),
              count(fwd, Flag.rst), count(bwd, Flag.rst), fwd.count * headerBytes, bwd.count * headerBytes].map(String.init)
        f += duration > 0 ? [java(Double(fwd.count) / seconds), java(Double(bwd.count) / seconds)] : ["0.0", "0.0"]
        f += [java(all.min), java(all.max), java(all.mean), java(all.std), java(all.std * all.std)]
        f += [Flag.fin, Flag.syn, Flag.rst, Flag.psh, Flag.ack, Flag.urg].map { String(count(packets, $0)) } + ["0", "0"]
        f += [java(fwd.isEmpty ? 0 : Double(bwd.count) / Double(fwd.count)), java(n > 0 ? (fwdBytes + bwdBytes) / n : 0),
              java(fs.mean), java(bs.mean)]
        f += ["0", "0", "0", "0", "0", "0"]
        f += [String(fwd.count), String(Int(fwdBytes)), String(bwd.count), String(Int(bwdBytes))]
        f += [String(tcp ? fwdWindow : 0), String(tcp && !bwd.isEmpty ? bwdWindow : 0),
              String(fwd.filter { $0.payload > 0 }.count), String(headerBytes)]
        f += [java(act.mean), java(act.std), java(act.max), java(act.min)]
        f += [java(idl.mean), java(idl.std), java(idl.max), java(idl.min)]
        f += [String(tcp ? Int(duration) : 0), String(label)]
        return f.joined(separator: ",")
    }
}

/// Mean, sample standard deviation (as CICFlowMeter), min, max and sum; all 0 for no values.
struct Stats {
    var mean = 0.0, std = 0.0, min = 0.0, max = 0.0, sum = 0.0
    init(_ v: [Double]) {
        guard !v.isEmpty else { return }
        sum = v.reduce(0, +)
        mean = sum / Double(v.count)
        min = v.min()!
        max = v.max()!
        if v.count > 1 { std = (v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count - 1)).squareRoot() }
    }
}

/// Java's Double.toString, as CICFlowMeter prints: "106.0", "21.2", "1.16926543E8".
func java(_ x: Double) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x > 0 ? "Infinity" : "-Infinity" }
    if x == 0 { return "0.0" }
    let a = abs(x)
    if a >= 1e-3 && a < 1e7 {
        let s = "\(x)"
        return s.contains(".") || s.contains("e") ? s : s + ".0"
    }
    var e = Int(Foundation.floor(Foundation.log10(a)))
    var m = x / Foundation.pow(10, Double(e))
    if abs(m) >= 10 { m /= 10; e += 1 }
    if abs(m) < 1 { m *= 10; e -= 1 }
    let ms = "\((m * 1e9).rounded() / 1e9)"
    return (ms.contains(".") ? ms : ms + ".0") + "E\(e)"
}

/// The traffic models.
enum Traffic {
    static let nodes = ["10.16.0.2", "10.16.0.4", "10.16.0.5", "10.16.0.6", "10.16.0.7"]
    static let ovnDB = "144.122.71.18"
    static let upstreamDNS = ["144.122.171.91", "144.122.171.92"]
    static let nodeRed = "10.16.0.6"

    static func ephemeral(_ rng: inout SeededGenerator) -> Int { Rand.int(&rng, 32768...60999) }

    /// Cluster background traffic.
    static func background(_ rng: inout SeededGenerator, _ clock: inout Clock) -> SynthFlow {
        let ts = clock.advance(&rng, meanSeconds: 0.8)
        let kind = rng.uniform(0, 1)
        if kind < 0.25 {
            // OVN southbound database keep-alive: long TCP session, small periodic messages.
            var f = SynthFlow(Rand.pick(&rng, ["10.16.0.2", "10.16.0.6"]), ephemeral(&rng), ovnDB, 6642, proto: 6, timestamp: ts)
            f.handshake(&rng, rtt: Rand.logNormal(&rng, median: 400, sigma: 0.4))
            let rounds = Rand.int(&rng, 4...40)
            for _ in 0..<rounds {
                let think = Rand.exponential(&rng, mean: 2_500_000)
                f.add(true, Rand.int(&rng, 40...180), Flag.psh | Flag.ack, gap: think)
                f.add(false, Rand.int(&rng, 60...900), Flag.psh | Flag.ack, gap: Rand.logNormal(&rng, median: 350, sigma: 0.5))
                if Rand.chance(&rng, 0.6) { f.add(true, 0, Flag.ack, gap: 40) }
            }
            return f
        } else if kind < 0.5 {
            // DNS to the upstream resolvers.
            var f = SynthFlow(Rand.pick(&rng, ["10.16.0.4", "10.16.0.5"]), ephemeral(&rng), Rand.pick(&rng, upstreamDNS), 53,
                              proto: 17, timestamp: ts)
            f.add(true, Rand.int(&rng, 30...80))
            if Rand.chance(&rng, 0.92) { f.add(false, Rand.int(&rng, 60...260), 0, gap: Rand.logNormal(&rng, median: 1800, sigma: 0.6)) }
            return f
        } else if kind < 0.78 {
            // Liveness and readiness probes from the node to pods (8181, 8080, 7472).
            var f = SynthFlow("100.64.0.2", ephemeral(&rng), Rand.pick(&rng, ["10.16.0.4", "10.16.0.5", "10.16.0.7"]),
                              Rand.pick(&rng, [8181, 8080, 7472, 7472]), proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 60, sigma: 0.4)
            f.handshake(&rng, rtt: rtt)
            f.exchange(&rng, request: Rand.int(&rng, 100...115), response: Rand.int(&rng, 130...190), rtt: rtt,
                       think: Rand.logNormal(&rng, median: 150, sigma: 0.5))
            f.close(&rng, rtt: rtt)
            return f
        } else if kind < 0.92 {
            // Prometheus metric scrape: small GET, large response.
            var f = SynthFlow(Rand.pick(&rng, nodes), ephemeral(&rng), Rand.pick(&rng, nodes), Rand.pick(&rng, [9100, 10250, 9153]),
                              proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 120, sigma: 0.4)
            f.handshake(&rng, rtt: rtt)
            f.exchange(&rng, request: Rand.int(&rng, 180...320), response: Int(Rand.logNormal(&rng, median: 18_000, sigma: 0.7)),
                       rtt: rtt, think: Rand.logNormal(&rng, median: 3000, sigma: 0.6), mss: Rand.pick(&rng, [1448, 13480]))
            f.close(&rng, rtt: rtt)
            return f
        } else if kind < 0.97 {
            // mDNS announcement: one packet, zero duration (rates Infinity, IATs NaN in CICFlowMeter).
            var f = SynthFlow(Rand.pick(&rng, ["100.64.0.2", "100.64.0.5"]), 5353, "224.0.0.251", 5353, proto: 17, timestamp: ts)
            f.add(true, Rand.pick(&rng, [45, 45, 104]))
            return f
        } else {
            // ICMP between node addresses.
            var f = SynthFlow("100.64.0.2", 0, "100.64.0.1", 0, proto: 0, timestamp: ts)
            for i in 0..<Rand.int(&rng, 2...6) { f.add(i % 2 == 0, 0, 0, gap: Rand.logNormal(&rng, median: 1_000_000, sigma: 0.3)) }
            return f
        }
    }

    /// One flow of an attack scenario.
    static func attack(_ scenario: String, _ rng: inout SeededGenerator, _ clock: inout Clock) -> SynthFlow {
        let attacker = "10.16.0.2"
        switch scenario {
        case "reconnaissance":
            // Port and endpoint scan from the compromised Node-RED pod: many tiny, rejected flows.
            let ts = clock.advance(&rng, meanSeconds: 0.05)
            let port = Rand.chance(&rng, 0.3) ? 1880 : Rand.int(&rng, 1...65535)
            var f = SynthFlow(nodeRed, ephemeral(&rng), Rand.pick(&rng, nodes + ["10.96.0.1"]), port, proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 40, sigma: 0.5)
            f.fwdWindow = 1024; f.bwdWindow = 0
            f.add(true, 0, Flag.syn)
            if Rand.chance(&rng, 0.8) {
                f.add(false, 0, Flag.rst | Flag.ack, gap: rtt)
            } else {
                // An open port: a banner grab.
                f.bwdWindow = 65160
                f.add(false, 0, Flag.syn | Flag.ack, gap: rtt)
                f.add(true, 0, Flag.ack, gap: rtt * 0.2)
                f.exchange(&rng, request: Rand.int(&rng, 60...140), response: Rand.int(&rng, 0...600), rtt: rtt, think: rtt * 3)
                f.add(true, 0, Flag.rst | Flag.ack, gap: rtt)
            }
            return f
        case "rce-reverse-shell":
            // Exploit POST to Node-RED, then a long interactive shell to an outside listener.
            let ts = clock.advance(&rng, meanSeconds: 4)
            if Rand.chance(&rng, 0.35) {
                var f = SynthFlow(attacker, ephemeral(&rng), nodeRed, 1880, proto: 6, timestamp: ts)
                let rtt = Rand.logNormal(&rng, median: 300, sigma: 0.5)
                f.handshake(&rng, rtt: rtt)
                f.exchange(&rng, request: Rand.int(&rng, 900...4000), response: Rand.int(&rng, 20...300), rtt: rtt,
                           think: Rand.logNormal(&rng, median: 20_000, sigma: 0.5))
                f.close(&rng, rtt: rtt)
                return f
            }
            var f = SynthFlow(nodeRed, ephemeral(&rng), "144.122.12.40", Rand.pick(&rng, [4444, 9001, 1337]), proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 2000, sigma: 0.4)
            f.handshake(&rng, rtt: rtt)
            for _ in 0..<Rand.int(&rng, 8...60) {
                // Attacker command in, output out; long human pauses.
                f.add(false, Rand.int(&rng, 2...60), Flag.psh | Flag.ack, gap: Rand.exponential(&rng, mean: 6_000_000))
                f.add(true, 0, Flag.ack, gap: 30)
                f.add(true, Int(Rand.logNormal(&rng, median: 120, sigma: 1.2)) + 1, Flag.psh | Flag.ack,
                      gap: Rand.logNormal(&rng, median: 5000, sigma: 1))
            }
            return f
        case "attack-pods":
            // Container escape: privileged pod specs posted to the API server, then nsenter shells.
            let ts = clock.advance(&rng, meanSeconds: 1.5)
            if Rand.chance(&rng, 0.6) {
                var f = SynthFlow(nodeRed, ephemeral(&rng), "10.96.0.1", 443, proto: 6, timestamp: ts)
                let rtt = Rand.logNormal(&rng, median: 250, sigma: 0.4)
                f.handshake(&rng, rtt: rtt)
                f.exchange(&rng, request: Rand.int(&rng, 500...600), response: Rand.int(&rng, 2500...4500), rtt: rtt, think: rtt * 4)
                for _ in 0..<Rand.int(&rng, 1...4) {
                    f.exchange(&rng, request: Rand.int(&rng, 2000...7000), response: Rand.int(&rng, 3000...12_000), rtt: rtt,
                               think: Rand.logNormal(&rng, median: 40_000, sigma: 0.6))
                }
                f.close(&rng, rtt: rtt)
                return f
            }
            var f = SynthFlow(Rand.pick(&rng, nodes), ephemeral(&rng), "144.122.12.40", 4444, proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 1500, sigma: 0.4)
            f.handshake(&rng, rtt: rtt)
            for _ in 0..<Rand.int(&rng, 5...30) {
                f.add(false, Rand.int(&rng, 5...80), Flag.psh | Flag.ack, gap: Rand.exponential(&rng, mean: 3_000_000))
                f.add(true, Int(Rand.logNormal(&rng, median: 400, sigma: 1.4)) + 1, Flag.psh | Flag.ack,
                      gap: Rand.logNormal(&rng, median: 20_000, sigma: 1))
            }
            f.close(&rng, rtt: rtt)
            return f
        case "cve202013379":
            // Grafana avatar SSRF: crafted GETs to Grafana that make it fetch internal URLs.
            let ts = clock.advance(&rng, meanSeconds: 2)
            let outbound = Rand.chance(&rng, 0.4)
            var f = outbound
                ? SynthFlow("10.16.0.5", ephemeral(&rng), Rand.pick(&rng, ["169.254.169.254", "10.96.0.1"]),
                            Rand.pick(&rng, [80, 443]), proto: 6, timestamp: ts)
                : SynthFlow(attacker, ephemeral(&rng), "10.16.0.5", 3000, proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 200, sigma: 0.5)
            f.handshake(&rng, rtt: rtt)
            f.exchange(&rng, request: Rand.int(&rng, 350...900), response: Int(Rand.logNormal(&rng, median: 5000, sigma: 1.2)),
                       rtt: rtt, think: Rand.logNormal(&rng, median: outbound ? 4000 : 250_000, sigma: 0.8))
            f.close(&rng, rtt: rtt)
            return f
        default:
            // cve202125741: subPath symlink exchange; rapid API and kubelet calls as pods restart.
            let ts = clock.advance(&rng, meanSeconds: 0.3)
            var f = SynthFlow(Rand.pick(&rng, nodes), ephemeral(&rng), "10.96.0.1", Rand.pick(&rng, [443, 6443, 10250]),
                              proto: 6, timestamp: ts)
            let rtt = Rand.logNormal(&rng, median: 150, sigma: 0.4)
            f.handshake(&rng, rtt: rtt)
            for _ in 0..<Rand.int(&rng, 3...25) {
                f.exchange(&rng, request: Rand.int(&rng, 300...1500), response: Rand.int(&rng, 200...2500), rtt: rtt,
                           think: Rand.logNormal(&rng, median: 2000, sigma: 0.6))
            }
            if Rand.chance(&rng, 0.5) { f.add(true, 0, Flag.rst | Flag.ack, gap: rtt) } else { f.close(&rng, rtt: rtt) }
            return f
        }
    }
}
