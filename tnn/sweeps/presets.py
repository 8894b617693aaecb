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
def _progress_bar(desc: str):
    """A tqdm bar on stderr and the sweep's ``progress(done, total)`` callback that drives it (its first
    call sets the total and the items a resumed run already has)."""
    from tqdm import tqdm

    bar = tqdm(unit="pt", desc=desc, dynamic_ncols=True, file=sys.stderr)

    def report(done: int, total: int) -> None:
        if bar.total is None:
            bar.reset(total=total)
            bar.initial = bar.n = done
            bar.refresh()
        else:
            bar.update(done - bar.n)

    return bar, report


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
    sizes = None if not p.sizes else ((size,) if size is not None else (p.quick_sizes if quick else p.sizes))
    size = p.quick_size if size is None and quick else (p.size if size is None else size)
    keys = (p.quick_keys if quick else p.n_keys) if n_keys is None else n_keys
    if p.n_keys == 0 and keys:
        raise ValueError(f"Argument `n_keys` must be 0 for the clean preset {preset!r}, got {keys}.")
    if p.n_keys > 0 and keys < 1:
        raise ValueError(f"Argument `n_keys` must be >= 1 for the disordered preset {preset!r}, got {keys}.")
    grid = {a.name: np.linspace(a.lo, a.hi, points or (a.quick_n if quick else a.n)) for a in (p.x, p.y)}
    out = Path(out)
    if distributed and p.sizes:
        raise ValueError(f"Argument `distributed` applies to presets of one size; {preset!r} sweeps sizes "
                         f"{p.sizes}: run it in one process.")
    if distributed:
        cluster.start()  # before anything below (the preset's builder, jax.process_index()) starts JAX
    if p.sizes:
        return _run_scaling(p, out, quick=quick, sizes=sizes, grid=grid, keys=keys, seed=seed, chunk=chunk,
                            progress=progress)
    fn = p.make(size)
    lead = jax.process_index() == 0

    bar, report = _progress_bar(f"tnn sweep {preset}") if progress and lead else (None, None)
    t0 = time.perf_counter()
    try:
        da = sweep(fn, grid, n_keys=keys, seed=seed, out=out / "sweep.nc", chunk=chunk,
                   progress=report, distributed=distributed)
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


# ------------------------------------------------------------------------------ finite-size scaling
def _run_scaling(p: SweepPreset, out: Path, *, quick, sizes, grid, keys, seed, chunk, progress) -> dict:
    """A finite-size-scaling preset (``p.sizes``): one sweep per size (``sweep_L<size>.nc``, each
    resumable), joined along a ``size`` dimension into ``sweep.nc``; ``phase_diagram.png`` draws the
    mean over keys (band: std over keys) against ``x``, one curve per size, one panel per ``y``."""
    import jax
    import xarray as xr

    from tnn.sweeps import store

    das, seconds = [], {}
    for L in sizes:
        bar, report = _progress_bar(f"tnn sweep {p.name} L={L}") if progress else (None, None)
        t0 = time.perf_counter()
        try:
            das.append(sweep(p.make(L), grid, n_keys=keys, seed=seed, out=out / f"sweep_L{L}.nc", chunk=chunk,
                             progress=report))
        finally:
            if bar is not None:
                bar.close()
        seconds[L] = time.perf_counter() - t0
    da = xr.concat(das, dim="size", combine_attrs="override").assign_coords(size=list(sizes))
    store.save(out / "sweep.nc", da)
    stats = disorder_stats(da) if keys else None
    crossings = scaling_crossings(da, p) if keys else {}
    _plot_scaling(out / "phase_diagram.png", p, da, stats, crossings)
    total = sum(seconds.values())
    n_items = int(da.size)
    cfg = {
        "preset": p.name, "description": p.help, "sizes": list(sizes), "size": max(sizes), "quick": quick,
        "seed": seed, "n_keys": keys, "grid": grid, "chunk": das[-1].attrs["chunk"],
        "n_devices": das[-1].attrs["n_devices"], "devices": [str(d) for d in jax.local_devices()],
        "seconds": total, "seconds_per_size": {str(k): v for k, v in seconds.items()},
        "items_per_second": n_items / total if total > 0 else None, "nan_cells": int(np.isnan(da.values).sum()),
        "n_items": n_items, "version": tnn.__version__, "crossings": crossings,
        "files": {"sweep": "sweep.nc", "per_size": [f"sweep_L{L}.nc" for L in sizes], "figure": "phase_diagram.png"},
    }
    tres.write_json(out / "config.json", cfg)
    return cfg


def scaling_crossings(da, p: SweepPreset) -> dict:
    """Where the key-averaged curves of successive sizes cross, per ``y`` value: ``{y: {"x": [...],
    "pairs": [[L1, L2], ...], "known": x_c}}``. The difference ``d`` of the two means is interpolated
    linearly between neighbouring grid points where it changes sign; of several such sign changes
    the most significant one is kept (largest ``min(|d_i|, |d_{i+1}|) / sem``, the two means'
    standard errors in quadrature), so noise on a plateau does not count. NaN where none. Also
    ``"x_half"``, per size (``"sizes"``): the last ``x`` where ``|mean|`` falls through 1/2, the
    midpoint between a unit invariant and 0 (a steadier estimate than the crossing when few keys
    leave the curves within their errors of each other)."""
    st = disorder_stats(da)
    mean = st["mean"].transpose("size", p.x.name, p.y.name)
    sem = st["sem"].transpose("size", p.x.name, p.y.name).values
    xs = np.asarray(da.coords[p.x.name], float)
    sizes = [int(s) for s in da.coords["size"].values]
    out = {}
    for j, y in enumerate(np.asarray(da.coords[p.y.name], float)):
        xc, pairs = [], []
        for a in range(len(sizes) - 1):
            d = np.asarray(mean.values[a + 1, :, j] - mean.values[a, :, j], float)
            e = np.hypot(sem[a + 1, :, j], sem[a, :, j])
            e = np.where(np.isfinite(e) & (e > 0), e, 1e-12)
            x_at, best = float("nan"), -1.0
            for i in range(len(xs) - 1):
                if np.isfinite(d[i]) and np.isfinite(d[i + 1]) and d[i] != 0 and np.sign(d[i]) != np.sign(d[i + 1]):
                    score = min(abs(d[i]) / e[i], abs(d[i + 1]) / e[i + 1])
                    if score > best:
                        best = score
                        x_at = float(xs[i] + (xs[i + 1] - xs[i]) * d[i] / (d[i] - d[i + 1]))
            xc.append(x_at)
            pairs.append([sizes[a], sizes[a + 1]])
        half = []
        for a in range(len(sizes)):
            h = np.abs(np.asarray(mean.values[a, :, j], float)) - 0.5
            x_at = float("nan")
            for i in range(len(xs) - 1):
                if h[i] > 0 >= h[i + 1]:
                    x_at = float(xs[i] + (xs[i + 1] - xs[i]) * h[i] / (h[i] - h[i + 1]))
            half.append(x_at)
        known = float(p.critical(float(y))) if p.critical is not None else None
        out[f"{y:g}"] = {"x": xc, "pairs": pairs, "x_half": half, "sizes": sizes, "known": known}
    return out


def _plot_scaling(path: Path, p: SweepPreset, da, stats, crossings: dict) -> None:
    plt = tres.pyplot()
    xs, ys = np.asarray(da.coords[p.x.name], float), np.asarray(da.coords[p.y.name], float)
    sizes = [int(s) for s in da.coords["size"].values]
    fig, axes = plt.subplots(1, len(ys), figsize=(5.6 * len(ys), 4.4), squeeze=False)
    for j, (ax, y) in enumerate(zip(axes[0], ys)):
        for L in sizes:
            if stats is None:
                ax.plot(xs, np.asarray(da.sel(size=L).values, float)[:, j], "o-", ms=3, label=f"L = {L}")
                continue
            m = np.asarray(stats["mean"].sel(size=L).transpose(p.x.name, p.y.name).values, float)[:, j]
            s = np.asarray(stats["std"].sel(size=L).transpose(p.x.name, p.y.name).values, float)[:, j]
            (line,) = ax.plot(xs, m, "o-", ms=3, label=f"L = {L}")
            ax.fill_between(xs, m - s, m + s, color=line.get_color(), alpha=0.15, lw=0)
        c = crossings.get(f"{y:g}", {})
        if c.get("known") is not None and np.isfinite(c["known"]):
            ax.axvline(c["known"], color="k", ls="--", lw=1.0, label=f"known {p.x.name}_c = {c['known']:.2f}")
        for x_at in c.get("x", []):
            if np.isfinite(x_at):
                ax.axvline(x_at, color="grey", ls=":", lw=1.0)
        ax.axhline(0.0, color="k", lw=0.5)
        ax.set(xlabel=p.x.label, ylabel=p.invariant, title=f"{p.name}: {p.y.name} = {y:g}")
        ax.legend(fontsize=7, framealpha=0.85)
    fig.tight_layout()
    tres.save_figure(fig, path)
