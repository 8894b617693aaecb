r"""Sweep presets: phase diagrams of the invariants from :func:`tnn.sweeps.sweep` (``tnn sweep``, :mod:`tnn.cli.sweep`).

Not imported by :mod:`tnn.sweeps` itself: the sweep machinery knows no system and needs no
matplotlib; this module sits on it (``import tnn.sweeps.presets``). It was ``tnn.sweep_presets`` up
to version 0.1.0; that name still imports, with a ``DeprecationWarning``, for one more version.

The presets live with their systems: each module of :mod:`tnn.systems` declares its
:class:`tnn.systems.SweepPreset` records (the one-point function, the two grid axes, the disorder
keys and the known phase boundaries to draw), e.g. ``ssh-vw`` and ``ssh-disorder`` (with the
Mondragon-Shem line :func:`tnn.systems.ssh.ssh_critical_w`) in :mod:`tnn.systems.ssh`,
``qwz-disorder``, ``haldane`` and ``kitaev-mu-delta`` in theirs. :data:`PRESETS` is what the
registry holds, in its order; ``tnn sweep --list`` prints them with their defaults.

This module runs and draws any of them and knows none by name. Every preset uses the invariants'
default validity certificate (:mod:`tnn.validity`): a disordered sample's spectral gap closes (rare
regions put states near zero energy) while the invariant stays quantized in the mobility gap, and
the certificate (localization of the ground-state correlations, not the spectral gap) keeps those;
samples whose correlations reach across the sample (near a transition, clean or disordered) are
NaN. NaN cells (ill-defined) are drawn in their own colour, never as a value.

Output in ``results/sweep/<preset>/`` (``--out``): ``sweep.nc`` (the :func:`tnn.sweeps.sweep`
array, NetCDF), ``phase_diagram.png`` and ``config.json`` (preset, sizes, grid, seed, plan,
timing). Running the same command again after a kill resumes from ``sweep.nc.partial/``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import tnn
from tnn import results as tres, systems
from tnn.sweeps import cluster
from tnn.sweeps.run import sweep
from tnn.sweeps.stats import disorder_stats
from tnn.systems import SweepAxis, SweepPreset

__all__ = ["SweepAxis", "SweepPreset", "PRESETS", "run_preset", "boundary_lines"]

#: every system's sweep presets by name (:func:`tnn.systems.sweep_presets`)
PRESETS: dict[str, SweepPreset] = systems.sweep_presets()


def boundary_lines(preset: str, xs: np.ndarray, ys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Phase boundaries in the preset's ``(x, y)`` plane: ``[(x, y, label), ...]``."""
    if preset not in PRESETS:
        raise ValueError(f"Argument `preset` must be one of {sorted(PRESETS)}, got {preset!r}.")
    return PRESETS[preset].boundaries(np.linspace(xs.min(), xs.max(), 400), ys)


# ------------------------------------------------------------------------------ run and plot
def run_preset(preset: str, out: str | Path, *, quick: bool = False, size: int | None = None,
               points: int | None = None, n_keys: int | None = None, seed: int = 0, chunk: int | None = None,
               progress: bool = True, distributed: bool = False) -> dict:
    """Run a preset sweep into ``out/`` (``sweep.nc``, ``phase_diagram.png``, ``config.json``).

    ``distributed=True``: one process of a multi-process job (:func:`tnn.sweeps.sweep`'s
    ``distributed``); every process returns the config, process 0 alone writes the files and shows
    the progress bar."""
    import jax

    if preset not in PRESETS:
        raise ValueError(f"Argument `preset` must be one of {sorted(PRESETS)}, got {preset!r}.")
    p = PRESETS[preset]
    tnn.enable_x64()
    size = p.quick_size if size is None and quick else (p.size if size is None else size)
    keys = (p.quick_keys if quick else p.n_keys) if n_keys is None else n_keys
    if p.n_keys == 0 and keys:
        raise ValueError(f"Argument `n_keys` must be 0 for the clean preset {preset!r}, got {keys}.")
    if p.n_keys > 0 and keys < 1:
        raise ValueError(f"Argument `n_keys` must be >= 1 for the disordered preset {preset!r}, got {keys}.")
    grid = {a.name: np.linspace(a.lo, a.hi, points or (a.quick_n if quick else a.n)) for a in (p.x, p.y)}
    out = Path(out)
    if distributed:
        cluster.start()  # before anything below (the preset's builder, jax.process_index()) starts JAX
    fn = p.make(size)
    lead = jax.process_index() == 0

    bar = None
    if progress and lead:
        from tqdm import tqdm

        bar = tqdm(unit="pt", desc=f"tnn sweep {preset}", dynamic_ncols=True, file=sys.stderr)

    def report(done: int, total: int) -> None:
        if bar.total is None:  # first call: the total, and the items a resumed run already has
            bar.reset(total=total)
            bar.initial = bar.n = done
            bar.refresh()
        else:
            bar.update(done - bar.n)

    t0 = time.perf_counter()
    try:
        da = sweep(fn, grid, n_keys=keys, seed=seed, out=out / "sweep.nc", chunk=chunk,
                   progress=report if bar is not None else None, distributed=distributed)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    n_items = int(da.size)
    cfg = {
        "preset": preset, "description": p.help, "size": size, "quick": quick, "seed": seed, "n_keys": keys,
        "grid": grid, "chunk": da.attrs["chunk"], "n_devices": da.attrs["n_devices"],
        "n_processes": int(da.attrs.get("n_processes", 1)),
        "devices": [str(d) for d in (jax.devices() if distributed else jax.local_devices())], "seconds": seconds,
        "items_per_second": n_items / seconds if seconds > 0 else None,
        "nan_cells": int(np.isnan(da.values).sum()), "n_items": n_items, "version": tnn.__version__,
        "files": {"sweep": "sweep.nc", "figure": "phase_diagram.png"},
    }
    if lead:
        _plot(out / "phase_diagram.png", p, da, disorder_stats(da) if keys else None, size)
        tres.write_json(out / "config.json", cfg)
    return cfg


def _plot(path: Path, p: SweepPreset, da, stats, size: int) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    plt = tres.pyplot()

    xs, ys = np.asarray(da.coords[p.x.name]), np.asarray(da.coords[p.y.name])
    panels = [(np.asarray(da.values, float), p.invariant)] if stats is None else [
        (np.asarray(stats["mean"].values, float), f"{p.invariant} ({da.sizes['seed']} keys)"),
        (np.asarray(stats["std"].values, float), "std over disorder keys"),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.8), squeeze=False)
    for k, (ax, (z, title)) in enumerate(zip(axes[0], panels)):
        vmax = max(1.0, float(np.nanmax(np.abs(z)))) if np.isfinite(z).any() else 1.0
        cmap, lo = ("RdBu_r", -vmax) if k == 0 else ("viridis", 0.0)
        im = ax.pcolormesh(xs, ys, z.T, cmap=cmap, vmin=lo, vmax=vmax, shading="nearest")
        fig.colorbar(im, ax=ax, label=title)
        nan = np.isnan(z)
        handles = []
        if nan.any():  # ill-defined cells in a colour of their own, never as a value
            ax.pcolormesh(xs, ys, np.where(nan, 1.0, np.nan).T, cmap=ListedColormap(["gold"]), shading="nearest")
            handles.append(Patch(facecolor="gold", label=f"ill-defined (NaN): {int(nan.sum())} cells"))
        for bx, by, label in boundary_lines(p.name, xs, ys):
            (line,) = ax.plot(bx, by, "k--", lw=1.2, label=label or None)
            if label:
                handles.append(line)
        ax.set(xlabel=p.x.label, ylabel=p.y.label, xlim=(xs.min(), xs.max()), ylim=(ys.min(), ys.max()),
               title=f"{p.name}, size {size}" if k == 0 else title)
        if handles:
            ax.legend(handles=handles, fontsize=7, loc="upper right", framealpha=0.85)
    fig.tight_layout()
    tres.save_figure(fig, path)
