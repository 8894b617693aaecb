r"""The real-space invariants as tensor networks (winding, Chern marker, Kitaev, Bott): every node an
explicit argument, exact with the tensors of :mod:`tnn.contractions.exact`, trainable in the "topo"
model. Index conventions: :mod:`tnn.contractions`.
"""

from __future__ import annotations

import numpy as np
import jax.numpy as jnp

from tnn.contractions.engine import contract

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
    return x.astype(np.result_type(x.dtype, np.complex64))


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
    dt = psi.dtype if jnp.issubdtype(psi.dtype, jnp.complexfloating) else np.result_type(psi.dtype, mixing.dtype)
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
