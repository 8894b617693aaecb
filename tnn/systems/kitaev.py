r"""The Kitaev p-wave superconducting chain (class BDI), written in the Majorana basis.

Fermions: ``H = sum_n [-mu_n (c^dag_n c_n - 1/2) - t (c^dag_n c_{n+1} + h.c.) + delta (c_n c_{n+1} + h.c.)]``
with real ``mu, t, delta`` (Kitaev, Phys.-Usp. 44, 131 (2001)). With ``c_n = (a_n + i b_n) / 2``
(Majoranas ``a_n, b_n``) it is ``H = (i/4) sum_jk A_jk gamma_j gamma_k``, ``A`` real antisymmetric:

    ``H = (i/2) sum_n [-mu_n a_n b_n + (delta - t) a_n b_{n+1} + (delta + t) b_n a_{n+1}]``.

:func:`kitaev_chain` returns the Hermitian ``(2L, 2L)`` matrix ``iA`` (eigenvalues ``+-E``, the
quasiparticle energies) in the site order of :func:`tnn.lattice.chain`: ``a_n`` on A (site ``2n``),
``b_n`` on B (site ``2n + 1``). Only a-b entries are nonzero, so it is chiral with
``Gamma = diag(+1 on A, -1 on B)`` exactly like an SSH chain, and :func:`tnn.invariants.winding_number`
(the same chiral-block machinery and certificate) computes its real-space winding number. In the
SSH notation ``H[A_{n+r}, B_n] = t_r``: ``t_0 = -i mu``, ``t_{+1} = -i (t + delta)``,
``t_{-1} = -i (t - delta)``.

k space (``docs/conventions.md``): ``q(k) = i [mu + (t + delta) e^{ik} + (t - delta) e^{-ik}]``, the
chiral block of ``H(k) = [[0, conj q], [q, 0]]``, ``|q(k)| = sqrt((mu + 2t cos k)^2 + 4 delta^2 sin^2 k)``
(the BdG spectrum). The winding number of ``q`` (the constant ``i`` does not change it) is

    ``W = sign(delta * t)`` for ``|mu| < 2|t|`` and ``delta != 0``, ``W = 0`` for ``|mu| > 2|t|``

(the roots of ``(t + delta) z^2 + mu z + (t - delta)`` inside the unit circle, minus 1); gapless at
``|mu| = 2|t|`` and, for ``|mu| < 2|t|``, at ``delta = 0``. Disorder ``mu_disorder = W``: uniform
``[-W/2, W/2]`` added to ``mu_n`` per cell; it keeps chiral symmetry (class BDI).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tnn import _checks, bloch, invariants, lattice
from tnn.assembly import Terms, build, complex_dtype, real_dtype, uniform_noise
from tnn.dists import choice, fixed, uniform
from tnn.lattice import Lattice, check_lattice
from tnn.systems import _demo
from tnn.systems.base import DemoPanel, SweepAxis, SweepPreset, System

__all__ = ["SYSTEM", "kitaev_chain", "kitaev_chain_terms", "kitaev_bloch", "kitaev_taus", "kspace_winding"]

#: the hopping ranges of the chain in the SSH notation, and the order of :func:`kitaev_taus`
RANGES = (-1, 0, 1)


def kitaev_taus(mu, t, delta):
    """``(t - delta, mu, t + delta)``: ``q(k) = i sum_r tau_r e^{i r k}`` over :data:`RANGES`."""
    return jnp.stack([t - delta, mu, t + delta])


# ------------------------------------------------------------------------------ real space
def _kitaev_check(mu, t, delta, lat, mu_disorder=0.0, key=None):
    lat = check_lattice(lat, ("chain",), "the Kitaev chain", builder=True)
    need = 3 if lat.pbc else 2  # ranges -1 and +1 must be distinct bonds
    if lat.n_cells < need:
        raise ValueError(f"Argument `lat` has {lat.n_cells} cells, too few for a Kitaev chain with pbc={lat.pbc}: "
                         f"need at least {need}.")
    mu = _checks.as_param("mu", mu, ())
    t = _checks.as_param("t", t, ())
    delta = _checks.as_param("delta", delta, ())
    w = _checks.nonnegative("mu_disorder", mu_disorder)
    key = _checks.check_key(key, not _checks.is_zero(mu_disorder), "mu_disorder")
    return (mu, t, delta, w, key), lat, ()


def _kitaev_core(mu, t, delta, w, key, lat: Lattice) -> Terms:
    rdtype = real_dtype(mu, t, delta)
    mu, t, delta = (x.astype(rdtype) for x in (mu, t, delta))
    c = complex_dtype(rdtype)
    minus_i = jnp.asarray(-1j, dtype=c)
    fams = [lat.hop((r,), 0, 1) for r in RANGES]  # b_n -> a_{n+r}
    mu_n = jnp.broadcast_to(mu, (lat.n_cells,))
    if key is not None:
        mu_n = mu_n + uniform_noise(key, (lat.n_cells,), w, rdtype)
    taus = kitaev_taus(mu, t, delta)
    vals = []
    for i, (r, (_, cols, _)) in enumerate(zip(RANGES, fams)):
        amp = mu_n[np.asarray(cols) // 2] if r == 0 else jnp.broadcast_to(taus[i], cols.shape)
        vals.append(minus_i * amp.astype(c))
    rows = tuple(f[0] for f in fams)
    cols = tuple(f[1] for f in fams)
    return Terms(lat.n_sites, rows, cols, tuple(vals), (True,) * len(RANGES), None)


def kitaev_chain_terms(mu, t, delta, lat: Lattice, mu_disorder=0.0, key=None) -> Terms:
    """The :class:`tnn.hamiltonians.Terms` of :func:`kitaev_chain` (same arguments, same checks)."""
    args, lat, static = _kitaev_check(mu, t, delta, lat, mu_disorder, key)
    return _kitaev_core(*args, lat, *static)


def kitaev_chain(mu, t, delta, lat: Lattice, mu_disorder=0.0, key=None) -> jax.Array:
    r"""Kitaev chain in the Majorana basis, ``(2L, 2L)`` complex Hermitian, chiral (module docstring).

    Args:
      mu: chemical potential, scalar. t: hopping, scalar. delta: p-wave pairing, scalar.
      lat: a :func:`tnn.lattice.chain` of ``L`` cells (static); ``L >= 2`` open, ``L >= 3`` periodic.
        Cell ``n`` holds the Majoranas ``a_n`` (site ``2n``) and ``b_n`` (site ``2n + 1``).
      mu_disorder: ``W >= 0``; uniform ``[-W/2, W/2]`` added to ``mu`` in every cell (keeps chiral
        symmetry). key: PRNG key, required when ``mu_disorder`` is nonzero or traced.

    Clean winding number: ``sign(delta * t)`` for ``|mu| < 2|t|``, ``delta != 0``; 0 for ``|mu| > 2|t|``.
    """
    args, lat, static = _kitaev_check(mu, t, delta, lat, mu_disorder, key)
    return build(_kitaev_core, args, lat, static, False)


# ------------------------------------------------------------------------------ k space
def kitaev_bloch(mu, t, delta, k):
    """Bloch matrix ``(2, 2)`` in the (a, b) basis at scalar ``k``: ``[[0, conj q], [q, 0]]``."""
    (mu, t, delta, k), c = bloch.as_real(mu, t, delta, k)
    taus = kitaev_taus(mu, t, delta).astype(c)
    r = jnp.asarray(RANGES, dtype=k.dtype)
    q = jnp.asarray(1j, dtype=c) * jnp.sum(taus * bloch.phase(r * k, c))
    z = jnp.zeros_like(q)
    return jnp.stack([jnp.stack([z, jnp.conj(q)]), jnp.stack([q, z])])


def _kspace(p, ranges, nk):
    return bloch.winding_number_and_gap(kitaev_taus(p["mu"], p["t"], p["delta"]), RANGES, nk)


def kspace_winding(mu, t, delta) -> int:
    """Exact k-space winding number (an ``int``; :class:`tnn.kspace.GaplessError` when gapless)."""
    return bloch.winding_number(np.array([t - delta, mu, t + delta], dtype=float), RANGES)


# ------------------------------------------------------------------------------ datasets
def _dataset_terms(theta, lat, ranges, disorder, w, key):
    return kitaev_chain_terms(theta[0], theta[1], theta[2], lat, mu_disorder=0.0 if key is None else w, key=key)


def _zero_energy_columns(theta, ranges, disorder, w, key, n):
    """:class:`tnn.systems.base.ColumnsFn`: ``h[b + r, b] = -i tau_r`` with ``tau = (t - delta, mu_b,
    t + delta)`` over :data:`RANGES`, ``mu_b = mu`` plus uniform ``[-W/2, W/2]`` with ``mu`` disorder;
    returned without the common factor ``-i`` (real)."""
    mu, t, delta = theta[0], theta[1], theta[2]
    mu_n = jnp.broadcast_to(mu, (n,))
    if key is not None and disorder == "mu":
        mu_n = mu_n + uniform_noise(key, (n,), jnp.asarray(w), mu_n.dtype)
    return jnp.stack([jnp.broadcast_to(t - delta, (n,)), mu_n, jnp.broadcast_to(t + delta, (n,))], axis=-1), RANGES


def _base(**kw) -> dict:
    # |mu| < 2 is topological with W = sign(delta): mu in [-3, 3] gives both phases, delta in [-1, 1] both signs.
    base = dict(
        model="kitaev", size=(40,), pbc=False,
        params=(uniform("mu", -3.0, 3.0), fixed("t", 1.0), uniform("delta", -1.0, 1.0)),
        classes=(-1, 0, 1), balance=True, features=("wavefunctions",), dtype="float64",
        n=1000, shard_size=256, chunk_size=32,
    )
    base.update(kw)
    return base


def _disordered() -> dict:
    return _base(disorder="mu", strength=choice("W", 0.5, 1.0))


PRESETS = {"kitaev": lambda: _base(), "kitaev-pbc": lambda: _base(pbc=True), "kitaev-mu": _disordered}


# ------------------------------------------------------------------------------ demo panel
_DEMO_DELTA = 0.5


def _demo_run(quick: bool, key):
    L = 40 if quick else 80
    mus = np.linspace(-3.0, 3.0, 21 if quick else 41)
    obc, pbc = lattice.chain(L, pbc=False), lattice.chain(L, pbc=True)

    @jax.jit
    def point(mu, k):
        w_obc = invariants.winding_number(kitaev_chain(mu, 1.0, _DEMO_DELTA, obc), obc)
        w_pbc = invariants.winding_number(kitaev_chain(mu, 1.0, _DEMO_DELTA, pbc), pbc)
        w_neg = invariants.winding_number(kitaev_chain(mu, 1.0, -_DEMO_DELTA, pbc), pbc)
        w_dis = invariants.winding_number(kitaev_chain(mu, 1.0, _DEMO_DELTA, pbc, mu_disorder=1.0, key=k), pbc)
        return w_obc, w_pbc, w_neg, w_dis

    keys = jax.random.split(jax.random.fold_in(key, 4), len(mus))
    w_obc, w_pbc, w_neg, w_dis = (np.asarray(a) for a in jax.vmap(point)(jnp.asarray(mus), keys))
    w_k = _demo.kspace_or_none(lambda m: kspace_winding(float(m), 1.0, _DEMO_DELTA), mus)
    clean = [i for i, w in enumerate(w_k) if w is not None and abs(abs(mus[i]) - 2.0) > 0.4]
    rep = {"L": L, "t": 1.0, "delta": _DEMO_DELTA, "mu": mus.tolist(), "kspace": w_k,
           "obc_bulk_trace": w_obc.tolist(), "pbc": w_pbc.tolist(), "pbc_negative_delta": w_neg.tolist(),
           "pbc_mu_disorder_1.0": w_dis.tolist(),
           "max_dev_from_kspace_away_from_transition": float(
               max(max(abs(w_obc[i] - w_k[i]), abs(w_pbc[i] - w_k[i]), abs(w_neg[i] + w_k[i])) for i in clean))}
    mu_fine = np.linspace(mus[0], mus[-1], 1201)
    taus = jnp.stack([jnp.full_like(mu_fine, 1.0 - _DEMO_DELTA), jnp.asarray(mu_fine),
                      jnp.full_like(mu_fine, 1.0 + _DEMO_DELTA)], axis=-1)
    w_fine = jax.jit(jax.vmap(lambda tau: bloch.winding_number(tau, RANGES)))(taus)
    return rep, (mu_fine, np.asarray(w_fine))


def _demo_plot(axes, rep, fine):
    ax = axes[0]
    _demo.step_reference(ax, fine, f"k space, delta = {rep['delta']}")
    ax.plot(rep["mu"], rep["obc_bulk_trace"], "o", ms=4, label=f"OBC bulk trace, L={rep['L']}")
    ax.plot(rep["mu"], rep["pbc"], "x", label="PBC")
    ax.plot(rep["mu"], rep["pbc_negative_delta"], "+", label=f"PBC, delta = {-rep['delta']}")
    ax.plot(rep["mu"], rep["pbc_mu_disorder_1.0"], "s", ms=4, mfc="none", label="PBC, mu disorder 1.0")
    ax.set(xlabel="mu / t", ylabel="winding number", title="Kitaev chain: W = sign(delta t), |mu| < 2|t|")
    ax.legend(fontsize=7)


def _demo_summary(rep) -> list[str]:
    return [f"Kitaev L={rep['L']}: max |real space - k space| away from |mu| = 2t: "
            f"{rep['max_dev_from_kspace_away_from_transition']:.2e}"]


# ------------------------------------------------------------------------------ sweep presets
_SWEEP_T = 1.0


def _sweep_mu_delta(size: int):
    """``kitaev-mu-delta``: the winding number over ``(mu, delta)`` at ``t = 1``, periodic chain of
    ``size`` cells. k space: ``sign(delta t)`` for ``|mu| < 2|t|``, 0 for ``|mu| > 2|t|``; gapless
    on ``|mu| = 2|t|`` and on ``delta = 0`` between them."""
    lat = lattice.chain(size, pbc=True)

    def kitaev_winding(mu, delta):
        return invariants.winding_number(kitaev_chain(mu, _SWEEP_T, delta, lat), lat)

    return kitaev_winding


def _mu_delta_lines(x, ys):
    mu_c = 2 * abs(_SWEEP_T)
    y = np.array([ys.min(), ys.max()])
    return [(np.full(2, -mu_c), y, "k space: |mu| = 2|t|"), (np.full(2, mu_c), y, ""),
            (np.array([-mu_c, mu_c]), np.zeros(2), "k space: delta = 0, gapless for |mu| < 2|t|")]


SWEEP_PRESETS = (
    SweepPreset("kitaev-mu-delta", f"Kitaev chain winding number over (mu, delta), t = {_SWEEP_T}, periodic chain of "
                "SIZE cells", "winding number W",
                SweepAxis("mu", -3.0, 3.0, 31, 13, "mu (chemical potential)"),
                SweepAxis("delta", -1.5, 1.5, 31, 13, "delta (p-wave pairing)"),
                size=64, quick_size=32, n_keys=0, quick_keys=0, make=_sweep_mu_delta, boundaries=_mu_delta_lines),
)


SYSTEM = System(
    name="kitaev",
    lattice="chain",
    params=("mu", "t", "delta"),
    invariant="winding",
    builders={"kitaev_chain": kitaev_chain, "kitaev_chain_terms": kitaev_chain_terms},
    check_core=(_kitaev_check, _kitaev_core),
    bloch=lambda p, k, ranges: kitaev_bloch(p["mu"], p["t"], p["delta"], k),
    reciprocal=np.array([[2 * np.pi]]),
    kspace=_kspace,
    kspace_nk=512,
    sample_names=lambda ranges: ("mu", "t", "delta"),
    to_params=lambda theta, ranges: {"mu": theta[0], "t": theta[1], "delta": theta[2]},
    dataset_terms=_dataset_terms,
    disorders=("none", "mu"),
    chiral_disorders=("none", "mu"),
    methods=("winding",),
    classes=lambda ranges: (-1, 0, 1),
    presets=PRESETS,
    demo=DemoPanel(_demo_run, _demo_plot, summary=_demo_summary),
    zero_energy_columns=_zero_energy_columns,
    sweep_presets=SWEEP_PRESETS,
)
