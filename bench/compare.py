#!/usr/bin/env python3
"""Print one table from several benchmark JSON files: `gpu-train bench --json` and the
references in bench/reference/ (torch_bench.py, tf_bench.py --json).

    python3 bench/compare.py gpu-train.json torch.json tf.json [--markdown]

Rows: training pairs/s at each batch size, inference images/s, peak RSS. Columns:
every backend of every file, then for each gpu-train backend its ratio to the best
reference in that row (higher is better for rates, lower for memory; for peak RSS the
ratio is gpu-train / lowest reference, so below 1 is better). Missing figures show as
'-'. A file is taken as gpu-train's when it has no "framework" key, or one that starts
with "gpu-train". Needs only the Python standard library.
"""

import argparse
import json
import sys

TRAIN_BATCHES = ("5", "32", "128")


def load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise SystemExit(f"{path}: cannot read: {e.strerror}")
    except json.JSONDecodeError as e:
        raise SystemExit(f"{path}:{e.lineno}:{e.colno}: not JSON: {e.msg}")
    if not isinstance(doc, dict) or not isinstance(doc.get("backends"), dict):
        raise SystemExit(f"{path}: no \"backends\" object; not a benchmark JSON file")
    return doc


def number(x):
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) else None


def columns(paths):
    """One column per backend per file: (label, is_gpu_train, figures, doc)."""
    cols = []
    for path in paths:
        doc = load(path)
        framework = doc.get("framework") or "gpu-train"
        ours = str(framework).startswith("gpu-train")
        for name, b in doc["backends"].items():
            if not isinstance(b, dict):
                continue
            train = b.get("train_pairs_per_s") if isinstance(b.get("train_pairs_per_s"), dict) else {}
            figures = {f"train {batch}": number(train.get(batch)) for batch in TRAIN_BATCHES}
            for batch in train:  # any other batch sizes a file carries
                figures.setdefault(f"train {batch}", number(train.get(batch)))
            figures["inference"] = number(b.get("inference_images_per_s"))
            figures["rss"] = number(b.get("peak_rss_mb"))
            # a whole-file figure: shown once, under the file's first backend
            first = not any(c["path"] == path for c in cols)
            figures["csv"] = number(doc.get("csv_mb_per_s")) if ours and first else None
            if ours:
                label = f"gpu-train {name}"
            else:  # a reference's only backend is "cpu": its framework names it
                label = str(framework) if name == "cpu" else f"{framework} {name}"
            device = b.get("device")
            cols.append({"label": label, "ours": ours, "figures": figures, "doc": doc,
                         "device": device, "path": path})
    return cols


def fmt(x, digits=1):
    return "-" if x is None else f"{x:,.{digits}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+", help="benchmark JSON files")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table (for docs/BENCHMARKS.md)")
    args = ap.parse_args()

    cols = columns(args.files)
    if not cols:
        raise SystemExit("no backends in the given files")
    refs = [c for c in cols if not c["ours"]]
    ours = [c for c in cols if c["ours"]]

    extra_batches = sorted({k for c in cols for k in c["figures"] if k.startswith("train ")}
                           - {f"train {b}" for b in TRAIN_BATCHES}, key=lambda k: int(k.split()[1]))
    rows = [(f"train {b}", f"train pairs/s, batch {b}", True) for b in TRAIN_BATCHES]
    rows += [(k, f"train pairs/s, batch {k.split()[1]}", True) for k in extra_batches]
    rows += [("inference", "inference images/s, 256", True), ("rss", "peak RSS, MB", False)]
    if any(c["figures"]["csv"] is not None for c in ours):
        rows.append(("csv", "CSV parsing, MB/s", True))

    header = ["figure"] + [c["label"] for c in cols] + [f"{c['label']} / best ref" for c in ours] if refs else \
        ["figure"] + [c["label"] for c in cols]
    table = []
    for key, title, higher_better in rows:
        line = [title] + [fmt(c["figures"].get(key)) for c in cols]
        if refs:
            values = [c["figures"].get(key) for c in refs if c["figures"].get(key) is not None]
            best = (max(values) if higher_better else min(values)) if values else None
            for c in ours:
                v = c["figures"].get(key)
                line.append("-" if v is None or not best else f"{v / best:.2f}x")
        table.append(line)

    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for line in table:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(r[i]) for r in [header] + table) for i in range(len(header))]
        print("  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header)))
        for line in table:
            print("  ".join(v.ljust(widths[0]) if i == 0 else v.rjust(widths[i]) for i, v in enumerate(line)))

    print()
    seen = set()
    for c in cols:
        if c["path"] in seen:
            continue
        seen.add(c["path"])
        d = c["doc"]
        print(f"{c['path']}: {d.get('framework') or 'gpu-train'}; machine {d.get('machine', '-')}; "
              f"commit {d.get('commit') or '-'}; date {d.get('date', '-')}")
    if refs:
        print("ratios: gpu-train / best reference in the row (rates: higher is better; "
              "peak RSS: lowest reference, lower is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
