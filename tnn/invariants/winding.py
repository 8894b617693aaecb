r"""Real-space winding number of a chain (class AIII): the polar route (one SVD of the chiral
block, :mod:`tnn.invariants.polar`) and the eigensystem route (``Q = V sign(E) V^dag``), with their
certificates. Conventions: :mod:`tnn.invariants` and docs/conventions.md.
"""

from __future__ import annotations

import functools

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, validity
from tnn import contractions as tc
from tnn.invariants.checks import check_eigensystem, check_H, check_validity, return_mode, returned, symmetry_broken
from tnn.invariants.localization import XI_FACTOR, check_ranges, sample_xi, xi_boundary
from tnn.invariants.polar import ZERO_MODE_FLOOR, chiral_block, polar_svd
from tnn.invariants.spectral import BULK_WEIGHT_FRACTION, boundary, certify_eigh, eigh_jit, not_finite
from tnn.lattice import CHAINS, Lattice, check_lattice
from tnn.validity import flag_symmetry

# ------------------------------------------------------------------------------ chiral operator
def check_chiral(chiral, lat: Lattice) -> tuple[int, ...] | None:
    """The static site permutation (library order) that puts each cell's orbitals in the order
    ``(A_0, B_0, A_1, B_1, ...)`` of the chiral operator ``chiral`` (``(n_orb,)`` signs, ``+1`` on the
    A orbitals, ``-1`` on the B ones, as many of each; None: ``(+1, -1)``, which needs two orbitals per
    cell); None when it is the identity. Raises ``ValueError`` naming ``chiral``."""
    if chiral is None:
        if lat.n_orb != 2:
            raise ValueError(f"Argument `chiral` must give the chiral operator of a cell of {lat.n_orb} orbitals "
                             "(a sign +1 or -1 per orbital, as many of each); the default (+1, -1) is for two.")
        return None
    try:
        signs = tuple(int(c) for c in chiral)
        ok = all(float(c) == int(c) for c in chiral)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Argument `chiral` must be a sequence of +1 / -1 per orbital, got {chiral!r}.") from err
    if not ok or len(signs) != lat.n_orb or set(signs) - {1, -1} or signs.count(1) != signs.count(-1):
        raise ValueError(f"Argument `chiral` must hold one sign +1 or -1 per orbital ({lat.n_orb}), as many of each, "
                         f"got {chiral!r}.")
    return _chiral_perm(lat, signs)


@functools.lru_cache(maxsize=None)
def _chiral_perm(lat: Lattice, signs: tuple[int, ...]) -> tuple[int, ...] | None:
    a = [o for o, c in enumerate(signs) if c == 1]
    b = [o for o, c in enumerate(signs) if c == -1]
    cell = np.array([o for pair in zip(a, b) for o in pair])
    perm = (lat.n_orb * np.arange(lat.n_cells)[:, None] + cell[None, :]).reshape(-1)
    return None if np.array_equal(perm, np.arange(lat.n_sites)) else tuple(int(i) for i in perm)


def _interleave(H, perm):
    """``H`` in the interleaved order of :func:`check_chiral` (``H[0::2, 1::2]`` is then the chiral block)."""
    if perm is None:
        return H
    p = np.asarray(perm)
    return H[p][:, p]


def _interleave_rows(V, perm):
    """Rows of eigenvectors ``V`` (library order) in the interleaved order of :func:`check_chiral`."""
    return V if perm is None else V[np.asarray(perm)]


def _expand(K: np.ndarray, m: int) -> np.ndarray:
    """A cell-by-cell kernel ``(a, b)`` as an A-site-by-B-site one ``(a m, b m)`` (``m`` orbitals each)."""
    return K if m == 1 else np.repeat(np.repeat(K, m, axis=0), m, axis=1)


# ------------------------------------------------------------------------------ winding number
def _winding_trim(lat: Lattice, trim):
    if lat.pbc:
        if trim not in (None, 0):
            raise ValueError(f"Argument `trim` applies to open chains only (periodic chains use all cells), got {trim!r}.")
        return (0,)
    return tc.check_trim(lat, trim)


def _polar_rows(lat: Lattice, trim):
    """Row range ``(r0, r1)`` of ``U`` that the kernel reads: the bulk cells of an open chain."""
    L = lat.dims[0]
    return (0, L) if lat.pbc else (trim[0], L - trim[0])


def _site_rows(lat: Lattice, trim):
    """Rows of ``U`` (A sites, ``m = n_orb / 2`` per cell) of the bulk cells :func:`_polar_rows`."""
    r0, r1 = _polar_rows(lat, trim)
    m = lat.n_orb // 2
    return (r0 * m, r1 * m)


def _winding_from_polar(U, X, s, Yh, gap_tol, nan_input, lat: Lattice, trim, density: bool = False, xi=None):
    """Value and certificate of the polar route from the rows ``r0:r1`` of ``U`` and the SVD
    ``h = X diag(s) Yh`` (``s`` descending); ``xi``: the sample's localization length, or None (tail test).
    With ``m`` A (and B) orbitals per cell the rows and columns are A and B sites, cell-major."""
    L, m = lat.dims[0], lat.n_orb // 2
    r0, r1 = _polar_rows(lat, trim)
    sr0, sr1 = _site_rows(lat, trim)
    K = jnp.asarray(_expand(tc.exact_winding_kernel(lat, _public_trim(lat, trim))[r0:r1], m), dtype=jnp.real(U).dtype)
    # Fast path = the winding_from_polar network with the exact kernel (a single fused reduction).
    U2 = jnp.real(U) ** 2 + jnp.imag(U) ** 2
    rows = jnp.sum(K * U2, axis=1)
    if m > 1:
        rows = rows.reshape(r1 - r0, m).sum(axis=1)  # per cell
    total = jnp.sum(rows)
    if density:
        value = jnp.zeros(L, rows.dtype).at[r0:r1].set(rows) if (r0, r1) != (0, L) else rows
    else:
        value = total
    X, s, Yh = (jax.lax.stop_gradient(a) for a in (X, s, Yh))
    if lat.pbc:
        gap = 2 * s[-1]
    else:
        # Bulk singular pairs: half of the window's share of weight or more in the window.
        wa = jnp.sum(jnp.abs(X[sr0:sr1]) ** 2, axis=0)
        wb = jnp.sum(jnp.abs(Yh[:, sr0:sr1]) ** 2, axis=1)
        bulk = (wa + wb) / 2 >= BULK_WEIGHT_FRACTION * (r1 - r0) / L
        gap = 2 * jnp.min(jnp.where(bulk, s, jnp.inf))
        gap = jnp.where(jnp.isfinite(gap), gap, 0.0)
    D = boundary(lat, trim)
    tail = jnp.sum(jnp.asarray(_expand(validity.winding_tail_weights(lat, (r0, r1), D), m), U2.dtype)
                   * jax.lax.stop_gradient(U2))
    # Singular pair k is the pair of states +-s_k with cell weights (|X_ik|^2 + |Y_ik|^2) / 2.
    cw = (jnp.abs(X) ** 2 + jnp.abs(Yh.T) ** 2) / 2
    if m > 1:
        cw = cw.reshape(L, m, -1).sum(axis=1)
    ext = validity.extended_states(cw, lat, D) & (s > ZERO_MODE_FLOOR * s[0])
    if not lat.pbc:
        ext = ext & bulk  # edge states of an open sample are not bulk states
    mgap = 2 * jnp.min(jnp.where(ext, s, jnp.inf))
    return validity.certify(value, tail=tail, tail_max=validity.TAIL_MAX[1], gap=gap, e_max=s[0],
                            gap_tol=gap_tol, nan_input=nan_input, integer_value=total, mobility_gap=mgap,
                            mobility_min=validity.mobility_tol(lat, s[0]), xi=xi, xi_max=xi_boundary(lat, trim) / XI_FACTOR)


def _public_trim(lat: Lattice, trim):
    return None if lat.pbc else trim


def _winding_polar(H, gap_tol, lat: Lattice, trim, density: bool = False, ranges=None):
    """Value, certificate and the singular values ``s`` (descending) of the chiral block (``H`` in the
    interleaved order of :func:`check_chiral`)."""
    # The kernel is nonzero on the bulk rows only (a contiguous range): form just those rows of U.
    h = chiral_block(H)
    bad = not_finite(h)
    h = jnp.where(bad, 0.0, h).astype(h.dtype)
    U, X, s, Yh = polar_svd(h, _site_rows(lat, trim))
    xi = None if ranges is None else sample_xi(h, ranges, lat.pbc)
    return (*_winding_from_polar(U, X, s, Yh, gap_tol, bad, lat, trim, density, xi), s)


@functools.partial(jax.jit, static_argnames=("lat", "trim", "density", "ranges"))
def _winding_polar_core(H, gap_tol, lat: Lattice, trim, density: bool = False, ranges=None):
    return _winding_polar(H, gap_tol, lat, trim, density, ranges)[:2]


def winding_polar_energies(H, lat: Lattice, trim=None, ranges=None):
    """The polar route's raw value (as ``validity="raw"``), its :class:`tnn.validity.Certificate`, and the
    spectrum ``E = (-s, s)`` ``(2L,)`` ascending of a chiral chain ``H`` ``(2L, 2L)``, from one SVD of
    its chiral block: labels and energies of a chiral chain for :mod:`tnn.data` in one call.

    ``H`` is read as :func:`winding_number` reads it (same checks; dense or ``scipy.sparse``; in the
    site order of ``lat``, which may be a :func:`tnn.lattice.from_sites` lattice). ``trim``, ``ranges``
    static (as :func:`winding_number`).
    """
    lat = check_lattice(lat, CHAINS, "the winding number", n_orb=2)
    trim_t = _winding_trim(lat, trim)
    H = check_H(H, lat)
    _check_chiral(H, lat)
    value, cert, E = _polar_energies_core(H, lat, trim_t, check_ranges(ranges, lat))
    return (*flag_symmetry(value, cert, symmetry_broken(H, chiral=True)), E)


@functools.partial(jax.jit, static_argnames=("lat", "trim", "ranges"))
def _polar_energies_core(H, lat: Lattice, trim, ranges=None):
    # The energies are the same SVD's singular values (no second decomposition).
    value, cert, s = _winding_polar(H, jnp.asarray(0.0, jnp.real(H).dtype), lat, trim, ranges=ranges)
    s = jax.lax.stop_gradient(s)
    return value, cert, jnp.concatenate([-s, s[::-1]])


@functools.partial(jax.jit, static_argnames=("lat", "trim", "ranges"))
def _winding_svd_core(X, s, Yh, gap_tol, lat: Lattice, trim, ranges=None):
    r0, r1 = _polar_rows(lat, trim)
    # exact zero modes get sign(0) = 0, as in the polar route (tnn.invariants.polar)
    keep = (s > ZERO_MODE_FLOOR * jnp.max(s)).astype(X.dtype)
    U = (X[r0:r1] * keep) @ Yh
    xi = None if ranges is None else sample_xi((X * s.astype(X.dtype)) @ Yh, ranges, lat.pbc)
    return _winding_from_polar(U, X, s, Yh, gap_tol, not_finite(X, s, Yh), lat, trim, xi=xi)


def winding_number_from_svd(X, s, Yh, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                            return_certificate: bool = False, ranges=None, *, validity: str = "certificate"):
    r""":func:`winding_number` (polar route) from an SVD ``h = X diag(s) Yh`` of the chiral block
    ``h = H[0::2, 1::2]`` in the library's site order (``chiral_block(H, lat)`` for a
    :func:`tnn.lattice.from_sites` lattice), for callers who have it already (e.g. :func:`tnn.data.chiral_eigh`).

    ``U = X Yh`` exactly as the polar route of :func:`winding_number` (the same decomposition), so the
    two agree to rounding. Args: ``X`` ``(L, L)``, ``s`` ``(L,)`` descending (as ``jnp.linalg.svd``
    returns it), ``Yh`` ``(L, L)``; the rest as :func:`winding_number` (``ranges`` only from the caller:
    without them the tail certificate decides). Returns a scalar, or ``(W, certificate)``.
    """
    lat = check_lattice(lat, CHAINS, "the winding number", n_orb=2)
    trim_t = _winding_trim(lat, trim)
    L = lat.dims[0]
    X, s, Yh = jnp.asarray(X), jnp.asarray(s), jnp.asarray(Yh)
    if X.shape != (L, L) or Yh.shape != (L, L) or s.shape != (L,):
        raise ValueError(f"Arguments `X`, `s`, `Yh` must have shapes ({L}, {L}), ({L},), ({L}, {L}) for a chain of "
                         f"{L} cells, got {X.shape}, {s.shape}, {Yh.shape}.")
    tol = check_validity(validity, gap_tol, lat, trim_t)
    mode = return_mode(return_gap, return_certificate)
    return returned(*_winding_svd_core(X, s, Yh, tol, lat, trim_t, check_ranges(ranges, lat)), mode)


def _check_chiral(H, lat):
    val = _checks.concrete_value(H)
    if val is None:
        return
    scale = float(np.max(np.abs(val)))
    off = max(float(np.max(np.abs(val[0::2, 0::2]))), float(np.max(np.abs(val[1::2, 1::2]))))
    if off > validity.SYMMETRY_RTOL * scale:
        if lat.n_orb == 2:
            _check_site_order(val, lat, scale)
        raise ValueError(
            "Argument `H` breaks chiral symmetry in the site order of tnn.lattice (A_n = 2n, B_n = 2n + 1; "
            "another cell: the signs of `chiral`): it has nonzero A-A or B-B entries (e.g. onsite disorder). "
            "The winding number is then not a "
            "protected invariant; method='eigh' computes the same formula with Q = sign(H) of the full H "
            "(meaningful only for weak symmetry breaking, as a control)."
        )


def _check_site_order(val, lat: Lattice, scale):
    """Raise if ``H`` is chiral for the block order (all A sites, then all B) instead of ours."""
    L = lat.dims[0]
    if np.max(np.abs(val[:L, :L])) <= 1e-10 * scale and np.max(np.abs(val[L:, L:])) <= 1e-10 * scale:
        raise ValueError(
            "Argument `H` is chiral for the site order (all A sites, then all B sites), not the order of "
            "tnn.lattice.chain (A_n = 2n, B_n = 2n + 1); every route would compute a wrong number. Reorder "
            "it first: perm = np.arange(2 * L).reshape(2, L).T.reshape(-1); H = H[np.ix_(perm, perm)]."
        )


def winding_number(H, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None, method: str = "polar",
                   return_certificate: bool = False, ranges=None, *, validity: str = "certificate", chiral=None):
    r"""Real-space winding number of a chain (docs/conventions.md), an integer when it is valid.

    ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2`` with ``U`` the A-B block of
    ``Q = sign(H)`` (Mondragon-Shem, Hughes, Song, Prodan, PRL 113, 046802 (2014)).

    Validity (default, ``validity="certificate"``): the value is returned only when it is certified, else NaN with
    the reason in the certificate (``return_certificate=True``). Polar route with the hopping ``ranges``
    given: the sample's own zero-energy localization length from its transfer matrices
    (:mod:`tnn.invariants.localization`) is at most a third of the window's distance to the boundary
    (half the chain when periodic), with a 3-sigma margin for its statistical error, and the value is
    within 0.25 of an integer. Without ``ranges`` (and on the eigh route) the tail test of
    :mod:`tnn.validity` (the share of ``W`` carried by correlations longer than the window's distance
    to the boundary is at most 0.03). A mobility gap is enough either way: strongly bond-disordered
    chains with a closed spectral gap keep their value.

    Args:
      H: ``(2L, 2L)`` Hamiltonian of ``lat`` (site ``2n`` = A_n, ``2n+1`` = B_n).
      lat: a chain lattice (static). Open: bulk trace over cells ``trim <= i < L - trim``; periodic:
        minimum-image distances over all cells.
      trim: cells trimmed on each side of an open chain (static int; default ``L // 4``; at least 1
        for a certified value). Must be None or 0 for a periodic chain (at least 4 cells).
      return_gap: deprecated (``DeprecationWarning``): ``(W, gap)``; use ``return_certificate=True``
        and the certificate's ``.gap`` (the bulk gap ``2 min s`` of the chiral block's singular values).
      gap_tol: the tolerance of ``validity="spectral"``. Deprecated without it: ``0.0`` meant
        ``validity="raw"``, a number ``validity="spectral", gap_tol=x`` (kept, with a ``DeprecationWarning``).
      method: ``"polar"`` (default): ``U`` is the polar factor of the chiral block
        ``h = H[0::2, 1::2]``, from one SVD (``L x L``); requires chiral symmetry (checked for
        concrete ``H``). ``"eigh"``: ``Q = V sign(E) V^dag`` of the full ``H`` (``2L x 2L`` ``eigh``),
        for Hamiltonians that break chiral symmetry (a control: the value is not protected there).
        The two agree to rounding on chiral chains (near-zero bulk modes included).
      return_certificate: also return the :class:`tnn.validity.Certificate` (tail, gap, distance to
        an integer, reason code, the sample's ``xi``).
      ranges: the chain's hopping ranges ``r`` (``H[A_{n+r}, B_n]``; static tuple, e.g. ``(0, 1)``; for a
        concrete ``H``: :func:`tnn.invariants.localization.chain_ranges`) for the localization-length
        certificate; None (default): the tail test. The same in eager and traced calls.
      validity: how the value is judged (static; docs/conventions.md, "Occupied states, gaps and NaN"):
        ``"certificate"`` (default): NaN where the certificate fails; ``"raw"``: the value as computed,
        never NaN-ed by a test (the certificate is still computed); ``"spectral"``: the spectral test of
        earlier versions, NaN where the bulk gap is below ``gap_tol`` (required, ``> 0``;
        :func:`default_gap_tol` is its old size-aware value). Any other value raises ``ValueError``.
      chiral: the chiral operator of a cell (static): one sign per orbital, ``+1`` on the A orbitals and
        ``-1`` on the B ones, as many of each (a :func:`tnn.lattice.bravais` chain of ``2m`` orbitals
        per cell: ``U`` is then the ``(L m) x (L m)`` polar factor of ``H[A, B]`` and ``x`` the cell
        coordinate of each site). None (default): ``(+1, -1)``, A = orbital 0, B = orbital 1 (two
        orbitals per cell). ``ranges`` is for two orbitals only.

    Returns:
      Scalar ``W`` (NaN when not valid), or ``(W, certificate)`` with ``return_certificate=True``.
    """
    lat = check_lattice(lat, CHAINS, "the winding number")
    trim_t = _winding_trim(lat, trim)
    perm = check_chiral(chiral, lat)
    if method not in ("polar", "eigh"):
        raise ValueError(f"Argument `method` must be 'polar' or 'eigh', got {method!r}.")
    ranges = _ranges_for(ranges, lat)
    H = check_H(H, lat)
    tol = check_validity(validity, gap_tol, lat, trim_t)
    mode = return_mode(return_gap, return_certificate)
    if method == "eigh":
        val = _checks.concrete_value(H)
        if val is not None and lat.n_orb == 2:
            _check_site_order(np.asarray(_interleave(val, perm)), lat, float(np.max(np.abs(val))))
        E, V = eigh_jit(H)
        out = flag_symmetry(*_winding_eigh_core(E, V, tol, lat, trim_t, perm), symmetry_broken(H))
    else:
        H = _interleave(H, perm)
        _check_chiral(H, lat)
        out = _winding_polar_core(H, tol, lat, trim_t, ranges=ranges)
        out = flag_symmetry(*out, symmetry_broken(H, chiral=True))
    return returned(*out, mode)


def _ranges_for(ranges, lat: Lattice):
    if ranges is not None and lat.n_orb != 2:
        raise ValueError(f"Argument `ranges` applies to chains of two orbitals per cell (the transfer matrices of a "
                         f"scalar hopping), got a cell of {lat.n_orb}; leave it None (the tail test decides).")
    return check_ranges(ranges, lat)


def winding_density(H, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                    return_certificate: bool = False, ranges=None, *, validity: str = "certificate", chiral=None):
    r"""Per-cell contributions ``w_i = sum_j K_ij |U_ij|^2`` ``(L,)`` of :func:`winding_number`
    (polar route), ``sum_i w_i = W``; zero outside the bulk cells of an open chain.

    Unlike ``W`` it is not quantized, so its gradients with respect to Hamiltonian parameters are
    informative; they are finite also on open topological chains (zero modes) and for degenerate
    singular values. Arguments as :func:`winding_number` (``chiral`` too); NaN everywhere when ``W`` is not valid.
    Returns ``(L,)``, or ``((L,), certificate)`` with ``return_certificate=True``.
    """
    lat = check_lattice(lat, CHAINS, "the winding density")
    trim_t = _winding_trim(lat, trim)
    perm = check_chiral(chiral, lat)
    ranges = _ranges_for(ranges, lat)
    H = _interleave(check_H(H, lat), perm)
    tol = check_validity(validity, gap_tol, lat, trim_t)
    mode = return_mode(return_gap, return_certificate)
    _check_chiral(H, lat)
    out = _winding_polar_core(H, tol, lat, trim_t, True, ranges)
    out = flag_symmetry(*out, symmetry_broken(H, chiral=True))
    return returned(*out, mode)



@functools.partial(jax.jit, static_argnames=("lat", "trim", "perm"))
def _winding_eigh_core(E, V, gap_tol, lat: Lattice, trim, perm=None):
    n = lat.n_sites
    n_occ = n // 2
    m = lat.n_orb // 2
    s = jnp.asarray(tc.exact_winding_weights(n, n_occ), dtype=jnp.real(V).dtype)
    # sign(0) = 0 for exact zero modes (an exactly degenerate pair at E = 0 comes back from eigh in an
    # arbitrary basis), as the polar route does.
    Es = jax.lax.stop_gradient(E)
    s = jnp.where(jnp.abs(Es) <= ZERO_MODE_FLOOR * jnp.max(jnp.abs(Es)), 0.0, s)
    Vi = _interleave_rows(V, perm)
    VA, VB = Vi[0::2], Vi[1::2]
    r0, r1 = _polar_rows(lat, trim)
    sr0, sr1 = _site_rows(lat, trim)
    U = (VA[sr0:sr1] * s.astype(V.dtype)[None, :]) @ jnp.conj(VB.T)
    K = jnp.asarray(_expand(tc.exact_winding_kernel(lat, _public_trim(lat, trim))[r0:r1], m), dtype=s.dtype)
    U2 = jnp.real(U) ** 2 + jnp.imag(U) ** 2
    value = jnp.sum(K * U2)
    tail = jnp.sum(jnp.asarray(_expand(validity.winding_tail_weights(lat, (r0, r1), boundary(lat, trim)), m), U2.dtype)
                   * jax.lax.stop_gradient(U2))
    return certify_eigh(value, E, V, gap_tol, lat, None if lat.pbc else trim, tail, validity.TAIL_MAX[1])


def winding_number_from_eigh(E, V, lat: Lattice, trim=None, return_gap: bool = False, gap_tol=None,
                             return_certificate: bool = False, *, validity: str = "certificate", chiral=None):
    r""":func:`winding_number` from an eigensystem ``(E, V)`` of ``H`` (no second diagonalization).

    ``U = V_A diag(s) V_B^dag`` with ``s_n = -1`` for the ``N/2`` lowest states and ``+1`` above
    (``Q = sign(H)`` at half filling; the two zero modes of an open topological chain end up one on
    each side and stay on the edges, outside the bulk trace). Works for any ``H`` (chiral or not).

    Args:
      E: ``(2L,)`` ascending eigenvalues. V: ``(2L, 2L)`` eigenvectors (columns).
      lat, trim, return_gap, gap_tol, return_certificate, validity, chiral: as :func:`winding_number`
        (the certificate's gap is the bulk gap of ``E``).

    Returns:
      Scalar, or ``(W, certificate)`` with ``return_certificate=True``.
    """
    lat = check_lattice(lat, CHAINS, "the winding number")
    trim_t = _winding_trim(lat, trim)
    perm = check_chiral(chiral, lat)
    E, V = check_eigensystem(E, V, lat)
    tol = check_validity(validity, gap_tol, lat, trim_t)
    mode = return_mode(return_gap, return_certificate)
    return returned(*_winding_eigh_core(E, V, tol, lat, trim_t, perm), mode)
