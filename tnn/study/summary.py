"""The compact summaries printed by ``tnn study``: the accuracy table and the sanity check."""

from __future__ import annotations

from tnn.study.stats import cells, fmt

__all__ = ["results_table", "sanity"]


def sanity(summary: dict) -> tuple[bool, list[tuple[str, float | None]]]:
    """The exact topo model untrained computes the real-space invariant (1D and 2D): per test set, the
    share of samples where its prediction equals the rounded real-space value; passes iff every one is 1.
    (Against the exact labels it scores the invariant's ceiling at that size, not 1: :mod:`tnn.study.ceiling`.)"""
    ce = summary.get("parts", {}).get("ceiling", {})
    per = [(sp, r.get("topo_equals_realspace")) for sp, r in ce.items()]
    ok = bool(per) and all(v is not None and v == 1.0 for _, v in per)
    return ok, per


def results_table(summary: dict) -> str:
    """Accuracy per 1D model (trained) and test set: ``mean ± std [min–max]`` over seeds."""
    rows = summary["rows"]
    splits = [sp for sp in summary["splits"] if sp == "test" or sp.startswith("L") or sp.startswith("bond-")]
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if "@" not in m and not m.startswith("2d-")]
    w = max(len(m) for m in models + ["model"])
    cols = [[fmt(cells(rows, m, sp)).split(" **")[0] for sp in splits] for m in models]
    cw = max([len(h) for h in splits] + [len(x) for col in cols for x in col])
    lines = [f"{'model':{w}s}  " + "  ".join(f"{h:{cw}s}" for h in splits)]
    for m, col in zip(models, cols):
        lines.append(f"{m:{w}s}  " + "  ".join(f"{x:{cw}s}" for x in col))
    return "\n".join(line.rstrip() for line in lines)
