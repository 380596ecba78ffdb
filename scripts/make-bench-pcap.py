#!/usr/bin/env python3
"""Writes a synthetic pcap for timing `gpu-train flows` (and the Python cicflowmeter) on one file.

Default: 100,000 flows open at once (all start within the first 20 s of packet time and last
about 20-40 s), about 1.1 M packets in all, Ethernet + IPv4:
  - 85% TCP: handshake, 2-6 data segments each way with ACKs, FIN both ways and the last ACK;
  - 15% UDP: a request and a reply, sometimes repeated.
Addresses 10.x.y.z (clients) to 172.16.x.y (servers); seeded, so the same arguments give the same
bytes. Nothing is sent anywhere: this only writes a file.

  python3 scripts/make-bench-pcap.py --out /tmp/bench.pcap [--flows 100000] [--seed 1]
"""
import argparse
import random
import struct
import sys


def checksum_free_ipv4(src, dst, proto, transport):
    total = 20 + len(transport)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0, 0, 64, proto, 0, src, dst) + transport


def tcp(sport, dport, flags, window, payload):
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 1, 5 << 4, flags, window, 0, 0) + b"a" * payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + payload, 0) + b"b" * payload


ETHERNET = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def flow_packets(rng, index, start):
    """(time in microseconds, frame) for one flow."""
    client = bytes([10, (index >> 16) & 0xFF, (index >> 8) & 0xFF, index & 0xFF])
    server = bytes([172, 16, rng.randrange(256), rng.randrange(1, 255)])
    cport = 1024 + (index * 7919) % 60000
    t = start
    out = []

    def step(lo=200, hi=400_000):
        nonlocal t
        t += rng.randrange(lo, hi)
        return t

    if rng.random() < 0.85:
        sport = rng.choice([80, 443, 22, 6379, 8080])
        c2s = lambda flags, n=0, w=64240: ETHERNET + checksum_free_ipv4(client, server, 6, tcp(cport, sport, flags, w, n))
        s2c = lambda flags, n=0, w=65160: ETHERNET + checksum_free_ipv4(server, client, 6, tcp(sport, cport, flags, w, n))
        out.append((t, c2s(SYN)))
        out.append((step(50, 2000), s2c(SYN | ACK)))
        out.append((step(50, 2000), c2s(ACK)))
        for _ in range(rng.randrange(2, 7)):
            out.append((step(), c2s(PSH | ACK, rng.randrange(1, 1400))))
            out.append((step(50, 5000), s2c(ACK)))
            out.append((step(), s2c(PSH | ACK, rng.randrange(1, 1400))))
        out.append((step(), c2s(FIN | ACK)))
        out.append((step(50, 2000), s2c(FIN | ACK)))
        out.append((step(50, 2000), c2s(ACK)))
    else:
        sport = rng.choice([53, 123, 5353])
        for _ in range(rng.randrange(1, 4)):
            out.append((step(1000, 3_000_000), ETHERNET + checksum_free_ipv4(client, server, 17, udp(cport, sport, rng.randrange(20, 200)))))
            out.append((step(100, 50_000), ETHERNET + checksum_free_ipv4(server, client, 17, udp(sport, cport, rng.randrange(40, 600)))))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the pcap file to write")
    parser.add_argument("--flows", type=int, default=100_000, help="flows, all open at once (default 100000)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.flows < 1 or args.flows > 16_000_000:
        sys.exit("--flows must be between 1 and 16000000")
    rng = random.Random(args.seed)
    base = 1_679_238_138_000_000  # 2023-03-19 15:02:18 UTC
    packets = []
    for i in range(args.flows):
        packets.extend(flow_packets(rng, i, base + rng.randrange(0, 20_000_000)))
    packets.sort(key=lambda p: p[0])
    with open(args.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, frame in packets:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            f.write(frame)
    print(f"wrote {len(packets)} packets of {args.flows} flows to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
