r"""The one keyword that says how a real-space value is judged, ``validity`` (docs/conventions.md,
"Occupied states, gaps and NaN"), and the one result type (the value, or ``(value, Certificate)``).

* ``"certificate"`` (default), ``"raw"`` (never refused), ``"spectral"`` (NaN where the gap is below
  ``gap_tol``, which must be given and positive); any other value raises naming ``validity``.
* The spellings of earlier versions keep their meaning for one version and warn, naming the new one,
  at the caller's line: ``gap_tol=0.0`` is ``validity="raw"``, ``gap_tol=x`` is
  ``validity="spectral", gap_tol=x``, ``return_gap=True`` is ``(value, certificate.gap)``; each gives
  the same numbers as the new spelling, bit for bit.
* The three modes under ``jax.jit`` (``gap_tol`` traced) give what the eager calls give, for every
  public entry point (eigensystem and SVD variants and the spin Chern number included).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import hamiltonians, invariants, lattice, validity
from tnn.systems import bhz

CH = lattice.chain(16)
SQ = lattice.square(6, 6)
SQP = lattice.square(6, 6, pbc=True)
SQ4 = lattice.square(4, 4, n_orb=4)
SQ4P = lattice.square(4, 4, pbc=True, n_orb=4)


def _eigh(H):
    return tuple(jnp.linalg.eigh(H))


def _svd(H):
    return tuple(jnp.linalg.svd(invariants.chiral_block(H)))


H_SSH = hamiltonians.ssh(jnp.array([0.6, 1.0]), CH)
H_QWZ = hamiltonians.qwz(-1.0, SQ)
H_QWZP = hamiltonians.qwz(-1.0, SQP)
H_BHZ = hamiltonians.bhz(2.0, 1.0, 2.0, SQ4)
H_BHZP = hamiltonians.bhz(2.0, 1.0, 2.0, SQ4P)

# name: (function of (arrays, **keywords), arrays, takes return_gap)
CALLS = {
    "winding_number": (lambda a, **kw: invariants.winding_number(*a, CH, **kw), (H_SSH,), True),
    "winding_number_eigh": (lambda a, **kw: invariants.winding_number(*a, CH, method="eigh", **kw), (H_SSH,), True),
    "winding_number_from_eigh": (lambda a, **kw: invariants.winding_number_from_eigh(*a, CH, **kw), _eigh(H_SSH), True),
    "winding_number_from_svd": (lambda a, **kw: invariants.winding_number_from_svd(*a, CH, **kw), _svd(H_SSH), True),
    "winding_density": (lambda a, **kw: invariants.winding_density(*a, CH, **kw), (H_SSH,), True),
    "local_chern_marker": (lambda a, **kw: invariants.local_chern_marker(*a, SQ, **kw), (H_QWZ,), True),
    "local_chern_marker_from_eigh": (lambda a, **kw: invariants.local_chern_marker_from_eigh(*a, SQ, **kw),
                                     _eigh(H_QWZ), True),
    "bott_index": (lambda a, **kw: invariants.bott_index(*a, SQP, **kw), (H_QWZP,), True),
    "bott_index_from_eigh": (lambda a, **kw: invariants.bott_index_from_eigh(*a, SQP, **kw), _eigh(H_QWZP), True),
    "kitaev_chern_number": (lambda a, **kw: invariants.kitaev_chern_number(*a, SQ, certificate="tail", **kw),
                            (H_QWZ,), True),
    "chern_number": (lambda a, **kw: invariants.chern_number(*a, SQ, **kw), (H_QWZ,), True),
    "chern_number_from_eigh": (lambda a, **kw: invariants.chern_number_from_eigh(*a, SQP, method="bott", **kw),
                               _eigh(H_QWZP), True),
    "spin_chern_number": (lambda a, **kw: bhz.spin_chern_number(*a, SQ4P, method="bott", **kw), (H_BHZP,), False),
    "spin_chern_number_from_eigh": (lambda a, **kw: bhz.spin_chern_number_from_eigh(*a, SQ4, certificate="tail", **kw),
                                    _eigh(H_BHZ), False),
}
NAMES = list(CALLS)


def _same(a, b):
    """Equal leaves, bit for bit (NaN equal to NaN)."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _close(a, b):
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=0, atol=1e-10, equal_nan=True)


def _gap(f, a):
    return float(f(a, validity="raw", return_certificate=True)[1].gap)


@pytest.mark.parametrize("name", NAMES)
def test_old_spellings_warn_and_equal_the_new_ones(name):
    f, a, takes_gap = CALLS[name]
    # a tolerance below the sample's gap (the value kept) and one above it (refused)
    tols = (0.5 * _gap(f, a), 5.0)
    with pytest.warns(DeprecationWarning, match=r"gap_tol=0\.0 .*use validity='raw'") as rec:
        old = f(a, gap_tol=0.0, return_certificate=True)
    assert rec[0].filename == __file__  # the warning points at the caller's line
    _same(old, f(a, validity="raw", return_certificate=True))
    for tol in tols:
        with pytest.warns(DeprecationWarning, match=f"use validity='spectral', gap_tol={tol!r}"):
            old = f(a, gap_tol=tol, return_certificate=True)
        _same(old, f(a, validity="spectral", gap_tol=tol, return_certificate=True))
    assert np.all(np.isnan(np.asarray(f(a, validity="spectral", gap_tol=tols[1]))))
    if takes_gap:
        with pytest.warns(DeprecationWarning, match=r"return_gap=True is deprecated; use return_certificate=True") as rec:
            value, gap = f(a, return_gap=True)
        assert rec[0].filename == __file__
        new, cert = f(a, return_certificate=True)
        _same((value, gap), (new, cert.gap))


def test_legacy_traced_tolerance_warns_and_is_the_spectral_test():
    f, a, _ = CALLS["winding_number"]
    tol = 0.5 * _gap(f, a)
    with pytest.warns(DeprecationWarning, match=r"gap_tol=\.\.\. without validity='spectral' is deprecated"):
        old = jax.jit(lambda H, t: f((H,), gap_tol=t, return_certificate=True))(*a, tol)
    new = jax.jit(lambda H, t: f((H,), validity="spectral", gap_tol=t, return_certificate=True))(*a, tol)
    _same(old, new)


@pytest.mark.parametrize("name", NAMES)
def test_modes_under_jit_equal_eager(name):
    f, a, _ = CALLS[name]
    tol = 0.5 * _gap(f, a)
    for mode in ("certificate", "raw"):
        eager = f(a, validity=mode, return_certificate=True)
        _close(jax.jit(lambda *x: f(x, validity=mode, return_certificate=True))(*a), eager)
        _close(jax.jit(lambda *x: f(x, validity=mode))(*a), eager[0])
    for t in (tol, 5.0):
        eager = f(a, validity="spectral", gap_tol=t, return_certificate=True)
        traced = jax.jit(lambda t, *x: f(x, validity="spectral", gap_tol=t, return_certificate=True))(t, *a)
        _close(traced, eager)


def test_the_three_modes_differ_where_they_should():
    """A clean SSH chain at v = w (gapless: the correlations reach the edges) is refused by the
    certificate and returned raw; a deep one is certified, and refused by the spectral test with a
    tolerance above its gap (reason ``gapless``)."""
    crit = hamiltonians.ssh(jnp.array([1.0, 1.0]), CH)
    assert np.isnan(float(invariants.winding_number(crit, CH)))
    assert np.isfinite(float(invariants.winding_number(crit, CH, validity="raw")))
    deep = hamiltonians.ssh(jnp.array([0.3, 1.0]), CH)
    w, cert = invariants.winding_number(deep, CH, return_certificate=True)
    assert abs(float(w) - 1.0) < 1e-3
    assert float(invariants.winding_number(deep, CH, validity="spectral", gap_tol=0.5 * float(cert.gap))) == float(w)
    v, c = invariants.winding_number(deep, CH, validity="spectral", gap_tol=2.0 * float(cert.gap), return_certificate=True)
    assert np.isnan(float(v)) and int(c.reason) == validity.GAPLESS
    # raw needs no window one cell from the edge; the certificate does
    tiny = lattice.chain(3)
    with pytest.raises(ValueError, match="`lat`.*too small.*validity='raw'"):
        invariants.winding_number(hamiltonians.ssh(jnp.array([0.3, 1.0]), tiny), tiny)
    assert np.isfinite(float(invariants.winding_number(hamiltonians.ssh(jnp.array([0.3, 1.0]), tiny), tiny,
                                                       validity="raw")))


@pytest.mark.parametrize("name", NAMES)
def test_bad_validity_and_tolerance_raise_naming_the_argument(name):
    f, a, _ = CALLS[name]
    for bad in ("Raw", "gap", "", None, 0, True):
        with pytest.raises(ValueError, match="`validity`"):
            f(a, validity=bad)
    for kw in (dict(validity="spectral"), dict(validity="spectral", gap_tol=0.0),
               dict(validity="spectral", gap_tol=-1.0), dict(validity="spectral", gap_tol=float("nan")),
               dict(validity="raw", gap_tol=0.1), dict(validity="raw", gap_tol=0.0), dict(gap_tol=-0.5)):
        with pytest.raises(ValueError, match="`gap_tol`"):
            f(a, **kw)

