r"""Validity certificates of the real-space invariants: when a finite-sample value *is* the invariant.

A real-space invariant of a finite sample is quantized only when the Fermi level lies in a
**mobility gap**: the states at the Fermi energy are localized (or absent) on a scale ``xi`` well
below the distance from the region the formula reads to the place where the finite sample differs
from the infinite one (the edges of an open sample, the wrap-around of a periodic one). A spectral
gap is sufficient but not necessary: under strong chiral bond disorder the spectral gap of an SSH
chain closes long before the winding number stops being quantized (Mondragon-Shem, Hughes, Song,
Prodan, PRL 113, 046802 (2014)), while near a clean transition of a multi-range chain a sizeable
finite-size gap can coexist with a correlation length longer than the chain. Neither a gap test nor
rounding can tell these apart; the decay of the ground-state correlations can.

The certificate: the tail moment of the correlations
----------------------------------------------------
Each invariant is a moment of a ground-state correlation function, and this module measures the part
of that moment carried by correlations that reach farther than the distance ``D`` to the boundary:

* winding number (chain): ``W = (1/L') sum_{i in window} sum_j d_ij |U_ij|^2``, a *first* moment of
  ``|U|^2`` (``U = P_A sign(H) P_B``). The tail is
  ``tau = (1/L') sum_{i in window} sum_{j: |d_ij| >= D} |d_ij| |U_ij|^2``.
* Chern number (marker, Bott, Kitaev): ``C`` is a *second* moment (``~ d_x d_y``) of ``|P|^2``
  (``P`` the Fermi projector). The tail is
  ``tau = sum_{r in ref} sum_{r': d(r, r') >= D} |r - r'|^2 |P_{r r'}|^2 / sum_{r in ref} P_rr``
  over reference sites ``ref`` in the bulk window (at most :data:`MAX_REFERENCE_CELLS` cells, spread
  evenly; the distance ``d`` is the Chebyshev distance in cells, ``|r - r'|`` the Cartesian one).

``D`` is the distance from the window to the boundary: the trim of an open sample (the window starts
``trim`` cells from each edge), a quarter of the smallest size of a periodic one (minimum-image
distances wrap at half the size). In an insulator, Anderson insulators included, ``|U_ij|`` and
``|P_rr'|`` decay as ``exp(-d / xi)`` and ``tau ~ exp(-D / xi)``: the finite-size error of the value,
which comes from exactly those correlations (they are cut at the edges or aliased by the wrap), is
small. At a transition the correlations decay as a power law (a Dirac crossing gives
``|U_d|^2 = 1 / (pi d)^2``), and ``tau`` tends to a critical value set by the number of Dirac
cones, independent of the size (the tail of ``1/d^2`` between ``D`` and a few ``D`` is a
logarithm of their ratio): measured ~0.1 for chains at one crossing (``(1/pi^2) ln 3`` for the
open window), 0.2 for SSH at ``v = w`` on 37 periodic cells; for QWZ, one Dirac cone
(``m = +-2``) 0.075-0.083 open and 0.10-0.13 periodic, two cones (``m = 0``) 0.21-0.25, at
12 x 12 and 20 x 20 alike.

A value is **valid** when ``tau <= TAIL_MAX`` (0.03 in 1D and 2D: at most ~40% of the smallest
critical value) and it lies within :data:`INTEGER_TOL` of an integer. Both thresholds were set on
clean samples against k space (``experiments/bench_labels.py`` measures the rate of valid-but-wrong
labels over >= 10^4 samples per preset and size; observed error of valid values ``|v - C_k| <~
tau``). Reason codes, in order of precedence (:data:`REASONS`):

``nan_input`` the Hamiltonian (or eigensystem) holds a NaN: nothing is known (never "gapless");
``fermi_level_on_state`` a bulk state sits at the Fermi level to within ``1e-10 E_max``, so
``sign(H)`` (the occupied projector) is not defined; ``delocalized`` the tail moment is above
``TAIL_MAX``; ``not_integer`` localized, but the value is farther than ``INTEGER_TOL`` from an
integer; ``gapless`` the (bulk) spectral gap is below ``gap_tol`` (only when the caller asks for the
spectral test, ``validity="spectral"``); ``symmetry_broken`` a traced ``H`` (under ``jit``/``vmap``, where no
``ValueError`` can be raised on a value) is not Hermitian, or not chiral for the polar winding route,
beyond :data:`SYMMETRY_RTOL` of its largest entry (:func:`flag_symmetry`); the eager call raises;
``spin_gapless`` (spin Chern numbers) the projected spin operator ``P S_z P`` has no gap around 0, so the
spin sectors are not defined.

A refused value is NaN and so is its derivative (``jax.grad`` of a NaN value is NaN, not 0).

The localizer: the marker and the Kitaev formula
-------------------------------------------------
The tail alone refuses every C != 0 value of an open sample below about 12 x 12 (the chiral edge
modes raise it above 0.03 while the value is within 0.01 of C), and lets through a marker 0.09 off on
20 x 20. Their default certificate (``certificate="localizer"`` of :mod:`tnn.invariants`) takes the
integer from the spectral localizer of the same ``H`` (:mod:`tnn.localizer`: half its signature, a
proof for the finite sample: no perturbation smaller than its gap changes it) and keeps the tail as
the error bound of the value: valid when the localizer index is defined, ``tau <=``
:data:`LOCALIZER_TAIL_MAX` (0.06) and ``|value - index| <= bound = LOCALIZER_ERROR_FACTOR * tau``
(4 tau, at most 0.24: one integer in reach). The index and the value are two formulations that agree
on the class; near a transition both can be wrong together (10 x 10 QWZ at ``m = -1.9``: index 0,
marker 0.20, C = 1) and the tail (0.14) is what refuses it. Measured on clean open and periodic QWZ
and Haldane samples against k space (``experiments/bench_labels.py``; docs/conventions.md).

Chains: the zero-energy Lyapunov spectrum
------------------------------------------
For chiral chains the localization length at the Fermi level is also available exactly, from the
transfer matrices of the zero-energy equation ``h^dag psi_A = 0`` (:func:`zero_energy_lyapunov`).
The number of negative exponents, plus ``min(ranges)``, is the winding number of the disordered
chain in the thermodynamic limit, and the strong-disorder transition is where an exponent crosses 0
(for nearest-neighbour SSH with bond disorder: :func:`ssh_bond_lyapunov`, in closed form). These
are the references of the disorder benchmark; the per-sample certificate above needs neither the
hopping ranges nor chiral symmetry.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn.lattice import Lattice
from tnn.lyapunov import (  # noqa: F401  (re-exported: public names of this module)
    LYAPUNOV_BLOCKS, LYAPUNOV_WARMUP, lyapunov_scan, ssh_bond_lyapunov, ssh_bond_transition, zero_energy_lyapunov)

__all__ = [
    "Certificate",
    "REASONS",
    "VALID",
    "NAN_INPUT",
    "FERMI_LEVEL_ON_STATE",
    "DELOCALIZED",
    "NOT_INTEGER",
    "GAPLESS",
    "SYMMETRY_BROKEN",
    "SPIN_GAPLESS",
    "SYMMETRY_RTOL",
    "flag_symmetry",
    "TAIL_MAX",
    "BOTT_COMMUTATOR_MAX",
    "LOCALIZER_TAIL_MAX",
    "LOCALIZER_ERROR_FACTOR",
    "INTEGER_TOL",
    "FERMI_FLOOR",
    "MAX_REFERENCE_CELLS",
    "reason_names",
    "boundary_distance",
    "winding_tail_weights",
    "projector_reference",
    "projector_tail",
    "certify",
    "extended_states",
    "mobility_tol",
    "zero_energy_lyapunov",
    "ssh_bond_lyapunov",
    "ssh_bond_transition",
    "lyapunov_scan",
    "LYAPUNOV_BLOCKS",
    "LYAPUNOV_WARMUP",
]

VALID, NAN_INPUT, FERMI_LEVEL_ON_STATE, DELOCALIZED, NOT_INTEGER, GAPLESS, SYMMETRY_BROKEN, SPIN_GAPLESS = range(8)
#: reason code -> name
REASONS = {
    VALID: "valid",
    NAN_INPUT: "nan_input",
    FERMI_LEVEL_ON_STATE: "fermi_level_on_state",
    DELOCALIZED: "delocalized",
    NOT_INTEGER: "not_integer",
    GAPLESS: "gapless",
    SYMMETRY_BROKEN: "symmetry_broken",
    SPIN_GAPLESS: "spin_gapless",
}
#: a symmetry the route needs (Hermiticity; chirality for the polar winding route) counts as broken when
#: its defect exceeds this times the largest entry of ``H`` (relative: a tiny ``H`` is judged at its scale)
SYMMETRY_RTOL = 1e-10
#: largest tail moment of a valid value, per spatial dimension (see the module docstring)
TAIL_MAX = {1: 0.03, 2: 0.03}
#: largest ``||[U_x, U_y]||`` of a valid Bott index (measured: experiments/bench_labels.py, docs/conventions.md)
BOTT_COMMUTATOR_MAX = 0.5
#: the localizer certificate (marker, Kitaev): largest tail moment (module docstring, "The localizer")
LOCALIZER_TAIL_MAX = 0.06
#: the localizer certificate's error bound of the value: ``LOCALIZER_ERROR_FACTOR * tail``
LOCALIZER_ERROR_FACTOR = 4.0
#: largest distance of a valid value from the nearest integer
INTEGER_TOL = 0.25
#: a bulk state closer than this times ``E_max`` to the Fermi level makes ``sign(H)`` undefined
FERMI_FLOOR = 1e-10
#: at most this many reference cells for the 2D projector tail
MAX_REFERENCE_CELLS = 64


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Certificate:
    """What backs a real-space value (arrays; batched like the value under ``vmap``).

    Attributes:
      tail: the tail moment ``tau`` (module docstring); small means localized.
      gap: the spectral (bulk) gap at the Fermi level (reported; not a criterion by default).
      mobility_gap: the gap at the Fermi level between *extended* bulk states only (participation
        of at least ``(2 D)^d`` cells, :func:`extended_states`); localized states are left out.
      distance: ``|value - rint(value)|`` of the raw value (for a marker map: of its window mean).
      reason: int32 code of :data:`REASONS`; 0 is valid.
      xi: chiral chains with known hopping ranges: the upper confidence bound of the sample's own
        zero-energy localization length (:mod:`tnn.invariants.localization`), which then decides
        ``delocalized`` instead of ``tail``; NaN elsewhere.
      commutator: the Bott index: ``||[U_x, U_y]||`` of its projected unitaries (Loring-Hastings), which
        then decides ``delocalized`` (at most :data:`BOTT_COMMUTATOR_MAX`) instead of ``tail``; NaN
        elsewhere.
      localizer_index, localizer_gap: the marker and the Kitaev formula with the localizer certificate:
        the half signature of the spectral localizer (:mod:`tnn.localizer`; NaN where it is not
        defined) and its gap; NaN elsewhere.
      bound: with the localizer certificate, the stated bound ``LOCALIZER_ERROR_FACTOR * tail`` of
        ``|value - C|``; a valid value lies within it of ``localizer_index`` (module docstring); NaN
        elsewhere.
    """

    tail: jax.Array
    gap: jax.Array
    mobility_gap: jax.Array
    distance: jax.Array
    reason: jax.Array
    xi: jax.Array
    commutator: jax.Array
    localizer_index: jax.Array
    localizer_gap: jax.Array
    bound: jax.Array

    @property
    def valid(self):
        """``reason == 0`` (elementwise)."""
        return self.reason == VALID


def reason_names(codes) -> np.ndarray:
    """Names of reason codes (any shape) as a NumPy string array."""
    codes = np.asarray(codes)
    names = np.array([REASONS[k] for k in range(len(REASONS))])
    return names[codes]


# ------------------------------------------------------------------------------ geometry (static)
def boundary_distance(lat: Lattice, trim: tuple[int, ...] | None) -> float:
    """``D``: the window's distance to the boundary, in cells. Open: ``min(trim)``; periodic: a quarter
    of the smallest size. Raises ``ValueError`` when it is below one cell (the sample is too small for
    a certified value: nothing separates the window from the boundary)."""
    if lat.pbc:
        D = min(lat.dims) / 4.0
    else:
        D = float(min(trim))
    if D < 1.0:
        need = "at least 4 cells along every direction" if lat.pbc else "a bulk window at least 1 cell from every edge (trim >= 1, i.e. >= 4 cells with the default trim)"
        raise ValueError(
            f"Argument `lat` ({lat.kind}, dims {lat.dims}, pbc={lat.pbc}) is too small for a certified "
            f"real-space invariant: it needs {need}. Pass validity='raw' for the raw value."
        )
    return D


def _min_image(delta: np.ndarray, lat: Lattice) -> np.ndarray:
    if not lat.pbc:
        return delta
    dims = np.asarray(lat.dims, dtype=float)
    return np.mod(delta + dims / 2.0, dims) - dims / 2.0


@functools.lru_cache(maxsize=None)
def _winding_tail_weights(lat: Lattice, rows: tuple[int, int], D: float) -> np.ndarray:
    L = lat.dims[0]
    r0, r1 = rows
    x = np.arange(L, dtype=np.float64)
    d = _min_image((x[r0:r1, None] - x[None, :])[..., None], lat)[..., 0]
    w = np.where(np.abs(d) >= D, np.abs(d), 0.0) / (r1 - r0)
    w.setflags(write=False)
    return w


def winding_tail_weights(lat: Lattice, rows: tuple[int, int], D: float) -> np.ndarray:
    """Weights ``(r1 - r0, L)`` with ``tau = sum w * |U[r0:r1]|^2`` for the chain's window rows:
    ``|d_ij| / L'`` where ``|d_ij| >= D`` (minimum image on periodic chains), else 0."""
    return _winding_tail_weights(lat, tuple(int(r) for r in rows), float(D))


@functools.lru_cache(maxsize=None)
def _projector_reference(lat: Lattice, trim: tuple[int, ...] | None, D: float):
    cc = lat.cell_coords
    keep = np.ones(lat.n_cells, dtype=bool)
    if not lat.pbc:
        for d, (t, n) in enumerate(zip(trim, lat.dims)):
            keep &= (cc[:, d] >= t) & (cc[:, d] < n - t)
    cells = np.flatnonzero(keep)
    stride = max(1, int(np.ceil(len(cells) / MAX_REFERENCE_CELLS)))
    cells = cells[::stride]
    rows = (cells[:, None] * lat.n_orb + np.arange(lat.n_orb)[None, :]).reshape(-1)
    dcell = _min_image((lat.site_coords[rows][:, None, :] - lat.site_coords[None, :, :]).astype(float), lat)
    cheb = np.max(np.abs(dcell), axis=-1)
    # Cartesian separation: cell offset through the Bravais vectors plus the orbital offsets.
    dpos = dcell @ lat.bravais + (lat.positions[rows][:, None, :] - lat.site_coords[rows][:, None, :] @ lat.bravais) \
        - (lat.positions[None, :, :] - lat.site_coords[None, :, :] @ lat.bravais)
    dist2 = np.sum(dpos**2, axis=-1)
    w = np.where(cheb >= D, dist2, 0.0)
    rows.setflags(write=False)
    w.setflags(write=False)
    return rows, w


def projector_reference(lat: Lattice, trim: tuple[int, ...] | None, D: float) -> tuple[np.ndarray, np.ndarray]:
    """Reference sites and tail weights of a 2D sample: ``rows`` ``(n_ref,)`` site indices of at most
    :data:`MAX_REFERENCE_CELLS` cells spread over the bulk window (open: the ``trim`` window; periodic:
    every cell), and ``weights`` ``(n_ref, N)``: ``|r - r'|^2`` where the Chebyshev cell distance is
    ``>= D`` (minimum image on periodic samples), else 0."""
    return _projector_reference(lat, None if trim is None else tuple(trim), float(D))


def projector_tail(W, rows: np.ndarray, weights: np.ndarray):
    """``tau = sum_{r in rows, r'} weights |P_{r r'}|^2 / sum_{r in rows} P_rr`` for ``P = W W^dag``;
    ``W`` ``(N, n_occ)`` the occupied eigenvectors. Costs ``n_ref N n_occ``."""
    Wr = W[rows]
    P = Wr @ jnp.conj(W.T)
    p2 = jnp.real(P) ** 2 + jnp.imag(P) ** 2
    diag = jnp.sum(jnp.real(Wr) ** 2 + jnp.imag(Wr) ** 2)
    return jnp.sum(jnp.asarray(weights, p2.dtype) * p2) / diag


# ------------------------------------------------------------------------------ the decision
def extended_states(cell_weights, lat: Lattice, D: float):
    """Which states are extended: ``cell_weights`` ``(n_cells, n_states)`` (each column the state's
    weight per cell, summing to 1); a state is extended when its participation number
    ``1 / sum_c w_c^2`` is at least ``(2 D)^d`` cells (at most half the sample). A Bloch-like state of
    an open chain has ``2L/3``; a state localized on ``xi`` cells about ``xi``."""
    need = min((2.0 * D) ** lat.ndim, lat.n_cells / 2.0)
    return 1.0 / jnp.sum(cell_weights**2, axis=0) >= need


def mobility_tol(lat: Lattice, e_max):
    """The Thouless-scale window ``c E_max / min(dims)`` (``c = 2`` open, 1 periodic) in which an
    extended state at the Fermi level makes a finite sample critical: a clean sample's finite-size
    gap at a transition is ``~ pi v_F / L`` (measured ``gap L / E_max`` 1.55 for SSH, 1.2-1.3 for QWZ
    open samples)."""
    return (2.0 if not lat.pbc else 1.0) * e_max / min(lat.dims)


def certify(value, *, tail, tail_max: float, gap, e_max, gap_tol, nan_input, integer_value=None,
            mobility_gap=None, mobility_min=None, xi=None, xi_max=None, commutator=None, localizer=None):
    """Apply the criterion; returns ``(value or NaN, Certificate)``.

    Args:
      value: the raw value (any shape; a marker map is flagged as a whole).
      tail: the tail moment; ``tail_max`` its threshold (:data:`TAIL_MAX`).
      gap: the (bulk) spectral gap at the Fermi level; ``e_max`` the largest ``|E|``.
      gap_tol: scalar array, the public ``validity`` of :mod:`tnn.invariants`.
        ``< 0`` (``"certificate"``): the certificate decides. ``>= 0``: the spectral test of earlier
        versions decides (``"spectral"``: NaN below ``gap_tol``; ``"raw"`` is ``0``: raw values); the
        reason code still reports the certificate (or ``gapless``).
      nan_input: bool scalar, the input held a NaN.
      integer_value: the scalar whose distance to an integer is tested (default ``value``).
      mobility_gap, mobility_min: the gap between extended states at the Fermi level and its
        threshold (:func:`mobility_tol`): below it the sample is ``delocalized`` (an extended state
        sits within the Thouless window of the Fermi level: critical at this size).
      xi, xi_max: the sample's own localization length (upper bound) and its largest valid value
        ``D / XI_FACTOR``: when given, ``localized = xi <= xi_max`` replaces the tail and mobility tests.
      commutator: the Bott index's ``||[U_x, U_y]||``: when given, ``localized = commutator <=
        BOTT_COMMUTATOR_MAX`` replaces them.
      localizer: ``(index, gap)`` of the spectral localizer (index NaN where undefined): when given,
        ``localized = tail <= LOCALIZER_TAIL_MAX`` and a defined index replace them, and a value
        farther than ``bound = LOCALIZER_ERROR_FACTOR * tail`` from the index is ``not_integer``.
    """
    iv = value if integer_value is None else integer_value
    finite = jnp.isfinite(iv)
    dist = jnp.where(finite, jnp.abs(iv - jnp.rint(jnp.where(finite, iv, 0.0))), jnp.inf)
    tail = jax.lax.stop_gradient(tail)
    dist = jax.lax.stop_gradient(dist)
    gap_tol = jnp.asarray(gap_tol, gap.dtype)
    explicit = gap_tol >= 0
    on_state = ~(gap > FERMI_FLOOR * e_max)
    if mobility_gap is None:
        mobility_gap = jnp.asarray(jnp.inf, gap.dtype)
        critical = jnp.bool_(False)
    else:
        mobility_gap = jax.lax.stop_gradient(mobility_gap)
        critical = mobility_gap < mobility_min
    nan = jnp.asarray(jnp.nan, gap.dtype)
    if xi is not None:
        xi = jax.lax.stop_gradient(jnp.asarray(xi, gap.dtype))
        delocalized = ~(xi <= xi_max)
    elif commutator is not None:
        commutator = jax.lax.stop_gradient(jnp.asarray(commutator, gap.dtype))
        delocalized = ~(commutator <= BOTT_COMMUTATOR_MAX)
    elif localizer is not None:
        index, lgap = (jax.lax.stop_gradient(jnp.asarray(a, gap.dtype)) for a in localizer)
        bound = LOCALIZER_ERROR_FACTOR * tail
        delocalized = ~(tail <= LOCALIZER_TAIL_MAX) | ~jnp.isfinite(index)
        # The index is C (a proof for the finite sample, cross-checked by the value): a value outside
        # its stated bound of it is refused.
        far = ~(jnp.abs(iv - index) <= bound)
    else:
        delocalized = ~(tail <= tail_max) | critical
    xi = nan if xi is None else xi
    commutator = nan if commutator is None else commutator
    if localizer is None:
        index = lgap = bound = nan
        far = jnp.bool_(False)
    reason = jnp.where(nan_input | ~jnp.isfinite(tail) | ~finite, NAN_INPUT,
             jnp.where(on_state, FERMI_LEVEL_ON_STATE,
             jnp.where(delocalized, DELOCALIZED,
             jnp.where((dist > INTEGER_TOL) | far, NOT_INTEGER,
             jnp.where(explicit & (gap < gap_tol), GAPLESS, VALID)))))
    reason = reason.astype(jnp.int32)
    keep = jnp.where(explicit, gap >= gap_tol, reason == VALID)
    keep = keep & ~nan_input
    return _masked(value, keep), Certificate(tail=tail, gap=gap, mobility_gap=mobility_gap, distance=dist,
                                             reason=reason, xi=xi, commutator=commutator, localizer_index=index,
                                             localizer_gap=lgap, bound=bound)


def _masked(value, keep):
    """``value`` where ``keep``, NaN elsewhere, with a NaN derivative where NaN: a multiplication by a
    constant 1 or NaN (``jnp.where`` would give the refused value a zero derivative, a false stationary
    point, and a NaN branch inside ``where`` would leak NaN into the kept values' derivatives)."""
    return value * jnp.where(keep, 1.0, jnp.nan).astype(jnp.real(value).dtype)


def flag_symmetry(value, cert: Certificate, broken):
    """``(value, cert)`` with the value NaN (derivative NaN) and the reason ``symmetry_broken`` where
    ``broken`` (a bool array measured on a traced ``H``, see :data:`SYMMETRY_RTOL`). ``broken=None``
    (a concrete ``H``: the eager checks raised already) returns them unchanged. NaN input keeps its
    reason (a NaN defect is not a broken symmetry)."""
    if broken is None:
        return value, cert
    reason = jnp.where(broken & (cert.reason != NAN_INPUT), SYMMETRY_BROKEN, cert.reason).astype(jnp.int32)
    return _masked(value, ~broken), dataclasses.replace(cert, reason=reason)
