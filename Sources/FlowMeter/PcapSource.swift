import CPcap
import Foundation

/// One open libpcap handle: a pcap or pcapng file, or a live interface in non-blocking mode.
final class PcapSource {
    let handle: OpaquePointer
    /// The file path or `interface NAME`, for messages.
    let name: String
    let isLive: Bool
    let linkType: LinkType

    /// Opens a capture file. Checks what libpcap would accept silently or explain poorly first: a
    /// missing or unreadable file, an empty one, a pcap header with snaplen 0.
    init(file path: String, options: MeterOptions) throws {
        name = path == "-" ? "standard input" : path
        isLive = false
        var info = stat()
        if path == "-" {
            // libpcap reads standard input for "-" (tcpdump -w - | gpu-train flows --pcap -).
        } else if stat(path, &info) != 0 {
            if errno == ENOENT || errno == ENOTDIR { throw FlowMeterError.fileNotFound(path: path) }
            throw FlowMeterError.notReadable(path: path, reason: String(cString: strerror(errno)))
        } else if (info.st_mode & S_IFMT) == S_IFDIR {
            throw FlowMeterError.notReadable(path: path, reason: "is a folder, not a capture file")
        } else {
            try Self.checkFileHeader(path, isRegular: (info.st_mode & S_IFMT) == S_IFREG)
        }
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let opened = pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_MICRO), &errorBuffer) else {
            let message = String(cString: errorBuffer)
            if message.contains("truncated") { throw FlowMeterError.truncatedFile(path: name, detail: message) }
            if message.contains("ermission") { throw FlowMeterError.notReadable(path: name, reason: message) }
            throw FlowMeterError.notAPcap(path: name, detail: message)
        }
        let link = try Self.readableLinkType(opened, source: name)
        // From here on deinit closes the handle, also when init throws.
        handle = opened
        linkType = link
        try applyFilter(options.bpf)
    }

    /// The link type of a handle just opened; closes it and throws when the meter cannot read that type.
    private static func readableLinkType(_ opened: OpaquePointer, source: String) throws -> LinkType {
        let dlt = pcap_datalink(opened)
        guard let link = LinkType(dlt: dlt) else {
            pcap_close(opened)
            throw FlowMeterError.unknownLinkType(source: source, linkType: dlt, name: linkTypeName(dlt))
        }
        return link
    }

    /// Opens a live interface: snaplen from the options, not promiscuous, immediate delivery,
    /// non-blocking so the caller polls with a timeout.
    init(interface: String, options: MeterOptions) throws {
        name = "interface \(interface)"
        isLive = true
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let created = pcap_create(interface, &errorBuffer) else {
            throw FlowMeterError.captureFailed(source: name, message: String(cString: errorBuffer))
        }
        _ = pcap_set_snaplen(created, options.snaplen)
        _ = pcap_set_promisc(created, 0)
        _ = pcap_set_timeout(created, 100)
        _ = pcap_set_immediate_mode(created, 1)
        _ = pcap_set_tstamp_precision(created, Int32(PCAP_TSTAMP_PRECISION_MICRO))
        let status = pcap_activate(created)
        if status < 0 {
            let detail = String(cString: pcap_geterr(created))
            pcap_close(created)
            switch status {
            case PCAP_ERROR_PERM_DENIED:
                throw FlowMeterError.permissionDenied(interface: interface, detail: detail)
            case PCAP_ERROR_NO_SUCH_DEVICE:
                throw FlowMeterError.interfaceNotFound(name: interface, detail: detail)
            default:
                if detail.contains("ermission") || detail.contains("not permitted") {
                    throw FlowMeterError.permissionDenied(interface: interface, detail: detail)
                }
                throw FlowMeterError.captureFailed(source: name, message: "cannot start the capture: \(detail)")
            }
        }
        let link = try Self.readableLinkType(created, source: name)
        // From here on deinit closes the handle, also when init throws.
        handle = created
        linkType = link
        try applyFilter(options.bpf)
        if pcap_setnonblock(created, 1, &errorBuffer) != 0 {
            let message = String(cString: errorBuffer)
            throw FlowMeterError.captureFailed(source: name, message: "cannot switch to non-blocking reads: \(message)")
        }
    }

    deinit { pcap_close(handle) }

    /// The descriptor to poll on a live capture, or -1.
    var selectableDescriptor: Int32 { isLive ? pcap_get_selectable_fd(handle) : -1 }

    /// The kernel's drop count of a live capture.
    func droppedPackets() -> Int {
        guard isLive else { return 0 }
        var stats = pcap_stat()
        return pcap_stats(handle, &stats) == 0 ? Int(stats.ps_drop) : 0
    }

    /// libpcap's last error text.
    var lastError: String { String(cString: pcap_geterr(handle)) }

    private func applyFilter(_ filter: String?) throws {
        guard let filter else { return }
        var program = bpf_program()
        if pcap_compile(handle, &program, filter, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            let message = lastError
            throw FlowMeterError.badFilter(filter: filter, message: message)
        }
        defer { pcap_freecode(&program) }
        if pcap_setfilter(handle, &program) != 0 {
            let message = lastError
            throw FlowMeterError.badFilter(filter: filter, message: message)
        }
    }

    /// Reads the first bytes of a regular file: empty, too short for any header, an unknown magic
    /// number, or a classic pcap header with snaplen 0 are refused here with a clear message.
    private static func checkFileHeader(_ path: String, isRegular: Bool) throws {
        guard isRegular else { return }  // a FIFO or device: libpcap reads it as a stream
        guard let file = fopen(path, "rb") else {
            throw FlowMeterError.notReadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { fclose(file) }
        var header = [UInt8](repeating: 0, count: 24)
        let count = fread(&header, 1, 24, file)
        if count == 0 { throw FlowMeterError.emptyFile(path: path) }
        guard count >= 4 else {
            throw FlowMeterError.truncatedFile(path: path, detail: "only \(count) bytes, shorter than any capture file header")
        }
        let magic = UInt32(header[0]) << 24 | UInt32(header[1]) << 16 | UInt32(header[2]) << 8 | UInt32(header[3])
        let classic: [UInt32: Bool] = [0xa1b2_c3d4: true, 0xa1b2_3c4d: true, 0xd4c3_b2a1: false, 0x4d3c_b2a1: false]
        if let bigEndian = classic[magic] {
            guard count == 24 else {
                throw FlowMeterError.truncatedFile(path: path, detail: "the pcap file header needs 24 bytes, the file has \(count)")
            }
            let snaplen = bigEndian
                ? UInt32(header[16]) << 24 | UInt32(header[17]) << 16 | UInt32(header[18]) << 8 | UInt32(header[19])
                : UInt32(header[19]) << 24 | UInt32(header[18]) << 16 | UInt32(header[17]) << 8 | UInt32(header[16])
            if snaplen == 0 { throw FlowMeterError.zeroSnaplen(path: path) }
        } else if magic != 0x0a0d_0d0a {
            let hex = header.prefix(4).map { String(format: "%02x", $0) }.joined()
            throw FlowMeterError.notAPcap(path: path, detail: "it starts with bytes \(hex); a pcap file starts with a1b2c3d4 or d4c3b2a1 (or the nanosecond a1b23c4d), a pcapng file with 0a0d0d0a")
        }
    }

    static func linkTypeName(_ dlt: Int32) -> String {
        guard let name = pcap_datalink_val_to_name(dlt) else { return "unknown" }
        return String(cString: name)
    }
}

/// The link layers the meter reads, and where the network layer starts in each.
enum LinkType: Equatable {
    case ethernet
    case linuxCooked     // SLL: 16-byte header, protocol at 14
    case linuxCooked2    // SLL2: 20-byte header, protocol at 0
    case rawIP           // DLT_RAW, LINKTYPE_IPV4, LINKTYPE_IPV6: the IP version nibble decides
    case bsdLoopback     // DLT_NULL (host byte order) and DLT_LOOP (network order): a 4-byte family

    init?(dlt: Int32) {
        switch dlt {
        case DLT_EN10MB: self = .ethernet
        case DLT_LINUX_SLL: self = .linuxCooked
        case 276: self = .linuxCooked2  // DLT_LINUX_SLL2
        case DLT_RAW, 12, 14, 101, 228, 229: self = .rawIP
        case DLT_NULL, DLT_LOOP: self = .bsdLoopback
        default: return nil
        }
    }
}
