#!/usr/bin/env python3
"""Times the Python `cicflowmeter` package (0.5.x) metering a capture, for `make bench-meter`.

cicflowmeter 0.5.x needs Python >= 3.12 (on 3.11 pip quietly installs 0.2.0), and its
`cicflowmeter -f FILE -c OUT` mode crashes in 0.5.0, so this does what that mode means to do:
packets are read with scapy's streaming PcapReader and handed to the FlowSession its sniffer
uses, one process() call per packet, then flush_flows(), with the CSV written to a temporary
file. The wall-clock garbage collector thread is not started (it expires flows against the
wall clock, not packet times). scapy's parsing is part of the time: the package cannot meter
without it.

  python bench/reference/cicflowmeter_bench.py --pcap CAPTURE [--packets N] [--json OUT]

--packets stops after the first N packets (the package runs at thousands of packets/s, so a
million-packet capture takes minutes); packets/s is what it sustained over those.
"""
import argparse
import json
import os
import sys
import tempfile
import time


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pcap", required=True)
    parser.add_argument("--packets", type=int, default=0, help="stop after this many packets (0: all)")
    parser.add_argument("--json", help="write the result as JSON here")
    args = parser.parse_args()
    if args.packets < 0:
        sys.exit("--packets must be 0 (all) or positive")
    from importlib.metadata import version
    from scapy.utils import PcapReader
    from cicflowmeter.flow_session import FlowSession

    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "flows.csv")
        session = FlowSession(output_mode="csv", output=out, fields=None, verbose=False)
        count = 0
        started = time.perf_counter()
        with PcapReader(args.pcap) as reader:
            for packet in reader:
                session.process(packet)
                count += 1
                if args.packets and count >= args.packets:
                    break
        session.flush_flows()
        seconds = time.perf_counter() - started
        with open(out) as f:
            flows = max(0, sum(1 for _ in f) - 1)
    result = {"tool": "python-cicflowmeter", "version": version("cicflowmeter"), "packets": count, "flows": flows,
              "seconds": seconds, "packets_per_s": count / seconds if seconds > 0 else 0.0}
    print(json.dumps(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
