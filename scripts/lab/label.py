#!/usr/bin/env python3
"""Labels every flow of the lab's flow files by its client address (standard library only).

  label.py --out labels.csv FLOWS.csv...

Writes `file,row,role,kind`: `file` the flow file's name, `row` 1 for the first flow after the
header (as `crossval --flow-roles` counts), `role` `attack`, `background` (benign) or `unknown`,
`kind` `benign`, the attack kind (scripts/lab/kinds.py) or `unknown`. A flow is attack kind N when
either end is 127.0.2.N, benign when either end is in 127.0.1.0/24: flows are bidirectional and a
meter that first saw a reply writes the client as Dst IP. Flows between other addresses (none
are sent by the lab) are `unknown`, counted on stderr and left out of the scores.
Reads the CICFlowMeter dialects (`Src IP`) and Python cicflowmeter's (`src_ip`)."""
import argparse
import collections
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kinds import label_of  # noqa: E402


def canonical(name):
    return name.strip().lower().replace("_", " ")


def column(header, names, path):
    canon = [canonical(h) for h in header]
    for name in names:
        if name in canon:
            return canon.index(name)
    raise SystemExit(f"{path}: no column {' or '.join(repr(n) for n in names)} in the header")


def label_file(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            raise SystemExit(f"{path}: empty file")
        src = column(header, ["src ip", "source ip"], path)
        dst = column(header, ["dst ip", "destination ip"], path)
        for row, fields in enumerate(reader, start=1):
            if len(fields) != len(header):
                raise SystemExit(f"{path}: line {row + 1}: {len(fields)} fields, the header has {len(header)}")
            kind = label_of(fields[src].strip(), fields[dst].strip())
            role = "background" if kind == "benign" else "unknown" if kind == "unknown" else "attack"
            yield row, role, kind


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("flows", nargs="+")
    args = parser.parse_args()
    rows = []
    for path in args.flows:
        counts = collections.Counter()
        for row, role, kind in label_file(path):
            rows.append((os.path.basename(path), row, role, kind))
            counts[kind] += 1
        print(f"lab: {os.path.basename(path)}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())),
              file=sys.stderr)
    with open(args.out, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["file", "row", "role", "kind"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
