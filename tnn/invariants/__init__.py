r"""Real-space topological invariants: winding number, local Chern marker, Bott index, Chern number.

All functions are batchless and pure: one Hamiltonian ``H`` of shape ``(N, N)`` (``N = lat.n_sites``,
site order of :mod:`tnn.lattice` or of a :func:`tnn.lattice.from_sites` lattice; a NumPy or JAX array,
or a ``scipy.sparse`` matrix, made dense at the input check before any work), or one eigensystem ``(E, V)`` from ``eigh`` (``E`` ascending
``(N,)``, ``V`` columns ``(N, N)``), and a static lattice. They run under ``jit`` (lattice, ``trim``,
``window``, ``radius``, ``method``, ``certificate``, ``validity`` and ``return_certificate`` static;
``gap_tol`` may be traced) and ``vmap`` (over stacks of ``H``, or over
the parameters and keys that build them), in float64 when :func:`tnn.enable_x64` is on. Each is the
fast path of a network of :mod:`tnn.contractions` evaluated with the exact tensors; the tests check
that the two agree (to 1e-10). The fast paths are kept for the public functions because they are
faster than the networks contracted through ``tensornetwork.ncon`` (measured 1.6x for the winding
number, 2.3x for the marker: real-arithmetic products and only the occupied half of ``V``); the
networks, with trainable tensors, are what the "topo" model uses.

Conventions (docs/conventions.md)
---------------------------------
* Occupied states: the lower half of the spectrum, ``n_occ = N // 2`` (half filling, as
  :mod:`tnn.kspace`, which takes the lower band). For the SSH, QWZ and ``cos(phi) = 0`` Haldane models
  this is the step at ``E_F = 0``; for a Haldane model with ``cos(phi) != 0`` the half-filling gap is
  shifted away from 0 and this is still the invariant of the lower band.
* Winding number (class AIII, chain): ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2``,
  ``U = P_A sign(H) P_B`` (``L x L``), ``x`` the cell index. Open chains: ``i`` restricted to the bulk
  cells ``trim <= i < L - trim``, default ``trim = L // 4``, ``L'`` their number. Periodic chains:
  every cell, minimum-image ``x_i - x_j``. The overall sign is the one for which the clean value
  equals :func:`tnn.kspace.winding_number` (docs/conventions.md writes ``-(1/L') Tr'{...}`` "up to the sign
  fixed by the rule"; with ``H[A_{n+r}, B_n] = t_r`` the rule gives ``+``).
* Local Chern marker (open samples): ``C(r) = (4 pi / A_cell) Im sum_{o in r} <r o|P X P Y P|r o>``
  with Cartesian ``X, Y``; ``chern_number(method="marker")`` averages it over the bulk window
  (cells with ``trim_d <= x_d < dims_d - trim_d`` along each Bravais direction, default
  ``trim_d = dims_d // 4``: the central half of the sample along each direction).
* Bott index (periodic samples): ``B = -(1/2 pi) Im Tr log(U_1 U_2 U_1^dag U_2^dag)``,
  ``U_d = W^dag exp(2 pi i X_d / L_d) W`` with fractional coordinates ``X_d`` along ``a_d`` (the
  minus is the sign for which ``B = C`` of :mod:`tnn.kspace`).
* Kitaev (open or periodic): ``nu = -12 pi i sum_{j in A, k in B, l in C} (P_jk P_kl P_lj - P_jl P_lk P_kj)``
  over three 120-degree sectors (counter-clockwise) of a disc of radius ``R`` around the centre of the
  sample (default ``R = 0.4 * smallest linear extent``, :func:`tnn.contractions.default_kitaev_radius`);
  the overall sign (opposite to Kitaev's paper, whose Chern-number convention differs) makes
  ``nu = C`` of :mod:`tnn.kspace`.

Validity
--------
A value is returned only where it is the invariant: by default (``validity="certificate"``) each function
computes the certificate of :mod:`tnn.validity` from the same eigenvectors -- the share of the
invariant's moment carried by ground-state correlations that reach farther than the window's
distance to the boundary (``trim`` cells on an open sample, a quarter of the size on a periodic
one), plus the distance to an integer, NaN input, and a bulk state at the Fermi level -- and returns
NaN where it fails; ``return_certificate=True`` returns the :class:`tnn.validity.Certificate` with
the reason. A mobility gap suffices: strongly bond-disordered chains whose spectral gap has closed
keep their value, while near-critical samples with a sizeable finite-size gap are flagged. The
measured rate of valid-but-wrong labels against k space is 0 over 10^4 samples per preset and size
(``experiments/bench_labels.py``). Samples too small for a window one cell from the boundary raise
``ValueError``.

The spectral (bulk) gap is still computed and reported (the certificate's ``gap``): for periodic samples
``E[n_occ] - E[n_occ - 1]`` (the winding number: ``2 min s`` over the singular values of the chiral
block); for open samples a **bulk** gap, restricted to states whose weight in the bulk window is at
least half the window's share, ``sum_{i in window} |psi(i)|^2 >= 0.5 * N_window / N`` (this discards
the edge modes of open topological samples).

One keyword, ``validity`` (a static string), says how a value is judged; the result is the value, or
``(value, Certificate)`` with ``return_certificate=True`` in every mode:

* ``"certificate"`` (default): NaN where the certificate above fails.
* ``"raw"``: the value as computed, never NaN-ed by a test (NaN only from NaN input, or from a
  traced ``H`` that breaks the symmetry the route reads); the certificate is still computed.
* ``"spectral"``: the spectral test of earlier versions, NaN where the (bulk) gap is below
  ``gap_tol``, which must be given (``> 0``; it may be traced): there is no default, since the
  tolerance of earlier versions, :func:`default_gap_tol`, depends on the spectrum.

All three map onto one traced float inside (``-1``, ``0``, ``gap_tol``): switching modes or
tolerances never recompiles. Deprecated for one version, with a ``DeprecationWarning`` that names the
new spelling: ``gap_tol`` without ``validity="spectral"`` (``gap_tol=0.0`` is ``validity="raw"``,
``gap_tol=x`` is ``validity="spectral", gap_tol=x``), and ``return_gap=True`` (``(value, gap)``; use
``return_certificate=True`` and the certificate's ``.gap``).

Differentiability
-----------------
The winding number uses the polar factor of the chiral block ``h = H[0::2, 1::2]``,
``U = X Yh`` from one SVD ``h = X diag(s) Yh`` (LAPACK ``gesdd``; every mode kept except exact zero
modes at ``s <= 1e-12 s_max``, for which ``sign(0) = 0`` -- the eigensystem route does the same, so
the two agree to rounding, near-zero bulk modes included), with a custom JVP
``dU = X F Yh``, ``F_ij = (A_ij - conj(A_ji)) / (s_i + s_j)``, ``A = X^dag dh Y``: finite for
degenerate singular values (clean periodic chains have ``s(k) = s(-k)``); pairs of modes both below
``1e-6 s_max`` (edge modes of open topological chains, whose mutual pairing is ill-conditioned) are
held fixed. Everything from ``eigh`` uses :func:`eigh`, whose JVP drops the terms of
(near-)degenerate pairs: exact for the projector-based invariants here, whose value does not depend
on the basis inside a degenerate eigenspace, and finite where ``jnp.linalg.eigh``'s gradient is NaN.
Gaps and certificates are not differentiated (``stop_gradient``); the Bott index, an integer, has
gradient 0. Measured on a clean periodic chain (L = 30, v/w = 0.9, derivative of a bulk-cell winding
density): ``jnp.linalg.svd``'s own gradient is finite but wrong (-0.0131 against -0.0102 from finite
differences), ``jnp.linalg.eigh``'s is NaN, the routes here match finite differences to 1e-9.

Modules
-------
One job per module; everything public is re-exported here (``tnn.invariants.winding_number``):
:mod:`~tnn.invariants.checks` (input checks at the API edge: dense or ``scipy.sparse`` ``H``, a
:func:`tnn.lattice.from_sites` site order), :mod:`~tnn.invariants.spectral` (``eigh`` with a
degeneracy-safe JVP, spectral gaps, certificate glue), :mod:`~tnn.invariants.polar` (polar factor of
the chiral block and its JVP), :mod:`~tnn.invariants.winding` (winding number and density),
:mod:`~tnn.invariants.chern` (local Chern marker, Bott index, Kitaev formula, ``chern_number``).
"""

from tnn.invariants.chern import (
    CHERN_METHODS,
    bott_index,
    bott_index_from_eigh,
    chern_number,
    chern_number_from_eigh,
    kitaev_chern_number,
    local_chern_marker,
    local_chern_marker_from_eigh,
)
from tnn.invariants.polar import GRAD_CUTOFF, ZERO_MODE_FLOOR, chiral_block, polar_factor
from tnn.invariants.spectral import (
    BULK_WEIGHT_FRACTION,
    DEGENERACY_TOL,
    GAP_TOL_FACTOR,
    default_gap_tol,
    eigh,
    is_gapped,
    spectral_gap,
)
from tnn.invariants.winding import (
    winding_density,
    winding_number,
    winding_number_from_eigh,
    winding_number_from_svd,
    winding_polar_energies,
)

__all__ = [
    "winding_number",
    "winding_number_from_eigh",
    "winding_number_from_svd",
    "winding_density",
    "local_chern_marker",
    "local_chern_marker_from_eigh",
    "bott_index",
    "bott_index_from_eigh",
    "chern_number",
    "chern_number_from_eigh",
    "kitaev_chern_number",
    "spectral_gap",
    "default_gap_tol",
    "is_gapped",
    "eigh",
    "polar_factor",
    "chiral_block",
    "CHERN_METHODS",
    "winding_polar_energies",
    "GRAD_CUTOFF",
    "ZERO_MODE_FLOOR",
    "DEGENERACY_TOL",
    "GAP_TOL_FACTOR",
    "BULK_WEIGHT_FRACTION",
]
