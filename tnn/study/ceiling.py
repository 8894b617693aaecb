"""The ceiling part of the study: the real-space invariant itself scored against the exact labels.

A finite chain's real-space winding number deviates from the exact (infinite-system) invariant by
about ``exp(-D / xi)`` (``D`` the distance from the bulk window to the edges, ``xi`` the sample's
correlation length; docs/conventions.md, "Exact labels"). Any model that computes the real-space
invariant at that size -- the exact topo network, untrained -- can therefore score at most the
share of samples whose rounded real-space value equals the label. This part measures that ceiling
per test set and against ``L / xi``, checks that untrained exact topo *is* the real-space invariant
(its predictions equal the rounded value on every sample), and gives every run's accuracy against
``L / xi`` on the same bins.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ceiling", "ceiling_lines", "XI_BINS"]

#: bins of L / xi (chain length over the sample's correlation length)
XI_BINS = (0.0, 2.0, 4.0, 8.0, 16.0, np.inf)


def _bins(ratio, ok):
    idx = np.digitize(ratio, XI_BINS[1:-1])
    return [(ok & (idx == b)) for b in range(len(XI_BINS) - 1)]


def ceiling(st, summary) -> dict:
    """``{split: {...}}`` for every 1D test set: ``n``, ``realspace_acc`` (rounded real-space value
    against the label), ``topo_equals_realspace`` (untrained exact topo's predictions equal to it),
    ``bins`` (per ``L/xi`` bin: ``n``, the real-space accuracy, and each run's mean accuracy)."""
    from tnn.study.config import SETS_2D
    from tnn.study.sets import eval_sets_1d

    out = {}
    preds = summary["preds"]
    sets = {sp: (d, s, "topo-exact") for sp, (d, s) in eval_sets_1d(st.c).items()}
    if "2d-topo-exact" in preds:
        sets.update({sp: (d, s, "2d-topo-exact") for sp, (d, s) in SETS_2D.items()})
    for split, (ds_name, ds_split, exact) in sets.items():
        ds = st.sets[ds_name]
        fields = ("class", "label", "ill_defined") + (("xi",) if "xi" in ds.arrays else ())
        d = ds.load(ds_split, fields)
        keep = ~d["ill_defined"].astype(bool)
        rs, y = d["class"][keep], d["label"][keep]
        L = ds.spec.size[0]
        xi = d["xi"][keep] if "xi" in d else np.full(len(y), np.nan)
        ratio = L / np.where(np.isfinite(xi) & (xi > 0), xi, np.inf)
        res = {"n": int(len(y)), "L": int(L), "realspace_acc": float(np.mean(rs == y)) if len(y) else None}
        ex = preds.get(exact, {}).get(f"init/{split}")
        if ex is not None and len(y):
            res["topo_equals_realspace"] = float(np.mean(ex == rs[None, :]))
        right = rs == y
        bins = []
        for sel in _bins(ratio, np.ones(len(y), bool)):
            b = {"n": int(sel.sum()), "realspace": float(right[sel].mean()) if sel.any() else None, "runs": {}}
            for tag, p in preds.items():
                q = p.get(f"trained/{split}")
                if q is not None and sel.any() and "@" not in tag and tag.startswith("2d-") == exact.startswith("2d-"):
                    b["runs"][tag] = float(np.mean(q[:, sel] == y[None, sel]))
            bins.append(b)
        res["bins"] = bins
        res["xi_median"] = float(np.median(xi[np.isfinite(xi)])) if np.isfinite(xi).any() else None
        out[split] = res
    return out


def ceiling_lines(summary) -> list[str]:
    """The report's table: the real-space invariant's accuracy against the exact labels (its ceiling)
    per test set, and every run's accuracy per ``L / xi`` bin on the clean test set."""
    ce = summary["parts"].get("ceiling")
    if not ce:
        return []
    L = ["**The ceiling**: the rounded real-space invariant of each chain against its exact label (what any model "
         "that computes the invariant at this size can reach), and untrained exact topo against it:\n",
         "| test set | L | samples | median xi | real space = label | exact topo = real space |", "|---|---|---|---|---|---|"]
    for sp, r in ce.items():
        eq, xm, ra = r.get("topo_equals_realspace"), r.get("xi_median"), r.get("realspace_acc")
        L.append(f"| {sp} | {r['L']} | {r['n']} | {'--' if xm is None else f'{xm:.2f}'} "
                 f"| {'--' if ra is None else f'{ra:.3f}'} | {'--' if eq is None else f'{eq:.4f}'} |")
    t = ce.get("test")
    if t:
        heads = [f"L/xi in [{lo:g}, {hi:g}) (n={b['n']})" for lo, hi, b in zip(XI_BINS[:-1], XI_BINS[1:], t["bins"])]
        L += ["", "Accuracy against L / xi on the clean test set (mean over seeds):\n",
              "| run | " + " | ".join(heads) + " |", "|---|" + "---|" * len(heads),
              "| real-space invariant (ceiling) | " + " | ".join("--" if b["realspace"] is None else f"{b['realspace']:.3f}"
                                                               for b in t["bins"]) + " |"]
        tags = list(dict.fromkeys(k for b in t["bins"] for k in b["runs"]))
        for tag in tags:
            L.append(f"| {tag} | " + " | ".join(f"{b['runs'][tag]:.3f}" if tag in b["runs"] else "--" for b in t["bins"]) + " |")
    L.append("")
    return L
