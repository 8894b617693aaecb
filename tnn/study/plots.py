"""The study's figures (matplotlib, Agg; written atomically). One function per figure; seeds are
drawn one marker or line each, never averaged into a single curve."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tnn.study.stats import cells, mean

__all__ = ["write_all", "FIGURES"]

_MARK = ("o", "s", "^", "D", "v", "P", "X")
_LINE = ("-", "--", ":", "-.")


def _bars(ax, rows, models, splits, stage_of=lambda m: "trained", chance=None, majority=None):
    bw = 0.8 / max(1, len(splits))
    for j, sp in enumerate(splits):
        for i, m in enumerate(models):
            xpos = i + (j - (len(splits) - 1) / 2) * bw
            vals = cells(rows, m, sp, stage_of(m))
            if vals is None:
                ax.text(xpos, 0.02, "n/a", ha="center", va="bottom", fontsize=6, rotation=90)
                continue
            mu = float(np.mean(vals))
            ax.bar(xpos, mu, bw * 0.95, color=f"C{j}", label=sp if i == 0 else None,
                   yerr=[[max(mu - min(vals), 0.0)], [max(max(vals) - mu, 0.0)]], capsize=2, error_kw={"lw": 0.8})
            for k, v in enumerate(vals):
                ax.plot([xpos], [v], _MARK[k % len(_MARK)], color="k", ms=3.5, mfc="none")
    ax.set_xticks(range(len(models)), models, rotation=20, fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.axhline(1.0, color="k", lw=0.5)
    if chance is not None:
        ax.axhline(chance, color="0.3", ls=":", lw=1.2, label=f"chance {chance:.2f}")
    if majority is not None:
        ax.axhline(majority, color="0.5", ls="--", lw=1.0, label=f"majority {majority:.2f}")
    ax.legend(fontsize=6, loc="lower left", ncol=2)


def _accuracy(plt, s):
    rows, c = s["rows"], s["config"]
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if "@" not in m and not m.startswith("2d-")]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(14, 4.4), gridspec_kw={"width_ratios": [3, 2]})
    _bars(ax, rows, models, s["splits"], chance=1 / len(s["classes"]), majority=s["datasets"]["ssh"]["majority"])
    ax.set_ylabel("accuracy (certified samples)")
    ax.set_title("mean over seeds, whiskers min–max, one marker per seed", fontsize=9)
    for i, (m, r) in enumerate((m, s["runs"][m]) for m in models):
        for k, (seed, cur) in enumerate(r["val_acc"].items()):
            if cur and all(a is not None for a in cur):
                ax2.plot(np.arange(1, len(cur) + 1), cur, _LINE[k % 4], color=f"C{i}", label=m if k == 0 else None)
    ax2.set(xlabel="epoch", ylabel="validation accuracy", ylim=(0, 1.05), title="one line per seed")
    ax2.legend(fontsize=6)
    return fig


def _gap(plt, s):
    from tnn.study.sets import GAP_BINS

    rows = s["rows"]
    fig, ax = plt.subplots(figsize=(7, 4))
    mids = [0.5 * (lo + (hi if np.isfinite(hi) else 2 * lo)) for lo, hi in zip(GAP_BINS[:-1], GAP_BINS[1:])]
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if "@" not in m and not m.startswith("2d-")]
    for i, m in enumerate(models):
        sel = [r for r in rows if r["model"] == m and r["split"] == "test" and r["stage"] == "trained" and r.get("gap_bins")]
        for k, r in enumerate(sel):
            y = [b[1] if b[1] is not None else np.nan for b in r["gap_bins"]]
            ax.plot(mids, y, _LINE[k % 4], marker=_MARK[k % len(_MARK)], ms=3, color=f"C{i}", label=m if k == 0 else None)
    ax.set(xlabel="k-space gap (distance to the nearest phase boundary), bin centre", ylabel="accuracy", ylim=(0, 1.05),
           xscale="log")
    ax.legend(fontsize=6)
    return fig


def _generalization(plt, s):
    rows, c = s["rows"], s["config"]
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if "@" not in m and not m.startswith("2d-")]
    size_sp = [sp for sp in s["splits"] if sp == "test" or sp.startswith("L")]
    Ls = [c.size] + [int(sp[1:]) for sp in size_sp[1:]]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    for i, m in enumerate(models):
        per = [cells(rows, m, sp) for sp in size_sp]
        ns = len(per[0] or [])
        for k in range(ns):
            y = [p[k] if p is not None else np.nan for p in per]
            ax.plot(Ls, y, _LINE[k % 4], marker=_MARK[k % len(_MARK)], color=f"C{i}", label=m if k == 0 else None)
        pv = cells(rows, m, "periodic")
        if pv is not None:
            ax.plot([Ls[-1] * 1.25] * len(pv), pv, _MARK[0], color=f"C{i}", mfc="none")
    ax.set(xlabel="chain length L (open); hollow markers at the right: periodic rings at L=" + str(c.size),
           ylabel="accuracy", ylim=(0, 1.05), xscale="log")
    ax.legend(fontsize=6)
    un = [m for m in dict.fromkeys(r["model"] for r in rows if r["split"] == "unseen")]
    labels = []
    for i, m in enumerate(un):
        for j, (sp, st) in enumerate([("test01", "trained"), ("unseen", "trained"), ("unseen", "init")]):
            v = cells(rows, m, sp, st)
            if v is None:
                continue
            x = len(labels)
            labels.append(f"{m}\n{sp}{' untrained' if st == 'init' else ''}")
            ax2.bar(x, np.mean(v), color=f"C{j}")
            for k, a in enumerate(v):
                ax2.plot([x], [a], _MARK[k % len(_MARK)], color="k", mfc="none")
    ax2.set_xticks(range(len(labels)), labels, fontsize=6, rotation=30)
    ax2.set(ylabel="accuracy", ylim=(0, 1.05), title="trained on windings {0, 1}; unseen = {-1, 2}")
    return fig


def _disorder(plt, s):
    rows, ds = s["rows"], s["datasets"]
    bond = ["test"] + [sp for sp in s["splits"] if sp.startswith("bond-")]
    W = [0.0] + [float(sp.split("W")[1]) for sp in bond[1:]]
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if "@" not in m and not m.startswith("2d-")]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for i, m in enumerate(models):
        per = [cells(rows, m, sp) for sp in bond]
        for k in range(len(per[0] or [])):
            ax.plot(W, [p[k] if p else np.nan for p in per], _LINE[k % 4], marker=_MARK[k % len(_MARK)], color=f"C{i}",
                    label=m if k == 0 else None)
    ax2 = ax.twinx()
    vf = [ds["ssh" if sp == "test" else sp]["valid_fraction"] for sp in bond]
    ax2.plot(W, vf, "k--", lw=2, label="certified fraction")
    ax2.set(ylabel="certified fraction of the invariant", ylim=(0, 1.05))
    ax.set(xlabel="chiral (bond) disorder W", ylabel="accuracy", ylim=(0, 1.05))
    ax.legend(fontsize=6, loc="lower left")
    ax2.legend(fontsize=6, loc="lower right")
    return fig


def _hessian(plt, s):
    land = s["parts"].get("landscape", {})
    fig, axs = plt.subplots(1, 2, figsize=(12, 4))
    for i, (m, res) in enumerate(land.items()):
        for stage, ls in (("init", ":"), ("end", "-")):
            a = res[stage]
            axs[0].plot(a["density_grid"], np.maximum(a["density"], 1e-12), ls, color=f"C{i}", label=f"{m} {stage}")
        if "line" in res:
            axs[1].plot(res["line"]["alphas"], res["line"]["losses"], color=f"C{i}", label=f"{m}: init -> exact")
    axs[0].set(xlabel="Hessian eigenvalue", ylabel="density (SLQ)", yscale="log", title="dotted: init, solid: end")
    axs[0].legend(fontsize=6)
    axs[1].set(xlabel="alpha (0: init, 1: exact solution)", ylabel="training loss", title="landscape slice")
    axs[1].legend(fontsize=6)
    return fig


def _sensitivity(plt, s):
    sens, gv = s["parts"].get("sensitivity", {}), s["parts"].get("gradvar", {})
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 4))
    conds = sens.get("conditions", [])
    near = [c for c in conds if c.get("sigma") is not None]
    if near:
        ax.plot([max(c["sigma"], 1e-4) for c in near], [c["success_rate"] for c in near], "o-", label="exact + noise sigma")
    for c in conds:
        if c.get("sigma") is None:
            ax.axhline(c["success_rate"], color="C3", ls="--", label=f"{c['label']} init")
    ax.set(xscale="log", xlabel="init noise sigma", ylabel="success rate", ylim=(-0.05, 1.05), title="topo")
    if conds:
        ax.legend(fontsize=7)
    else:  # sens_seeds = 0 (the default): the block-noise part asks the question block by block
        ax.text(0.5, 0.5, "not computed (sens_seeds = 0):\nsee the block-noise table", ha="center", va="center",
                transform=ax.transAxes)
    for i, (m, g) in enumerate(gv.items()):
        ax2.plot(g["lengths"], g["variance"], "o-", color=f"C{i}", label=f"{m} (alpha = {g['alpha']:.2f})")
    ax2.set(xscale="log", yscale="log", xlabel="chain length L", ylabel="gradient variance at init")
    ax2.legend(fontsize=7)
    return fig


def _pruning(plt, s):
    pr = s["parts"].get("pruning", {})
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, (m, per) in enumerate(pr.items()):
        for k, p in enumerate(per):
            ax.plot(p["ranks"], p["acc"], _LINE[k % 4], marker=_MARK[k % len(_MARK)], ms=3, color=f"C{i}",
                    label=m if k == 0 else None)
    ax.set(xlabel="SVD rank k", ylabel="accuracy", ylim=(0, 1.05), xscale="log")
    ax.legend(fontsize=6)
    return fig


def _probes(plt, s):
    pp = s["parts"].get("probes", {})
    if not pp.get("runs"):
        return None
    runs = list(pp["runs"])
    first = pp["runs"][runs[0]]["rows"]
    names = [f"{r['probe']} {r['param']:g}" for r in first]
    fig, ax = plt.subplots(figsize=(max(6, 0.9 * len(names) + 2), 3.8))
    bw = 0.8 / max(1, len(runs))
    for i, tag in enumerate(runs):
        rows = pp["runs"][tag]["rows"]
        x = np.arange(len(rows)) + (i - (len(runs) - 1) / 2) * bw
        d = np.array([np.nan if r.get("verdict") == "n/a" or not r.get("n") else r["drop"] for r in rows])
        lo = np.array([np.nan if r.get("verdict") == "n/a" or not r.get("n") else r["lo"] for r in rows])
        hi = np.array([np.nan if r.get("verdict") == "n/a" or not r.get("n") else r["hi"] for r in rows])
        # a percentile bootstrap interval need not hold the point estimate: clip the bars at it
        ax.errorbar(x, d, yerr=[np.maximum(d - lo, 0), np.maximum(hi - d, 0)], fmt=_MARK[i % len(_MARK)], ms=3,
                    lw=0.8, label=tag)
    ax.axhline(pp["threshold"], color="0.4", ls="--", lw=0.8, label="threshold")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(range(len(names)), names, rotation=30, fontsize=7)
    ax.set_ylabel("accuracy drop (paired)")
    ax.legend(fontsize=5, ncol=3)
    return fig


def _chern(plt, s):
    rows = s["rows"]
    m2 = [m for m in dict.fromkeys(r["model"] for r in rows if r["model"].startswith("2d-"))]
    fig, ax = plt.subplots(figsize=(8, 4))
    _bars(ax, rows, m2, ["qwz", "qwz-large", "haldane"], stage_of=lambda m: "init" if m == "2d-topo-exact" else "trained",
          chance=1 / 3, majority=s["datasets"]["qwz-test"]["majority"])
    ax.set(ylabel="accuracy (k-space labels)", title="2D: exact topo untrained, CNN/ResNet trained on QWZ")
    return fig


#: figure file -> (section, builder)
FIGURES = {
    "accuracy.png": (None, _accuracy),
    "gap.png": (None, _gap),
    "generalization.png": ("generalization", _generalization),
    "disorder.png": ("generalization", _disorder),
    "hessian.png": ("trainability", _hessian),
    "sensitivity.png": ("trainability", _sensitivity),
    "pruning.png": ("proxies", _pruning),
    "probes.png": ("proxies", _probes),
    "chern.png": ("2d", _chern),
}


def write_all(out, summary) -> list[str]:
    """Write every figure of the sections the study computed into ``out``; return their names."""
    from tnn.results import pyplot, save_figure

    plt = pyplot()
    done = []
    for name, (section, fn) in FIGURES.items():
        if section is not None and section not in summary["config"].sections:
            continue
        fig = fn(plt, summary)
        if fig is None:  # nothing to draw in this run
            continue
        fig.tight_layout()
        save_figure(fig, Path(out) / name)
        done.append(name)
    return done
