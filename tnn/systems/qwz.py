r"""The Qi-Wu-Zhang Chern insulator (class A) on the square lattice, two orbitals per cell.

Real space: onsite ``m sigma_z``; ``H[r + x, r] = T_x = (sigma_z + i sigma_x)/2``,
``H[r + y, r] = T_y = (sigma_z + i sigma_y)/2`` plus h.c. Bloch:
``H(k) = sin kx sx + sin ky sy + (m + cos kx + cos ky) sz``; ``C = +1`` for ``-2 < m < 0``, ``-1``
for ``0 < m < 2``, 0 for ``|m| > 2`` (``docs/conventions.md``). Disorder: Anderson.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from tnn import _checks, bloch, invariants, lattice
from tnn.assembly import Terms, anderson_noise, block_family, build, complex_dtype
from tnn.bloch import as_real as _real, phase as _phase
from tnn.dists import choice, uniform
from tnn.lattice import Lattice, check_lattice
from tnn.systems import _demo
from tnn.systems.base import CHERN_2D, DemoPanel, SweepAxis, SweepPreset, System

__all__ = ["SYSTEM", "qwz", "qwz_terms", "qwz_bloch", "QWZ_TX", "QWZ_TY", "QWZ_KPM_MOMENTS", "QWZ_KPM_VECTORS"]


_SX = np.array([[0, 1], [1, 0]], dtype=complex)
_SY = np.array([[0, -1j], [1j, 0]], dtype=complex)
_SZ = np.array([[1, 0], [0, -1]], dtype=complex)
QWZ_TX = (_SZ + 1j * _SX) / 2  # block H[r + x, r]
QWZ_TY = (_SZ + 1j * _SY) / 2  # block H[r + y, r]


@functools.lru_cache(maxsize=None)
def _qwz_static(lat: Lattice):
    fx = block_family(lat, (1, 0), QWZ_TX)
    fy = block_family(lat, (0, 1), QWZ_TY)
    rows = np.concatenate([fx[0], fy[0]])
    cols = np.concatenate([fx[1], fy[1]])
    vals = np.concatenate([fx[2], fy[2]])
    sz = np.where(lat.sublattice == 0, 1.0, -1.0)
    return rows, cols, vals, sz


def _qwz_check(m, lat, onsite_disorder=0.0, key=None):
    lat = check_lattice(lat, ("square",), "the QWZ model", builder=True, n_orb=2)
    m = _checks.as_param("m", m, ())
    w = _checks.nonnegative("onsite_disorder", onsite_disorder)
    key = _checks.check_key(key, not _checks.is_zero(onsite_disorder), "onsite_disorder")
    return (m, w, key), lat, ()


def _qwz_core(m, w, key, lat: Lattice) -> Terms:
    rows, cols, vals, sz = _qwz_static(lat)
    cdtype = complex_dtype(m.dtype)
    diag = m * jnp.asarray(sz, dtype=m.dtype)
    if key is not None:
        diag = diag + anderson_noise(key, lat, w, m.dtype)
    return Terms(lat.n_sites, (rows,), (cols,), (jnp.asarray(vals, dtype=cdtype),), (True,), diag)


def qwz_terms(m, lat: Lattice, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`qwz` (same arguments, same checks)."""
    args, lat, static = _qwz_check(m, lat, onsite_disorder, key)
    return _qwz_core(*args, lat, *static)


def qwz(m, lat: Lattice, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Qi-Wu-Zhang Chern insulator, shape ``(2 lx ly, 2 lx ly)``, complex.

    Args:
      m: mass, scalar. Clean Chern number ``C = +1`` for ``-2 < m < 0``, ``-1`` for ``0 < m < 2``.
      lat: a :func:`tnn.lattice.square` lattice (static).
      onsite_disorder: Anderson strength ``W >= 0`` (uniform ``[-W/2, W/2]`` per orbital).
      key: PRNG key, required when ``onsite_disorder`` is nonzero or traced.
    """
    args, lat, static = _qwz_check(m, lat, onsite_disorder, key)
    return build(_qwz_core, args, lat, static, False)



def qwz_bloch(m, k):
    """QWZ Bloch matrix ``(2, 2)`` at ``k = (kx, ky)``."""
    (m, k), c = _real(m, k)
    kx, ky = k[0], k[1]
    tx, ty = jnp.asarray(QWZ_TX, dtype=c), jnp.asarray(QWZ_TY, dtype=c)
    onsite = m.astype(c) * jnp.asarray(np.diag([1.0, -1.0]), dtype=c)
    # H[R, R + d]: d = -x carries T_x, d = +x carries T_x^dag.
    hx = _phase(-kx, c) * tx + _phase(kx, c) * tx.conj().T
    hy = _phase(-ky, c) * ty + _phase(ky, c) * ty.conj().T
    return onsite + hx + hy


def _bloch(p, k, ranges):
    return qwz_bloch(p["m"], k)


_RECIPROCAL = 2 * np.pi * np.eye(2)
#: the d-vector vanishes only at the four TRIM points
_CRITICAL_K = np.array([[0.0, 0.0], [np.pi, 0.0], [0.0, np.pi], [np.pi, np.pi]])


def _kspace(p, ranges, nk):
    p = {"m": _checks.as_param("params['m']", p["m"])}
    return bloch.chern_number_and_gap(_bloch, p, nk, reciprocal=_RECIPROCAL, critical_k=_CRITICAL_K)


def _chern(m, nk: int = 48):
    """The FHS Chern number of QWZ at ``m`` (:func:`tnn.bloch.chern_number`: an int, a float when traced)."""
    return bloch.chern_number(_bloch, {"m": _checks.as_param("m", m)}, nk, reciprocal=_RECIPROCAL,
                              critical_k=_CRITICAL_K, name="qwz")


# ------------------------------------------------------------------------------ datasets
def _dataset_terms(theta, lat, ranges, disorder, w, key):
    # Clean samples build without disorder (a traced zero strength would ask for a key).
    return qwz_terms(*theta, lat, onsite_disorder=0.0 if key is None else w, key=key)


def _base(**kw) -> dict:
    base = dict(
        model="qwz", size=(12, 12), pbc=False, params=(uniform("m", -3.0, 3.0),),
        disorder="anderson", strength=choice("W", 0.0, 1.0, 2.0), classes=(-1, 0, 1), balance=True,
        features=("wavefunctions",), dtype="float32", n=1000, shard_size=128, chunk_size=16,
    )
    base.update(kw)
    return base


PRESETS = {"qwz": lambda: _base(), "qwz-pbc": lambda: _base(pbc=True)}


# ------------------------------------------------------------------------------ demo panel
def _demo_run(quick: bool, key):
    # Sizes large enough for certified values away from the transitions (tnn.validity: at 8 x 8 the
    # correlations at m = +-1.5 reach across the torus).
    n = 10 if quick else 14
    ms = np.linspace(-3.0, 3.0, 13 if quick else 25)
    sq_p, sq_o = lattice.square(n, n, pbc=True), lattice.square(2 * n, 2 * n, pbc=False)

    @jax.jit
    def point(m):
        b = invariants.bott_index(qwz(m, sq_p), sq_p)
        c = invariants.chern_number(qwz(m, sq_o), sq_o, method="marker")
        return b, c

    bott, marker = (np.asarray(a) for a in jax.lax.map(point, jnp.asarray(ms)))
    c_k = _demo.kspace_or_none(lambda m: _chern(float(m)), ms)
    rep = {"bott_size": n, "marker_size": 2 * n, "m": ms.tolist(), "kspace": c_k,
           "bott": bott.tolist(), "marker_bulk": marker.tolist()}
    m_fine = np.linspace(ms[0], ms[-1], 1201)
    c_fine = jax.jit(jax.vmap(lambda m: _chern(m, nk=24)))(jnp.asarray(m_fine))
    return rep, (m_fine, np.asarray(c_fine))


def _demo_plot(axes, q, fine):
    ax = axes[0]
    _demo.step_reference(ax, fine, "k space (FHS)")
    ax.plot(q["m"], q["bott"], "o", ms=4, label=f"Bott, {q['bott_size']}x{q['bott_size']}")
    ax.plot(q["m"], q["marker_bulk"], "x", label=f"bulk marker, {q['marker_size']}x{q['marker_size']}")
    gap_m = [m for m, b in zip(q["m"], q["bott"]) if b is None or not np.isfinite(b)]
    if gap_m:
        ax.plot(gap_m, [0.0] * len(gap_m), "v", color=_demo.GAPLESS, mec="k", ms=7, label="Bott not certified (NaN)")
    ax.set(xlabel="m", ylabel="Chern number", title="QWZ (k space gapless at m = 0, +-2)")
    ax.legend(fontsize=7)


def _demo_summary(q) -> list[str]:
    return [f"QWZ  m      : {' '.join(f'{m:+.1f}' for m in q['m'])}",
            f"     k space: {' '.join('  --' if c is None else f'{c:+4d}' for c in q['kspace'])}",
            f"     Bott   : {' '.join(f'{b:+4.1f}' for b in q['bott'])}",
            f"     marker : {' '.join(f'{b:+4.1f}' for b in q['marker_bulk'])}"]


# ------------------------------------------------------------------------------ sweep presets
def _sweep_disorder(size: int):
    """``qwz-disorder``: the Bott index over ``(m, W)`` with Anderson disorder ``W`` on a periodic
    ``size x size`` sample."""
    lat = lattice.square(size, size, pbc=True)

    def qwz_bott_disordered(m, W, key):
        return invariants.bott_index(qwz(m, lat, onsite_disorder=W, key=key), lat)

    return qwz_bott_disordered


#: KPM settings of the ``qwz-kpm-tai`` preset: Chebyshev moments and random vectors per sample
QWZ_KPM_MOMENTS, QWZ_KPM_VECTORS = 256, 8


def _sweep_kpm_tai(size: int):
    r"""``qwz-kpm-tai``: the KPM Chern number (:func:`tnn.kpm.chern_number`, stencil operator of
    :func:`qwz_terms`, as :func:`tnn.hamiltonians.operator`, :data:`QWZ_KPM_MOMENTS` moments, :data:`QWZ_KPM_VECTORS`
    vectors, default bulk window, Gershgorin bounds as ``ssh-kpm-scaling``) of an open ``size x size`` sample with Anderson disorder ``W``, over
    ``(W, m)``: the topological Anderson insulator window (``C = -1`` around ``W ~ 4`` at ``m = 2.2``,
    trivial when clean) and the disorder-driven collapse of ``C = +1`` (``m = -1``). The raw estimate
    (KPM's ``error`` turns infinite where disorder fills the gap at ``E = 0``: the spread over keys is
    the figure's error)."""
    from tnn import kpm, operators  # noqa: PLC0415  (the KPM stack loads with the preset only)

    lat = lattice.square(size, size)

    def qwz_kpm_chern(W, m, key):
        op = operators.from_terms(qwz_terms(m, lat, onsite_disorder=W, key=key), lat)
        r = kpm.chern_number(op, lat, num_moments=QWZ_KPM_MOMENTS, num_vectors=QWZ_KPM_VECTORS,
                             key=jax.random.fold_in(key, 1), bounds=op.gershgorin())
        return r.value

    return qwz_kpm_chern


def _disorder_lines(x, ys):
    # the clean k-space boundaries m = 0, +-2 (exact at W = 0 only)
    y = np.array([ys.min(), ys.max()])
    return [(np.full(2, m), y, "clean k-space boundary (exact at W = 0)" if m == -2 else "") for m in (-2.0, 0.0, 2.0)]


def _kpm_tai_lines(x, ys):
    return []  # no closed-form boundary of the disordered model (the clean ones, m = 0, +-2, are at W = 0 only)


SWEEP_PRESETS = (
    SweepPreset("qwz-disorder", "QWZ Bott index over (m, W), Anderson disorder W, SIZE x SIZE periodic, mean over keys",
                "mean Bott index",
                SweepAxis("m", -3.0, 3.0, 25, 13, "m"), SweepAxis("W", 0.0, 6.0, 7, 4, "W (Anderson disorder)"),
                size=10, quick_size=6, n_keys=8, quick_keys=3, make=_sweep_disorder, boundaries=_disorder_lines),
    SweepPreset("qwz-kpm-tai",
                "QWZ topological Anderson insulator by KPM (tnn.kpm.chern_number, matrix-free), open samples of "
                "several sizes up to 200 x 200: finite-size scaling of the mean Chern number vs W at m = -1, 2.2",
                "mean Chern number (KPM)",
                SweepAxis("W", 0.0, 9.0, 19, 7, "W (Anderson disorder)"), SweepAxis("m", -1.0, 2.2, 2, 2, "m"),
                size=200, quick_size=24, n_keys=16, quick_keys=3, make=_sweep_kpm_tai,
                boundaries=_kpm_tai_lines, sizes=(50, 100, 200), quick_sizes=(16, 24)),
)


SYSTEM = System(
    **CHERN_2D,
    name="qwz",
    lattice="square",
    params=("m",),
    builders={"qwz": qwz, "qwz_terms": qwz_terms},
    check_core=(_qwz_check, _qwz_core),
    bloch=_bloch,
    reciprocal=_RECIPROCAL,
    kspace=_kspace,
    critical_k=_CRITICAL_K,
    sample_names=lambda ranges: ("m",),
    to_params=lambda theta, ranges: {"m": theta[0]},
    dataset_terms=_dataset_terms,
    presets=PRESETS,
    demo=DemoPanel(_demo_run, _demo_plot, summary=_demo_summary),
    sweep_presets=SWEEP_PRESETS,
)
