#!/usr/bin/env python3
"""Prototypes beside `gpu-train crossval`, outside the Swift code (docs/RESULTS.md).

Same protocol as `gpu-train crossval --encoders none`: the 19 default features, benign flows split
by file order (earliest 80% baseline, the rest tested), the baseline's quantile transform to a
standard normal, each scenario left out in turn, and AUC on the whole left-out capture, without
reconnaissance, and on its flows to known / new endpoints (see `crossval` in the README).

  siamese  the Siamese knobs the issue asked about, on the feature vector instead of the image:
           a small MLP encoder (19 -> 128 -> 128 -> embedding) trained by PyTorch on baseline
           pairs and 5 shots, scored by distance to the nearest baseline flow in the embedding.
           Needs numpy and torch (bench/reference/requirements.txt).
  forest   the supervised reference: a RandomForest trained on the baseline and every flow of
           the other six scenarios (not few-shot). Needs numpy and scikit-learn.

    python3 tools/crossval_prototypes.py siamese --data ../shared/data/kubernetes-dataset --seeds 1,2,3
    python3 tools/crossval_prototypes.py forest --data ../shared/data/kubernetes-dataset --seeds 1,2,3 --by-port 6642
"""
import argparse, csv, glob, os
from statistics import NormalDist

import numpy as np

FEATURES = ["Flow Duration", "Total Fwd Packet", "Total Bwd packets", "Total Length of Fwd Packet",
            "Total Length of Bwd Packet", "Flow Bytes/s", "Flow Packets/s", "Flow IAT Mean", "Flow IAT Std",
            "Flow IAT Max", "Flow IAT Min", "Fwd IAT Total", "Bwd IAT Total", "Packet Length Min",
            "Packet Length Max", "Packet Length Mean", "Packet Length Std", "FWD Init Win Bytes", "Bwd Init Win Bytes"]


def feature_row(r):
    """The FEATURES of one CSV record (a csv.DictReader row); non-numbers and infinities as NaN."""
    row = []
    for f in FEATURES:
        try:
            v = float(r[f])
        except ValueError:
            v = float("nan")
        row.append(v if np.isfinite(v) else float("nan"))
    return row


def load(root):
    X, scen, endpoint = [], [], []
    for path in sorted(glob.glob(os.path.join(root, "**", "*.csv"), recursive=True)):
        name = os.path.basename(path).split("_")[0]
        for r in csv.DictReader(open(path)):
            X.append(feature_row(r))
            scen.append("benign" if float(r["Label"]) == 0 else name)
            endpoint.append(f"{r['Src IP']}>{r['Dst IP']}:{r['Dst Port']}")
    return np.array(X), np.array(scen), np.array(endpoint)


def quantile_transform(baseline, X, knots=1000, clip=5.0):
    nd = NormalDist()
    k = np.nanquantile(baseline, np.linspace(0, 1, knots), axis=0)
    out = np.zeros_like(X)
    for j in range(X.shape[1]):
        x = np.where(np.isnan(X[:, j]), np.nanmedian(k[:, j]), X[:, j])
        lo, hi = np.searchsorted(k[:, j], x, "left"), np.searchsorted(k[:, j], x, "right")
        pos = np.where(hi > lo, (lo + hi - 1) / 2.0, np.interp(x, k[:, j], np.arange(knots)))
        p = np.clip((pos + 0.5) / knots, 1e-6, 1 - 1e-6)
        out[:, j] = np.clip([nd.inv_cdf(v) for v in p], -clip, clip)
    return out.astype(np.float32)


def nearest(Q, B, exclude_self=False):
    d = (Q ** 2).sum(1)[:, None] + (B ** 2).sum(1)[None, :] - 2 * Q @ B.T
    if exclude_self:
        np.fill_diagonal(d, np.inf)
    return np.sqrt(np.maximum(d.min(1), 0)), d.argmin(1)


def auc_np(scores, labels):
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s))
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j + 2) / 2
        i = j + 1
    r = np.empty(len(s))
    r[order] = ranks
    pos = labels.sum()
    return (r[labels].sum() - pos * (pos + 1) / 2) / (pos * (len(labels) - pos))


def train_encoder(torch, Z, base, nn_of_base, shots, rng, emb, margin, positives, hard, loss, epochs):
    net = torch.nn.Sequential(torch.nn.Linear(Z.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, 128),
                              torch.nn.ReLU(), torch.nn.Linear(128, emb))
    opt = torch.optim.Adam(net.parameters(), 1e-3)
    Zt, S = torch.tensor(Z), torch.tensor(Z[shots])
    for _ in range(epochs * 16):
        i = rng.choice(len(base), 128)
        j = nn_of_base[i] if positives == "nearest" else rng.choice(len(base), 128)
        a, p = net(Zt[base[i]]), net(Zt[base[j]])
        es = net(S)
        if hard:  # the shot nearest to each anchor in the embedding
            with torch.no_grad():
                pick = torch.cdist(a, es).argmin(1)
        else:
            pick = torch.tensor(rng.integers(0, len(shots), 128))
        n = es[pick]
        dp, dn = (a - p).norm(dim=1), (a - n).norm(dim=1)
        if loss == "contrastive":
            value = (dp ** 2).mean() + (torch.relu(margin - dn) ** 2).mean()
        else:
            value = torch.relu(dp - dn + margin).mean()
        opt.zero_grad()
        value.backward()
        opt.step()
    with torch.no_grad():
        return net(Zt).numpy()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("mode", choices=["siamese", "forest"])
    ap.add_argument("--data", required=True)
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--by-port", metavar="PORT", help="forest: also the AUC of both detectors on the left-out "
                    "scenario's known-endpoint flows to this destination port alone, against the later benign ones")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    X, scen, endpoint = load(args.data)
    benign = np.where(scen == "benign")[0]
    cut = int(round(len(benign) * 0.8))
    base, later = benign[:cut], benign[cut:]
    known = np.isin(endpoint, list(set(endpoint[base])))
    scenarios = sorted(set(scen) - {"benign"})

    def evaluate(scores, sc):
        """AUC of the left-out scenario `sc` against the later benign flows: all, known, new."""
        a = np.where(scen == sc)[0]
        out = {}
        for part, idx in {"all": a, "known": a[known[a]], "new": a[~known[a]]}.items():
            test = np.concatenate([later, idx])
            labels = np.r_[np.zeros(len(later), bool), np.ones(len(idx), bool)]
            out[part] = auc_np(scores[test], labels) if len(idx) else float("nan")
        return out

    def summary(per):
        m = lambda part, skip_recon=False: np.nanmean([v[part] for s, v in per.items()
                                                        if not (skip_recon and s == "reconnaissance")])
        return m("all"), m("all", True), m("known"), m("new")

    def nearest_scores(E):
        return nearest(E, E[base])[0]

    Z = quantile_transform(X[base], X)
    plain = nearest_scores(Z)
    print("setting                           mean AUC  w/o recon  known  new", flush=True)
    print("plain nearest neighbour (none)     %.3f     %.3f      %.3f  %.3f"
          % summary({sc: evaluate(plain, sc) for sc in scenarios}), flush=True)
    if args.mode == "forest":
        from sklearn.ensemble import RandomForestClassifier
        port = np.array([e.rsplit(":", 1)[1] for e in endpoint]) == args.by_port
        runs = []
        for seed in seeds:
            per = {}
            for sc in scenarios:
                train = np.concatenate([base, np.where((scen != "benign") & (scen != sc))[0]])
                forest = RandomForestClassifier(n_estimators=300, random_state=seed, n_jobs=-1)
                forest.fit(Z[train], scen[train] != "benign")
                p = forest.predict_proba(Z)[:, 1]
                per[sc] = evaluate(p, sc)
                if args.by_port and seed == seeds[0]:
                    a = np.where((scen == sc) & known & port)[0]
                    b = later[port[later]]
                    if len(a) and len(b):
                        test, labels = np.r_[b, a], np.r_[np.zeros(len(b), bool), np.ones(len(a), bool)]
                        print("  %s, port %s, %d known-endpoint flows: forest %.3f, nearest neighbour %.3f (seed %d)"
                              % (sc, args.by_port, len(a), auc_np(p[test], labels),
                                 auc_np(plain[test], labels), seed), flush=True)
            runs.append(summary(per))
        print("RandomForest, 300 trees, supervised %.3f     %.3f      %.3f  %.3f   (%d seeds)"
              % (*np.mean(runs, axis=0), len(runs)), flush=True)
        return
    import torch
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    _, nn_of_base = nearest(Z[base], Z[base], exclude_self=True)
    settings = [("MLP, nearest similar pairs", {}), ("MLP, random similar pairs", dict(positives="random")),
                ("margin 0.3", dict(margin=0.3)), ("margin 3", dict(margin=3.0)), ("margin 10", dict(margin=10.0)),
                ("embedding 8", dict(emb=8)), ("embedding 128", dict(emb=128)),
                ("hard negatives", dict(hard=True)), ("triplet loss", dict(loss="triplet"))]
    for label, kw in settings:
        cfg = dict(emb=32, margin=1.0, positives="nearest", hard=False, loss="contrastive", epochs=20) | kw
        runs = []
        for seed in seeds:
            per = {}
            for sc in scenarios:
                rng = np.random.default_rng(seed)
                torch.manual_seed(seed)
                others = np.where((scen != "benign") & (scen != sc))[0]
                shots = rng.choice(others, 5, replace=False)
                E = train_encoder(torch, Z, base, nn_of_base, shots, rng, **cfg)
                per[sc] = evaluate(nearest_scores(E), sc)
            runs.append(summary(per))
        spread = [r[0] for r in runs]
        print("%-33s  %.3f     %.3f      %.3f  %.3f   (%d seeds; mean AUC per seed %.3f-%.3f)"
              % (label, *np.mean(runs, axis=0), len(runs), min(spread), max(spread)), flush=True)


if __name__ == "__main__":
    main()
