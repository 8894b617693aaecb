r"""The real-space invariants as tensor networks, and the exact tensors that make them exact.

Every invariant of :mod:`tnn.invariants` is written here once as a network whose nodes are the
eigenvector tensor ``psi`` and its conjugate, spectral weights, coordinate vectors or distance
kernels, sublattice mixings and masks. The networks take *all* of these as explicit arguments: with
the tensors returned by the ``exact_*`` builders they compute the invariant; with free (trainable)
tensors in their place they are the layers of the "topo" model. This is the only module that imports
``tensornetwork``.

How a network is contracted
---------------------------
:func:`contract` takes an einsum-style description (``"ion,o,jpn,...->"``), asks ``opt_einsum`` for a
contraction path (pairwise order chosen by an optimizer, never by hand, cached per description and
shapes) and executes each pairwise step with ``tensornetwork.ncon`` on the JAX backend: indices that
survive the step become ncon's open (negative) labels, the others its contracted (positive) labels,
so hyperedges (an index shared by three or more nodes, such as a site index carried by ``psi``,
``conj(psi)`` and a coordinate vector) are handled as ncon batch labels. Everything is traceable:
networks run under ``jit``, ``vmap`` and ``grad``. ``engine="einsum"`` runs the same path through
``jnp.einsum`` instead (the tests check both agree to 1e-12).

Index conventions (those of :mod:`tnn.lattice`)
-----------------------------------------------
* ``psi`` has shape ``(n_cells, n_orb, n_states)``: ``psi[r, o, n]`` is the amplitude of state ``n``
  on orbital ``o`` of cell ``r`` (a site-ordered eigenvector matrix ``V`` of shape ``(N, n_states)``
  is accepted and reshaped, since site ``i = n_orb * r + o``). Columns are states.
* Spectral weights are real vectors over states: ``s_n = sign(E_n - E_F)`` for the winding number,
  occupations ``f_n`` (1 occupied, 0 empty) for projectors ``P = sum_n f_n psi_n psi_n^dag``.
  The exact ones split the spectrum at half filling (:func:`exact_occupation`), as
  :mod:`tnn.kspace` does (lower half of the bands).
* Site vectors (coordinates, masks, Bott phases) have shape ``(N,)`` or ``(n_cells, n_orb)``.
* SSH chains: cell index ``x`` is the position (docs/conventions.md); ``A_i`` is site ``2i``, ``B_j`` site ``2j+1``.

Channels
--------
Networks are written for one channel. Several channels (``K`` kernels, weights, mixings, ...) are
one ``jax.vmap`` away, e.g. ``jax.vmap(winding_network, in_axes=(None, 0, 0, 0))(psi, s, K, M)``
for stacked ``(K, ...)`` tensors; :func:`winding_from_polar` also accepts a kernel with a leading
channel axis directly.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
import jax
import jax.numpy as jnp
import opt_einsum
import tensornetwork

from tnn.lattice import Lattice

__all__ = [
    "contract",
    "contraction_path",
    "as_cell_orbital",
    # networks
    "winding_from_polar",
    "winding_network",
    "marker_network",
    "kitaev_network",
    "bott_unitaries",
    "bott_from_unitaries",
    "window_average",
    # exact tensors
    "default_trim",
    "bulk_cells",
    "bulk_window",
    "exact_winding_kernel",
    "exact_mixing",
    "exact_winding_weights",
    "exact_occupation",
    "exact_coordinates",
    "exact_marker_scale",
    "exact_kitaev_sectors",
    "default_kitaev_radius",
    "exact_bott_phases",
    "fractional_coordinates",
    "site_mask_from_cells",
    "check_trim",
    "KITAEV_SCALE",
]

# --------------------------------------------------------------------------------- contraction
_ENGINES = ("ncon", "einsum")


def _parse(subscripts: str) -> tuple[tuple[str, ...], str]:
    if "->" not in subscripts:
        raise ValueError(f"Argument `subscripts` must contain '->', got {subscripts!r}.")
    lhs, out = subscripts.replace(" ", "").split("->")
    inputs = tuple(lhs.split(","))
    for term in inputs:
        if len(set(term)) != len(term):
            raise ValueError(f"Argument `subscripts`: repeated index within one tensor in {term!r}.")
    if not set(out) <= set("".join(inputs)):
        raise ValueError(f"Argument `subscripts`: output indices {out!r} do not all appear in the inputs.")
    return inputs, out


@functools.lru_cache(maxsize=512)
def contraction_path(subscripts: str, shapes: tuple[tuple[int, ...], ...], optimize: str = "auto"):
    """The ``opt_einsum`` path for ``subscripts`` with operand ``shapes`` (cached).

    Returns ``(path, info)``: ``path`` a list of position tuples in ``opt_einsum``'s convention
    (contracted operands are removed, the result is appended), ``info`` its ``PathInfo`` (FLOP
    count, scaling, largest intermediate).
    """
    inputs, _ = _parse(subscripts)
    if len(inputs) != len(shapes):
        raise ValueError(f"Argument `shapes` must have {len(inputs)} entries for {subscripts!r}, got {len(shapes)}.")
    path, info = opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize)
    return tuple(tuple(int(p) for p in step) for step in path), info


@functools.lru_cache(maxsize=512)
def _plan(subscripts: str, shapes: tuple[tuple[int, ...], ...], optimize: str):
    """Pairwise steps ``(positions, operand index strings, kept indices)`` and the final transpose."""
    inputs, out = _parse(subscripts)
    path, _ = contraction_path(subscripts, shapes, optimize)
    current = list(inputs)
    steps = []
    for pos in path:
        pos = tuple(sorted(pos, reverse=True))
        terms = tuple(current.pop(p) for p in pos)
        remaining = set("".join(current)) | set(out)
        union = "".join(dict.fromkeys("".join(terms)))
        kept = "".join(c for c in union if c in remaining)
        steps.append((pos, terms, kept))
        current.append(kept)
    (final,) = current
    return tuple(steps), tuple(final.index(c) for c in out)


def _ncon_step(tensors: list, terms: tuple[str, ...], kept: str):
    """One pairwise (or single-tensor) contraction with ``tensornetwork.ncon``."""
    labels = {c: -(k + 1) for k, c in enumerate(kept)}
    summed = [c for c in dict.fromkeys("".join(terms)) if c not in labels]
    labels.update({c: k + 1 for k, c in enumerate(summed)})
    if len(terms) == 1 and not summed and terms[0] == kept:
        return tensors[0]
    if len(terms) == 2 and not (set(terms[0]) & set(terms[1])) - set(kept):
        # No index is contracted between the two: a pointwise (Hadamard/outer) product, which ncon
        # would run as a batched matmul of 1 x 1 matrices. Broadcasting is the same product, faster.
        return jnp.einsum(f"{terms[0]},{terms[1]}->{kept}", *tensors)
    structure = [[labels[c] for c in t] for t in terms]
    out_order = [-(k + 1) for k in range(len(kept))] or None
    return tensornetwork.ncon(tensors, structure, out_order=out_order, backend="jax")


def contract(subscripts: str, *operands, optimize: str = "auto", engine: str = "ncon"):
    """Contract a tensor network written as einsum ``subscripts`` along an ``opt_einsum`` path.

    Args:
      subscripts: e.g. ``"ij,ij,ij->"``; explicit output (``->``) required, indices may be shared by
        any number of operands (hyperedges), but not repeated within one operand.
      *operands: arrays matching ``subscripts``.
      optimize: ``opt_einsum`` strategy (``"auto"``, ``"optimal"``, ``"dp"``, ``"greedy"``, ...).
      engine: ``"ncon"`` (pairwise ``tensornetwork.ncon``, JAX backend) or ``"einsum"``
        (``jnp.einsum`` with the same path).

    Returns:
      The contracted array, indices in the order of the output subscripts.
    """
    if engine not in _ENGINES:
        raise ValueError(f"Argument `engine` must be one of {_ENGINES}, got {engine!r}.")
    shapes = tuple(tuple(int(d) for d in jnp.shape(o)) for o in operands)
    inputs, _ = _parse(subscripts)
    for k, (term, shape) in enumerate(zip(inputs, shapes)):
        if len(term) != len(shape):
            raise ValueError(
                f"Argument `operands[{k}]` must have {len(term)} axes for {term!r}, but has shape {shape}."
            )
    if engine == "einsum":
        path, _ = contraction_path(subscripts, shapes, optimize)
        return jnp.einsum(subscripts, *operands, optimize=[tuple(p) for p in path])
    steps, final = _plan(subscripts, shapes, optimize)
    current = list(operands)
    for pos, terms, kept in steps:
        tensors = [current.pop(p) for p in pos]
        current.append(_ncon_step(tensors, terms, kept))
    (res,) = current
    return jnp.transpose(res, final) if final != tuple(range(len(final))) else res


def as_cell_orbital(psi, n_orb: int):
    """Eigenvectors as ``(n_cells, n_orb, n_states)``: a site-ordered ``(N, n_states)`` matrix is
    reshaped (site ``i = n_orb * cell + orbital``), a 3-axis array is returned unchanged."""
    psi = jnp.asarray(psi)
    if psi.ndim == 3:
        return psi
    if psi.ndim != 2 or psi.shape[0] % n_orb:
        raise ValueError(
            f"Argument `psi` must have shape (n_cells, n_orb, n_states) or (N, n_states) with N a "
            f"multiple of n_orb={n_orb}, but has shape {psi.shape}."
        )
    return psi.reshape(psi.shape[0] // n_orb, n_orb, psi.shape[1])


def _site_vector(name: str, v, n_cells: int, n_orb: int):
    v = jnp.asarray(v)
    if v.shape == (n_cells * n_orb,):
        return v.reshape(n_cells, n_orb)
    if v.shape != (n_cells, n_orb):
        raise ValueError(
            f"Argument `{name}` must have shape ({n_cells * n_orb},) or ({n_cells}, {n_orb}), but has shape {v.shape}."
        )
    return v


def _complex(x):
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        return x
    return x.astype(jnp.result_type(x.dtype, jnp.complex64))


# ------------------------------------------------------------------------------------ networks
def winding_from_polar(U, kernel, engine: str = "ncon"):
    r"""Winding number from the chiral polar factor: ``W = sum_ij K_ij |U_ij|^2``.

    Network: ``U[i, j]``, ``conj(U)[i, j]``, ``K[(c,) i, j]`` (``i, j`` are hyperedges).

    Args:
      U: ``(L, L)`` A-B block of the flattened Hamiltonian ``Q = sign(H)``; exactly the unitary polar
        factor of the chiral block ``h = H[0::2, 1::2]`` (rows: A cells ``i``, columns: B cells ``j``).
      kernel: ``(L, L)`` or ``(n_channels, L, L)``, real. Exact: :func:`exact_winding_kernel`, which
        carries the bulk mask, the (minimum-image) distance and the ``1/L'`` normalisation.

    Returns:
      Real scalar, or ``(n_channels,)`` for a channel axis on the kernel.
    """
    U = jnp.asarray(U)
    kernel = jnp.asarray(kernel)
    sub = "ij,ij,cij->c" if kernel.ndim == 3 else "ij,ij,ij->"
    return jnp.real(contract(sub, U, jnp.conj(U), kernel.astype(U.dtype), engine=engine))


def winding_network(psi, weights, kernel, mixing, engine: str = "ncon"):
    r"""Winding number as a fourth-order polynomial in the eigenvector amplitudes.

    .. math::
        W = \sum_{ij} K_{ij} \sum_{nm} s_n s_m\, \psi_n(A_i) \psi_m(A_i)^* \psi_n(B_j)^* \psi_m(B_j),
        \qquad \psi_n(A_i) = \sum_o M_{0o} \psi_n(i, o),\ \psi_n(B_j) = \sum_o M_{1o} \psi_n(j, o).

    With the exact tensors, ``U_ij = sum_n s_n psi_n(A_i) psi_n(B_j)^*`` is the A-B block of
    ``Q = sign(H)`` and this equals :func:`winding_from_polar` (Mondragon-Shem et al., PRL 113,
    046802 (2014)). Nodes: ``psi``, ``conj(psi)`` (twice each), ``weights`` (twice), the rows of
    ``mixing`` and their conjugates, and ``kernel``.

    Args:
      psi: ``(L, n_orb, n_states)`` or ``(2L, n_states)`` (site order ``2i`` = A_i, ``2i+1`` = B_i).
      weights: ``(n_states,)`` real spectral weights; exact: ``sign(E_n)``
        (:func:`exact_winding_weights`).
      kernel: ``(L, L)`` real; exact: :func:`exact_winding_kernel`.
      mixing: ``(2, n_orb)`` sublattice selection (row 0 builds the A amplitude, row 1 the B
        amplitude); exact: the identity (:func:`exact_mixing`).

    Returns:
      Real scalar.
    """
    mixing = jnp.asarray(mixing)
    psi = as_cell_orbital(psi, mixing.shape[1])
    dt = psi.dtype if jnp.issubdtype(psi.dtype, jnp.complexfloating) else jnp.result_type(psi.dtype, mixing.dtype)
    psi = psi.astype(dt)
    mixing = mixing.astype(dt)
    pc = jnp.conj(psi)
    w = jnp.asarray(weights).astype(dt)
    K = jnp.asarray(kernel).astype(dt)
    m0, m1 = mixing[0], mixing[1]
    out = contract(
        "ion,o,jpn,p,n,iqm,q,jrm,r,m,ij->",
        psi, m0, pc, jnp.conj(m1), w, pc, jnp.conj(m0), psi, m1, w, K,
        engine=engine,
    )
    return jnp.real(out)


def marker_network(psi, weights, coord_x, coord_y, scale, engine: str = "ncon"):
    r"""Local Chern marker per cell: ``C(r) = scale * Im sum_{o} <r o| P X P Y P |r o>``.

    ``P = sum_n f_n psi_n psi_n^dag`` with occupation weights ``f``; ``X, Y`` diagonal position
    operators given as site vectors. Bianco & Resta, PRB 84, 241106 (2011), in the one-term form of
    docs/conventions.md (``<r|P X Q Y P|r> = <r|P X Y P|r> - <r|P X P Y P|r>`` and the first term is real).
    Nodes: ``psi`` and ``conj(psi)`` three times each, ``weights`` three times, ``coord_x``,
    ``coord_y``; the site index of the output is shared by ``psi`` and ``conj(psi)``.

    Args:
      psi: ``(n_cells, n_orb, n_states)`` (or ``(N, n_states)`` with ``n_orb`` from ``coord_x``'s
        shape ``(n_cells, n_orb)``; with ``(N,)`` coordinates pass the 3-axis ``psi``).
      weights: ``(n_states,)`` real occupations; exact: :func:`exact_occupation`.
      coord_x, coord_y: ``(N,)`` or ``(n_cells, n_orb)`` real; exact: Cartesian positions
        (:func:`exact_coordinates`).
      scale: scalar; exact ``4 pi / A_cell`` (:func:`exact_marker_scale`).

    Returns:
      ``(n_cells,)`` real (reshape to ``lat.shape`` for a map).
    """
    psi = jnp.asarray(psi)
    if psi.ndim == 2:
        n_orb = jnp.shape(coord_x)[1] if jnp.ndim(coord_x) == 2 else None
        if n_orb is None:
            raise ValueError("Argument `psi` must be (n_cells, n_orb, n_states) when `coord_x` is a flat (N,) vector.")
        psi = as_cell_orbital(psi, n_orb)
    n_cells, n_orb, _ = psi.shape
    psi = _complex(psi)
    dt = psi.dtype
    x = _site_vector("coord_x", coord_x, n_cells, n_orb).astype(dt)
    y = _site_vector("coord_y", coord_y, n_cells, n_orb).astype(dt)
    f = jnp.asarray(weights).astype(dt)
    pc = jnp.conj(psi)
    out = contract(
        "roa,a,jpa,jp,jpb,b,kqb,kq,kqc,c,roc->r",
        psi, f, pc, x, psi, f, pc, y, psi, f, pc,
        engine=engine,
    )
    return jnp.asarray(scale) * jnp.imag(out)


def window_average(cell_map, window):
    r"""Average of a per-cell map over a window: ``sum_r w_r C(r) / sum_r w_r``.

    ``cell_map`` and ``window`` of the same shape (``(n_cells,)`` or ``lat.shape``); exact window:
    :func:`bulk_window`. Returns a scalar.
    """
    cell_map = jnp.asarray(cell_map)
    w = jnp.asarray(window).astype(cell_map.dtype).reshape(cell_map.shape)
    n = "".join("abcdefgh"[: cell_map.ndim])
    return contract(f"{n},{n}->", cell_map, w) / jnp.sum(w)


#: Exact prefactor of :func:`kitaev_network`: ``nu = -12 pi i (t - conj t) = 24 pi Im t``; the sign
#: (opposite to Kitaev's paper, whose Chern-number convention differs) gives ``nu = C`` of tnn.kspace.
KITAEV_SCALE = 24.0 * np.pi


def kitaev_network(psi, weights, sector_a, sector_b, sector_c, scale=KITAEV_SCALE, engine: str = "ncon"):
    r"""Kitaev's real-space Chern number (Ann. Phys. 321, 2 (2006)).

    .. math::
        \nu = -12\pi i \sum_{j\in A, k\in B, l\in C} (P_{jk} P_{kl} P_{lj} - P_{jl} P_{lk} P_{kj})
            = 24\pi\, \mathrm{Im} \sum_{jkl} a_j b_k c_l P_{jk} P_{kl} P_{lj},

    since the second term is the complex conjugate of the first for Hermitian ``P``.
    ``P = sum_n f_n psi_n psi_n^dag``; ``a, b, c`` are the indicator vectors of three sectors that
    meet at a bulk point, counter-clockwise. Nodes: ``psi``/``conj(psi)`` three times each,
    ``weights`` three times, the three sector vectors.

    Args:
      psi: ``(N, n_states)`` site-ordered eigenvectors.
      weights: ``(n_states,)`` occupations; exact: :func:`exact_occupation`.
      sector_a, sector_b, sector_c: ``(N,)`` real; exact: :func:`exact_kitaev_sectors`.
      scale: exact :data:`KITAEV_SCALE` ``= 24 pi``.

    Returns:
      Real scalar (``= C`` for the exact tensors on a large enough disc).
    """
    psi = _complex(psi)
    if psi.ndim != 2:
        raise ValueError(f"Argument `psi` must have shape (N, n_states), but has shape {psi.shape}.")
    dt = psi.dtype
    f = jnp.asarray(weights).astype(dt)
    a, b, c = (jnp.asarray(s).astype(dt) for s in (sector_a, sector_b, sector_c))
    pc = jnp.conj(psi)
    t = contract(
        "jn,n,kn,kp,p,lp,lq,q,jq,j,k,l->",
        psi, f, pc, psi, f, pc, psi, f, pc, a, b, c,
        engine=engine,
    )
    return jnp.asarray(scale) * jnp.imag(t)


def bott_unitaries(W, phase_x, phase_y, engine: str = "ncon"):
    r"""Projected position unitaries of the Bott index: ``U_x = W^dag diag(phase_x) W``, same for y.

    Nodes: ``conj(W)[j, a]``, ``phase[j]``, ``W[j, b]`` (``j`` a hyperedge). Loring & Hastings,
    EPL 92, 67004 (2010).

    Args:
      W: ``(N, n_occ)`` occupied eigenvectors (site order).
      phase_x, phase_y: ``(N,)`` complex; exact ``exp(2 pi i X / Lx)`` (:func:`exact_bott_phases`).

    Returns:
      ``(U_x, U_y)``, each ``(n_occ, n_occ)`` complex.
    """
    W = _complex(W)
    px, py = (jnp.asarray(p).astype(W.dtype) for p in (phase_x, phase_y))
    Wc = jnp.conj(W)
    ux = contract("ja,j,jb->ab", Wc, px, W, engine=engine)
    uy = contract("ja,j,jb->ab", Wc, py, W, engine=engine)
    return ux, uy


def bott_from_unitaries(ux, uy):
    r"""``B = -(1/2 pi) Im Tr log(U_x U_y U_x^dag U_y^dag)`` from the eigenvalues (general eig).

    The sum of the eigenvalue phases (each in ``(-pi, pi]``) is the branch of ``Im Tr log``; since
    ``det(U_x U_y U_x^dag U_y^dag) = |det U_x|^2 |det U_y|^2 > 0`` it is a multiple of ``2 pi`` up to
    rounding. Sign: the overall minus makes ``B = C`` of :mod:`tnn.kspace` (docs/conventions.md: "sign chosen so
    that B = C"). Real scalar.
    """
    m = ux @ uy @ jnp.conj(ux.T) @ jnp.conj(uy.T)
    ev = jnp.linalg.eigvals(m)
    return -jnp.sum(jnp.angle(ev)) / (2 * np.pi)


# ------------------------------------------------------------------------------- exact tensors
def default_trim(n: int) -> int:
    """Default number of cells trimmed on each side of an open direction of ``n`` cells: ``n // 4``."""
    return n // 4


def check_trim(lat: Lattice, trim) -> tuple[int, ...]:
    """``trim`` (None, int, or one int per direction) as a tuple of ints, validated against ``lat``."""
    if trim is None:
        return tuple(default_trim(n) for n in lat.dims)
    if isinstance(trim, (int, np.integer)) and not isinstance(trim, (bool, np.bool_)):
        trim = (int(trim),) * lat.ndim
    try:
        trim = tuple(trim)
    except TypeError as err:
        raise ValueError(f"Argument `trim` must be an int or a tuple of {lat.ndim} ints, got {trim!r}.") from err
    if len(trim) != lat.ndim or not all(isinstance(t, (int, np.integer)) and not isinstance(t, (bool, np.bool_)) for t in trim):
        raise ValueError(f"Argument `trim` must be an int or a tuple of {lat.ndim} ints, got {trim!r}.")
    for t, n in zip(trim, lat.dims):
        if t < 0 or 2 * t >= n:
            raise ValueError(
                f"Argument `trim` must satisfy 0 <= trim and 2 * trim < {n} (cells along that direction) "
                f"so that the bulk window is not empty, got {t}."
            )
    return tuple(int(t) for t in trim)


@functools.lru_cache(maxsize=None)
def _bulk_cells(lat: Lattice, trim: tuple[int, ...]) -> np.ndarray:
    cc = lat.cell_coords
    keep = np.ones(lat.n_cells, dtype=bool)
    for d, (t, n) in enumerate(zip(trim, lat.dims)):
        keep &= (cc[:, d] >= t) & (cc[:, d] < n - t)
    keep.setflags(write=False)
    return keep


def bulk_cells(lat: Lattice, trim=None) -> np.ndarray:
    """Boolean ``(n_cells,)`` mask of the bulk window: cells with ``trim <= x_d < dims_d - trim``.

    ``trim``: None (default :func:`default_trim`, ``dims // 4`` per direction), an int, or one int
    per direction. Periodic samples have no edges: with ``trim=None`` every cell is bulk.
    """
    if lat.pbc and trim is None:
        trim = (0,) * lat.ndim
    return _bulk_cells(lat, check_trim(lat, trim))


def bulk_window(lat: Lattice, trim=None) -> np.ndarray:
    """The bulk window of :func:`bulk_cells` as a float map of shape ``lat.shape``."""
    return bulk_cells(lat, trim).reshape(lat.shape).astype(np.float64)


@functools.lru_cache(maxsize=None)
def _winding_kernel(lat: Lattice, trim: tuple[int, ...]) -> np.ndarray:
    L = lat.dims[0]
    x = np.arange(L, dtype=np.float64)
    d = x[:, None] - x[None, :]
    if lat.pbc:
        d = np.mod(d + L / 2, L) - L / 2
        mask = np.ones(L)
    else:
        mask = _bulk_cells(lat, trim).astype(np.float64)
    K = (mask[:, None] * d) / mask.sum()
    K.setflags(write=False)
    return K


def exact_winding_kernel(lat: Lattice, trim=None) -> np.ndarray:
    r"""The exact distance kernel ``K_ij = mask_i d(x_i, x_j) / L'``, shape ``(L, L)``.

    ``W = sum_ij K_ij |U_ij|^2`` is then the real-space winding number of docs/conventions.md,
    ``W = (1/L') sum_{i in A} sum_{j in B} (x_i - x_j) |U_ij|^2``, with ``x`` the cell index (the
    overall sign is the one for which the clean value equals :func:`tnn.kspace.winding_number`).

    * open chain: ``d = x_i - x_j``, ``mask_i = 1`` on the bulk cells ``trim <= i < L - trim``
      (default ``trim = L // 4``), ``L'`` their number. The full trace of an open chain is
      identically zero; the bulk trace is an integer deep in a phase.
    * periodic chain: minimum image ``d = ((x_i - x_j + L/2) mod L) - L/2``, every cell, ``L' = L``
      (``trim`` must be None or 0).
    """
    if lat.kind != "chain":
        raise ValueError(f"Argument `lat` must be a chain lattice for the winding number, got a {lat.kind} lattice.")
    if lat.pbc:
        if trim not in (None, 0):
            raise ValueError(f"Argument `trim` applies to open chains only (periodic chains use all cells), got {trim!r}.")
        trim = (0,)
    return _winding_kernel(lat, check_trim(lat, trim))


def exact_mixing(n_orb: int = 2) -> np.ndarray:
    """Exact sublattice mixing ``(2, n_orb)``: row 0 selects orbital A, row 1 orbital B (identity)."""
    return np.eye(2, n_orb)


def exact_winding_weights(n_states: int, n_occ: int | None = None) -> np.ndarray:
    """``s_n = sign(E_n - E_F)`` for ascending eigenvalues at half filling: ``-1`` for the ``n_occ``
    lowest states (default ``n_states // 2``), ``+1`` above. Shape ``(n_states,)``.

    Splitting by index rather than by the sign of ``E_n`` keeps the two zero modes of an open
    topological chain (``|E| ~ 1e-16``, sign is noise) one on each side; either way they live on
    the edges, outside the bulk trace.
    """
    n_occ = n_states // 2 if n_occ is None else n_occ
    return np.where(np.arange(n_states) < n_occ, -1.0, 1.0)


def exact_occupation(n_states: int, n_occ: int | None = None) -> np.ndarray:
    """Occupations ``f_n`` ``(n_states,)``: 1 for the ``n_occ`` lowest states (default half filling,
    ``n_states // 2``, the lower half of the bands as in :mod:`tnn.kspace`), else 0. A step at a
    Fermi level in the half-filling gap (``E_F = 0`` for the QWZ, SSH and ``cos phi = 0`` Haldane
    models)."""
    n_occ = n_states // 2 if n_occ is None else n_occ
    return (np.arange(n_states) < n_occ).astype(np.float64)


def exact_coordinates(lat: Lattice) -> tuple[np.ndarray, ...]:
    """Cartesian site coordinates, one ``(N,)`` vector per direction (``lat.positions`` columns).

    For the chain this is the cell index (docs/conventions.md: never the site index)."""
    return tuple(np.ascontiguousarray(lat.positions[:, d]) for d in range(lat.ndim))


def exact_marker_scale(lat: Lattice) -> float:
    """``4 pi / A_cell``, the prefactor of the local Chern marker."""
    return 4.0 * np.pi / lat.cell_area


def fractional_coordinates(lat: Lattice) -> np.ndarray:
    """Site coordinates along the Bravais vectors, ``(N, d)``: ``positions @ inv(bravais)``.

    Square: the Cartesian ones; honeycomb: ``(x, y) + (0, 0)`` on A and ``+ (1/3, 1/3)`` on B."""
    return lat.positions @ np.linalg.inv(lat.bravais)


@functools.lru_cache(maxsize=None)
def _bott_phases(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    fr = fractional_coordinates(lat)
    out = tuple(np.exp(2j * np.pi * fr[:, d] / lat.dims[d]) for d in range(2))
    for o in out:
        o.setflags(write=False)
    return out


def exact_bott_phases(lat: Lattice) -> tuple[np.ndarray, np.ndarray]:
    """``(exp(2 pi i X1 / L1), exp(2 pi i X2 / L2))`` with ``X1, X2`` the fractional coordinates
    along ``a1, a2`` (:func:`fractional_coordinates`); each ``(N,)`` complex."""
    if lat.ndim != 2:
        raise ValueError(f"Argument `lat` must be a 2D lattice for the Bott index, got a {lat.kind} lattice.")
    return _bott_phases(lat)


def default_kitaev_radius(lat: Lattice) -> float:
    """Default disc radius of the Kitaev sum: ``0.4 *`` the smallest linear extent of the sample
    (``min_d dims_d * |a_d| * sin`` of the angle between the Bravais vectors; e.g. 8 for a 20 x 20
    square sample). Large against the correlation length deep in a phase, and for open samples it
    keeps the disc ~0.1 of the size away from the edges."""
    a = lat.bravais
    sin = abs(np.linalg.det(a)) / (np.linalg.norm(a[0]) * np.linalg.norm(a[1]))
    return 0.4 * min(lat.dims) * sin


@functools.lru_cache(maxsize=None)
def _kitaev_sectors(lat: Lattice, radius: float) -> tuple[np.ndarray, ...]:
    a = lat.bravais
    # The centre of the sample, nudged off every site and every bond direction so that no site sits
    # on a sector boundary (angles 0, 2pi/3, 4pi/3) by accident.
    centre_frac = (np.asarray(lat.dims, dtype=float) - 1.0) / 2.0 + np.array([0.1234, 0.0567])
    fr = fractional_coordinates(lat)
    delta_frac = fr - centre_frac
    if lat.pbc:
        delta_frac = np.mod(delta_frac + np.asarray(lat.dims) / 2.0, lat.dims) - np.asarray(lat.dims) / 2.0
    delta = delta_frac @ a
    r = np.linalg.norm(delta, axis=1)
    theta = np.mod(np.arctan2(delta[:, 1], delta[:, 0]), 2 * np.pi)
    disc = r < radius
    out = tuple(((theta >= k * 2 * np.pi / 3) & (theta < (k + 1) * 2 * np.pi / 3) & disc).astype(np.float64) for k in range(3))
    for o in out:
        o.setflags(write=False)
    return out


def exact_kitaev_sectors(lat: Lattice, radius: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indicator vectors ``(a, b, c)``, each ``(N,)``, of three 120-degree sectors of a disc.

    The disc of radius ``radius`` (default :func:`default_kitaev_radius`) is centred near the middle
    of the sample (offset by ``(0.1234, 0.0567)`` cells along ``a1, a2`` so that no site lies on a
    sector boundary); sector ``k`` holds the sites at polar angle ``[2 pi k / 3, 2 pi (k+1) / 3)``
    around the centre (counter-clockwise order A, B, C). Periodic samples use the minimum image.
    """
    if lat.ndim != 2:
        raise ValueError(f"Argument `lat` must be a 2D lattice for the Kitaev formula, got a {lat.kind} lattice.")
    rmax = default_kitaev_radius(lat) / 0.4 / 2.0
    if radius is None:
        radius = default_kitaev_radius(lat)
    if not isinstance(radius, (int, float, np.integer, np.floating)) or isinstance(radius, bool) or not (0 < radius <= rmax):
        raise ValueError(
            f"Argument `radius` must be a number in (0, {rmax:g}] (half the smallest linear extent of the "
            f"sample), got {radius!r}."
        )
    return _kitaev_sectors(lat, float(radius))


def site_mask_from_cells(lat: Lattice, cells: np.ndarray) -> np.ndarray:
    """A per-cell mask ``(n_cells,)`` as a per-site mask ``(N,)``."""
    return np.repeat(np.asarray(cells), lat.n_orb)
