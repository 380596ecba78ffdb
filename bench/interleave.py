#!/usr/bin/env python3
"""Run several benchmark commands in interleaved rounds and report medians and per-round ratios.

These machines drift 20-30% within minutes, so a figure from one run compares only with figures
taken beside it. Each round runs every command once (the order rotates from round to round so that
no command always runs first or last); every figure gets a median over the rounds, and every ratio
is taken inside a round before its median is taken.

    python3 bench/interleave.py --rounds 3 --out .build/bench \\
        --run 'gpu-train=.build/release/gpu-train bench --backend cpu --json {json}' \\
        --run 'pytorch=.venv-bench/bin/python bench/reference/torch_bench.py --json {json}' \\
        --run 'tensorflow=.venv-bench/bin/python bench/reference/tf_bench.py --json {json}'

    # before/after of two gpu-train binaries: ratios against the baseline, and the per-op table
    python3 bench/interleave.py --rounds 5 --baseline before \\
        --run 'before=/tmp/old/gpu-train bench --backend cpu --json {json}' \\
        --run 'after=.build/release/gpu-train bench --backend cpu --json {json}'

    # the detector's path against scikit-learn and FAISS (make bench-detector)
    python3 bench/interleave.py --rounds 3 --out .build/bench/detector \
        --run 'gpu-train=.build/release/gpu-train bench --detector-only --json {json}' \
        --run 'faiss=.venv-bench/bin/python bench/reference/knn_bench.py --library faiss --data DIR --json {json}'

    python3 bench/interleave.py --summarize DIR    # the report again from DIR's round files

`{json}` in a command is replaced by the file the command must write (DIR/round<R>-<label>.json).
Without --baseline, a gpu-train file's ratio is against the best reference (a file with a
"framework" key) in the same round, as in compare.py. Needs only the Python standard library.
"""

import argparse
import glob
import os
import re
import shlex
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402  (load, number: one reader of the JSON schema)

FIGURES = [("train 5", "train pairs/s, batch 5", True), ("train 32", "train pairs/s, batch 32", True),
           ("train 128", "train pairs/s, batch 128", True), ("inference", "inference images/s", True),
           ("rss", "peak RSS, MB", False)]


# The detector's figures (`gpu-train bench`'s "detector" object; knn_bench.py writes the same keys):
# JSON key -> (figure suffix, title suffix). All are rates: higher is better.
DETECTOR = [("flows_per_s", "", "detect flows/s, bank {}"),
            ("flows_per_s_euclidean", " euclidean", "detect flows/s, bank {}, no clip"),
            ("flows_per_s_direct", " direct", "detect flows/s, bank {}, CPU direct scan"),
            ("flows_per_s_opencl", " opencl", "detect flows/s, bank {}, OpenCL")]


def detector_figures(doc):
    """{figure: value} of a file's "detector" object: 'detect <bank>[ <kind>]' and 'quantile'."""
    d = doc.get("detector") if isinstance(doc.get("detector"), dict) else {}
    out = {}
    for key, suffix, _ in DETECTOR:
        values = d.get(key) if isinstance(d.get(key), dict) else {}
        for bank, v in values.items():
            out[f"detect {bank}{suffix}"] = compare.number(v)
    if compare.number(d.get("quantile_rows_per_s")) is not None:
        out["quantile"] = compare.number(d.get("quantile_rows_per_s"))
    return out


def all_figures(rounds):
    """FIGURES, then the detector's figures any file has: (key, title, higher is better)."""
    keys = {k for docs in rounds.values() for d in docs.values() for k in detector_figures(d)}
    extra = []
    for bank in sorted({int(k.split()[1]) for k in keys if k.startswith("detect ")}):
        for _, suffix, title in DETECTOR:
            if f"detect {bank}{suffix}" in keys:
                extra.append((f"detect {bank}{suffix}", title.format(bank), True))
    if "quantile" in keys:
        extra.append(("quantile", "quantile transform rows/s", True))
    return FIGURES + extra


def figures(doc):
    """{figure: value} of a file's first backend ('cpu' when present), plus per-op ms, the peak and
    the detector's figures."""
    backends = doc["backends"]
    out = detector_figures(doc)
    peak = doc.get("peak") if isinstance(doc.get("peak"), dict) else {}
    out["peak"] = compare.number(peak.get("gflops"))
    if not backends:  # a detector-only run
        return out
    name = "cpu" if "cpu" in backends else sorted(backends)[0]
    b = backends[name]
    train = b.get("train_pairs_per_s") if isinstance(b.get("train_pairs_per_s"), dict) else {}
    out.update({f"train {k}": compare.number(v) for k, v in train.items()})
    out["inference"] = compare.number(b.get("inference_images_per_s"))
    out["rss"] = compare.number(b.get("peak_rss_mb"))
    for op in b.get("ops") or []:
        if isinstance(op, dict) and compare.number(op.get("ms")) is not None:
            out[f"op {op.get('op')} {op.get('layer')}"] = compare.number(op.get("ms"))
    return out


def is_reference(doc):
    framework = doc.get("framework")
    return bool(framework) and not str(framework).startswith("gpu-train")


def run_rounds(runs, rounds, out):
    os.makedirs(out, exist_ok=True)
    for r in range(1, rounds + 1):
        shift = (r - 1) % len(runs)
        for label, command in runs[shift:] + runs[:shift]:
            path = os.path.join(out, f"round{r}-{label}.json")
            cmd = command.replace("{json}", shlex.quote(path))
            print(f"[round {r}/{rounds}] {label}: {cmd}", file=sys.stderr, flush=True)
            done = subprocess.run(cmd, shell=True, stdout=subprocess.DEVNULL)
            if done.returncode != 0:
                raise SystemExit(f"round {r}, {label}: exit status {done.returncode}: {cmd}")
            if not os.path.exists(path):
                raise SystemExit(f"round {r}, {label}: the command wrote no {path}")


def collect(out):
    """{round: {label: doc}} from DIR/round<R>-<label>.json."""
    rounds = {}
    for path in glob.glob(os.path.join(out, "round*-*.json")):
        m = re.fullmatch(r"round(\d+)-(.+)\.json", os.path.basename(path))
        if m:
            rounds.setdefault(int(m.group(1)), {})[m.group(2)] = compare.load(path)
    if not rounds:
        raise SystemExit(f"{out}: no round<R>-<label>.json files")
    return dict(sorted(rounds.items()))


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarize(rounds, baseline=None, labels=None):
    """Lines of the report: medians per label, then per-round ratios and their medians."""
    labels = labels or sorted({label for docs in rounds.values() for label in docs})
    if baseline is not None and baseline not in labels:
        raise SystemExit(f"--baseline {baseline}: no such label (have {', '.join(labels)})")
    first = next(iter(rounds.values()))
    refs = [l for l in labels if l in first and is_reference(first[l])]
    ours = [l for l in labels if l not in refs and l != baseline]
    lines = [f"{len(rounds)} rounds, interleaved; medians over rounds; ratios taken within each round", ""]

    shown = all_figures(rounds)
    ops = sorted({k for docs in rounds.values() for d in docs.values() for k in figures(d) if k.startswith("op ")})
    table = [["figure"] + labels]
    for key, title, _ in shown + [("peak", "fp32 peak GFLOP/s (probe)", True)]:
        vals = [median([figures(docs[l]).get(key) for docs in rounds.values() if l in docs]) for l in labels]
        if any(v is not None for v in vals):
            table.append([title] + [fmt(v) for v in vals])
    lines += render(table) + [""]

    # Ratios: each "ours" against the baseline, or against the best reference, round by round.
    against = [baseline] if baseline else refs
    if against:
        header = ["ratio"] + [f"r{r}" for r in rounds] + ["median"]
        for l in ours:
            table = [header]
            for key, title, higher in shown:
                per_round = []
                for docs in rounds.values():
                    if l not in docs:
                        per_round.append(None)
                        continue
                    mine = figures(docs[l]).get(key)
                    theirs = [figures(docs[a]).get(key) for a in against if a in docs]
                    theirs = [t for t in theirs if t]
                    best = (max(theirs) if higher else min(theirs)) if theirs else None
                    per_round.append(mine / best if mine is not None and best else None)
                if any(v is not None for v in per_round):
                    table.append([title] + [fmt(v, 2) for v in per_round] + [fmt(median(per_round), 2)])
            name = f"{l} / {baseline}" if baseline else f"{l} / best reference ({', '.join(refs)})"
            lines += [name + " (rates: above 1 is faster; RSS: below 1 is smaller)"] + render(table) + [""]
        if baseline and ops:
            table = [["op (median ms)", baseline] + ours + [f"{l}/{baseline}" for l in ours]]
            for key in ops:
                base = median([figures(docs[baseline]).get(key) for docs in rounds.values() if baseline in docs])
                mine = [median([figures(docs[l]).get(key) for docs in rounds.values() if l in docs]) for l in ours]
                ratio = []
                for l in ours:
                    per = [figures(docs[l]).get(key) / figures(docs[baseline]).get(key)
                           for docs in rounds.values()
                           if l in docs and baseline in docs and figures(docs[l]).get(key) and figures(docs[baseline]).get(key)]
                    ratio.append(fmt(median(per), 2))
                table.append([key[3:], fmt(base, 3)] + [fmt(m, 3) for m in mine] + ratio)
            lines += ["per op, wall-clock ms (time ratio: below 1 is faster)"] + render(table) + [""]
    return lines


def render(table):
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return ["  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)) for row in table]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", action="append", default=[], metavar="LABEL=COMMAND",
                    help="a command that writes a benchmark JSON file to {json}; repeat for each")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=".build/bench", help="folder for the round files")
    ap.add_argument("--baseline", help="label to take ratios against (default: the best reference)")
    ap.add_argument("--summarize", metavar="DIR", help="only report on the round files already in DIR")
    args = ap.parse_args(argv)

    if args.summarize:
        rounds = collect(args.summarize)
        labels = None
    else:
        runs = []
        for spec in args.run:
            label, sep, command = spec.partition("=")
            if not sep or not re.fullmatch(r"[A-Za-z0-9._-]+", label) or not command.strip():
                raise SystemExit(f"--run {spec!r}: expected LABEL=COMMAND with a label of letters, digits, . _ -")
            if "{json}" not in command:
                raise SystemExit(f"--run {label}: the command must contain {{json}}")
            runs.append((label, command))
        if not runs:
            raise SystemExit("nothing to run: give --run LABEL=COMMAND (or --summarize DIR)")
        if args.rounds < 1:
            raise SystemExit("--rounds must be at least 1")
        for stale in glob.glob(os.path.join(args.out, "round*-*.json")):
            os.remove(stale)  # rounds of an earlier run must not mix with these
        run_rounds(runs, args.rounds, args.out)
        rounds = collect(args.out)
        labels = [label for label, _ in runs]
    print("\n".join(summarize(rounds, args.baseline, labels)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
