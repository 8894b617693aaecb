r"""Sweep presets: phase diagrams of the invariants from :func:`tnn.sweeps.sweep` (``tnn sweep``, :mod:`tnn.cli.sweep`).

Each preset (the table :data:`PRESETS`, the one place that knows them, ready to move into a system
registry) is a one-point function built from the public builders of :mod:`tnn.hamiltonians` and
:mod:`tnn.invariants`, two grid axes, a disorder-key count and the boundary lines to draw:

* ``ssh-vw``: SSH winding number over ``(v, w)``, periodic chain; k space: ``|v| = |w|``.
* ``ssh-disorder``: SSH winding number over ``(w, W)`` at ``v = 1`` with chiral bond disorder
  ``W`` on the intracell bonds and ``W / 2`` on the intercell bonds (the ratio ``W1 = 2 W2`` of
  Mondragon-Shem, Hughes, Song & Prodan, PRL 113, 046802 (2014)), averaged over disorder keys. The
  clean transition at ``w = 1`` bends with ``W``: the topological Anderson insulator at moderate
  ``W`` (trivial ``w < 1`` turned topological) and the strong-disorder transition back to 0. The line
  drawn is their criterion for the divergence of the localization length at zero energy,
  ``E ln|t_intra| = E ln|t_inter|`` over the disorder distribution.
* ``qwz-disorder``: QWZ Bott index over ``(m, W)`` with Anderson disorder ``W``, averaged over keys;
  the clean k-space boundaries ``m = 0, +-2`` are drawn (exact at ``W = 0`` only).
* ``haldane``: Haldane Bott index over ``(phi, M)`` at ``t1 = 1, t2 = 0.2``; k space:
  ``M = +-3 sqrt(3) t2 sin(phi)``.

Every preset uses the invariants' default validity certificate (:mod:`tnn.validity`): a disordered
sample's spectral gap closes (rare regions put states near zero energy) while the invariant stays
quantized in the mobility gap, and the certificate (localization of the ground-state correlations,
not the spectral gap) keeps those; samples whose correlations reach across the sample (near a
transition, clean or disordered) are NaN. NaN cells (ill-defined) are drawn in their own colour,
never as a value.

Output in ``results/sweep/<preset>/`` (``--out``): ``sweep.nc`` (the :func:`tnn.sweeps.sweep`
array, NetCDF), ``phase_diagram.png`` and ``config.json`` (preset, sizes, grid, seed, plan,
timing). Running the same command again after a kill resumes from ``sweep.nc.partial/``.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

__all__ = ["Axis", "Preset", "PRESETS", "run_preset", "boundary_lines", "ssh_critical_w"]


@dataclasses.dataclass(frozen=True)
class Axis:
    """One grid axis: ``n`` (``quick_n`` with ``--quick``) points from ``lo`` to ``hi``."""

    name: str
    lo: float
    hi: float
    n: int
    quick_n: int
    label: str


@dataclasses.dataclass(frozen=True)
class Preset:
    """A sweep preset: ``make(size)`` returns the one-point function of ``x.name, y.name[, key]``;
    ``boundaries(x, ys)`` the known phase boundaries (``x``: 400 points across the x axis, ``ys`` the
    y grid) as ``[(x, y, label), ...]``."""

    name: str
    help: str
    invariant: str
    x: Axis
    y: Axis
    size: int
    quick_size: int
    n_keys: int
    quick_keys: int
    make: Callable[[int], Callable]
    boundaries: Callable[[np.ndarray, np.ndarray], list] = lambda x, ys: []


# ------------------------------------------------------------------------------ point functions
def _ssh_vw(size: int):
    import jax.numpy as jnp

    from tnn import hamiltonians, invariants, lattice

    lat = lattice.chain(size, pbc=True)

    def ssh_winding(v, w):
        return invariants.winding_number(hamiltonians.ssh(jnp.stack([v, w]), lat), lat)

    return ssh_winding


#: Bond-disorder widths of ``ssh-disorder``: intracell ``W``, intercell ``W * SSH_INTER_RATIO``.
SSH_INTER_RATIO = 0.5


def _ssh_disorder(size: int):
    import jax.numpy as jnp

    from tnn import hamiltonians, invariants, lattice

    lat = lattice.chain(size, pbc=True)
    # The builder draws one width for every bond; unit-width noise split by bond family (masks of
    # the clean intracell and intercell bonds) gives each family its own width, same distribution.
    mask_v = np.asarray(hamiltonians.ssh(np.array([1.0, 0.0]), lat))
    mask_w = np.asarray(hamiltonians.ssh(np.array([0.0, 1.0]), lat))

    def ssh_winding_disordered(w, W, key):
        noise = hamiltonians.ssh(jnp.zeros(2, dtype=w.dtype), lat, bond_disorder=1.0, key=key)
        H = (mask_v + w * mask_w) + W * (mask_v * noise) + (SSH_INTER_RATIO * W) * (mask_w * noise)
        return invariants.winding_number(H, lat)

    return ssh_winding_disordered


def _qwz_disorder(size: int):
    from tnn import hamiltonians, invariants, lattice

    lat = lattice.square(size, size, pbc=True)

    def qwz_bott_disordered(m, W, key):
        return invariants.bott_index(hamiltonians.qwz(m, lat, onsite_disorder=W, key=key), lat)

    return qwz_bott_disordered


HALDANE_T1, HALDANE_T2 = 1.0, 0.2


def _haldane(size: int):
    from tnn import hamiltonians, invariants, lattice

    lat = lattice.honeycomb(size, size, pbc=True)

    def haldane_bott(phi, M):
        return invariants.bott_index(hamiltonians.haldane(HALDANE_T1, HALDANE_T2, phi, M, lat), lat)

    return haldane_bott




# ------------------------------------------------------------------------------ boundary lines
def _mean_log_abs(a: float, b: float) -> float:
    """``E ln|a + b u|`` for ``u`` uniform in ``[-1/2, 1/2]`` (closed form; ``b >= 0``)."""
    if b == 0.0:
        return float(np.log(abs(a)))

    def F(x):  # an antiderivative of ln|x|, continuous at 0
        return 0.0 if x == 0 else x * np.log(abs(x)) - x

    return float((F(a + b / 2) - F(a - b / 2)) / b)


def ssh_critical_w(W: float, v: float = 1.0, ratio: float = SSH_INTER_RATIO) -> float:
    r"""Intercell ``w`` where ``E ln|v + W u| = E ln|w + ratio W u'|`` (``u, u'`` uniform, width 1).

    The zero-energy localization length of a chiral chain diverges there (Mondragon-Shem et al.,
    PRL 113, 046802 (2014)): the disordered phase boundary of ``ssh-disorder``. NaN if no root in
    ``0 < w < 100``.
    """
    target = _mean_log_abs(v, W)
    lo, hi = 1e-9, 100.0
    g = lambda w: _mean_log_abs(w, ratio * W) - target  # noqa: E731 - increasing in w > 0
    if g(lo) > 0 or g(hi) < 0:
        return float("nan")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if g(mid) < 0 else (lo, mid)
    return 0.5 * (lo + hi)


def _ssh_vw_lines(x, ys):
    return [(x, x, "k space: |v| = |w|"), (x, -x, "")]


def _ssh_disorder_lines(x, ys):
    Ws = np.linspace(ys.min(), ys.max(), 200)
    return [(np.array([ssh_critical_w(float(W)) for W in Ws]), Ws, "E ln|v_n| = E ln|w_n| (Mondragon-Shem 2014)")]


def _qwz_disorder_lines(x, ys):
    y = np.array([ys.min(), ys.max()])
    return [(np.full(2, m), y, "clean k-space boundary (exact at W = 0)" if m == -2 else "") for m in (-2.0, 0.0, 2.0)]


def _haldane_lines(x, ys):
    mc = 3 * np.sqrt(3) * HALDANE_T2 * np.sin(x)
    return [(x, mc, "k space: M = +-3 sqrt(3) t2 sin(phi)"), (x, -mc, "")]


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("ssh-vw", "SSH winding number over (v, w), periodic chain of SIZE cells", "winding number W",
               Axis("v", -2.0, 2.0, 41, 21, "v (intracell)"), Axis("w", -2.0, 2.0, 41, 21, "w (intercell)"),
               size=64, quick_size=32, n_keys=0, quick_keys=0, make=_ssh_vw, boundaries=_ssh_vw_lines),
        Preset("ssh-disorder",
               "SSH winding number over (w, W) at v = 1, bond disorder W intracell and W/2 intercell, "
               "mean over disorder keys (strong-disorder transition)", "mean winding number",
               Axis("w", 0.2, 2.0, 19, 10, "w (intercell)"), Axis("W", 0.0, 6.0, 13, 7, "W (intracell bond disorder)"),
               size=64, quick_size=32, n_keys=16, quick_keys=4, make=_ssh_disorder,
               boundaries=_ssh_disorder_lines),
        Preset("qwz-disorder", "QWZ Bott index over (m, W), Anderson disorder W, SIZE x SIZE periodic, mean over keys",
               "mean Bott index",
               Axis("m", -3.0, 3.0, 25, 13, "m"), Axis("W", 0.0, 6.0, 7, 4, "W (Anderson disorder)"),
               size=10, quick_size=6, n_keys=8, quick_keys=3, make=_qwz_disorder,
               boundaries=_qwz_disorder_lines),
        Preset("haldane", f"Haldane Bott index over (phi, M), t1 = {HALDANE_T1}, t2 = {HALDANE_T2}, SIZE x SIZE periodic",
               "Bott index",
               Axis("phi", -np.pi, np.pi, 33, 13, "phi"), Axis("M", -1.5, 1.5, 31, 13, "M"),
               size=9, quick_size=6, n_keys=0, quick_keys=0, make=_haldane, boundaries=_haldane_lines),
    )
}


def boundary_lines(preset: str, xs: np.ndarray, ys: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, str]]:
    """Phase boundaries in the preset's ``(x, y)`` plane: ``[(x, y, label), ...]``."""
    if preset not in PRESETS:
        raise ValueError(f"Argument `preset` must be one of {sorted(PRESETS)}, got {preset!r}.")
    return PRESETS[preset].boundaries(np.linspace(xs.min(), xs.max(), 400), ys)


# ------------------------------------------------------------------------------ run and plot
def run_preset(preset: str, out: str | Path, *, quick: bool = False, size: int | None = None,
               points: int | None = None, n_keys: int | None = None, seed: int = 0, chunk: int | None = None,
               progress: bool = True) -> dict:
    """Run a preset sweep into ``out/`` (``sweep.nc``, ``phase_diagram.png``, ``config.json``)."""
    import jax

    import tnn
    from tnn import results as tres, sweeps

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
    fn = p.make(size)

    bar = None
    if progress:
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
        da = sweeps.sweep(fn, grid, n_keys=keys, seed=seed, out=out / "sweep.nc", chunk=chunk,
                          progress=report if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    n_items = int(da.size)
    field = sweeps.disorder_stats(da) if keys else None
    _plot(out / "phase_diagram.png", p, da, field, size)
    cfg = {
        "preset": preset, "description": p.help, "size": size, "quick": quick, "seed": seed, "n_keys": keys,
        "grid": grid, "chunk": da.attrs["chunk"], "n_devices": da.attrs["n_devices"],
        "devices": [str(d) for d in jax.local_devices()], "seconds": seconds,
        "items_per_second": n_items / seconds if seconds > 0 else None,
        "nan_cells": int(np.isnan(da.values).sum()), "n_items": n_items, "version": tnn.__version__,
        "files": {"sweep": "sweep.nc", "figure": "phase_diagram.png"},
    }
    tres.write_json(out / "config.json", cfg)
    return cfg


def _plot(path: Path, p: Preset, da, stats, size: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    from tnn import results as tres

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
    try:
        with tres.atomic_target(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
