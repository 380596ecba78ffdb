#!/usr/bin/env python3
"""Random hard cases for comparing gpu-train flows with the fork (tools/fork_check/check.sh): gaps
over 5 s and 120 s, RST, FIN and SYN anywhere, either side first, ICMP, IPv4 fragments,
same-address pairs, many payload sizes and windows. Seeded; writes a file only.

  python3 random_pcap.py OUT.pcap FLOWS SEED
"""
import random, struct, sys

FIN, SYN, RST, PSH, ACK, URG, ECE, CWR = 1, 2, 4, 8, 16, 32, 64, 128
ETH = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"

def ip(src, dst, proto, body, frag=0):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, frag, 64, proto, 0, bytes(src), bytes(dst)) + body

def tcp(sp, dp, flags, win, n, opt):
    return struct.pack("!HHIIBBHHH", sp, dp, 1, 1, (5 + opt) << 4, flags, win, 0, 0) + b"\x01" * (4 * opt) + b"a" * n

def udp(sp, dp, n):
    return struct.pack("!HHHH", sp, dp, 8 + n, 0) + b"b" * n

def main(out, flows, seed):
    rng = random.Random(seed)
    base = 1_679_238_138_000_000
    pk = []
    for i in range(flows):
        a = [10, 0, rng.randrange(4), rng.randrange(1, 20)]
        b = [10, 1, rng.randrange(4), rng.randrange(1, 20)]
        if rng.random() < 0.03:
            b = list(a)
        ap, bp = rng.randrange(1000, 1100), rng.choice([22, 53, 80, 443])
        kind = rng.random()
        t = base + rng.randrange(0, 400_000_000)
        n = rng.choice([1, 2, 3, 5, 8, 13, 30])
        for k in range(n):
            r = rng.random()
            if r < 0.6:
                t += rng.randrange(0, 300_000)
            elif r < 0.85:
                t += rng.randrange(300_000, 7_000_000)
            elif r < 0.97:
                t += rng.randrange(7_000_000, 60_000_000)
            else:
                t += rng.randrange(100_000_000, 260_000_000)
            fwd = rng.random() < 0.55
            s, d, sp, dp = (a, b, ap, bp) if fwd else (b, a, bp, ap)
            if kind < 0.7:
                flags = rng.choice([ACK, ACK, ACK, PSH | ACK, PSH | ACK, SYN, SYN | ACK, FIN | ACK, FIN, RST, RST | ACK,
                                    URG | ACK, ECE | ACK, CWR | ACK, 0, FIN | PSH | ACK])
                payload = rng.choice([0, 0, 0, 1, 10, 100, 536, 1448])
                frame = ETH + ip(s, d, 6, tcp(sp, dp, flags, rng.randrange(0, 65536), payload, rng.choice([0, 0, 3, 5])))
            elif kind < 0.92:
                frame = ETH + ip(s, d, 17, udp(sp, dp, rng.randrange(0, 1400)))
            elif kind < 0.97:
                frame = ETH + ip(s, d, 1, b"\x08\x00\x00\x00" + b"i" * rng.randrange(4, 60))
            else:
                frame = ETH + ip(s, d, 17, b"f" * rng.randrange(8, 100), frag=rng.randrange(1, 100))
            pk.append((t, frame))
    pk.sort(key=lambda p: p[0])
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for t, frame in pk:
            f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            f.write(frame)
    print(len(pk), "packets", file=sys.stderr)

main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
