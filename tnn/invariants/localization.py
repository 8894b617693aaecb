r"""The sample's own zero-energy localization length of a chiral chain: the certificate of the polar
winding route (docs/conventions.md, "Validity of real-space values").

The winding number of a chiral chain is carried by the zero-energy equation ``h^dag psi_A = 0``
(``h = H[0::2, 1::2]`` the chiral block): its transfer matrices along *this* sample
(:func:`tnn.validity.lyapunov_scan`, QR at every cell) give Lyapunov exponents ``gamma_k``, and the
real-space value differs from the invariant by terms ``~ exp(-D / xi)`` with ``xi = 1 / min_k |gamma_k|``
and ``D`` the distance from the bulk window to the boundary (:func:`xi_boundary`). A clean chain's exponents are
``log |z_k|`` over the roots of ``q(z)`` (the k-space correlation length, exactly); a disordered one's
self-average, with a statistical error from the blocks of the scan.

The certificate uses an upper confidence bound ``xi_hi = 1 / (min |gamma| - LYAPUNOV_Z * err)`` (inf
when the exponent is not resolved from 0) and holds when ``XI_FACTOR * xi_hi <= D``: at a transition
(``gamma = 0``) a sample passes only by a ``LYAPUNOV_Z``-sigma fluctuation of its own exponent. It needs
the hopping ranges (which diagonals of ``h`` are bonds): static, from the caller, or read from a concrete
``H`` (:func:`chain_ranges`).
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, validity
from tnn.lattice import Lattice

__all__ = ["XI_FACTOR", "LYAPUNOV_Z", "SAMPLE_BLOCKS", "MIN_BLOCK_CELLS", "FRAME_SHIFTS", "chain_ranges", "check_ranges", "sample_lyapunov",
           "sample_xi", "xi_boundary"]

#: a chain is certified when ``XI_FACTOR * xi_hi <= D`` (``D`` the window's distance to the boundary; the value is
#: then within ~exp(-2.5) of the invariant; 3 lost 5% of the L = 16 chains with xi <= D / 3 to the
#: error of the upper bound, at no change of the wrong-class count: experiments/bench_labels.py)
XI_FACTOR = 2.5
#: ``xi_hi`` uses ``min |gamma| - LYAPUNOV_Z * err`` (``err`` the batch-means error of the exponent)
LYAPUNOV_Z = 3.0
#: at most this many blocks (batch means) along one sample
SAMPLE_BLOCKS = 8
#: warm-ups of different lengths whose exponents are compared (the frame dependence of the estimate)
FRAME_SHIFTS = 4
#: cells per block at least (fewer blocks on short samples; never fewer than 2)
MIN_BLOCK_CELLS = 12


def chain_ranges(h, pbc: bool) -> tuple[int, ...]:
    """The hopping ranges of a concrete chiral block ``h`` ``(L, L)``: the ``r = a - b`` with a nonzero
    ``h[a, b]`` (periodic: ``r`` taken in ``(-L/2, L/2]``). Entries below ``SYMMETRY_RTOL`` of the
    largest count as zero."""
    h = np.asarray(h)
    L = h.shape[0]
    a, b = np.nonzero(np.abs(h) > validity.SYMMETRY_RTOL * np.max(np.abs(h)))
    r = a - b
    if pbc:
        r = (r + (L - 1) // 2) % L - (L - 1) // 2
    return tuple(sorted({int(x) for x in r}))


def check_ranges(ranges, lat: Lattice) -> tuple[int, ...] | None:
    """``ranges`` as a sorted tuple of at least two distinct ints spanning fewer cells than the chain, or
    None."""
    if ranges is None:
        return None
    r = tuple(sorted(set(_checks.check_ints("ranges", ranges))))
    L = lat.dims[0]
    if len(r) < 2 or r[-1] - r[0] >= (L // 2 if lat.pbc else L - 1):
        raise _checks.argument_error("ranges", f"must hold at least two distinct hopping ranges spanning fewer than "
                                     f"{L // 2 if lat.pbc else L - 1} cells of this chain", ranges)
    return r


def xi_boundary(lat: Lattice, trim) -> float:
    """``D`` of the localization-length test: an open chain's trim (the window starts ``trim`` cells
    from each edge); half a periodic chain (the seam of the minimum-image distances): a periodic
    sample's finite-size error is ``~ exp(-L / (2 xi))``."""
    return lat.dims[0] / 2.0 if lat.pbc else float(min(trim))


def _cells(L: int, ranges, pbc: bool) -> np.ndarray:
    """Cells ``b`` whose bonds ``b + r`` all lie in an open chain (every cell when periodic)."""
    return np.arange(L) if pbc else np.arange(max(0, -ranges[0]), min(L, L - ranges[-1]))


def _scans(h, ranges: tuple[int, ...], pbc: bool):
    """The scans of :func:`sample_lyapunov`: ``(gamma, batch-means error, largest change under the
    FRAME_SHIFTS warm-up lengths)``."""
    L = h.shape[-1]
    cells = _cells(L, ranges, pbc)
    rows = (cells[:, None] + np.asarray(ranges)[None, :]) % L
    columns = h[rows, cells[:, None]]
    n = len(cells)
    blocks = max(2, min(SAMPLE_BLOCKS, n // MIN_BLOCK_CELLS))
    step = max(1, n // (blocks * FRAME_SHIFTS))
    g1, e1 = validity.lyapunov_scan(columns, ranges, n_blocks=blocks, warmup=n)
    dev = jnp.zeros_like(g1)
    for j in range(1, FRAME_SHIFTS):
        gj, _ = validity.lyapunov_scan(columns, ranges, n_blocks=blocks, warmup=n + j * step)
        dev = jnp.maximum(dev, jnp.abs(gj - g1))
    return g1, e1, dev


def sample_lyapunov(h, ranges: tuple[int, ...], pbc: bool):
    """Zero-energy Lyapunov exponents of one chiral block ``h`` ``(L, L)`` (jittable, ``ranges`` static):
    ``(gamma (D,), err (D,))`` descending, from :func:`tnn.validity.lyapunov_scan` over the sample's own
    cells: ``min(SAMPLE_BLOCKS, n // MIN_BLOCK_CELLS)`` blocks (at least 2), each warmed up on the whole
    sample first. ``err`` is the larger of the batch-means error and the largest change of each
    exponent when the warm-up is longer by up to a block (``FRAME_SHIFTS`` lengths): a short product
    does not resolve a (nearly) degenerate pair of exponents (real hoppings give conjugate root pairs
    of equal modulus), whose split then depends on the starting frame; identical blocks (a clean
    chain) would show no batch spread at all."""
    g1, e1, dev = _scans(h, ranges, pbc)
    return g1, jnp.maximum(e1, dev)


def sample_xi(h, ranges: tuple[int, ...], pbc: bool):
    """``xi_hi`` of the module docstring (jittable; inf when the exponent nearest 0 is within
    ``LYAPUNOV_Z`` errors of 0, NaN input gives inf). Not differentiated.

    Neighbouring exponents not resolved from each other (closer than ``LYAPUNOV_Z`` times the smaller
    of their errors: both split by the frame) form a cluster, and the cluster nearest 0 counts by its
    mean, whose error is that of a volume growth rate (the frame dependence of a degenerate pair's
    split cancels in their sum); a
    cluster with members on both sides of 0 gives inf (the count of negative exponents, the winding,
    is not resolved)."""
    g, batch, dev = _scans(jax.lax.stop_gradient(h), ranges, pbc)
    e = jnp.maximum(batch, dev)
    link = (g[:-1] - g[1:]) <= LYAPUNOV_Z * jnp.minimum(e[:-1], e[1:])
    cid = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(~link).astype(jnp.int32)])
    member = cid == cid[jnp.argmin(jnp.abs(g))]
    m = jnp.sum(member.astype(g.dtype))
    mean = jnp.sum(jnp.where(member, g, 0.0)) / m
    err = jnp.sqrt(jnp.sum(jnp.where(member, batch**2, 0.0))) / m
    err = jnp.where(m > 1, err, e[jnp.argmin(jnp.abs(g))])  # a cluster's mean: a volume growth rate
    mixed = jnp.any(member & (g > 0)) & jnp.any(member & (g < 0))
    lower = jnp.where(mixed, 0.0, jnp.abs(mean) - LYAPUNOV_Z * err)
    return jnp.where(lower > 0, 1.0 / jnp.where(lower > 0, lower, 1.0), jnp.inf)
