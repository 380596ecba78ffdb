#!/usr/bin/env python3
"""Regenerate Tests/FlowDataTests/Fixtures/python-cicflowmeter-0.5.0.csv (issue 20, item 27).

A known capture, exported by the Python `cicflowmeter` package, so that a test can check that
gpu-train reads that package's time columns (seconds) as microseconds.

The capture (written with scapy, loopback addresses only, never sent anywhere):
  TCP 127.0.0.1:40000 -> 127.0.0.2:8080, starting at T0 = 1700000000.0:
    T0+0.000 SYN, T0+0.010 SYN-ACK, T0+0.020 ACK,
    T0+0.100 PSH-ACK 100 bytes (fwd), T0+0.350 PSH-ACK 200 bytes (bwd),
    T0+0.400 FIN-ACK (fwd), T0+0.410 FIN-ACK (bwd), T0+0.420 ACK (fwd)
    -> duration 0.420 s = 420000 us; largest gap 0.250 s = 250000 us (0.100 -> 0.350).
  UDP 127.0.0.1:50000 -> 127.0.0.2:53, 30 bytes at T0+1.000, reply 60 bytes at T0+1.200,
    30 bytes at T0+1.500 -> duration 0.500 s = 500000 us; largest gap 0.300 s = 300000 us.

How it was made (2026-12-07, Linux x86_64):
  /root/.pyenv/versions/3.12.1/bin/python3.12 -m venv /tmp/cfm12
  /tmp/cfm12/bin/pip install cicflowmeter==0.5.0      # pulls scapy 2.8.0
  TZ=UTC /tmp/cfm12/bin/python tools/make_python_cicflowmeter_fixture.py
(the package writes its timestamp column in local time, hence TZ=UTC.)
cicflowmeter 0.5.x needs Python >= 3.12: pip on Python 3.11 silently installs 0.2.0 instead,
which writes microseconds (see README, Dialects), so use a 3.12 venv. The script writes the pcap
with scapy, runs what `cicflowmeter -f CAPTURE -c OUT` runs (that
command itself crashes in 0.5.0: see export() below) and copies the CSV into the fixtures folder
with its rows sorted by protocol (the package writes them in the order its flows expire).

What the export shows (checked by Tests/FlowDataTests/PythonCICFlowMeterExportTests.swift):
every time column is in seconds (flow_duration 0.42, flow_iat_max 0.25), read by gpu-train as
420000 and 250000 microseconds; lengths are whole frames (54 bytes of Ethernet, IP and TCP headers
per packet); and 0.5.0 counts a flow's first packet twice (Flow() keeps it and add_packet() adds it
again): one forward packet too many, its frame in totlen_fwd_pkts twice, a zero in flow_iat_min
and fwd_iat_min, and one gap more in the IAT means.

For comparison (not kept as a fixture), the same packets() through cicflowmeter 0.2.0 in a Python 3.11
venv (its FlowSession takes output_mode and output as class attributes, and its per-packet method is
on_packet_received(); then garbage_collect(None)) give flow_duration 420000.0 and flow_iat_max
250000.0: 0.2.0 writes microseconds, and counts 5 forward TCP packets (no doubled first packet).
"""
import os
import tempfile

from scapy.all import IP, TCP, UDP, Ether, Raw, wrpcap

T0 = 1700000000.0
A, B = "127.0.0.1", "127.0.0.2"
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "..", "Tests", "FlowDataTests", "Fixtures", "python-cicflowmeter-0.5.0.csv")


def packets():
    out = []

    def add(t, pkt):
        pkt.time = T0 + t
        out.append(pkt)

    fwd = lambda: Ether() / IP(src=A, dst=B)
    bwd = lambda: Ether() / IP(src=B, dst=A)
    sport, dport = 40000, 8080
    add(0.000, fwd() / TCP(sport=sport, dport=dport, flags="S", seq=1000, window=64240))
    add(0.010, bwd() / TCP(sport=dport, dport=sport, flags="SA", seq=5000, ack=1001, window=65160))
    add(0.020, fwd() / TCP(sport=sport, dport=dport, flags="A", seq=1001, ack=5001, window=502))
    add(0.100, fwd() / TCP(sport=sport, dport=dport, flags="PA", seq=1001, ack=5001, window=502) / Raw(b"a" * 100))
    add(0.350, bwd() / TCP(sport=dport, dport=sport, flags="PA", seq=5001, ack=1101, window=509) / Raw(b"b" * 200))
    add(0.400, fwd() / TCP(sport=sport, dport=dport, flags="FA", seq=1101, ack=5201, window=502))
    add(0.410, bwd() / TCP(sport=dport, dport=sport, flags="FA", seq=5201, ack=1102, window=509))
    add(0.420, fwd() / TCP(sport=sport, dport=dport, flags="A", seq=1102, ack=5202, window=502))
    add(1.000, fwd() / UDP(sport=50000, dport=53) / Raw(b"q" * 30))
    add(1.200, bwd() / UDP(sport=53, dport=50000) / Raw(b"r" * 60))
    add(1.500, fwd() / UDP(sport=50000, dport=53) / Raw(b"q" * 30))
    return out


def export(pcap, csv):
    """What `cicflowmeter -f PCAP -c CSV` does, less two things that fail here:
    - 0.5.0's main() passes its arguments to create_sniffer() positionally one slot off (fields
      lands in input_directory and the --verbose flag, a bool, in fields), so the command dies
      with "'bool' object has no attribute 'split'";
    - its AsyncSniffer compiles the BPF filter "ip and (tcp or udp)" with libpcap or tcpdump,
      neither of which this machine has ("libpcap is not available. Cannot compile filter").
    So the packets are read with scapy and handed to the same FlowSession.process() the sniffer
    calls for each packet (every packet here passes that filter), then flush_flows() as main() does
    at the end. No periodic garbage collection thread: it compares flows with the wall clock and
    would only cut them early; this capture has no flow long enough to expire."""
    from scapy.all import rdpcap
    from cicflowmeter.flow_session import FlowSession

    session = FlowSession(output_mode="csv", output=csv, fields=None, verbose=False)
    for pkt in rdpcap(pcap):
        session.process(pkt)
    session.flush_flows()


def main():
    with tempfile.TemporaryDirectory() as tmp:
        pcap, csv = os.path.join(tmp, "known.pcap"), os.path.join(tmp, "flows.csv")
        wrpcap(pcap, packets())
        export(pcap, csv)
        with open(csv) as f:
            lines = [l for l in f.read().splitlines() if l]
        header, rows = lines[0], lines[1:]
        proto = header.split(",").index("protocol")
        rows.sort(key=lambda r: int(r.split(",")[proto]))
        os.makedirs(os.path.dirname(FIXTURE), exist_ok=True)
        with open(FIXTURE, "w") as f:
            f.write("\n".join([header] + rows) + "\n")
    print(f"wrote {os.path.normpath(FIXTURE)}: {len(rows)} flows")


if __name__ == "__main__":
    main()
