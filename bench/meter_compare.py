#!/usr/bin/env python3
"""gpu-train's flow meter against the Python cicflowmeter on one capture, interleaved (make bench-meter).

Each round runs, one after the other (never in parallel: they share the CPUs):
  - `gpu-train bench --parts meter --meter-pcap CAPTURE` (median packets/s of 5 timed runs after a
    warm-up, one thread, every flow's CSV line formatted);
  - `gpu-train flows --pcap CAPTURE --out TMP` once, for its peak RSS (os.wait4's ru_maxrss) and
    its wall time including writing the CSV;
  - bench/reference/cicflowmeter_bench.py on the first --python-packets packets.
Then it prints the medians over rounds and the ratio, and writes them as JSON.

  python3 bench/meter_compare.py --pcap CAPTURE --gpu-train .build/release/gpu-train \
      --python .venv-meter/bin/python [--rounds 3] [--python-packets 50000] [--out DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def run_measured(argv, env=None):
    """Runs argv; returns (wall seconds, peak RSS in MB, stdout)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.PIPE, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - started
        stderr = p.stderr.read().decode(errors="replace")
        p.stderr.close()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            sys.exit(f"{' '.join(argv)} failed ({code}):\n{stderr}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024.0, out.read().decode()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pcap", required=True)
    parser.add_argument("--gpu-train", required=True)
    parser.add_argument("--python", required=True, help="a Python 3.12 with cicflowmeter 0.5.x")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--python-packets", type=int, default=50_000)
    parser.add_argument("--out", default=".build/bench/meter")
    args = parser.parse_args()
    if args.rounds < 1 or args.python_packets < 1:
        sys.exit("--rounds and --python-packets must be at least 1")
    os.makedirs(args.out, exist_ok=True)
    ours, flows_wall, flows_rss, theirs = [], [], [], []
    packets = flows = None
    env = dict(os.environ, TZ="UTC")
    for r in range(args.rounds):
        order = ["gpu-train", "python"] if r % 2 == 0 else ["python", "gpu-train"]
        for who in order:
            if who == "gpu-train":
                report = os.path.join(args.out, f"gpu-train-{r}.json")
                run_measured([args.gpu_train, "bench", "--parts", "meter", "--meter-pcap", args.pcap, "--json", report])
                with open(report) as f:
                    meter = json.load(f)["meter"]
                ours.append(meter["packets_per_s"])
                packets, flows = meter["packets"], meter["flows"]
                with tempfile.TemporaryDirectory() as folder:
                    wall, rss, _ = run_measured([args.gpu_train, "flows", "--pcap", args.pcap, "--out",
                                                 os.path.join(folder, "flows.csv")])
                flows_wall.append(wall)
                flows_rss.append(rss)
                print(f"round {r + 1}: gpu-train {meter['packets_per_s']:,.0f} packets/s; flows command "
                      f"{wall:.2f} s, peak RSS {rss:.0f} MB", file=sys.stderr)
            else:
                _, _, text = run_measured([args.python, os.path.join(HERE, "reference", "cicflowmeter_bench.py"),
                                           "--pcap", args.pcap, "--packets", str(args.python_packets)], env=env)
                result = json.loads(text.strip().splitlines()[-1])
                theirs.append(result["packets_per_s"])
                print(f"round {r + 1}: python cicflowmeter {result['version']} {result['packets_per_s']:,.0f} "
                      f"packets/s on {result['packets']:,} packets", file=sys.stderr)
    summary = {
        "capture": args.pcap, "packets": packets, "flows": flows, "rounds": args.rounds,
        "gpu_train_packets_per_s": statistics.median(ours), "gpu_train_samples": ours,
        "flows_command_seconds": statistics.median(flows_wall), "flows_command_peak_rss_mb": max(flows_rss),
        "python_cicflowmeter_packets_per_s": statistics.median(theirs), "python_samples": theirs,
        "python_packets": args.python_packets,
    }
    summary["ratio"] = summary["gpu_train_packets_per_s"] / summary["python_cicflowmeter_packets_per_s"]
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(f"gpu-train flows: {summary['gpu_train_packets_per_s']:,.0f} packets/s (median of {args.rounds} rounds; "
          f"{packets:,} packets, {flows:,} flows; the flows command took {summary['flows_command_seconds']:.2f} s "
          f"with peak RSS {summary['flows_command_peak_rss_mb']:.0f} MB)")
    print(f"python cicflowmeter: {summary['python_cicflowmeter_packets_per_s']:,.0f} packets/s "
          f"(first {args.python_packets:,} packets)")
    print(f"ratio: {summary['ratio']:.1f}x")


if __name__ == "__main__":
    main()
