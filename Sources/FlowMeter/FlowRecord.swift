import Foundation

/// Count, mean, variance, sum, min and max of a stream of values, updated as Apache Commons Math's
/// `SummaryStatistics` does (the fork's statistics): the mean and second moment by the incremental
/// (Welford) update, so means print exactly as the fork's (24.299999999999995, not 24.3); the
/// variance and standard deviation are the sample ones (n - 1); an empty set gives NaN, one value a
/// variance of 0.
struct RunningStats {
    var count: Int64 = 0
    var firstMoment: Double = 0
    var secondMoment: Double = 0
    var sum: Double = 0
    var minimum: Double = .nan
    var maximum: Double = .nan

    @inline(__always)
    mutating func add(_ value: Double) {
        if count == 0 {
            firstMoment = 0
            secondMoment = 0
            minimum = value
            maximum = value
        } else {
            if value < minimum { minimum = value }
            if value > maximum { maximum = value }
        }
        count += 1
        let deviation = value - firstMoment
        let scaled = deviation / Double(count)
        firstMoment += scaled
        secondMoment += Double(count - 1) * deviation * scaled
        sum += value
    }

    var mean: Double { count == 0 ? .nan : firstMoment }
    var variance: Double { count == 0 ? .nan : (count == 1 ? 0 : secondMoment / (Double(count) - 1)) }
    var standardDeviation: Double { count == 0 ? .nan : variance.squareRoot() }
}

/// The fork's TCP teardown states (TcpFlowState, nil before the first FIN or RST).
enum TCPState: UInt8 {
    case open, firstFIN, secondFIN, readyForTermination
}

/// One direction's bulk detector: the fork's updateForwardBulk / updateBackwardBulk state.
struct BulkState {
    var duration: Int64 = 0
    var packetCount: Int64 = 0
    var sizeTotal: Int64 = 0
    var stateCount: Int64 = 0
    var packetCountHelper: Int64 = 0
    var startHelper: Int64 = 0
    var sizeHelper: Int64 = 0
    var lastTimestamp: Int64 = 0

    /// `otherLast` is the other direction's last bulk packet time: a packet there since this
    /// bulk began ends it.
    @inline(__always)
    mutating func update(size: Int64, timestamp: Int64, otherLast: Int64) {
        if otherLast > startHelper { startHelper = 0 }
        guard size > 0 else { return }
        if startHelper == 0 {
            startHelper = timestamp
            packetCountHelper = 1
            sizeHelper = size
            lastTimestamp = timestamp
        } else if Double(timestamp - lastTimestamp) / 1_000_000 > 1.0 {
            startHelper = timestamp
            lastTimestamp = timestamp
            packetCountHelper = 1
            sizeHelper = size
        } else {
            packetCountHelper += 1
            sizeHelper += size
            if packetCountHelper == 4 {
                stateCount += 1
                packetCount += packetCountHelper
                sizeTotal += sizeHelper
                duration += timestamp - startHelper
            } else if packetCountHelper > 4 {
                packetCount += 1
                sizeTotal += size
                duration += timestamp - lastTimestamp
            }
            lastTimestamp = timestamp
        }
    }

    var averageBytes: Int64 { stateCount != 0 ? sizeTotal / stateCount : 0 }
    var averagePackets: Int64 { stateCount != 0 ? packetCount / stateCount : 0 }
    var rate: Int64 {
        guard duration != 0 else { return 0 }
        return javaLong(Double(sizeTotal) / (Double(duration) / 1_000_000))
    }
}

/// Java's (long) cast of a double: NaN to 0, out-of-range values saturated.
func javaLong(_ value: Double) -> Int64 {
    if value.isNaN { return 0 }
    if value >= 9.223372036854775807e18 { return Int64.max }
    if value <= -9.223372036854775808e18 { return Int64.min }
    return Int64(value.rounded(.towardZero))
}

/// One open flow: the fork's BasicFlow, held as running statistics instead of packet lists.
struct FlowRecord {
    var key: FlowKey
    /// The flow's source endpoint is the key's low endpoint (the direction of its first packet,
    /// or of the flow it continues).
    var sourceIsLow: Bool
    /// The Flow ID names the key's low endpoint first.
    var idLowFirst: Bool
    var generation: UInt32 = 0
    var inUse = true

    var flowStart: Int64 = 0
    var lastSeen: Int64 = 0
    var forwardLastSeen: Int64 = 0
    var backwardLastSeen: Int64 = 0
    var startActive: Int64 = 0
    var endActive: Int64 = 0

    var forwardLengths = RunningStats()
    var backwardLengths = RunningStats()
    var allLengths = RunningStats()
    var flowIAT = RunningStats()
    var forwardIAT = RunningStats()
    var backwardIAT = RunningStats()
    var active = RunningStats()
    var idle = RunningStats()

    var forwardBytes: Int64 = 0
    var backwardBytes: Int64 = 0
    var forwardHeaderBytes: Int64 = 0
    var backwardHeaderBytes: Int64 = 0

    var forwardPSH: Int32 = 0, backwardPSH: Int32 = 0
    var forwardURG: Int32 = 0, backwardURG: Int32 = 0
    var forwardRST: Int32 = 0, backwardRST: Int32 = 0
    var forwardFIN: Int32 = 0, backwardFIN: Int32 = 0
    var fin: Int32 = 0, syn: Int32 = 0, rst: Int32 = 0, psh: Int32 = 0
    var ack: Int32 = 0, urg: Int32 = 0, cwr: Int32 = 0, ece: Int32 = 0

    var forwardActiveData: Int64 = 0
    var forwardMinSegment: Int64 = 0
    var forwardInitWindow: Int32 = 0
    var backwardInitWindow: Int32 = 0

    var subflowLast: Int64 = -1
    var subflowCount: Int64 = 0
    var subflowHelper: Int64 = -1

    var forwardBulk = BulkState()
    var backwardBulk = BulkState()

    var cumulativeTCP: Int64 = 0
    var tcpState = TCPState.open
    let activityTimeout: Int64

    var forwardPackets: Int64 { forwardLengths.count }
    var backwardPackets: Int64 { backwardLengths.count }
    var packetCount: Int64 { forwardLengths.count + backwardLengths.count }
    var duration: Int64 { lastSeen - flowStart }
    var isTCP: Bool { key.protocolNumber == 6 }

    /// Starts a flow with its first packet (the fork's firstPacket).
    init(first packet: PacketInfo, sourceIsLow: Bool, idLowFirst: Bool, activityTimeout: Int64) {
        key = packet.key
        self.sourceIsLow = sourceIsLow
        self.idLowFirst = idLowFirst
        self.activityTimeout = activityTimeout
        let ts = packet.timestamp
        updateBulk(packet)
        countFlags(packet)
        endActive = ts
        flowStart = ts
        lastSeen = ts
        startActive = ts
        updateSubflows(ts)
        allLengths.add(Double(packet.payload))
        if isForward(packet) {
            forwardMinSegment = packet.header
            forwardInitWindow = Int32(packet.window)
            forwardLengths.add(Double(packet.payload))
            forwardHeaderBytes = packet.header
            forwardLastSeen = ts
            forwardBytes += packet.payload
            if packet.has(TCPFlag.psh) { forwardPSH += 1 }
            if packet.has(TCPFlag.urg) { forwardURG += 1 }
        } else {
            backwardInitWindow = Int32(packet.window)
            backwardLengths.add(Double(packet.payload))
            backwardHeaderBytes = packet.header
            backwardLastSeen = ts
            backwardBytes += packet.payload
            if packet.has(TCPFlag.psh) { backwardPSH += 1 }
            if packet.has(TCPFlag.urg) { backwardURG += 1 }
        }
    }

    /// The fork compares source addresses only (not ports) to tell the directions apart.
    @inline(__always)
    func isForward(_ packet: PacketInfo) -> Bool {
        packet.sourceIsLow == sourceIsLow || key.sameAddresses
    }

    /// Adds a later packet (the fork's addPacket).
    @inline(__always)
    mutating func add(_ packet: PacketInfo) {
        let ts = packet.timestamp
        updateBulk(packet)
        updateSubflows(ts)
        countFlags(packet)
        allLengths.add(Double(packet.payload))
        if isForward(packet) {
            if packet.payload >= 1 { forwardActiveData += 1 }
            forwardLengths.add(Double(packet.payload))
            forwardHeaderBytes += packet.header
            forwardBytes += packet.payload
            if forwardLengths.count > 1 { forwardIAT.add(Double(ts - forwardLastSeen)) }
            forwardLastSeen = ts
            forwardMinSegment = min(packet.header, forwardMinSegment)
            if packet.has(TCPFlag.psh) { forwardPSH += 1 }
            if packet.has(TCPFlag.urg) { forwardURG += 1 }
            if packet.has(TCPFlag.fin) { forwardFIN += 1 }
            if packet.has(TCPFlag.rst) { forwardRST += 1 }
        } else {
            backwardLengths.add(Double(packet.payload))
            // The fork overwrites the backward "initial" window with every backward packet's.
            backwardInitWindow = Int32(packet.window)
            backwardHeaderBytes += packet.header
            backwardBytes += packet.payload
            if backwardLengths.count > 1 { backwardIAT.add(Double(ts - backwardLastSeen)) }
            backwardLastSeen = ts
            if packet.has(TCPFlag.psh) { backwardPSH += 1 }
            if packet.has(TCPFlag.urg) { backwardURG += 1 }
            if packet.has(TCPFlag.fin) { backwardFIN += 1 }
            if packet.has(TCPFlag.rst) { backwardRST += 1 }
        }
        flowIAT.add(Double(ts - lastSeen))
        lastSeen = ts
    }

    /// The fork's updateActiveIdleTime: a gap over the activity timeout closes an active period
    /// (when it lasted) and records the gap as idle time.
    @inline(__always)
    mutating func updateActiveIdle(_ now: Int64) {
        if now - endActive > activityTimeout {
            if endActive - startActive > 0 { active.add(Double(endActive - startActive)) }
            idle.add(Double(now - endActive))
            startActive = now
            endActive = now
        } else {
            endActive = now
        }
    }

    /// The fork's detectUpdateSubflows, condition and all: it reads `ts - (last / 1e6) > 1.0`, so
    /// with real (epoch) timestamps every packet starts a subflow, and the Subflow columns come out
    /// as totals divided by the packet count.
    @inline(__always)
    mutating func updateSubflows(_ ts: Int64) {
        if subflowLast == -1 {
            subflowLast = ts
            subflowHelper = ts
        }
        if Double(ts) - Double(subflowLast) / 1_000_000 > 1.0 {
            subflowCount += 1
            updateActiveIdle(ts)
            subflowHelper = ts
        }
        subflowLast = ts
    }

    @inline(__always)
    mutating func updateBulk(_ packet: PacketInfo) {
        if isForward(packet) {
            forwardBulk.update(size: packet.payload, timestamp: packet.timestamp, otherLast: backwardBulk.lastTimestamp)
        } else {
            backwardBulk.update(size: packet.payload, timestamp: packet.timestamp, otherLast: forwardBulk.lastTimestamp)
        }
    }

    @inline(__always)
    mutating func countFlags(_ packet: PacketInfo) {
        let flags = packet.flags
        guard flags != 0 else { return }
        if flags & TCPFlag.fin != 0 { fin += 1 }
        if flags & TCPFlag.syn != 0 { syn += 1 }
        if flags & TCPFlag.rst != 0 { rst += 1 }
        if flags & TCPFlag.psh != 0 { psh += 1 }
        if flags & TCPFlag.ack != 0 { ack += 1 }
        if flags & TCPFlag.urg != 0 { urg += 1 }
        if flags & TCPFlag.cwr != 0 { cwr += 1 }
        if flags & TCPFlag.ece != 0 { ece += 1 }
    }
}
