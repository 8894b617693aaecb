"""Input checks at the public edge of :mod:`tnn.invariants` (every failure a ``ValueError`` naming
the argument), and the shape of what the public functions return.

``check_H`` is where a user's Hamiltonian becomes the library's: a NumPy/JAX array or a
``scipy.sparse`` matrix (made dense here, before any work), checked for shape, finiteness and
Hermiticity, and reordered from a :func:`tnn.lattice.from_sites` lattice's site order into the
library's (docs/conventions.md). Every public entry point that takes ``H`` goes through it.
"""

from __future__ import annotations

import warnings

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks, validity
from tnn import contractions as tc
from tnn.lattice import Lattice

# ------------------------------------------------------------------------------ input checks
def check_pbc(lat: Lattice, pbc: bool, what: str):
    if lat.pbc != pbc:
        need = "periodic (pbc=True)" if pbc else "open (pbc=False)"
        raise ValueError(f"Argument `lat` must be {need} for {what}, got pbc={lat.pbc}.")


def check_H(H, lat: Lattice):
    """``H`` ``(N, N)`` of ``lat`` as a JAX array in the library's site order: dense or ``scipy.sparse``
    input (made dense first), numeric, and for concrete values finite and Hermitian; a
    :func:`tnn.lattice.from_sites` lattice's own site order is undone here (``lat.to_library_order``)."""
    if H is None:
        raise ValueError("Argument `H` must be given, got None.")
    H = _checks.densify(H)
    arr = _checks.square_matrix("H", H, lat.n_sites)
    if not (jnp.issubdtype(arr.dtype, jnp.number)) or jnp.issubdtype(arr.dtype, jnp.bool_):
        raise ValueError(f"Argument `H` must be numeric, got dtype {arr.dtype}.")
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    val = _checks.concrete_value(H)
    if val is not None:
        _checks.check_finite("H", val)
        scale = float(np.max(np.abs(val))) if val.size else 0.0
        defect = float(np.max(np.abs(val - np.conj(val.T)))) if val.size else 0.0
        if defect > validity.SYMMETRY_RTOL * scale:
            raise ValueError(f"Argument `H` must be Hermitian (H == H^dag up to {validity.SYMMETRY_RTOL:g} of its "
                             f"largest entry {scale:.3g}), got max |H - H^dag| = {defect:.3g}.")
    return lat.to_library_order(arr)  # a user's own site order (tnn.lattice.from_sites)


def symmetry_broken(H, chiral: bool = False):
    """For a traced ``H`` (library site order, after :func:`check_H`): a bool array, True where ``H`` is
    not Hermitian, or (``chiral``) has A-A or B-B entries of a chain (``H[0::2, 0::2]``,
    ``H[1::2, 1::2]``), beyond :data:`tnn.validity.SYMMETRY_RTOL` of its largest entry; the routes read
    only part of ``H`` (``eigh`` one triangle, the polar route the chiral block) and would return a
    value for a matrix they do not describe. None for a concrete ``H`` (the eager checks raise instead).
    Feed it to :func:`tnn.validity.flag_symmetry`."""
    if _checks.concrete_value(H) is not None:
        return None
    A = jnp.abs(jax.lax.stop_gradient(H))
    H0 = jax.lax.stop_gradient(H)
    tol = validity.SYMMETRY_RTOL * jnp.max(A)
    broken = jnp.max(jnp.abs(H0 - jnp.conj(H0.T))) > tol
    if chiral:
        broken = broken | (jnp.maximum(jnp.max(A[0::2, 0::2]), jnp.max(A[1::2, 1::2])) > tol)
    return broken


def check_eigensystem(E, V, lat: Lattice):
    n = lat.n_sites
    E = E if isinstance(E, jax.Array) else jnp.asarray(E)
    V = V if isinstance(V, jax.Array) else jnp.asarray(V)
    if E.shape != (n,):
        raise ValueError(f"Argument `E` must have shape ({n},) to match the lattice, but has shape {tuple(E.shape)}.")
    if V.shape != (n, n):
        raise ValueError(f"Argument `V` must have shape ({n}, {n}) to match the lattice, but has shape {tuple(V.shape)}.")
    if jnp.issubdtype(E.dtype, jnp.complexfloating):
        raise ValueError(f"Argument `E` must be real, got dtype {E.dtype}.")
    ev = _checks.concrete_value(E)
    if ev is not None:
        _checks.check_finite("E", ev)
        if np.any(np.diff(ev) < 0):
            raise _checks.argument_error("E", "must be sorted ascending (as returned by eigh)", ev)
    if not jnp.issubdtype(E.dtype, jnp.floating):
        E = E.astype(jnp.result_type(float))
    if not jnp.issubdtype(V.dtype, jnp.inexact):
        V = V.astype(jnp.result_type(float))
    return E, lat.to_library_order(V=V)[1]  # eigenvector rows in the library's site order


#: the values of ``validity`` (docs/conventions.md, "Occupied states, gaps and NaN")
VALIDITY = ("certificate", "raw", "spectral")


def check_validity(mode, gap_tol, lat: Lattice | None = None, trim=None, *, stacklevel: int = 3):
    """``(validity, gap_tol)`` of a public call as the tolerance array the cores read: ``-1``
    (``"certificate"``: the certificate decides), ``0`` (``"raw"``: never NaN) or ``gap_tol``
    (``"spectral"``: NaN where the bulk gap is below it). One traced float for all three, so switching
    between them never recompiles. ``"certificate"``: a sample too small for a certificate
    (:func:`tnn.validity.boundary_distance`) raises here, before any work.

    ``gap_tol`` without ``validity="spectral"`` is the spelling of earlier versions (``0.0``: raw, a
    number: the spectral test); it keeps that meaning with a ``DeprecationWarning`` (``stacklevel``:
    the public function's caller)."""
    if not isinstance(mode, str) or mode not in VALIDITY:
        raise ValueError(f"Argument `validity` must be one of {VALIDITY}, got {mode!r}.")
    dtype = jnp.result_type(float)
    val = None
    if gap_tol is not None:
        arr = jnp.asarray(_checks.as_param("gap_tol", gap_tol, ()), dtype=dtype)
        val = _checks.concrete_value(gap_tol)
        if val is not None and float(val) < 0:
            raise ValueError(f"Argument `gap_tol` must be >= 0, got {float(val)}.")
    if mode == "spectral":
        if gap_tol is None:
            raise ValueError("Argument `gap_tol` must be given with validity='spectral' (a tolerance > 0, e.g. "
                             "tnn.invariants.default_gap_tol(lat, e_max)), got None.")
        if val is not None and float(val) == 0:
            raise ValueError("Argument `gap_tol` must be > 0 with validity='spectral', got 0.0 "
                             "(validity='raw' returns the raw value).")
        return arr
    if gap_tol is not None:
        if mode == "raw":
            raise ValueError(f"Argument `gap_tol` applies to validity='spectral' only, got gap_tol={gap_tol!r} "
                             "with validity='raw'.")
        if val is None:
            new = "validity='spectral', gap_tol=... (validity='raw' for 0.0)"
        elif float(val) == 0:
            new = "validity='raw'"
        else:
            new = f"validity='spectral', gap_tol={float(val)!r}"
        warnings.warn(f"gap_tol={'...' if val is None else repr(float(val))} without validity='spectral' is "
                      f"deprecated; use {new}.", DeprecationWarning, stacklevel=stacklevel)
        return arr
    if mode == "raw":
        return jnp.asarray(0.0, dtype=dtype)
    if lat is not None:
        validity.boundary_distance(lat, trim)
    return jnp.asarray(-1.0, dtype=dtype)


def return_mode(return_gap, return_certificate, *, stacklevel: int = 3) -> str:
    """``"value"``, ``"certificate"`` (``(value, Certificate)``) or, deprecated, ``"gap"``
    (``return_gap=True``: ``(value, gap)``, with a ``DeprecationWarning``)."""
    rg = _checks.check_bool("return_gap", return_gap)
    rc = _checks.check_bool("return_certificate", return_certificate)
    if rg and rc:
        raise ValueError("Arguments `return_gap` and `return_certificate` are exclusive (the certificate holds the gap).")
    if rg:
        warnings.warn("return_gap=True is deprecated; use return_certificate=True and the certificate's .gap.",
                      DeprecationWarning, stacklevel=stacklevel)
        return "gap"
    return "certificate" if rc else "value"


def returned(value, cert, mode: str):
    if mode == "gap":
        return value, cert.gap
    if mode == "certificate":
        return value, cert
    return value


def window_trim(lat: Lattice, trim):
    """Validated trim tuple for the bulk window of an open lattice (periodic: no window)."""
    if lat.pbc:
        return None
    return tc.check_trim(lat, trim)
