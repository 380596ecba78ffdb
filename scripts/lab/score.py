#!/usr/bin/env python3
"""Scores the lab: per attack kind, detection at the model's threshold, incidents and AUC against
the later benign flows; and the false-positive rate on the later benign flows (standard library).

  score.py --labels labels.csv --flows later-flows.csv --verdicts verdicts.jsonl
           --incidents incidents.jsonl --out report.md --json report.json [--title TEXT]

`verdicts.jsonl` is `gpu-train detect --format jsonl` on the later flow file: its `row` is the
flow's line in that file (header = line 1), so flow `row - 1` of labels.csv. An attack kind
"produced an incident" when an incident's src_ip or dst_ip is that kind's address. AUC is the
probability that a flow of the kind scores above a later benign flow (ties count one half)."""
import argparse
import collections
import csv
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kinds import ATTACKS  # noqa: E402


def auc(positives, negatives):
    """Mann-Whitney AUC with ties counted one half; None when either side is empty."""
    if not positives or not negatives:
        return None
    scored = sorted([(s, 1) for s in positives] + [(s, 0) for s in negatives])
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        mid_rank = (i + 1 + j) / 2.0
        rank_sum += mid_rank * sum(1 for k in range(i, j) if scored[k][1] == 1)
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def read_jsonl(path):
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as error:
                    raise SystemExit(f"{path}: line {number}: not JSON ({error})")


def score(labels_path, flows_name, verdicts_path, incidents_path):
    kinds = {}
    with open(labels_path, newline="") as f:
        for record in csv.DictReader(f):
            if record["file"] == flows_name:
                kinds[int(record["row"])] = record["kind"]
    if not kinds:
        raise SystemExit(f"{labels_path}: no labels for {flows_name}")
    scores, flagged, threshold = collections.defaultdict(list), collections.Counter(), None
    seen = 0
    for verdict in read_jsonl(verdicts_path):
        flow = verdict["row"] - 1
        if flow not in kinds:
            raise SystemExit(f"{verdicts_path}: row {verdict['row']} has no label in {labels_path}")
        kind = kinds[flow]
        seen += 1
        scores[kind].append(verdict["score"])
        flagged[kind] += verdict["verdict"] == "malicious"
        threshold = verdict.get("threshold", threshold)
    if seen != len(kinds):
        raise SystemExit(f"{verdicts_path}: {seen} verdicts for {len(kinds)} labelled flows")
    incidents = list(read_jsonl(incidents_path)) if incidents_path and os.path.exists(incidents_path) else []
    benign = scores.get("benign", [])
    report = {
        "threshold": threshold,
        "later_benign_flows": len(benign),
        "later_benign_flagged": flagged["benign"],
        "false_positive_rate": flagged["benign"] / len(benign) if benign else None,
        "benign_incidents": sum(1 for i in incidents
                                if any(str(i.get(k, "")).startswith("127.0.1.") for k in ("src_ip", "dst_ip"))
                                and not any(i.get(k) in ATTACKS.values() for k in ("src_ip", "dst_ip"))),
        "unknown_flows": len(scores.get("unknown", [])),
        "attacks": {},
    }
    for kind, address in ATTACKS.items():
        values = scores.get(kind, [])
        report["attacks"][kind] = {
            "address": address,
            "flows": len(values),
            "flagged": flagged[kind],
            "detected_rate": flagged[kind] / len(values) if values else None,
            "incidents": sum(1 for i in incidents if address in (i.get("src_ip"), i.get("dst_ip"))),
            "auc_vs_later_benign": auc(values, benign),
        }
    return report


def fmt(value, percent=False):
    if value is None:
        return "n/a"
    return f"{100 * value:.1f}%" if percent else f"{value:.3f}"


def markdown(report, title):
    lines = [f"Lab report: `{title}`" if title else "Lab report", "",
             f"Threshold {fmt(report['threshold'])}; later benign flows {report['later_benign_flows']}, "
             f"flagged {report['later_benign_flagged']} (false-positive rate "
             f"{fmt(report['false_positive_rate'], True)}), incidents of benign clients "
             f"{report['benign_incidents']}; flows of no lab address {report['unknown_flows']}.", "",
             "| attack kind | source | flows | flagged | detected | incidents | AUC vs later benign |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for kind, a in report["attacks"].items():
        lines.append(f"| {kind} | {a['address']} | {a['flows']} | {a['flagged']} | "
                     f"{fmt(a['detected_rate'], True)} | {a['incidents']} | {fmt(a['auc_vs_later_benign'])} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", required=True)
    parser.add_argument("--flows", required=True, help="the flow file's name as labels.csv names it")
    parser.add_argument("--verdicts", required=True)
    parser.add_argument("--incidents")
    parser.add_argument("--out", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    report = score(args.labels, os.path.basename(args.flows), args.verdicts, args.incidents)
    report["title"] = args.title
    with open(args.json, "w") as f:
        json.dump(report, f, indent=2)
        f.write("\n")
    with open(args.out, "w") as f:
        f.write(markdown(report, args.title))


if __name__ == "__main__":
    main()
