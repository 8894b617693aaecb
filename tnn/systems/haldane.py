r"""The Haldane model (class A) on the honeycomb lattice.

NN hopping ``t1``; NNN hopping ``t2 e^{i nu phi}`` for the hop ``j -> k -> i`` through the common
neighbour ``k``, ``nu = sign((r_k - r_j) x (r_i - r_k))_z``; mass ``+M`` on A, ``-M`` on B.
``C = -sign(t2 sin phi)`` for ``|M| < 3 sqrt(3) |t2 sin phi|``, else 0 (``docs/conventions.md``).
Bloch: ``H_AB(k) = t1 sum_{off in {0, a1, a2}} e^{-i k.off}``,
``H_ss(k) = +-M + t2 sum_off e^{i nu(off, s) phi} e^{-i k.off}`` over the six NNN offsets.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from tnn import _checks, bloch, invariants, lattice
from tnn.assembly import Terms, anderson_noise, build, complex_dtype, real_dtype
from tnn.bloch import as_real as _real, phase as _phase
from tnn.dists import choice, fixed, uniform
from tnn.lattice import Lattice, check_lattice
from tnn.systems import _demo
from tnn.systems.base import CHERN_2D, DemoPanel, SweepAxis, SweepPreset, System

__all__ = ["SYSTEM", "haldane", "haldane_terms", "haldane_bloch", "haldane_nnn_chirality"]

_A_HONEY = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
_NNN_OFFSETS = ((1, 0), (0, 1), (-1, 1), (-1, 0), (0, -1), (1, -1))


@functools.lru_cache(maxsize=None)
def haldane_nnn_chirality() -> dict[tuple[int, int, int], int]:
    """``nu`` for each NNN hop ``(offset, sublattice)``: the hop ``j = (R, s) -> i = (R + offset, s)``.

    Computed from the geometry: ``k`` is the common nearest neighbour of ``j`` and ``i`` and
    ``nu = sign((r_k - r_j) x (r_i - r_k))_z`` (+1 for a counter-clockwise turn).
    """
    a = np.array([[1.0, 0.0], [0.5, np.sqrt(3) / 2]])
    basis = np.array([[0.0, 0.0], [0.5, np.sqrt(3) / 6]])
    nn = 1.0 / np.sqrt(3)
    out = {}
    for s in range(2):
        other = 1 - s
        cand = [np.array(c) @ a + basis[other] for c in np.ndindex(5, 5)]
        cand = [c - 2 * a[0] - 2 * a[1] for c in cand]
        rj = basis[s]
        for off in _NNN_OFFSETS:
            ri = np.array(off) @ a + basis[s]
            ks = [c for c in cand if abs(np.linalg.norm(c - rj) - nn) < 1e-9 and abs(np.linalg.norm(c - ri) - nn) < 1e-9]
            assert len(ks) == 1, (s, off, ks)
            rk = ks[0]
            u, v = rk - rj, ri - rk
            out[(off[0], off[1], s)] = int(np.sign(u[0] * v[1] - u[1] * v[0]))
    return out


@functools.lru_cache(maxsize=None)
def _haldane_static(lat: Lattice):
    nn = [lat.hop(off, 0, 1) for off in ((0, 0), (1, 0), (0, 1))]  # B(R) -> A(R + off)
    nn_rows = np.concatenate([f[0] for f in nn])
    nn_cols = np.concatenate([f[1] for f in nn])
    nu = haldane_nnn_chirality()
    rows, cols, sgn = [], [], []
    for s in range(2):
        for off in _NNN_OFFSETS:
            r, c, _ = lat.hop(off, s, s)
            rows.append(r)
            cols.append(c)
            sgn.append(np.full(r.shape, nu[(off[0], off[1], s)], dtype=np.float64))
    mass = np.where(lat.sublattice == 0, 1.0, -1.0)
    return nn_rows, nn_cols, np.concatenate(rows), np.concatenate(cols), np.concatenate(sgn), mass


def _haldane_check(t1, t2, phi, M, lat, onsite_disorder=0.0, key=None):
    lat = check_lattice(lat, ("honeycomb",), "the Haldane model", builder=True)
    t1 = _checks.as_param("t1", t1, ())
    t2 = _checks.as_param("t2", t2, ())
    phi = _checks.as_param("phi", phi, ())
    M = _checks.as_param("M", M, ())
    w = _checks.nonnegative("onsite_disorder", onsite_disorder)
    key = _checks.check_key(key, not _checks.is_zero(onsite_disorder), "onsite_disorder")
    return (t1, t2, phi, M, w, key), lat, ()


def _haldane_core(t1, t2, phi, M, w, key, lat: Lattice) -> Terms:
    nn_r, nn_c, nnn_r, nnn_c, nu, mass = _haldane_static(lat)
    rdtype = real_dtype(t1, t2, phi, M)
    t1, t2, phi, M = (x.astype(rdtype) for x in (t1, t2, phi, M))
    cdtype = complex_dtype(rdtype)
    v_nn = jnp.broadcast_to(t1.astype(cdtype), nn_r.shape)
    # Each directed NNN hop is listed with its reverse (nu flips), so no extra h.c. is added.
    v_nnn = t2.astype(cdtype) * jnp.exp(1j * (jnp.asarray(nu, rdtype) * phi).astype(cdtype))
    diag = M * jnp.asarray(mass, rdtype)
    if key is not None:
        diag = diag + anderson_noise(key, lat, w, rdtype)
    return Terms(lat.n_sites, (nn_r, nnn_r), (nn_c, nnn_c), (v_nn, v_nnn), (True, False), diag)


def haldane_terms(t1, t2, phi, M, lat: Lattice, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`haldane` (same arguments, same checks)."""
    args, lat, static = _haldane_check(t1, t2, phi, M, lat, onsite_disorder, key)
    return _haldane_core(*args, lat, *static)


def haldane(t1, t2, phi, M, lat: Lattice, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Haldane model on the honeycomb lattice, shape ``(2 lx ly, 2 lx ly)``, complex.

    Args:
      t1: nearest-neighbour hopping. t2: next-nearest-neighbour hopping magnitude.
      phi: NNN flux phase; the hop ``j -> k -> i`` carries ``t2 exp(i nu phi)``, ``nu = +1`` for a
        counter-clockwise turn at ``k``. M: sublattice mass (+M on A, -M on B).
      lat: a :func:`tnn.lattice.honeycomb` lattice (static).
      onsite_disorder: Anderson strength ``W >= 0``; key: PRNG key when it is nonzero or traced.

    Clean Chern number: ``C = -sign(t2 sin phi)`` for ``|M| < 3 sqrt(3) |t2 sin phi|``, else 0.
    """
    args, lat, static = _haldane_check(t1, t2, phi, M, lat, onsite_disorder, key)
    return build(_haldane_core, args, lat, static, False)


def haldane_bloch(t1, t2, phi, M, k):
    """Haldane Bloch matrix ``(2, 2)`` (A, B) at Cartesian ``k = (kx, ky)``."""
    (t1, t2, phi, M, k), c = _real(t1, t2, phi, M, k)
    a = jnp.asarray(_A_HONEY, dtype=k.dtype)
    nn = jnp.sum(_phase(-(jnp.asarray(np.array([[0, 0], [1, 0], [0, 1]]), k.dtype) @ a) @ k, c))
    nu = haldane_nnn_chirality()
    diag = []
    for s, sign in ((0, 1.0), (1, -1.0)):
        acc = (sign * M).astype(c)
        for off in _NNN_OFFSETS:
            d = jnp.asarray(np.asarray(off, dtype=float) @ _A_HONEY, dtype=k.dtype)
            acc = acc + t2.astype(c) * _phase(nu[(off[0], off[1], s)] * phi - jnp.dot(d, k), c)
        diag.append(acc)
    hab = t1.astype(c) * nn
    return jnp.stack([jnp.stack([diag[0], hab]), jnp.stack([jnp.conj(hab), diag[1]])])

_NAMES = ("t1", "t2", "phi", "M")


def _bloch(p, k, ranges):
    return haldane_bloch(p["t1"], p["t2"], p["phi"], p["M"], k)


_RECIPROCAL = 2 * np.pi * np.linalg.inv(_A_HONEY).T
#: the off-diagonal t1 f(k) vanishes only at K and K' (on the grid only when 3 divides nk)
_CRITICAL_K = np.array([[4 * np.pi / 3, 0.0], [-4 * np.pi / 3, 0.0]])


def _kspace(p, ranges, nk):
    p = {n: _checks.as_param(f"params[{n!r}]", p[n]) for n in _NAMES}
    return bloch.chern_number_and_gap(_bloch, p, nk, reciprocal=_RECIPROCAL, critical_k=_CRITICAL_K)


def _chern(t1, t2, phi, M, nk: int = 48):
    """The FHS Chern number of Haldane's model (:func:`tnn.bloch.chern_number`: an int, a float when traced)."""
    p = {n: _checks.as_param(n, v) for n, v in zip(_NAMES, (t1, t2, phi, M))}
    return bloch.chern_number(_bloch, p, nk, reciprocal=_RECIPROCAL, critical_k=_CRITICAL_K, name="haldane")


# ------------------------------------------------------------------------------ datasets
def _dataset_terms(theta, lat, ranges, disorder, w, key):
    # Clean samples build without disorder (a traced zero strength would ask for a key).
    return haldane_terms(*theta, lat, onsite_disorder=0.0 if key is None else w, key=key)


def _base(**kw) -> dict:
    import math  # noqa: PLC0415

    # t2 = 0.2 < t1 / 3 keeps the half-filling gap direct; the transition |M| = 3 sqrt(3) t2 |sin phi|
    # (up to 1.04) lies inside the M range for most phi, so all three classes are common.
    base = dict(
        model="haldane", size=(12, 12), pbc=False,
        params=(fixed("t1", 1.0), fixed("t2", 0.2), uniform("phi", -math.pi, math.pi), uniform("M", -1.5, 1.5)),
        disorder="anderson", strength=choice("W", 0.0, 1.0, 2.0), classes=(-1, 0, 1), balance=True,
        features=("wavefunctions",), dtype="float32", n=1000, shard_size=128, chunk_size=16,
    )
    base.update(kw)
    return base


PRESETS = {"haldane": lambda: _base(), "haldane-pbc": lambda: _base(pbc=True)}


# ------------------------------------------------------------------------------ demo panel
_DEMO_T2 = 0.15


def _demo_run(quick: bool, key):
    nh = 9 if quick else 12
    phis = np.linspace(-np.pi, np.pi, 25 if quick else 31)
    Ms = np.linspace(-1.0, 1.0, 25 if quick else 31)
    hon = lattice.honeycomb(nh, nh, pbc=True)
    t2 = _DEMO_T2
    P, MM = np.meshgrid(phis, Ms, indexing="ij")

    @jax.jit
    def point(pm):
        return invariants.bott_index(haldane(1.0, t2, pm[0], pm[1], hon), hon)

    hb = np.asarray(jax.lax.map(point, jnp.stack([P.ravel(), MM.ravel()], -1))).reshape(P.shape)

    # k space under vmap: the FHS Chern number is a float (NaN where gapless) when traced
    @jax.jit
    def k_ref(phi, M):
        return jax.vmap(lambda p, m: _chern(1.0, t2, p, m, nk=24))(
            phi, M)

    hk = np.asarray(k_ref(jnp.asarray(P.ravel()), jnp.asarray(MM.ravel()))).reshape(P.shape)
    both = np.isfinite(hb) & np.isfinite(hk)
    return {"size": nh, "t1": 1.0, "t2": t2, "phi": phis.tolist(), "M": Ms.tolist(),
            "bott": hb.tolist(), "kspace": hk.tolist(),
            "agree": float(np.mean(np.rint(hb[both]) == hk[both])) if both.any() else None,
            "n_gapless_bott": int(np.sum(~np.isfinite(hb)))}, None


def _demo_plot(axes, h, extra):
    import matplotlib.pyplot as plt  # noqa: PLC0415
    from matplotlib.patches import Patch  # noqa: PLC0415

    cmap, norm = _demo.integer_cmap()
    t2 = h["t2"]
    ph = np.linspace(-np.pi, np.pi, 200)
    for a, key, title in ((axes[0], "bott", f"Haldane, Bott index ({h['size']}x{h['size']}, PBC)"),
                          (axes[1], "kspace", "Haldane, k space (FHS, 24x24)")):
        vals = np.ma.masked_invalid(np.asarray(h[key], dtype=float).T)
        a.pcolormesh(h["phi"], h["M"], vals, cmap=cmap, norm=norm, shading="nearest")
        for sign in (1, -1):
            a.plot(ph, sign * 3 * np.sqrt(3) * t2 * np.sin(ph), "k--", lw=0.8)
        a.set(xlabel="phi", ylabel="M", title=title, ylim=(min(h["M"]), max(h["M"])))
    if h.get("agree") is not None:
        axes[0].text(0.02, 0.02, f"Bott = k space on {100 * h['agree']:.0f}% of points gapped in both",
                     transform=axes[0].transAxes, fontsize=7, bbox={"fc": "w", "alpha": 0.8, "lw": 0})
    handles = [Patch(fc=_demo.COLOURS[c], ec="k", lw=0.5, label=f"C = {c:+d}" if c else "C = 0") for c in (-1, 0, 1)]
    handles.append(Patch(fc=_demo.GAPLESS, ec="k", lw=0.5, label="NaN: not certified (Bott), gapless (k space)"))
    handles.append(plt.Line2D([], [], color="k", ls="--", lw=0.8, label="M = +-3 sqrt(3) t2 sin(phi)"))
    axes[1].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))


# ------------------------------------------------------------------------------ sweep presets
_SWEEP_T1, _SWEEP_T2 = 1.0, 0.2


def _sweep(size: int):
    """``haldane``: the Bott index over ``(phi, M)`` at ``t1 = 1, t2 = 0.2`` on a periodic
    ``size x size`` sample."""
    lat = lattice.honeycomb(size, size, pbc=True)

    def haldane_bott(phi, M):
        return invariants.bott_index(haldane(_SWEEP_T1, _SWEEP_T2, phi, M, lat), lat)

    return haldane_bott


def _sweep_lines(x, ys):
    mc = 3 * np.sqrt(3) * _SWEEP_T2 * np.sin(x)
    return [(x, mc, "k space: M = +-3 sqrt(3) t2 sin(phi)"), (x, -mc, "")]


SWEEP_PRESETS = (
    SweepPreset("haldane",
                f"Haldane Bott index over (phi, M), t1 = {_SWEEP_T1}, t2 = {_SWEEP_T2}, SIZE x SIZE periodic", "Bott index",
                SweepAxis("phi", -np.pi, np.pi, 33, 13, "phi"), SweepAxis("M", -1.5, 1.5, 31, 13, "M"),
                size=9, quick_size=6, n_keys=0, quick_keys=0, make=_sweep, boundaries=_sweep_lines),
)


SYSTEM = System(
    **CHERN_2D,
    name="haldane",
    lattice="honeycomb",
    params=("t1", "t2", "phi", "M"),
    builders={"haldane": haldane, "haldane_terms": haldane_terms},
    check_core=(_haldane_check, _haldane_core),
    bloch=_bloch,
    reciprocal=_RECIPROCAL,
    kspace=_kspace,
    critical_k=_CRITICAL_K,
    sample_names=lambda ranges: ("t1", "t2", "phi", "M"),
    to_params=lambda theta, ranges: {name: theta[i] for i, name in enumerate(("t1", "t2", "phi", "M"))},
    dataset_terms=_dataset_terms,
    presets=PRESETS,
    demo=DemoPanel(_demo_run, _demo_plot, n_axes=2, width=1.0),
    sweep_presets=SWEEP_PRESETS,
)
