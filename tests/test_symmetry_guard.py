r"""No silent values: a symmetry a route needs is measured under ``jit``/``vmap`` (where no ``ValueError``
can be raised on a value) and a violation gives NaN with the reason ``symmetry_broken``; the eager call
raises; the derivative of a refused (NaN) value is NaN, never 0; Hermiticity is judged relative to the
largest entry of ``H`` (docs/conventions.md, "Validity of real-space values").

The routes read part of ``H`` only: the polar winding route the chiral block ``H[0::2, 1::2]``,
``eigh`` one triangle. Without the guard a chain with onsite disorder 3 (not chiral) came back certified
with value 1 under ``jit`` while the eager call refused it.
"""

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import hamiltonians, invariants, lattice, validity

CHAIN = lattice.chain(20)
T = jnp.array([0.5, 1.0])


def _onsite(key, w=3.0):
    return hamiltonians.ssh(T, CHAIN, onsite_disorder=w, key=key)


@pytest.mark.parametrize("route", ["winding_number", "winding_density"])
def test_chirality_violation_under_jit_and_vmap_is_nan_with_reason(route):
    f = getattr(invariants, route)
    H = _onsite(jax.random.key(1))
    with pytest.raises(ValueError, match="`H`.*chiral"):
        f(H, CHAIN)
    v, c = jax.jit(lambda H: f(H, CHAIN, return_certificate=True))(H)
    assert np.all(np.isnan(np.asarray(v))) and int(c.reason) == validity.SYMMETRY_BROKEN
    Hs = jax.vmap(_onsite)(jax.random.split(jax.random.key(2), 16))
    v, c = jax.jit(jax.vmap(lambda H: f(H, CHAIN, return_certificate=True)))(Hs)
    assert np.all(np.isnan(np.asarray(v)))
    assert np.all(np.asarray(c.reason) == validity.SYMMETRY_BROKEN)
    assert list(validity.reason_names(c.reason[:1])) == ["symmetry_broken"]
    # The same program on chiral chains gives the eager values (the guard costs no accuracy).
    Hc = jax.vmap(lambda k: hamiltonians.ssh(T, CHAIN, bond_disorder=0.3, key=k))(jax.random.split(jax.random.key(3), 4))
    v = jax.jit(jax.vmap(lambda H: f(H, CHAIN)))(Hc)
    ref = np.stack([np.asarray(f(np.asarray(h), CHAIN)) for h in Hc])
    np.testing.assert_allclose(np.asarray(v), ref, rtol=0, atol=1e-12)


def test_eigh_route_needs_hermiticity_only():
    """``method='eigh'`` is the control for non-chiral chains: onsite disorder keeps a value there; a
    non-Hermitian H does not."""
    H = _onsite(jax.random.key(4), w=0.3)
    f = jax.jit(lambda H: invariants.winding_number(H, CHAIN, method="eigh", validity="raw", return_certificate=True))
    v, c = f(H)
    assert np.isfinite(float(v)) and int(c.reason) != validity.SYMMETRY_BROKEN
    v, c = f(H.at[0, 7].add(0.2))
    assert np.isnan(float(v)) and int(c.reason) == validity.SYMMETRY_BROKEN


@pytest.mark.parametrize("method,pbc", [("marker", False), ("bott", True), ("kitaev", False)])
def test_non_hermitian_h_under_jit_is_nan_with_reason(method, pbc):
    lat = lattice.square(10, 10, pbc=pbc)
    H = hamiltonians.qwz(-1.0, lat)
    f = jax.jit(lambda H: invariants.chern_number(H, lat, method=method, validity="raw", return_certificate=True))
    v, c = f(H)
    assert np.isfinite(float(v)) and int(c.reason) != validity.SYMMETRY_BROKEN
    Hb = H.at[3, 40].add(0.05)  # one entry without its conjugate partner
    with pytest.raises(ValueError, match="`H`.*Hermitian"):
        invariants.chern_number(np.asarray(Hb), lat, method=method)
    v, c = f(Hb)
    assert np.isnan(float(v)) and int(c.reason) == validity.SYMMETRY_BROKEN
    m = jax.jit(lambda H: invariants.local_chern_marker(H, lattice.square(10, 10), validity="raw"))
    if not pbc:
        assert np.all(np.isnan(np.asarray(m(Hb))))


def test_hermiticity_is_relative_to_the_scale_of_h():
    """An H scaled by 1e-11 with one asymmetric entry of its own size is not Hermitian (an absolute
    floor of 1 let it through); a Hermitian H at that scale passes and gives the same value."""
    H = np.asarray(hamiltonians.ssh(T, CHAIN)) * 1e-11
    w = float(invariants.winding_number(H, CHAIN))
    assert abs(w - float(invariants.winding_number(H * 1e11, CHAIN))) < 1e-9
    Hb = H.copy()
    Hb[0, 3] += 1e-12
    with pytest.raises(ValueError, match="`H`.*Hermitian"):
        invariants.winding_number(Hb, CHAIN)
    v, c = jax.jit(lambda H: invariants.winding_number(H, CHAIN, return_certificate=True))(jnp.asarray(Hb))
    assert np.isnan(float(v)) and int(c.reason) == validity.SYMMETRY_BROKEN


def test_grad_of_a_refused_value_is_nan():
    """At the transition (v = w) the certificate refuses W: its derivative is NaN, not a false 0; in the
    phase the derivative is finite and equals a central finite difference."""
    def density(t):
        return invariants.winding_density(hamiltonians.ssh(t, CHAIN), CHAIN).sum()

    assert np.isnan(float(density(jnp.array([1.0, 1.0]))))
    assert np.all(np.isnan(np.asarray(jax.grad(density)(jnp.array([1.0, 1.0])))))
    g = np.asarray(jax.grad(density)(T))
    eps = 1e-5
    fd = [(float(density(T.at[i].add(eps))) - float(density(T.at[i].add(-eps)))) / (2 * eps) for i in range(2)]
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-8)
    sq = lattice.square(10, 10)

    def marker(m):
        return invariants.chern_number(hamiltonians.qwz(m, sq), sq, method="marker")

    assert np.isnan(float(marker(2.0))) and np.isnan(float(jax.grad(marker)(2.0)))
    # The Bott index: derivative 0 where certified (integer-valued), NaN where refused.
    torus = lattice.square(12, 12, pbc=True)

    def bott(m):
        return invariants.bott_index(hamiltonians.qwz(m, torus), torus)

    assert abs(float(bott(-1.0)) - 1.0) < 1e-9 and float(jax.grad(bott)(-1.0)) == 0.0
    assert np.isnan(float(bott(2.0))) and np.isnan(float(jax.grad(bott)(2.0)))
    # A symmetry-broken value's derivative is NaN as well.
    gb = jax.grad(lambda t: invariants.winding_number(
        hamiltonians.ssh(t, CHAIN, onsite_disorder=3.0, key=jax.random.key(1)), CHAIN))(T)
    assert np.all(np.isnan(np.asarray(gb)))
