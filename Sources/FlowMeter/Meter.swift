import CPcap
import Foundation

/// What a closed flow leaves behind so that the next packet of the same key starts its next flow as
/// the fork would, had the closed flow still been in its table: the fork keeps a timed-out flow until
/// another packet of its key arrives, then continues a TCP connection in the same direction with its
/// cumulative time, and keeps the Flow ID of the key.
struct Continuation {
    var sourceIsLow: Bool
    var idLowFirst: Bool
    var readyForTermination: Bool
    /// Total TCP Flow Time so far, the closed flow's duration included.
    var cumulativeTCP: Int64
    var lastSeen: Int64
    /// Packet time at which the flow was closed; the continuation is forgotten `closedKeyMemory` later.
    var closedAt: Int64
}

/// The flow table and the fork's FlowGenerator.addPacket, over running statistics.
///
/// Memory: a flow is closed (written) once its flow timeout has passed by packet time, checked
/// before every packet against a queue ordered by flow start, so open flows are at most those that
/// started within one flow timeout; a closed flow's continuation (about a hundred bytes with its
/// key) lives `MeterOptions.closedKeyMemory` longer (10 minutes).
struct Meter {
    let options: MeterOptions
    let flowTimeout: Int64
    let activityTimeout: Int64
    let closedKeyMemory: Int64
    var summary = MeterSummary()

    private var index: [FlowKey: Int32] = [:]
    private let store = FlowStore()
    private var freeSlots: [Int32] = []
    private var nextGeneration: UInt32 = 1
    private var openCount = 0

    private struct Expiry { var slot: Int32; var generation: UInt32; var start: Int64 }
    private var expiryQueue: [Expiry] = []
    private var expiryHead = 0

    private var continuations: [FlowKey: Continuation] = [:]
    private var continuationQueue: [(key: FlowKey, closedAt: Int64)] = []
    private var continuationHead = 0

    /// Slots of the flows closed while handling the current packet or sweep, written oldest first.
    private var closing: [Int] = []
    private var formatter = FlowCSVLine()
    /// The latest packet time seen (microseconds), the meter's clock.
    private(set) var clock: Int64 = .min

    init(options: MeterOptions) {
        self.options = options
        flowTimeout = Int64((options.flowTimeout * 1_000_000).rounded())
        activityTimeout = Int64((options.activityTimeout * 1_000_000).rounded())
        closedKeyMemory = Int64((options.closedKeyMemory * 1_000_000).rounded())
    }

    var openFlows: Int { openCount }

    // MARK: - Reading a source

    /// Reads every packet of `source` (or until `shouldStop` or `deadline`); returns true when
    /// stopped early.
    mutating func run(_ source: PcapSource, shouldStop: @Sendable () -> Bool, progress: ((MeterSummary) -> Void)?,
                      started: UInt64, deadline: UInt64? = nil, emit: (String) throws -> Void) throws -> Bool {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        var info = PacketInfo(key: FlowKey(lowHigh: 0, lowLow: 0, highHigh: 0, highLow: 0, lowPort: 0, highPort: 0,
                                           protocolNumber: 0, isV6: false),
                              sourceIsLow: true, timestamp: 0, payload: 0, header: 0, flags: 0, window: 0)
        let link = source.linkType
        var sinceCheck = 0
        // A file is checked every 4096 packets (a few milliseconds); a live capture after every packet.
        let checkEvery = source.isLive ? 1 : 4096
        var lastProgress = DispatchTime.now().uptimeNanoseconds
        let descriptor = source.selectableDescriptor
        while true {
            let status = pcap_next_ex(source.handle, &header, &data)
            if status == 1, let header, let data {
                let captured = Int(header.pointee.caplen)
                summary.packets += 1
                summary.bytes += Int(header.pointee.len)
                info.timestamp = Int64(header.pointee.ts.tv_sec) * 1_000_000 + Int64(header.pointee.ts.tv_usec)
                switch PacketParser.parse(link, data, length: captured, into: &info) {
                case .packet:
                    try add(info, emit: emit)
                case .otherProtocol:
                    summary.otherProtocol += 1
                    try add(info, emit: emit)
                case .notIP: summary.skipped += 1
                case .truncated: summary.truncated += 1
                case .malformed: summary.malformed += 1
                }
                sinceCheck += 1
                if sinceCheck < checkEvery { continue }
            } else if status == 0 {
                // Live capture, nothing waiting: wait up to 100 ms for the descriptor, and let the
                // wall clock close flows while the interface is quiet.
                if descriptor >= 0 {
                    var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                    _ = poll(&poller, 1, 100)
                } else {
                    usleep(10_000)
                }
                var now = timeval()
                gettimeofday(&now, nil)
                let wall = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_usec)
                if wall > clock { try advanceClock(to: wall, emit: emit) }
            } else if status == PCAP_ERROR_BREAK || status == -2 {
                return false  // end of the file
            } else {
                let message = source.lastError
                if !source.isLive && message.contains("truncated") {
                    throw FlowMeterError.truncatedFile(path: source.name, detail: "\(message) (after \(summary.packets) packets)")
                }
                throw FlowMeterError.captureFailed(source: source.name, message: message)
            }
            sinceCheck = 0
            if shouldStop() { return true }
            let now = DispatchTime.now().uptimeNanoseconds
            if let deadline, now >= deadline { return true }
            if let progress, now - lastProgress >= 1_000_000_000 {
                lastProgress = now
                var running = summary
                running.seconds = Double(now - started) / 1e9
                progress(running)
            }
        }
    }

    // MARK: - The fork's addPacket

    /// Adds one parsed packet.
    @inline(__always)
    mutating func add(_ packet: PacketInfo, emit: (String) throws -> Void) throws {
        let ts = packet.timestamp
        if ts > clock { try advanceClock(to: ts, emit: emit) }
        if let slot = index[packet.key] {
            let s = Int(slot)
            let flow = store.pointer(s)
            let restart = ts - flow.pointee.flowStart > flowTimeout
                || (flow.pointee.tcpState == .readyForTermination && packet.has(TCPFlag.syn))
            if restart {
                let continuation = close(slot: s, at: ts)
                try writeClosing(emit: emit)
                open(packet, continuing: continuation)
                return
            }
            flow.pointee.updateActiveIdle(ts)
            flow.pointee.add(packet)
            if packet.has(TCPFlag.fin) {
                if flow.pointee.tcpState == .open {
                    flow.pointee.tcpState = .firstFIN
                } else if flow.pointee.tcpState == .firstFIN, flow.pointee.forwardFIN > 0, flow.pointee.backwardFIN > 0 {
                    flow.pointee.tcpState = .secondFIN
                }
            } else if packet.has(TCPFlag.rst) {
                flow.pointee.tcpState = .readyForTermination
            } else if packet.has(TCPFlag.ack) {
                if flow.pointee.tcpState == .secondFIN { flow.pointee.tcpState = .readyForTermination }
            }
        } else if let continuation = continuations.removeValue(forKey: packet.key) {
            open(packet, continuing: continuation)
        } else {
            open(packet, continuing: nil)
        }
    }

    /// Starts a flow with `packet`; after a closed flow of the same key, as the fork's timeout branch does.
    private mutating func open(_ packet: PacketInfo, continuing previous: Continuation?) {
        var flow: FlowRecord
        if let previous {
            let fresh = (previous.readyForTermination && packet.has(TCPFlag.syn) && !packet.has(TCPFlag.ack))
                || packet.key.protocolNumber != 6
            if fresh {
                flow = FlowRecord(first: packet, sourceIsLow: packet.sourceIsLow, idLowFirst: previous.idLowFirst,
                                  activityTimeout: activityTimeout)
            } else {
                flow = FlowRecord(first: packet, sourceIsLow: previous.sourceIsLow, idLowFirst: previous.idLowFirst,
                                  activityTimeout: activityTimeout)
                flow.cumulativeTCP = previous.cumulativeTCP + (packet.timestamp - previous.lastSeen)
            }
        } else {
            flow = FlowRecord(first: packet, sourceIsLow: packet.sourceIsLow, idLowFirst: packet.sourceIsLow,
                              activityTimeout: activityTimeout)
        }
        flow.generation = nextGeneration
        nextGeneration &+= 1
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
            store.pointer(slot).pointee = flow
        } else {
            slot = store.append(flow)
        }
        index[packet.key] = Int32(slot)
        openCount += 1
        if openCount > summary.peakOpenFlows { summary.peakOpenFlows = openCount }
        expiryQueue.append(Expiry(slot: Int32(slot), generation: flow.generation, start: flow.flowStart))
    }

    /// Takes a flow out of the table (a TCP flow's duration added to its Total TCP Flow Time) into
    /// the list to write, and returns what its key's next flow needs. Its slot is reused only once
    /// it has been written. `keepIndex`: the caller empties the index itself.
    private mutating func close(slot s: Int, at now: Int64, keepIndex: Bool = false) -> Continuation {
        let flow = store.pointer(s)
        if flow.pointee.isTCP { flow.pointee.cumulativeTCP += flow.pointee.duration }
        flow.pointee.inUse = false
        if !keepIndex { index.removeValue(forKey: flow.pointee.key) }
        openCount -= 1
        closing.append(s)
        return Continuation(sourceIsLow: flow.pointee.sourceIsLow, idLowFirst: flow.pointee.idLowFirst,
                            readyForTermination: flow.pointee.tcpState == .readyForTermination,
                            cumulativeTCP: flow.pointee.cumulativeTCP, lastSeen: flow.pointee.lastSeen, closedAt: now)
    }

    /// Writes the closed flows, oldest first, and frees their slots.
    private mutating func writeClosing(emit: (String) throws -> Void) throws {
        guard !closing.isEmpty else { return }
        if closing.count > 1 {
            let store = store
            closing.sort {
                (store.pointer($0).pointee.flowStart, store.pointer($0).pointee.generation)
                    < (store.pointer($1).pointee.flowStart, store.pointer($1).pointee.generation)
            }
        }
        for s in closing {
            try emit(formatter.line(for: store.pointer(s).pointee, label: options.label))
            summary.flows += 1
            freeSlots.append(Int32(s))
        }
        closing.removeAll(keepingCapacity: true)
    }

    // MARK: - Expiry

    /// Moves the clock to `now`: closes the flows whose flow timeout has passed (keeping their
    /// continuations) and forgets continuations a flow timeout old.
    mutating func advanceClock(to now: Int64, emit: (String) throws -> Void) throws {
        clock = now
        while expiryHead < expiryQueue.count {
            let entry = expiryQueue[expiryHead]
            guard now - entry.start > flowTimeout else { break }
            expiryHead += 1
            let s = Int(entry.slot)
            let flow = store.pointer(s)
            guard flow.pointee.inUse, flow.pointee.generation == entry.generation else { continue }
            let continuation = close(slot: s, at: now)
            continuations[flow.pointee.key] = continuation
            continuationQueue.append((flow.pointee.key, now))
        }
        if expiryHead > 4096, expiryHead * 2 > expiryQueue.count {
            expiryQueue.removeFirst(expiryHead)
            expiryHead = 0
        }
        while continuationHead < continuationQueue.count {
            let entry = continuationQueue[continuationHead]
            guard now - entry.closedAt > closedKeyMemory else { break }
            continuationHead += 1
            if continuations[entry.key]?.closedAt == entry.closedAt { continuations.removeValue(forKey: entry.key) }
        }
        if continuationHead > 4096, continuationHead * 2 > continuationQueue.count {
            continuationQueue.removeFirst(continuationHead)
            continuationHead = 0
        }
        try writeClosing(emit: emit)
    }

    /// Writes every open flow, oldest first (the fork's dump of its current flows at the end), one
    /// at a time so that no second copy of the table is made.
    mutating func flushAll(emit: (String) throws -> Void) throws {
        var order: [(start: Int64, generation: UInt32, slot: Int)] = []
        order.reserveCapacity(openCount)
        for s in 0..<store.count where store.pointer(s).pointee.inUse {
            order.append((store.pointer(s).pointee.flowStart, store.pointer(s).pointee.generation, s))
        }
        order.sort { ($0.start, $0.generation) < ($1.start, $1.generation) }
        for entry in order {
            _ = close(slot: entry.slot, at: clock, keepIndex: true)
            try writeClosing(emit: emit)
        }
        index.removeAll()
        continuations.removeAll()
    }
}

/// Flow records in chunks of 4096 that never move: the table grows without copying what it holds,
/// and a record is updated in place through its pointer. Slots are handed out in order and reused
/// by the meter; every slot below `count` holds an initialized record.
final class FlowStore {
    private static let chunkShift = 12
    private static let chunkSize = 1 << chunkShift
    private var chunks: [UnsafeMutablePointer<FlowRecord>] = []
    private(set) var count = 0

    deinit {
        for (i, chunk) in chunks.enumerated() {
            chunk.deinitialize(count: min(Self.chunkSize, count - i * Self.chunkSize))
            chunk.deallocate()
        }
    }

    @inline(__always)
    func pointer(_ slot: Int) -> UnsafeMutablePointer<FlowRecord> {
        chunks[slot >> Self.chunkShift] + (slot & (Self.chunkSize - 1))
    }

    /// A new slot holding `record`.
    func append(_ record: FlowRecord) -> Int {
        if count == chunks.count << Self.chunkShift {
            chunks.append(UnsafeMutablePointer<FlowRecord>.allocate(capacity: Self.chunkSize))
        }
        let slot = count
        pointer(slot).initialize(to: record)
        count += 1
        return slot
    }
}
