"""``tnn demo``: phase diagrams of the invariants, real space against k space.

A short, real end-to-end run of the physics stack on the CPU: it sweeps the SSH ratio v/w
(open chain with bulk trace, and periodic chain), the QWZ mass m (Bott index and bulk local Chern
marker) and the Haldane (phi, M) plane (Bott index), each point computed with one jitted, vmapped
call, and compares every clean point with the k-space reference. Output in ``results/demo/``
(override with ``--out``): ``demo.json`` (all numbers, seeds, agreement) and
``phase_diagrams.png``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

__all__ = ["run_demo", "register_cli"]


def run_demo(out: str | Path = "results/demo", quick: bool = False, seed: int = 0) -> dict:
    """Run the demo and write ``demo.json`` and ``phase_diagrams.png`` under ``out``."""
    import jax
    import jax.numpy as jnp

    import tnn
    from tnn import hamiltonians, invariants, io, kspace, lattice

    tnn.enable_x64()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    key = jax.random.key(seed)
    report: dict = {"seed": seed, "quick": quick, "version": tnn.__version__}

    # --- SSH: W against v / w, clean and with chiral bond disorder.
    L = 40 if quick else 80
    ratios = np.linspace(0.05, 1.95, 20 if quick else 39)
    ts = jnp.stack([jnp.asarray(ratios), jnp.ones_like(jnp.asarray(ratios))], axis=-1)
    obc, pbc = lattice.chain(L, pbc=False), lattice.chain(L, pbc=True)

    @jax.jit
    def ssh_point(t, k):
        w_obc = invariants.winding_number(hamiltonians.ssh(t, obc), obc)
        w_pbc = invariants.winding_number(hamiltonians.ssh(t, pbc), pbc)
        w_dis = invariants.winding_number(hamiltonians.ssh(t, pbc, bond_disorder=1.0, key=k), pbc)
        return w_obc, w_pbc, w_dis

    keys = jax.random.split(jax.random.fold_in(key, 1), len(ratios))
    w_obc, w_pbc, w_dis = (np.asarray(a) for a in jax.vmap(ssh_point)(ts, keys))
    w_k = []
    for r in ratios:
        try:
            w_k.append(kspace.winding_number((float(r), 1.0)))
        except kspace.GaplessError:
            w_k.append(None)
    clean = [i for i, w in enumerate(w_k) if w is not None and abs(ratios[i] - 1.0) > 0.25]
    report["ssh"] = {
        "L": L, "v_over_w": ratios.tolist(), "kspace": w_k,
        "obc_bulk_trace": w_obc.tolist(), "pbc": w_pbc.tolist(), "pbc_bond_disorder_1.0": w_dis.tolist(),
        "max_dev_from_kspace_away_from_transition": float(
            max(max(abs(w_obc[i] - w_k[i]), abs(w_pbc[i] - w_k[i])) for i in clean)
        ),
    }

    # --- QWZ: C against m.
    # Sizes large enough for certified values away from the transitions (tnn.validity: at 8 x 8 the
    # correlations at m = +-1.5 reach across the torus).
    n = 10 if quick else 14
    ms = np.linspace(-3.0, 3.0, 13 if quick else 25)
    sq_p, sq_o = lattice.square(n, n, pbc=True), lattice.square(2 * n, 2 * n, pbc=False)

    @jax.jit
    def qwz_point(m):
        b = invariants.bott_index(hamiltonians.qwz(m, sq_p), sq_p)
        c = invariants.chern_number(hamiltonians.qwz(m, sq_o), sq_o, method="marker")
        return b, c

    bott, marker = (np.asarray(a) for a in jax.lax.map(qwz_point, jnp.asarray(ms)))
    c_k = []
    for m in ms:
        try:
            c_k.append(kspace.chern_number("qwz", {"m": float(m)}))
        except kspace.GaplessError:
            c_k.append(None)
    report["qwz"] = {"bott_size": n, "marker_size": 2 * n, "m": ms.tolist(), "kspace": c_k,
                     "bott": bott.tolist(), "marker_bulk": marker.tolist()}

    # --- Haldane: Bott index over (phi, M), and the FHS Chern number on the same grid.
    nh = 9 if quick else 12
    phis = np.linspace(-np.pi, np.pi, 25 if quick else 31)
    Ms = np.linspace(-1.0, 1.0, 25 if quick else 31)
    hon = lattice.honeycomb(nh, nh, pbc=True)
    t2 = 0.15
    P, MM = np.meshgrid(phis, Ms, indexing="ij")

    @jax.jit
    def haldane_point(pm):
        return invariants.bott_index(hamiltonians.haldane(1.0, t2, pm[0], pm[1], hon), hon)

    hb = np.asarray(jax.lax.map(haldane_point, jnp.stack([P.ravel(), MM.ravel()], -1))).reshape(P.shape)

    # k space under vmap: tnn.kspace.chern_number returns floats (NaN where gapless) when traced
    @jax.jit
    def haldane_k(phi, M):
        return jax.vmap(lambda p, m: kspace.chern_number("haldane", {"t1": 1.0, "t2": t2, "phi": p, "M": m}, nk=24))(
            phi, M)

    hk = np.asarray(haldane_k(jnp.asarray(P.ravel()), jnp.asarray(MM.ravel()))).reshape(P.shape)
    both = np.isfinite(hb) & np.isfinite(hk)
    report["haldane"] = {"size": nh, "t1": 1.0, "t2": t2, "phi": phis.tolist(), "M": Ms.tolist(),
                         "bott": hb.tolist(), "kspace": hk.tolist(),
                         "agree": float(np.mean(np.rint(hb[both]) == hk[both])) if both.any() else None,
                         "n_gapless_bott": int(np.sum(~np.isfinite(hb)))}
    # fine k-space references for the plot: exact steps, not lines between the sweep's points
    r_fine = np.linspace(ratios[0], ratios[-1], 801)
    m_fine = np.linspace(ms[0], ms[-1], 1201)
    w_fine = jax.jit(jax.vmap(lambda v: kspace.winding_number(jnp.stack([v, jnp.ones_like(v)]))))(jnp.asarray(r_fine))
    c_fine = jax.jit(jax.vmap(lambda m: kspace.chern_number("qwz", {"m": m}, nk=24)))(jnp.asarray(m_fine))
    fine = {"ssh": (r_fine, np.asarray(w_fine)), "qwz": (m_fine, np.asarray(c_fine))}
    report["seconds"] = time.perf_counter() - t0

    _plot(out / "phase_diagrams.png", report, t2, fine)
    io.write_json(out / "demo.json", report)
    return report


def _plot(path: Path, rep: dict, t2: float, fine: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    # integer invariants -1, 0, +1 in three clear colours; NaN (gapless: no invariant) in a fourth
    colours = {-1: "#2166ac", 0: "#f7f7f7", 1: "#b2182b"}
    gapless = "#ffb000"
    cmap = ListedColormap([colours[-1], colours[0], colours[1]]).with_extremes(bad=gapless)
    norm = BoundaryNorm([-1.5, -0.5, 0.5, 1.5], cmap.N)

    fig, ax = plt.subplots(1, 4, figsize=(19, 4.4), gridspec_kw={"width_ratios": [1.1, 1.1, 1, 1]})
    s = rep["ssh"]
    x = np.asarray(s["v_over_w"])
    ok = np.isfinite(fine["ssh"][1])  # the gapless point itself is left out: the step is drawn through it
    ax[0].step(fine["ssh"][0][ok], fine["ssh"][1][ok], "k-", where="mid", lw=1.2, label="k space")
    ax[0].plot(x, s["obc_bulk_trace"], "o", ms=4, label=f"OBC bulk trace, L={s['L']}")
    ax[0].plot(x, s["pbc"], "x", label="PBC")
    ax[0].plot(x, s["pbc_bond_disorder_1.0"], "s", ms=4, mfc="none", label="PBC, bond disorder 1.0")
    ax[0].set(xlabel="v / w", ylabel="winding number", title="SSH (k space gapless at v = w)")
    ax[0].legend(fontsize=7)
    q = rep["qwz"]
    ok = np.isfinite(fine["qwz"][1])
    ax[1].step(fine["qwz"][0][ok], fine["qwz"][1][ok], "k-", where="mid", lw=1.2, label="k space (FHS)")
    ax[1].plot(q["m"], q["bott"], "o", ms=4, label=f"Bott, {q['bott_size']}x{q['bott_size']}")
    ax[1].plot(q["m"], q["marker_bulk"], "x", label=f"bulk marker, {q['marker_size']}x{q['marker_size']}")
    gap_m = [m for m, b in zip(q["m"], q["bott"]) if b is None or not np.isfinite(b)]
    if gap_m:
        ax[1].plot(gap_m, [0.0] * len(gap_m), "v", color=gapless, mec="k", ms=7, label="Bott gapless (NaN)")
    ax[1].set(xlabel="m", ylabel="Chern number", title="QWZ (k space gapless at m = 0, +-2)")
    ax[1].legend(fontsize=7)
    h = rep["haldane"]
    ph = np.linspace(-np.pi, np.pi, 200)
    for a, key, title in ((ax[2], "bott", f"Haldane, Bott index ({h['size']}x{h['size']}, PBC)"),
                          (ax[3], "kspace", "Haldane, k space (FHS, 24x24)")):
        vals = np.ma.masked_invalid(np.asarray(h[key], dtype=float).T)
        a.pcolormesh(h["phi"], h["M"], vals, cmap=cmap, norm=norm, shading="nearest")
        for sign in (1, -1):
            a.plot(ph, sign * 3 * np.sqrt(3) * t2 * np.sin(ph), "k--", lw=0.8)
        a.set(xlabel="phi", ylabel="M", title=title, ylim=(min(h["M"]), max(h["M"])))
    if h.get("agree") is not None:
        ax[2].text(0.02, 0.02, f"Bott = k space on {100 * h['agree']:.0f}% of points gapped in both",
                   transform=ax[2].transAxes, fontsize=7, bbox={"fc": "w", "alpha": 0.8, "lw": 0})
    handles = [Patch(fc=colours[c], ec="k", lw=0.5, label=f"C = {c:+d}" if c else "C = 0") for c in (-1, 0, 1)]
    handles.append(Patch(fc=gapless, ec="k", lw=0.5, label="gapless (NaN)"))
    handles.append(plt.Line2D([], [], color="k", ls="--", lw=0.8, label="M = +-3 sqrt(3) t2 sin(phi)"))
    ax[3].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.tight_layout()
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)


def register_cli(sub) -> None:
    p = sub.add_parser(
        "demo", help="phase diagrams of the invariants, real space against k space",
        description="Sweep the SSH ratio v/w (open and periodic chains, clean and with bond disorder), the QWZ "
                    "mass m (Bott index and bulk Chern marker) and the Haldane (phi, M) plane (Bott index), each "
                    "with one jitted, vmapped call, and compare every clean point with the k-space invariant. "
                    "Writes demo.json and phase_diagrams.png to --out. Gapless points are NaN (grey in the plot).",
    )
    p.add_argument("--out", default="results/demo", help="output folder (default: results/demo)")
    p.add_argument("--quick", action="store_true", help="smaller sizes and grids (about 20 s)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of the disorder draws (default 0)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    rep = run_demo(args.out, quick=args.quick, seed=args.seed)
    s = rep["ssh"]
    print(f"SSH  L={s['L']}: max |real space - k space| away from v=w: {s['max_dev_from_kspace_away_from_transition']:.2e}")
    print(f"QWZ  m      : {' '.join(f'{m:+.1f}' for m in rep['qwz']['m'])}")
    print(f"     k space: {' '.join('  --' if c is None else f'{c:+4d}' for c in rep['qwz']['kspace'])}")
    print(f"     Bott   : {' '.join(f'{b:+4.1f}' for b in rep['qwz']['bott'])}")
    print(f"     marker : {' '.join(f'{b:+4.1f}' for b in rep['qwz']['marker_bulk'])}")
    print(f"done in {rep['seconds']:.1f} s -> {args.out}/demo.json, {args.out}/phase_diagrams.png")
    return 0
