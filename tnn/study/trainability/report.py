"""The phase diagram and the block-noise table on disk and on screen: JSON, text tables, xarray, figures.

:func:`write_phase_diagram` and :func:`write_block_noise` write ``<folder>/<name>.json`` (atomic,
:func:`tnn.results.write_json`; NaN becomes ``null``) and a figure ``<folder>/<name>.png``
(:func:`tnn.results.save_figure`). :func:`phase_table` and :func:`block_table` format the success
rates with their Clopper-Pearson intervals as text; :func:`to_xarray` turns a
:func:`~tnn.study.trainability.phase_diagram` result into an ``xarray.Dataset``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["jsonable", "phase_table", "block_table", "to_xarray", "write_phase_diagram", "write_block_noise"]


def jsonable(result: Mapping[str, Any]) -> dict[str, Any]:
    """``result`` with arrays as nested lists and NaN as None (strict JSON)."""

    def one(v):
        if isinstance(v, Mapping):
            return {str(k): one(w) for k, w in v.items()}
        if isinstance(v, (list, tuple)):
            return [one(w) for w in v]
        if isinstance(v, np.ndarray):
            return one(v.tolist())
        if isinstance(v, (np.bool_,)):
            return bool(v)
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return None if not np.isfinite(v) else float(v)
        return v

    return one(dict(result))


def _fmt_cell(k, lo, hi, S, med):
    m = "-" if not np.isfinite(med) else f"{med:g}"
    return f"{int(k):>2}/{S} [{lo:.2f},{hi:.2f}] t*={m}"


def phase_table(result: Mapping[str, Any]) -> str:
    """Text table of a phase diagram: one row per (optimizer, loss, tau, lr), one column per
    checkpoint: ``k/S [CP interval]``, and the median steps-to-solution ``t*`` at the end."""
    S = len(result["seeds"])
    lines = []
    applies = result["applies"]
    for io, opt in enumerate(result["optimizer"]):
        steps = [int(v) for v in np.asarray(result["step"])[io]]
        lines.append(f"{opt}: success (test acc >= {result['threshold']}) of {S} seeds at steps {steps}")
        for il, loss in enumerate(result["loss"]):
            taus = result["tau"] if applies["tau"][loss] else result["tau"][:1]
            lrs = result["lr"] if applies["lr"][opt] else result["lr"][:1]
            for it, tau in enumerate(taus):
                for ir, lr in enumerate(lrs):
                    k = np.asarray(result["success"])[io, il, it, ir]
                    med = float(np.asarray(result["median_steps_to_solution"], float)[io, il, it, ir])
                    q = np.asarray(result["final_loss_quantiles"], float)[io, il, it, ir]
                    head = f"  {loss:<3} tau={tau if applies['tau'][loss] else '-':<5} lr={lr if applies['lr'][opt] else '-':<7}"
                    rates = " ".join(f"{int(v):>2}" for v in k)
                    lo, hi = np.asarray(result["ci_lo"])[io, il, it, ir, -1], np.asarray(result["ci_hi"])[io, il, it, ir, -1]
                    lines.append(f"{head} k: {rates} | last {_fmt_cell(k[-1], lo, hi, S, med)} | loss q50 {q[len(q) // 2]:.3g}")
    return "\n".join(lines)


def block_table(result: Mapping[str, Any]) -> str:
    """Text table of :func:`~tnn.study.trainability.block_noise`: one row per block, one column per sigma
    (success at the first and the last checkpoint, CP interval of the last)."""
    S = len(result["seeds"])
    steps = result["step"]
    lines = [f"{result['optimizer']} lr={result['learning_rate']} loss={result['loss']}: successes of {S} seeds at "
             f"step {steps[0]} -> {steps[-1]} [95% CP of the last], per sigma"]
    lines.append("  block      size  " + "  ".join(f"{s:>20g}" for s in result["sigma"]))
    for ib, b in enumerate(result["block"]):
        row = []
        for js in range(len(result["sigma"])):
            k = np.asarray(result["success"])[ib, js]
            lo, hi = np.asarray(result["ci_lo"])[ib, js, -1], np.asarray(result["ci_hi"])[ib, js, -1]
            row.append(f"{int(k[0]):>2}->{int(k[-1]):>2} [{lo:.2f},{hi:.2f}]")
        lines.append(f"  {b:<9} {result['block_size'][b]:>5}  " + "  ".join(f"{c:>20}" for c in row))
    return "\n".join(lines)


def to_xarray(result: Mapping[str, Any]):
    """An ``xarray.Dataset`` of a :func:`~tnn.study.trainability.phase_diagram` result: dims ``optimizer``,
    ``loss``, ``tau``, ``lr``, ``checkpoint`` (coordinate ``step`` per optimizer) and ``seed``."""
    import xarray as xr

    cell = ("optimizer", "loss", "tau", "lr")
    r = result
    data = {
        "success": (cell + ("checkpoint",), np.asarray(r["success"])),
        "rate": (cell + ("checkpoint",), np.asarray(r["rate"])),
        "ci_lo": (cell + ("checkpoint",), np.asarray(r["ci_lo"])),
        "ci_hi": (cell + ("checkpoint",), np.asarray(r["ci_hi"])),
        "acc": (cell + ("checkpoint", "seed"), np.asarray(r["acc"])),
        "first_success": (cell + ("seed",), np.asarray(r["first_success"])),
        "median_steps_to_solution": (cell, np.asarray(r["median_steps_to_solution"], float)),
        "final_loss": (cell + ("seed",), np.asarray(r["final_loss"], float)),
    }
    coords = {"optimizer": list(r["optimizer"]), "loss": list(r["loss"]), "tau": list(r["tau"]), "lr": list(r["lr"]),
              "seed": list(r["seeds"]), "step": (("optimizer", "checkpoint"), np.asarray(r["step"]))}
    attrs = {k: r[k] for k in ("threshold", "n_train", "n_test", "batch_size", "dtype", "init")}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def write_phase_diagram(result: Mapping[str, Any], folder: str | Path, name: str = "phase_diagram") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png``: one panel per (optimizer, loss,
    tau) with the success rate over learning rate (rows) x steps (columns)."""
    from tnn import results as tres
    from tnn.results import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", jsonable(result))
    r = result
    panels = [(io, il, it) for io in range(len(r["optimizer"])) for il, loss in enumerate(r["loss"])
              for it in range(len(r["tau"]) if r["applies"]["tau"][loss] else 1)]
    ncol = min(4, len(panels))
    nrow = -(-len(panels) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.6 * ncol + 1.0, 3.0 * nrow), squeeze=False, layout="constrained")
    rate = np.asarray(r["rate"])
    for ax, (io, il, it) in zip(axes.flat, panels):
        opt, loss = r["optimizer"][io], r["loss"][il]
        nl = len(r["lr"]) if r["applies"]["lr"][opt] else 1
        im = ax.imshow(rate[io, il, it, :nl], vmin=0, vmax=1, cmap="viridis", aspect="auto", origin="lower")
        steps = np.asarray(r["step"])[io]
        ax.set_xticks(range(len(steps)), [str(s) for s in steps], fontsize=6)
        ax.set_yticks(range(nl), [f"{v:g}" for v in r["lr"][:nl]] if nl > 1 else ["line search"], fontsize=6)
        for i in range(nl):
            for j in range(len(steps)):
                ax.text(j, i, f"{rate[io, il, it, i, j]:.2f}", ha="center", va="center", fontsize=5,
                        color="w" if rate[io, il, it, i, j] < 0.5 else "k")
        tau = f", tau0={r['tau'][it]:g}" if r["applies"]["tau"][loss] else ""
        ax.set_title(f"{opt} / {loss}{tau}", fontsize=8)
        ax.set_xlabel("steps" if opt != "lbfgs" else "L-BFGS iterations", fontsize=7)
        if ax in axes[:, 0]:
            ax.set_ylabel("learning rate", fontsize=7)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label=f"success rate (test acc >= {r['threshold']})")
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}


def write_block_noise(result: Mapping[str, Any], folder: str | Path, name: str = "block_noise") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png``: the success rate at the last
    checkpoint against sigma, one line per block, with Clopper-Pearson error bars (dashed: at the
    first checkpoint)."""
    from tnn import results as tres
    from tnn.results import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", jsonable(result))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    sig = np.asarray(result["sigma"], float)
    for ib, b in enumerate(result["block"]):
        rate = np.asarray(result["rate"])[ib, :, -1]
        lo, hi = np.asarray(result["ci_lo"])[ib, :, -1], np.asarray(result["ci_hi"])[ib, :, -1]
        line = ax.errorbar(sig, rate, yerr=[rate - lo, hi - rate], marker="o", capsize=2,
                           label=f"{b} ({result['block_size'][b]})")
        if len(result["step"]) > 1:  # the first checkpoint (step 0: the noisy init itself), dashed
            ax.plot(sig, np.asarray(result["rate"])[ib, :, 0], ls="--", lw=0.8, color=line[0].get_color())
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("noise sigma on one block (exact elsewhere)")
    ax.set_ylabel(f"success after {result['step'][-1]} steps (dashed: step {result['step'][0]})")
    ax.set_title(f"{result['optimizer']}, lr {result['learning_rate']:g}, {result['loss']}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
