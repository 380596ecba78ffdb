#!/usr/bin/env python3
"""Regenerate the flow meter's cross-check fixtures (issue 21, part 3):

  Tests/CLITests/Fixtures/crosscheck-loopback.pcap           a real loopback capture
  Tests/CLITests/Fixtures/crosscheck-python-cicflowmeter-0.5.0.csv   Python cicflowmeter's flows for it

Tests/CLITests/FlowMeterCrossCheckTests.swift meters the pcap with `gpu-train flows` and compares
every column with the Python export, each known difference asserted (README, Dialects).

The capture: this script starts a TCP and a UDP server on 127.0.3.1, runs tcpdump on lo
(filter `net 127.0.1.0/24`), and runs these clients from fixed 127.0.1.x addresses and ports
(loopback only; nothing leaves the machine):
  A  TCP 127.0.1.1:40001 -> :18081  request 120 B, reply 1000 B, request 40 B, reply 3000 B,
     then the client closes first (FIN, FIN, ACK)
  B  TCP 127.0.1.2:40002 -> :18082  a closed port: SYN, RST-ACK
  C  TCP 127.0.1.3:40003 -> :18081  50 B, reply 200 B, 6 s of silence (past the 5 s activity
     timeout), 50 B, reply 200 B, client closes first
  D  UDP 127.0.1.4:40004 -> :15354  three 40 B queries 0.2 s apart, each answered with 90 B
  E  UDP 127.0.1.5:40005 -> :15354  one 30 B datagram, never answered
  F  TCP 127.0.1.6:40006 -> :18081  80 B, reply 500 B, then the server closes first
Packet times and TCP options are the kernel's: regenerating gives another capture (and the test
compares the two meters on whichever capture is committed, never against fixed times).

How it was made (2026-12-07, Debian 12, Linux x86_64, as root: tcpdump needs it):
  apt-get install -y tcpdump
  /root/.pyenv/versions/3.12.1/bin/python3.12 -m venv /tmp/cfm12
  /tmp/cfm12/bin/pip install cicflowmeter==0.5.0          # pulls scapy 2.8.0
  TZ=UTC /tmp/cfm12/bin/python tools/make_flowmeter_crosscheck_fixture.py
(TZ=UTC: the package writes its timestamp column in local time.)

Working around cicflowmeter 0.5.x (see also tools/make_python_cicflowmeter_fixture.py):
  - it needs Python >= 3.12: pip on 3.11 quietly installs 0.2.0 (microseconds, another format);
  - `cicflowmeter -f FILE -c OUT` crashes in 0.5.0 (its main() passes create_sniffer()'s arguments
    one slot off), so the packets are read with scapy and fed to the FlowSession the sniffer
    would use, one process() call per packet, then flush_flows() as main() does at the end;
  - its sniffer's garbage-collection thread expires flows against the wall clock, not the
    packets' times: not started here (process() itself only compares packet times, and nothing
    in this capture is idle for its 240 s);
  - it counts every flow's first packet twice (Flow() keeps it, add_packet() adds it again): left
    as it is in the CSV; the test asserts that difference explicitly.
Rows are sorted by protocol, source address and port (the package writes them in dict order).
"""
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "CLITests", "Fixtures")
PCAP = os.path.join(FIXTURES, "crosscheck-loopback.pcap")
CSV = os.path.join(FIXTURES, "crosscheck-python-cicflowmeter-0.5.0.csv")
SERVER, TCP_PORT, CLOSED_PORT, UDP_PORT = "127.0.3.1", 18081, 18082, 15354


def tcp_server(listener, stop):
    """Answers each message with the size it asks for (`want N`); `close` makes it close first."""
    def handle(conn):
        with conn:
            buffer = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    words = line.split()
                    if len(words) >= 2 and words[0].endswith(b"want"):
                        conn.sendall(b"r" * int(words[1]))
                    if b"close" in words:
                        conn.shutdown(socket.SHUT_WR)
    listener.settimeout(0.2)
    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except socket.timeout:
            continue
        threading.Thread(target=handle, args=(conn,), daemon=True).start()


def udp_server(sock, stop):
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(2048)
        except socket.timeout:
            continue
        if not data.startswith(b"x"):
            sock.sendto(b"a" * 90, peer)


def message(size, want, close=False):
    """A line of exactly `size` bytes asking for `want` bytes back."""
    head = f"want {want}{' close' if close else ''} ".encode()
    return head + b"p" * (size - len(head) - 1) + b"\n"


def connect(source, port, destination=TCP_PORT):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((source, port))
    s.settimeout(5)
    s.connect((SERVER, destination))
    return s


def receive(s, size):
    got = 0
    while got < size:
        data = s.recv(65536)
        if not data:
            break
        got += len(data)


def drain_and_close(s):
    while s.recv(65536):
        pass
    s.close()


def clients():
    s = connect("127.0.1.1", 40001)                                   # A
    s.sendall(message(120, 1000)); receive(s, 1000); time.sleep(0.05)
    s.sendall(message(40, 3000)); receive(s, 3000); time.sleep(0.05)
    s.shutdown(socket.SHUT_WR); drain_and_close(s); time.sleep(0.3)
    try:                                                              # B
        connect("127.0.1.2", 40002, CLOSED_PORT)
    except ConnectionRefusedError:
        pass
    time.sleep(0.3)
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)              # D
    u.bind(("127.0.1.4", 40004)); u.settimeout(2)
    for _ in range(3):
        u.sendto(b"q" * 40, (SERVER, UDP_PORT)); u.recvfrom(2048); time.sleep(0.2)
    u.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)              # E
    u.bind(("127.0.1.5", 40005)); u.sendto(b"x" * 30, (SERVER, UDP_PORT)); u.close()
    time.sleep(0.3)
    s = connect("127.0.1.6", 40006)                                   # F
    s.sendall(message(80, 500, close=True)); receive(s, 500); drain_and_close(s); time.sleep(0.3)
    s = connect("127.0.1.3", 40003)                                   # C
    s.sendall(message(50, 200)); receive(s, 200); time.sleep(6.0)
    s.sendall(message(50, 200)); receive(s, 200)
    s.shutdown(socket.SHUT_WR); drain_and_close(s); time.sleep(0.5)


def capture(pcap):
    stop = threading.Event()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((SERVER, TCP_PORT)); listener.listen(8)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((SERVER, UDP_PORT))
    servers = [threading.Thread(target=tcp_server, args=(listener, stop), daemon=True),
               threading.Thread(target=udp_server, args=(udp, stop), daemon=True)]
    for t in servers:
        t.start()
    dump = subprocess.Popen(["tcpdump", "-i", "lo", "-n", "-U", "-w", pcap, "net 127.0.1.0/24"],
                            stderr=subprocess.PIPE)
    try:
        for _ in range(50):
            if os.path.exists(pcap) and os.path.getsize(pcap) > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        clients()
    finally:
        dump.send_signal(signal.SIGINT)
        print(dump.communicate(timeout=10)[1].decode().strip())
        stop.set()
        for t in servers:
            t.join()
        listener.close(); udp.close()


def export(pcap, csv):
    """What `cicflowmeter -f PCAP -c CSV` would do, per packet (see the docstring)."""
    from scapy.all import rdpcap
    from cicflowmeter.flow_session import FlowSession

    session = FlowSession(output_mode="csv", output=csv, fields=None, verbose=False)
    for pkt in rdpcap(pcap):
        session.process(pkt)
    session.flush_flows()


def main():
    os.makedirs(FIXTURES, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        pcap, csv = os.path.join(tmp, "capture.pcap"), os.path.join(tmp, "flows.csv")
        os.chmod(tmp, 0o755)  # tcpdump drops to its own user before writing
        capture(pcap)
        export(pcap, csv)
        with open(csv) as f:
            lines = [line for line in f.read().splitlines() if line]
        header, rows = lines[0], lines[1:]
        names = header.split(",")
        proto, src, sport = names.index("protocol"), names.index("src_ip"), names.index("src_port")
        rows.sort(key=lambda r: (int(r.split(",")[proto]), r.split(",")[src], int(r.split(",")[sport])))
        with open(pcap, "rb") as f, open(PCAP, "wb") as out:
            out.write(f.read())
        with open(CSV, "w") as f:
            f.write("\n".join([header] + rows) + "\n")
    print(f"wrote {os.path.normpath(PCAP)} and {os.path.normpath(CSV)}: {len(rows)} flows")


if __name__ == "__main__":
    main()
