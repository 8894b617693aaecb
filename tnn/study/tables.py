"""The table builders of ``report.md`` (:mod:`tnn.study.report`): accuracy, label quality, confusion
matrices, accuracy per k-space gap, and the small pieces the sections and findings share."""

from __future__ import annotations

import numpy as np

from tnn.study.stats import cells, fmt, num

__all__ = ["models_1d", "n_scored", "dataset_of", "quality_text", "quality_table", "accuracy_table",
           "confusion_lines", "gap_table", "edge_cell", "figure", "ci_table"]


def models_1d(rows, prefix_ok=lambda m: "@" not in m and not m.startswith("2d-")):
    """The models of ``rows`` in order of appearance that ``prefix_ok`` keeps (default: the 1D models
    trained on every winding: no ``@`` variant, no ``2d-``)."""
    return [m for m in dict.fromkeys(r["model"] for r in rows) if prefix_ok(m)]


def n_scored(rows, model, split):
    """Certified samples ``model`` was scored on in ``split`` (0 if it has no row there)."""
    sel = [r for r in rows if r["model"] == model and r["split"] == split]
    return sel[0]["n"] if sel else 0


def dataset_of(summary, split):
    """The dataset name of the 1D test set ``split`` (None if it is not one)."""
    from tnn.study.sets import eval_sets_1d

    return eval_sets_1d(summary["config"]).get(split, (None,))[0]


def quality_text(d) -> str:
    """``labelled% / real space = label% / certified%``: a dataset's labelled fraction, the share of
    labelled samples whose rounded real-space value equals the exact label (the ceiling of a model that
    computes the invariant at this size), and the real-space certificate's fraction."""
    agree = "n/a" if d.get("realspace_agree") is None else f"{100 * d['realspace_agree']:.1f}%"
    return f"{100 * d['valid_fraction']:.1f}% / {agree} / {100 * d.get('certified_fraction', d['valid_fraction']):.0f}%"


def quality_table(summary, splits, dsmap, classes) -> list[str]:
    """Per test set: dataset, labelled samples, label sources, label quality, median xi, chance and
    majority levels (``dsmap``: test set -> dataset name)."""
    L = ["| test set | dataset | labelled samples | label sources | labelled / real space = label / certified "
         "| median xi (cells) | chance | majority class |", "|---|---|---|---|---|---|---|---|"]
    for sp in splits:
        d = summary["datasets"].get(dsmap(sp))
        if d is None:
            continue
        n = d["n_test"] - d["ill_defined_test"]
        src = ", ".join(f"{k} {v}" for k, v in (d.get("sources") or {}).items()) or "--"
        L.append(f"| {sp} | {dsmap(sp)} ({'x'.join(map(str, d['size']))}{', periodic' if d['pbc'] else ''}) | {n} "
                 f"| {src} | {quality_text(d)} | {num(d.get('xi_median'), 2)} | {1 / len(classes):.3f} | {num(d['majority'])} |")
    return L


def accuracy_table(rows, models, splits, stages=("trained",)) -> list[str]:
    """Accuracy over seeds, one row per model and stage (stages a model lacks are left out), one
    column per test set."""
    L = ["| model | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for m in models:
        for stage in stages:
            if not any(r["model"] == m and r["stage"] == stage for r in rows):
                continue
            name = m if stage == "trained" else f"{m} ({'untrained' if stage == 'init' else stage})"
            L.append(f"| {name} | " + " | ".join(fmt(cells(rows, m, sp, stage)) for sp in splits) + " |")
    return L


def ci_table(summary, tags, splits, stages=("trained",)) -> list[str]:
    """Accuracy of each run's ensemble with its 95% interval (seeds and samples resampled,
    :mod:`tnn.study.evidence`) and balanced accuracy; one row per run and stage, one column per set."""
    from tnn.study.evidence import ci_cell

    L = ["| run (model:input) | " + " | ".join(splits) + " |", "|---|" + "---|" * len(splits)]
    for t in tags:
        for stage in stages:
            if not any(k.startswith(f"{stage}/") for k in summary.get("preds", {}).get(t, {})):
                continue
            name = t if stage == "trained" else f"{t} ({'untrained' if stage == 'init' else stage})"
            L.append(f"| {name} | " + " | ".join(ci_cell(summary, t, sp, stage) for sp in splits) + " |")
    return L


def confusion_lines(summary, models, split, classes=None, what="winding") -> list[str]:
    """The confusion matrices on ``split`` of each model and stage, summed over seeds, as one paragraph."""
    rows, classes = summary["rows"], classes or summary["classes"]
    L = [f"Confusion matrices on `{split}` (rows: true {what} {list(classes)}, columns: predicted; summed over seeds):\n"]
    parts = []
    for m in models:
        for stage in ("trained", "init", "pruned"):
            sel = [r for r in rows if r["model"] == m and r["split"] == split and r["stage"] == stage and r.get("confusion")]
            if not sel:
                continue
            cm = np.sum([np.asarray(r["confusion"]) for r in sel], axis=0)
            parts.append(f"`{m}{'' if stage == 'trained' else ' ' + stage}` " + " ".join(
                "[" + " ".join(str(int(v)) for v in row) + "]" for row in cm))
    L.append("; ".join(parts) + "\n")
    return L


def gap_table(summary, models) -> list[str]:
    """Trained accuracy on the test set per k-space gap bin (:data:`tnn.study.sets.GAP_BINS`)."""
    from tnn.study.sets import GAP_BINS

    rows = summary["rows"]
    heads = [f"[{lo:g}, {hi:g})" for lo, hi in zip(GAP_BINS[:-1], GAP_BINS[1:])]
    sel0 = [r for r in rows if r["split"] == "test" and r.get("gap_bins")]
    counts = sel0[0]["gap_bins"] if sel0 else []
    L = ["| model | " + " | ".join(f"gap {h} (n={c[0]})" for h, c in zip(heads, counts)) + " |",
         "|---|" + "---|" * len(heads)]
    for m in models:
        sel = [r for r in rows if r["model"] == m and r["split"] == "test" and r["stage"] == "trained" and r.get("gap_bins")]
        if not sel:
            continue
        vals = []
        for b in range(len(heads)):
            v = [r["gap_bins"][b][1] for r in sel if r["gap_bins"][b][1] is not None]
            vals.append(fmt(v) if v else "--")
        L.append(f"| {m} | " + " | ".join(vals) + " |")
    return L



def edge_cell(fractions, share) -> str:
    """A table cell ``mean ± std`` of the edge ``fractions`` over seeds (``--`` if none), followed by the
    uniform share in parentheses unless ``share`` is None."""
    return f"{fmt(fractions) if fractions else '--'}" + ("" if share is None else f" ({share:.2f})")


def figure(name: str, what: str) -> str:
    """The markdown of figure ``name`` with its caption ``what``."""
    return f"![{what}]({name})\n\nFigure `{name}`: {what}\n"
