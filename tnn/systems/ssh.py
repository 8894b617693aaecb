r"""The SSH family (class AIII): chains with chiral hoppings of any range.

``H = sum_n sum_i t[i] (c^dag_{A,n+r_i} c_{B,n} + h.c.)``, i.e. ``H[A_{n+r}, B_n] = t_r``; with
``ranges=(0, 1)``, ``t = (v, w)`` is the standard chain. Bloch: ``q(k) = sum_i t_i e^{i r_i k}``,
``H(k) = [[0, conj q], [q, 0]]`` in the (A, B) basis; the invariant is the winding number of ``q``
(``docs/conventions.md``). Disorder: ``bond`` (chiral) and ``onsite`` (breaks chiral symmetry).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tnn import _checks, bloch, invariants, lattice, validity
from tnn.assembly import Terms, build, check_ranges, uniform_noise
from tnn.bloch import as_real as _real, phase as _phase
from tnn.dists import choice, uniform
from tnn.lattice import Lattice, check_lattice
from tnn.systems import _demo
from tnn.systems.base import DemoPanel, Feature, Sample, SweepAxis, SweepPreset, System

__all__ = ["SYSTEM", "ssh", "ssh_terms", "ssh_q", "ssh_bloch", "min_cells_for_ranges", "ssh_critical_w",
           "SSH_INTER_RATIO", "hoppings_from_hamiltonian", "ssh_disorder_terms", "ssh_critical_disorder",
           "SSH_KPM_MOMENTS", "SSH_KPM_VECTORS"]


def min_cells_for_ranges(ranges: tuple[int, ...], pbc: bool) -> int:
    """Smallest chain length for which every hopping range is represented unambiguously."""
    rmax = max(abs(r) for r in ranges)
    return 2 * rmax + 1 if pbc else rmax + 1


def _ssh_check(t, lat, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None):
    lat = check_lattice(lat, ("chain",), "the SSH model", builder=True)
    ranges = check_ranges(ranges)
    t = _checks.as_param("t", t, (len(ranges),))
    need = min_cells_for_ranges(ranges, lat.pbc)
    if lat.n_cells < need:
        raise ValueError(
            f"Argument `lat` has {lat.n_cells} cells, too few for ranges={ranges} with "
            f"pbc={lat.pbc}: need at least {need}."
        )
    wb = _checks.nonnegative("bond_disorder", bond_disorder)
    wo = _checks.nonnegative("onsite_disorder", onsite_disorder)
    disordered = not (_checks.is_zero(bond_disorder) and _checks.is_zero(onsite_disorder))
    key = _checks.check_key(key, disordered, "bond_disorder or onsite_disorder")
    return (t, wb, wo, key), lat, (ranges,)


def _ssh_core(t, wb, wo, key, lat: Lattice, ranges) -> Terms:
    fams = [lat.hop((r,), 0, 1) for r in ranges]  # B_n -> A_{n+r}
    rows = tuple(f[0] for f in fams)
    cols = tuple(f[1] for f in fams)
    vals = [jnp.broadcast_to(t[i], rows[i].shape) for i in range(len(ranges))]
    diag = None
    if key is not None:
        # Separate streams for bonds and sites: switching onsite disorder on leaves the bonds alone.
        kb, ko = jax.random.split(key, 2)
        n_b = sum(len(r) for r in rows)
        noise = uniform_noise(kb, (n_b,), wb, t.dtype)
        splits = np.cumsum([len(r) for r in rows])[:-1]
        vals = [v + n for v, n in zip(vals, jnp.split(noise, splits))]
        diag = uniform_noise(ko, (lat.n_sites,), wo, t.dtype)
    return Terms(lat.n_sites, rows, cols, tuple(vals), (True,) * len(rows), diag)


def ssh_terms(t, lat: Lattice, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None) -> Terms:
    """The :class:`Terms` of :func:`ssh` (same arguments, same checks)."""
    args, lat, static = _ssh_check(t, lat, ranges, bond_disorder, onsite_disorder, key)
    return _ssh_core(*args, lat, *static)


def ssh(t, lat: Lattice, ranges=(0, 1), bond_disorder=0.0, onsite_disorder=0.0, key=None) -> jax.Array:
    r"""Real-space Hamiltonian of the SSH family, shape ``(2L, 2L)``.

    Args:
      t: hopping amplitudes, shape ``(len(ranges),)``; ``t[i]`` couples ``B_n`` with
        ``A_{n+ranges[i]}``. With ``ranges=(0, 1)``, ``t = (v, w)`` is the standard SSH chain.
      lat: a :func:`tnn.lattice.chain` with ``L`` cells (static). Needs ``L > max|r|`` (open) or
        ``L > 2 max|r|`` (periodic).
      ranges: static tuple of ints.
      bond_disorder: ``Wb >= 0``; uniform ``[-Wb/2, Wb/2]`` added to every bond (chiral).
      onsite_disorder: ``Wo >= 0``; uniform ``[-Wo/2, Wo/2]`` on every site (breaks chirality).
      key: PRNG key, required when a disorder strength is nonzero or traced. With a key, noise is
        always drawn (so ``vmap`` over strengths including 0 is consistent).

    Returns:
      ``H`` of shape ``(2L, 2L)``, real for real ``t``.
    """
    args, lat, static = _ssh_check(t, lat, ranges, bond_disorder, onsite_disorder, key)
    return build(_ssh_core, args, lat, static, False)


def ssh_q(t, k, ranges=(0, 1)):
    """``q(k) = sum_i t_i e^{i r_i k}``; ``t`` ``(n_r,)``, ``k`` scalar -> complex scalar."""
    (t, k), c = _real(t, k)
    r = jnp.asarray(ranges, dtype=t.dtype)
    return jnp.sum(t.astype(c) * _phase(r * k, c))


def ssh_bloch(t, k, ranges=(0, 1)):
    """SSH-family Bloch matrix ``(2, 2)`` in the (A, B) basis at scalar ``k``."""
    q = ssh_q(t, k, ranges)
    z = jnp.zeros_like(q)
    return jnp.stack([jnp.stack([z, jnp.conj(q)]), jnp.stack([q, z])])


# ------------------------------------------------------------------------------ datasets
def _dataset_terms(theta, lat, ranges, disorder, w, key):
    wb = w if disorder == "bond" else 0.0
    wo = w if disorder == "onsite" else 0.0
    return ssh_terms(theta, lat, ranges, bond_disorder=wb, onsite_disorder=wo, key=key)


def _hoppings(sample: Sample):
    """The ``hoppings`` feature of a dataset sample (:data:`HOPPINGS`), from its Hamiltonian terms."""
    tm, H = sample.terms, sample.H
    R = len(sample.ranges)
    hop = jnp.zeros((R + 2, sample.lat.dims[0]), dtype=H.dtype)
    for r in range(R):
        hop = hop.at[r, np.asarray(tm.cols[r]) // 2].set(tm.vals[r].astype(H.dtype))
    if tm.diag is not None:
        hop = hop.at[R].set(tm.diag[0::2].astype(H.dtype)).at[R + 1].set(tm.diag[1::2].astype(H.dtype))
    return hop


def hoppings_from_hamiltonian(H, lat: Lattice, ranges):
    r"""The SSH ``hoppings`` table ``(R + 2, L)`` of a chain Hamiltonian ``H`` ``(2L, 2L)``.

    Row ``r < R``: ``H[A_{n + ranges[r]}, B_n]`` at column ``n`` (0 where an open chain has no such
    bond; wrapped on a periodic chain); rows ``R``, ``R + 1``: the onsite energies of ``A_n``, ``B_n``.
    Equals the stored feature of :mod:`tnn.data` whenever no two ranges share a bond (``L`` larger
    than the range span)."""
    lat = check_lattice(lat, ("chain",), "the hoppings feature")
    L = lat.n_cells
    n = np.arange(L)
    rows = []
    for r in ranges:
        target = n + int(r)
        valid = np.ones(L, bool) if lat.pbc else (target >= 0) & (target < L)
        target = np.mod(target, L)
        vals = H[2 * target, 2 * n + 1]
        rows.append(jnp.where(jnp.asarray(valid), vals, jnp.zeros((), H.dtype)))
    d = jnp.diagonal(H)
    return jnp.stack([*rows, d[0::2], d[1::2]])


#: SSH's own dataset feature: the bond amplitudes and onsite energies of each cell
HOPPINGS = Feature(
    "hoppings", source="terms", kind="cells", dtype="hamiltonian", compute=_hoppings,
    doc="(R + 2, L): row r < R the amplitude of the bond B_n -> A_{n + ranges[r]} at column n (0 where an open "
        "chain has no such bond); rows R, R + 1 the onsite energies of A_n, B_n",
    from_hamiltonian=hoppings_from_hamiltonian,
)


def _zero_energy_columns(theta, ranges, disorder, w, key, n):
    """:class:`tnn.systems.base.ColumnsFn`: ``h[b + r, b] = t_r`` plus, with bond disorder, an
    independent uniform ``[-W/2, W/2]`` per bond (as :func:`ssh`). Onsite disorder breaks chiral
    symmetry: no zero-energy recurrence, refused."""
    if disorder == "onsite":
        raise ValueError("Argument `disorder`='onsite' breaks chiral symmetry: no zero-energy Lyapunov exponents.")
    cols = jnp.broadcast_to(theta, (n, len(ranges)))
    if key is not None and disorder == "bond":
        cols = cols + uniform_noise(key, (n, len(ranges)), jnp.asarray(w), theta.dtype)
    return cols, tuple(ranges)


def _base(**kw) -> dict:
    ranges = (-1, 0, 1, 2)
    base = dict(
        model="ssh", size=(50,), pbc=False, ranges=ranges,
        params=tuple(uniform(f"t[{r}]", -1.0, 1.0) for r in ranges),
        classes=(-1, 0, 1, 2), balance=True, features=("wavefunctions", "hoppings"),
        dtype="float64", n=2000, shard_size=512, chunk_size=64,
    )
    base.update(kw)
    return base


def _disordered(kind: str) -> dict:
    return _base(disorder=kind, strength=choice("W", 0.5, 1.0))


PRESETS = {
    "ssh": lambda: _base(),
    "ssh-pbc": lambda: _base(pbc=True),
    "ssh-bond": lambda: _disordered("bond"),
    "ssh-onsite": lambda: _disordered("onsite"),
    "ssh01": lambda: _base(classes=(0, 1)),
}


# ------------------------------------------------------------------------------ demo panel
def _demo_run(quick: bool, key):
    L = 40 if quick else 80
    ratios = np.linspace(0.05, 1.95, 20 if quick else 39)
    ts = jnp.stack([jnp.asarray(ratios), jnp.ones_like(jnp.asarray(ratios))], axis=-1)
    obc, pbc = lattice.chain(L, pbc=False), lattice.chain(L, pbc=True)

    @jax.jit
    def point(t, k):
        w_obc = invariants.winding_number(ssh(t, obc), obc)
        w_pbc = invariants.winding_number(ssh(t, pbc), pbc)
        w_dis = invariants.winding_number(ssh(t, pbc, bond_disorder=1.0, key=k), pbc)
        return w_obc, w_pbc, w_dis

    keys = jax.random.split(jax.random.fold_in(key, 1), len(ratios))
    w_obc, w_pbc, w_dis = (np.asarray(a) for a in jax.vmap(point)(ts, keys))
    w_k = _demo.kspace_or_none(lambda r: bloch.winding_number((float(r), 1.0)), ratios)
    clean = [i for i, w in enumerate(w_k) if w is not None and abs(ratios[i] - 1.0) > 0.25]
    rep = {
        "L": L, "v_over_w": ratios.tolist(), "kspace": w_k,
        "obc_bulk_trace": w_obc.tolist(), "pbc": w_pbc.tolist(), "pbc_bond_disorder_1.0": w_dis.tolist(),
        "max_dev_from_kspace_away_from_transition": float(
            max(max(abs(w_obc[i] - w_k[i]), abs(w_pbc[i] - w_k[i])) for i in clean)
        ),
    }
    r_fine = np.linspace(ratios[0], ratios[-1], 801)
    w_fine = jax.jit(jax.vmap(lambda v: bloch.winding_number(jnp.stack([v, jnp.ones_like(v)]))))(jnp.asarray(r_fine))
    return rep, (r_fine, np.asarray(w_fine))


def _demo_plot(axes, rep, fine):
    ax = axes[0]
    _demo.step_reference(ax, fine, "k space")
    x = np.asarray(rep["v_over_w"])
    ax.plot(x, rep["obc_bulk_trace"], "o", ms=4, label=f"OBC bulk trace, L={rep['L']}")
    ax.plot(x, rep["pbc"], "x", label="PBC")
    ax.plot(x, rep["pbc_bond_disorder_1.0"], "s", ms=4, mfc="none", label="PBC, bond disorder 1.0")
    ax.set(xlabel="v / w", ylabel="winding number", title="SSH (k space gapless at v = w)")
    ax.legend(fontsize=7)


def _demo_summary(rep) -> list[str]:
    return [f"SSH  L={rep['L']}: max |real space - k space| away from v=w: "
            f"{rep['max_dev_from_kspace_away_from_transition']:.2e}"]


# ------------------------------------------------------------------------------ sweep presets
#: Bond-disorder widths of the ``ssh-disorder`` sweep: intracell ``W``, intercell ``W * SSH_INTER_RATIO``.
SSH_INTER_RATIO = 0.5


def _sweep_vw(size: int):
    """``ssh-vw``: the winding number over ``(v, w)``, periodic chain; k space: ``|v| = |w|``."""
    lat = lattice.chain(size, pbc=True)

    def ssh_winding(v, w):
        return invariants.winding_number(ssh(jnp.stack([v, w]), lat), lat)

    return ssh_winding


def _sweep_disorder(size: int):
    r"""``ssh-disorder``: the winding number over ``(w, W)`` at ``v = 1`` with chiral bond disorder
    ``W`` on the intracell bonds and ``W / 2`` on the intercell bonds (the ratio ``W1 = 2 W2`` of
    Mondragon-Shem, Hughes, Song & Prodan, PRL 113, 046802 (2014)). The clean transition at
    ``w = 1`` bends with ``W``: the topological Anderson insulator at moderate ``W`` (trivial
    ``w < 1`` turned topological) and the strong-disorder transition back to 0
    (:func:`ssh_critical_w`). Equal widths would have no finite-``W`` transition
    (:func:`tnn.validity.ssh_bond_lyapunov`)."""
    lat = lattice.chain(size, pbc=True)
    # The builder draws one width for every bond; unit-width noise split by bond family (masks of
    # the clean intracell and intercell bonds) gives each family its own width, same distribution.
    mask_v = np.asarray(ssh(np.array([1.0, 0.0]), lat))
    mask_w = np.asarray(ssh(np.array([0.0, 1.0]), lat))

    def ssh_winding_disordered(w, W, key):
        noise = ssh(jnp.zeros(2, dtype=w.dtype), lat, bond_disorder=1.0, key=key)
        H = (mask_v + w * mask_w) + W * (mask_v * noise) + (SSH_INTER_RATIO * W) * (mask_w * noise)
        return invariants.winding_number(H, lat)

    return ssh_winding_disordered


#: KPM settings of the ``ssh-kpm-scaling`` preset: Chebyshev moments and random vectors per sample
SSH_KPM_MOMENTS, SSH_KPM_VECTORS = 1024, 8


def ssh_disorder_terms(w, W, lat, key, v=1.0):
    r"""The :class:`Terms` of one ``ssh-disorder`` sample (intracell ``v + W u``, intercell
    ``w + SSH_INTER_RATIO W u'``, ``u, u'`` uniform of width 1 from ``key``: the noise of the dense
    ``ssh-disorder`` preset) on any chain ``lat``, for the matrix-free operator
    (:func:`tnn.operators.from_terms`) or the dense matrix (:func:`tnn.assembly.assemble`). Traceable."""
    w = jnp.asarray(w)
    tm = ssh_terms(jnp.zeros(2, dtype=w.dtype), lat, bond_disorder=1.0, key=key)
    vals = (jnp.asarray(v, w.dtype) + W * tm.vals[0], w + (SSH_INTER_RATIO * W) * tm.vals[1])
    return tm._replace(vals=vals, diag=None)


def _sweep_kpm_scaling(size: int):
    r"""``ssh-kpm-scaling``: the KPM winding number (:func:`tnn.kpm.winding_number`, stencil operator,
    :data:`SSH_KPM_MOMENTS` moments, :data:`SSH_KPM_VECTORS` vectors, bulk window ``L/4 <= n < 3L/4``, Gershgorin bounds,
    as measured in docs/conventions.md)
    of an open chain of ``size`` cells with the disorder of ``ssh-disorder`` (:func:`ssh_disorder_terms`),
    over ``(W, w)``. The value is the raw estimate: KPM's ``error`` is infinite for most samples near
    and beyond ``W_c`` (the Dyson singularity puts spectral weight at ``E = 0``, above
    :data:`tnn.kpm.FERMI_WEIGHT_MAX`), and rightly so: there the smeared ``sign(H)`` is not unitary and
    the KPM value is biased towards 1/2 (measured on 400 cells, ``w = 1.5``: dense 0.00 +- 0.02 at
    ``W = 10-24``, KPM 0.07-0.24 at 1024 moments, 0.08-0.30 at 256; ``W = 4``: dense 1.00, KPM
    0.93-0.97 at 1024 moments, 0.79-0.86 at 256). Hence the 1024 moments (chain products are cheap);
    the spread over keys is the figure's band."""
    from tnn import kpm, operators  # noqa: PLC0415  (the KPM stack loads with the preset only)

    lat = lattice.chain(size)

    def ssh_kpm_winding(W, w, key):
        tm = ssh_disorder_terms(w, W, lat, key)
        op = operators.from_terms(tm, lat)
        r = kpm.winding_number(op, lat, num_moments=SSH_KPM_MOMENTS, num_vectors=SSH_KPM_VECTORS,
                               key=jax.random.fold_in(key, 1), bounds=op.gershgorin())
        return r.value

    return ssh_kpm_winding


def ssh_critical_disorder(w, v: float = 1.0, ratio: float = SSH_INTER_RATIO) -> float:
    """The disorder ``W_c`` where :func:`ssh_critical_w` crosses ``w`` (the strong-disorder transition at
    fixed ``w > v``), by bisection in ``0 < W < 100``; NaN where there is none."""
    lo, hi = 0.0, 100.0
    f = lambda W: ssh_critical_w(W, v, ratio) - w  # noqa: E731  (increases with W beyond the TAI dip)
    if not (f(hi) > 0 and f(lo) <= 0):
        return float("nan")
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if f(mid) <= 0 else (lo, mid)
    return 0.5 * (lo + hi)


def ssh_critical_w(W, v: float = 1.0, ratio: float = SSH_INTER_RATIO):
    r"""Intercell ``w`` where ``E ln|v + W u| = E ln|w + ratio W u'|`` (``u, u'`` uniform, width 1).

    The zero-energy Lyapunov exponent of the chiral chain (:func:`tnn.validity.ssh_bond_lyapunov`,
    closed form) vanishes there and the localization length diverges (Mondragon-Shem et al., PRL
    113, 046802 (2014)): the disordered phase boundary of the ``ssh-disorder`` sweep. ``W`` scalar
    (-> float) or array (-> array of the same shape), by bisection in ``0 < w < 100``; NaN where
    there is no root there.
    """
    Ws = np.asarray(W, dtype=float)
    # -gamma(w) = E ln|w + ratio W u'| - E ln|v + W u| increases with w > 0
    g = lambda w: -validity.ssh_bond_lyapunov(v, w, Ws, ratio * Ws)  # noqa: E731
    lo, hi = np.full(Ws.shape, 1e-9), np.full(Ws.shape, 100.0)
    ok = (g(lo) <= 0) & (g(hi) >= 0)
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        below = g(mid) < 0
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out = np.where(ok, 0.5 * (lo + hi), np.nan)
    return float(out) if out.ndim == 0 else out


def _vw_lines(x, ys):
    return [(x, x, "k space: |v| = |w|"), (x, -x, "")]


def _disorder_lines(x, ys):
    Ws = np.linspace(ys.min(), ys.max(), 200)
    return [(ssh_critical_w(Ws), Ws, "E ln|v_n| = E ln|w_n| (Mondragon-Shem 2014)")]


def _kpm_scaling_lines(x, ys):
    # the strong-disorder transition W_c(w) in the (W, w) plane (the scaling figure draws it per w)
    return [(np.array([ssh_critical_disorder(float(w)) for w in ys]), np.asarray(ys, float),
             "W_c(w): E ln|v_n| = E ln|w_n|")]


SWEEP_PRESETS = (
    SweepPreset("ssh-vw", "SSH winding number over (v, w), periodic chain of SIZE cells", "winding number W",
                SweepAxis("v", -2.0, 2.0, 41, 21, "v (intracell)"), SweepAxis("w", -2.0, 2.0, 41, 21, "w (intercell)"),
                size=64, quick_size=32, n_keys=0, quick_keys=0, make=_sweep_vw, boundaries=_vw_lines),
    SweepPreset("ssh-disorder",
                "SSH winding number over (w, W) at v = 1, bond disorder W intracell and W/2 intercell, "
                "mean over disorder keys (strong-disorder transition)", "mean winding number",
                SweepAxis("w", 0.2, 2.0, 19, 10, "w (intercell)"),
                SweepAxis("W", 0.0, 6.0, 13, 7, "W (intracell bond disorder)"),
                size=64, quick_size=32, n_keys=16, quick_keys=4, make=_sweep_disorder, boundaries=_disorder_lines),
    SweepPreset("ssh-kpm-scaling",
                "SSH strong-disorder transition by KPM (tnn.kpm.winding_number, matrix-free), open chains of "
                "several lengths, disorder of ssh-disorder: finite-size scaling of the mean winding vs W",
                "mean winding number (KPM)",
                SweepAxis("W", 0.0, 12.0, 25, 13, "W (intracell bond disorder; intercell W/2)"),
                SweepAxis("w", 1.5, 2.0, 2, 1, "w (intercell)"),
                size=100_000, quick_size=400, n_keys=32, quick_keys=8, make=_sweep_kpm_scaling,
                sizes=(10_000, 30_000, 100_000), quick_sizes=(100, 200, 400),
                boundaries=_kpm_scaling_lines, critical=ssh_critical_disorder),
)


SYSTEM = System(
    name="ssh",
    lattice="chain",
    params=("t",),
    vector_params=("t",),
    invariant="winding",
    builders={"ssh": ssh, "ssh_terms": ssh_terms},
    check_core=(_ssh_check, _ssh_core),
    bloch=lambda p, k, ranges: ssh_bloch(p["t"], k, ranges),
    reciprocal=np.array([[2 * np.pi]]),
    kspace=lambda p, ranges, nk: bloch.winding_number_and_gap(p["t"], ranges, nk),
    kspace_nk=512,
    uses_ranges=True,
    default_ranges=(0, 1),
    sample_names=lambda ranges: tuple(f"t[{r}]" for r in ranges),
    to_params=lambda theta, ranges: {"t": theta},
    dataset_terms=_dataset_terms,
    disorders=("none", "bond", "onsite"),
    chiral_disorders=("none", "bond"),
    methods=("winding",),
    features=(HOPPINGS,),
    classes=lambda ranges: tuple(range(min(ranges), max(ranges) + 1)),
    presets=PRESETS,
    demo=DemoPanel(_demo_run, _demo_plot, summary=_demo_summary),
    zero_energy_columns=_zero_energy_columns,
    sweep_presets=SWEEP_PRESETS,
)
