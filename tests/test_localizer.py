r"""The spectral localizer (:mod:`tnn.localizer`) against k space, the real-space invariants and its
own certificate.

* Class A (2D): ``L = [[H - E, kappa ((X - x) - i (Y - y))], [kappa ((X - x) + i (Y - y)), -(H - E)]]``,
  ``C = -sig(L) / 2`` equals :func:`tnn.kspace.chern_number` (QWZ: ``C = +1`` for ``-2 < m < 0``,
  ``-1`` for ``0 < m < 2``, 0 for ``|m| > 2``; Haldane: ``C = -sign(t2 sin phi)`` for
  ``|M| < 3 sqrt(3) |t2 sin phi|``).
* Class AIII (1D): ``L = [[kappa (X_A - x), A], [A^dag, -kappa (X_B - x)]]``, ``W = -sig(L) / 2``
  equals :func:`tnn.kspace.winding_number` (SSH family, ``W = -1 ... 3``) and the Kitaev chain's
  ``sign(delta t)`` inside ``|mu| < 2|t|``.
* Certificate: by Weyl's inequality an eigenvalue of ``L`` moves by at most ``||dL||``; ``dH`` moves ``L``
  by ``||dH||``. So (a) no ``dH`` with ``||dH|| < gap`` changes the index, and (b) where the index of a
  one-parameter family ``H(s)`` with ``||dH/ds|| = 1`` changes between ``s_a`` and ``s_b``,
  ``gap(s_a) + gap(s_b) <= |s_b - s_a|``: the gap closes at the transition.

Sizes are small (N <= 512 on the dense route); the whole file runs in well under a minute on two cores.
"""

import functools

import numpy as np
import jax
import jax.numpy as jnp
import pytest
import scipy.sparse as sp

from tnn import hamiltonians, invariants, kspace, lattice
from tnn import localizer as lz
from tnn.systems import kitaev

HAS_QDLDL = lz.qdldl is not None
needs_qdldl = pytest.mark.skipif(not HAS_QDLDL, reason="qdldl is not installed (sparse LDL^T route)")

HALDANE = dict(t1=1.0, t2=0.2)


@functools.lru_cache(maxsize=None)
def qwz(m, n, pbc, w=0.0, seed=0):
    lat = lattice.square(n, n, pbc=pbc)
    key = jax.random.key(seed) if w else None
    return np.asarray(hamiltonians.qwz(m, lat, onsite_disorder=w, key=key)), lat


@functools.lru_cache(maxsize=None)
def haldane(phi, M, n, pbc, w=0.0, seed=0):
    lat = lattice.honeycomb(n, n, pbc=pbc)
    key = jax.random.key(seed) if w else None
    H = hamiltonians.haldane(HALDANE["t1"], HALDANE["t2"], phi, M, lat, onsite_disorder=w, key=key)
    return np.asarray(H), lat


@functools.lru_cache(maxsize=None)
def ssh(t, ranges, L, pbc, wb=0.0, seed=0):
    lat = lattice.chain(L, pbc=pbc)
    key = jax.random.key(seed) if wb else None
    return np.asarray(hamiltonians.ssh(jnp.asarray(t, dtype=jnp.float64), lat, ranges, bond_disorder=wb, key=key)), lat


@functools.lru_cache(maxsize=None)
def kitaev_chain(mu, t, delta, L, pbc, w=0.0, seed=0):
    lat = lattice.chain(L, pbc=pbc)
    key = jax.random.key(seed) if w else None
    return np.asarray(hamiltonians.kitaev_chain(mu, t, delta, lat, mu_disorder=w, key=key)), lat


# ------------------------------------------------------------------ equals k space (clean)
@pytest.mark.parametrize("pbc", [False, True])
def test_qwz_equals_kspace(pbc):
    """QWZ, 12 x 12, every phase (two masses in each topological one), dense route, default kappa."""
    for m in (-3.0, -1.5, -0.5, 0.5, 1.5, 2.5):
        H, lat = qwz(m, 12, pbc)
        c, cert = lz.chern_number(H, lat, return_certificate=True)
        assert c == kspace.chern_number("qwz", {"m": m}), (m, pbc, cert)
        assert cert.ok and cert.reason is None and cert.method == "eigvalsh"
        assert cert.index == c and cert.kappa_rule == "radius" and cert.gap > 0.1


@pytest.mark.parametrize("pbc", [False, True])
def test_haldane_equals_kspace(pbc):
    """Haldane, 10 x 10: C = -1, +1 (phi = +-pi/2), +1 at phi = -pi/3 (cos phi != 0), and 0 beyond
    |M| = 3 sqrt(3) |t2 sin phi|."""
    cases = [(np.pi / 2, 0.1), (-np.pi / 2, 0.1), (-np.pi / 3, 0.2), (np.pi / 2, 1.5)]
    got = []
    for phi, M in cases:
        H, lat = haldane(phi, M, 10, pbc)
        c = lz.chern_number(H, lat)
        ck = kspace.chern_number("haldane", dict(HALDANE, phi=phi, M=M))
        assert c == ck, (phi, M, pbc, c, ck)
        got.append(ck)
    assert got == [-1, 1, 1, 0]


SSH_CASES = [  # (t, ranges, W)
    ((0.5, 1.0), (0, -1), -1),
    ((1.0, 0.5), (0, 1), 0),
    ((0.5, 1.0), (0, 1), 1),
    ((0.8, 1.0), (0, 1), 1),
    ((0.3, 0.2, 1.0), (0, 1, 2), 2),
    ((0.2, 0.3, 0.2, 1.0), (0, 1, 2, 3), 3),
]


@pytest.mark.parametrize("pbc", [False, True])
def test_ssh_equals_kspace(pbc):
    """SSH family, L = 40, windings -1 ... 3 (sparse route when qdldl is there, else dense)."""
    for t, ranges, w in SSH_CASES:
        H, lat = ssh(t, ranges, 40, pbc)
        assert kspace.winding_number(np.asarray(t), ranges) == w
        Hin = sp.csr_matrix(H) if HAS_QDLDL else H
        v, cert = lz.winding_number(Hin, lat, return_certificate=True)
        assert v == w, (t, ranges, pbc, cert)
        assert cert.ok and cert.gap > 0.1


@pytest.mark.parametrize("pbc", [False, True])
def test_kitaev_equals_kspace(pbc):
    """Kitaev chain (Majorana basis, A imaginary), L = 40: W = sign(delta t) inside |mu| < 2|t|, else 0."""
    for mu, t, delta in ((0.5, 1.0, 0.8), (0.5, 1.0, -0.8), (1.5, 1.0, 0.5), (3.0, 1.0, 0.8)):
        H, lat = kitaev_chain(mu, t, delta, 40, pbc)
        w = lz.winding_number(H, lat)
        assert w == kitaev.kspace_winding(mu, t, delta), (mu, t, delta, pbc)


def test_jax_input_and_from_sites_order():
    """A JAX array is read as is, and a lattice with its own site order (tnn.lattice.from_sites) gives
    the same value and certificate for the permuted matrix."""
    lat = lattice.square(8, 8)
    Hj = hamiltonians.qwz(-1.0, lat)
    c0, cert0 = lz.chern_number(Hj, lat, return_certificate=True)
    assert c0 == 1.0
    perm = np.random.default_rng(0).permutation(lat.n_sites)
    mine = lattice.from_sites(lat.positions[perm], lat.site_coords[perm], lat.sublattice[perm])
    H = np.asarray(Hj)[np.ix_(perm, perm)]
    c1, cert1 = lz.chern_number(H, mine, return_certificate=True)
    assert c1 == c0 and abs(cert1.gap - cert0.gap) < 1e-10 and cert1.kappa == pytest.approx(cert0.kappa, rel=1e-10)
    chain = lattice.chain(20)
    Hc, _ = ssh((0.5, 1.0), (0, 1), 20, False)
    perm = np.random.default_rng(1).permutation(chain.n_sites)
    mine = lattice.from_sites(chain.positions[perm], chain.site_coords[perm], chain.sublattice[perm])
    assert lz.winding_number(Hc[np.ix_(perm, perm)], mine) == lz.winding_number(Hc, chain) == 1.0


# ------------------------------------------------------------------ equals the certified real-space invariants
@pytest.mark.slow
def test_disordered_equals_certified_invariants():
    """Disordered samples inside a spectral gap: the localizer index equals the certified marker, Bott
    index and winding number (each reference is checked to be certified, so the comparison means
    something). Deep in the mobility-gap regime (spectral gap closed) the localizer is a *local* index
    and may differ; that regime is not compared here."""
    cases = []
    for seed in (0, 1):
        H, lat = qwz(-1.0, 16, False, 2.0, seed)
        cases.append(("marker", H, lat, lz.chern_number, lambda H, lat: invariants.chern_number(H, lat, method="marker", return_certificate=True)))
        H, lat = qwz(1.0, 16, True, 2.0, seed)
        cases.append(("bott", H, lat, lz.chern_number, lambda H, lat: invariants.bott_index(H, lat, return_certificate=True)))
    H, lat = haldane(np.pi / 2, 0.1, 12, True, 1.5, 0)
    cases.append(("bott", H, lat, lz.chern_number, lambda H, lat: invariants.bott_index(H, lat, return_certificate=True)))
    for pbc in (False, True):
        for t in ((0.5, 1.5), (1.5, 0.5)):
            H, lat = ssh(t, (0, 1), 80, pbc, 1.0, 0)
            cases.append(("winding", H, lat, lz.winding_number, lambda H, lat: invariants.winding_number(H, lat, return_certificate=True)))
        H, lat = kitaev_chain(0.5, 1.0, 0.6, 80, pbc, 2.0, 1)
        cases.append(("winding", H, lat, lz.winding_number, lambda H, lat: invariants.winding_number(H, lat, return_certificate=True)))
    for name, H, lat, loc, ref in cases:
        r, rc = ref(H, lat)
        assert bool(rc.valid), (name, lat)
        v, cert = loc(sp.csr_matrix(H) if HAS_QDLDL else H, lat, return_certificate=True)
        assert cert.ok and v == round(float(r)), (name, lat, v, float(r), cert)


# ------------------------------------------------------------------ the certificate
def test_gap_closes_at_qwz_transition():
    """QWZ 12 x 12 (periodic), fixed kappa, m from 1 to 3: the index drops from -1 to 0 once, near
    m = 2, and there gap(m_a) + gap(m_b) <= m_b - m_a (Weyl: dH/dm = I (x) sigma_z has norm 1), while
    deep in each phase the gap is large."""
    lat = lattice.square(12, 12, pbc=True)
    H1 = np.asarray(hamiltonians.qwz(1.0, lat))
    kappa = lz.chern_number(H1, lat, return_certificate=True)[1].kappa
    ms = np.round(np.arange(1.0, 3.0001, 0.1), 10)
    out = [lz.chern_number(np.asarray(hamiltonians.qwz(float(m), lat)), lat, kappa=kappa, return_certificate=True)
           for m in ms]
    idx = np.array([c.index for _, c in out])
    gaps = np.array([c.gap for _, c in out])
    jumps = np.flatnonzero(np.diff(idx))
    assert idx[0] == -1 and idx[-1] == 0 and len(jumps) == 1
    j = jumps[0]
    assert 1.6 < ms[j] < 2.4
    assert gaps[j] + gaps[j + 1] <= (ms[j + 1] - ms[j]) + 1e-12
    assert min(gaps[j], gaps[j + 1]) < 0.2 * min(gaps[0], gaps[-1])


def test_gap_closes_at_ssh_transition():
    """Periodic SSH chain, L = 40, v from 0.5 to 1.5 at w = 1, fixed kappa: the winding drops from 1 to
    0 once near v = w, with gap(v_a) + gap(v_b) <= v_b - v_a (dH/dv has norm 1)."""
    lat = lattice.chain(40, pbc=True)
    kappa = lz.winding_number(ssh((0.5, 1.0), (0, 1), 40, True)[0], lat, return_certificate=True)[1].kappa
    vs = np.round(np.arange(0.5, 1.5001, 0.05), 10)
    out = [lz.winding_number(ssh((float(v), 1.0), (0, 1), 40, True)[0], lat, kappa=kappa, return_certificate=True)
           for v in vs]
    idx = np.array([c.index for _, c in out])
    gaps = np.array([c.gap for _, c in out])
    jumps = np.flatnonzero(np.diff(idx))
    assert idx[0] == 1 and idx[-1] == 0 and len(jumps) == 1
    j = jumps[0]
    assert 0.8 < vs[j] < 1.2
    assert gaps[j] + gaps[j + 1] <= (vs[j + 1] - vs[j]) + 1e-12
    assert min(gaps[j], gaps[j + 1]) < 0.2 * min(gaps[0], gaps[-1])


def test_perturbation_below_gap_keeps_the_index():
    """The certificate's promise: any Hermitian (2D) or chiral (1D) dH with ||dH|| < gap leaves the index
    unchanged (same kappa and point). Random dH scaled to 0.95 gap, in several draws."""
    rng = np.random.default_rng(0)
    H, lat = qwz(-1.8, 10, True)  # a small localizer gap: the test has teeth
    c, cert = lz.chern_number(H, lat, return_certificate=True)
    n = H.shape[0]
    for _ in range(3):
        X = rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))
        dH = X + X.conj().T
        dH *= 0.95 * cert.gap / np.linalg.norm(dH, 2)
        assert lz.chern_number(H + dH, lat, kappa=cert.kappa) == c
    H, lat = ssh((0.8, 1.0), (0, 1), 30, False)
    w, cert = lz.winding_number(H, lat, return_certificate=True)
    sub = lat.sublattice
    for _ in range(3):
        A = rng.standard_normal((30, 30))
        dH = np.zeros_like(H)
        dH[np.ix_(sub == 0, sub == 1)] = A
        dH[np.ix_(sub == 1, sub == 0)] = A.T
        dH *= 0.95 * cert.gap / np.linalg.norm(dH, 2)
        assert lz.winding_number(H + dH, lat, kappa=cert.kappa) == w


def test_certificate_fields_and_nan_reasons():
    """Fields are plain Python values; the default point is the centre; a closed localizer gap and a
    gapless H give NaN with their reason codes (never an integer)."""
    H, lat = qwz(-1.0, 8, False)
    c, cert = lz.chern_number(H, lat, return_certificate=True)
    assert isinstance(c, float) and isinstance(cert.index, int) and isinstance(cert.gap, float)
    assert cert.point == (3.5, 3.5) and cert.radius == pytest.approx(4.0) and cert.energy == 0.0
    assert cert.kappa == pytest.approx(2 * cert.h_gap / cert.radius)  # open sample: kappa = 2 g / rho
    assert cert.kappa_lsb < cert.kappa and not cert.hypotheses  # the rigorous kappa does not fit 8 x 8
    # H = 0 and the point on a site: L has the exact eigenvalue 0.
    Z = np.zeros_like(H)
    v, cz = lz.chern_number(Z, lat, kappa=0.5, point=(3.0, 3.0), return_certificate=True)
    assert np.isnan(v) and not cz.ok and cz.reason == "gap_closed" and cz.gap == 0.0
    v, cz = lz.chern_number(Z, lat, return_certificate=True)
    assert np.isnan(v) and cz.reason == "h_gapless" and cz.index is None
    # A point off the centre, still in the bulk, gives the same index.
    assert lz.chern_number(H, lat, point=(2.5, 4.2)) == c == 1.0
    assert set(lz.REASONS) >= {"gap_closed", "h_gapless", "gap_not_computed", "ldl_unstable", "no_sparse_solver"}


# ------------------------------------------------------------------ dense and sparse routes
@needs_qdldl
def test_dense_and_sparse_routes_agree():
    """Same kappa, same index; the gap of the sparse route (shift-invert Lanczos on the LDL^T factors) is
    the dense one; the factorization's backward-error bound is below half the gap."""
    samples = [
        (lz.chern_number, *qwz(-1.0, 12, False)),
        (lz.chern_number, *qwz(1.5, 12, True)),
        (lz.chern_number, *qwz(-1.0, 16, False, 2.0, 0)),
        (lz.chern_number, *haldane(np.pi / 2, 0.1, 10, True)),
        (lz.winding_number, *ssh((0.3, 0.2, 1.0), (0, 1, 2), 40, False)),
        (lz.winding_number, *kitaev_chain(0.5, 1.0, 0.8, 40, True)),
    ]
    for f, H, lat in samples:
        vd, cd = f(H, lat, return_certificate=True)
        vs, cs = f(sp.csr_matrix(H), lat, return_certificate=True)
        assert cd.method == "eigvalsh" and cs.method == "ldl" and cs.note is None
        assert vd == vs and cd.kappa == pytest.approx(cs.kappa, rel=1e-6)
        assert cs.gap == pytest.approx(cd.gap, rel=1e-6)
        assert cs.factor_error < 0.5 * cs.gap
        assert cs.norm >= cd.norm * (1 - 1e-12)  # the sparse norm is an upper bound
        # method= overrides the default of the input type
        assert f(H, lat, method="ldl", kappa=cd.kappa) == vd


@needs_qdldl
def test_ldl_backward_error_bound_holds_and_does_not_grow_with_chain_length():
    """The certificate's factor_error bounds the true backward error of the factors (residual of
    P (I + L) D (I + L)^T P^T against the matrix, in extended precision) on a disordered chain and a
    disordered QWZ sample (real embedding); on chains it no longer grows with N (bidiagonal factor)."""
    import qdldl

    def residual(S):
        Lf, d, p = qdldl.Solver(S).factors()
        Lx = Lf.toarray().astype(np.longdouble) + np.eye(S.shape[0], dtype=np.longdouble)
        R = (Lx * d.astype(np.longdouble)) @ Lx.T - S.toarray().astype(np.longdouble)[np.ix_(p, p)]
        return float(np.max(np.sum(np.abs(R), axis=1)))

    H, lat = ssh((1.0, 1.5), (0, 1), 150, False, 2.0, 3)
    w, cert = lz.winding_number(sp.csr_matrix(H), lat, return_certificate=True)
    assert cert.method == "ldl" and w == 1.0
    S = lz.localizer_matrix(sp.csr_matrix(H), lat, cert.kappa).tocsc()
    S.eliminate_zeros()
    assert 0 < residual(S) <= cert.factor_error
    H, lat = qwz(-1.0, 6, False, 1.0, 2)
    c, cert = lz.chern_number(sp.csr_matrix(H), lat, return_certificate=True)
    assert cert.method == "ldl" and c == 1.0
    Lc = lz.localizer_matrix(sp.csr_matrix(H), lat, cert.kappa)
    S = sp.bmat([[Lc.real, -Lc.imag], [Lc.imag, Lc.real]], format="csc")
    S.eliminate_zeros()
    assert 0 < residual(S) <= cert.factor_error
    errs = [lz.winding_number(sp.csr_matrix(ssh((0.5, 1.0), (0, 1), L, False)[0]), ssh((0.5, 1.0), (0, 1), L, False)[1],
                              return_certificate=True)[1].factor_error for L in (250, 2000)]
    assert errs[1] < 2.0 * errs[0], errs  # with Higham's n in place of the row count: 8x


def test_sparse_route_falls_back_to_dense(monkeypatch):
    """Without qdldl, or when the factorization is rejected (here: a pivot threshold no factorization
    meets), the sparse input takes the dense route with a LocalizerWarning and says so in the note."""
    H, lat = qwz(-1.0, 8, False)
    monkeypatch.setattr(lz, "qdldl", None)
    with pytest.warns(lz.LocalizerWarning, match="qdldl is not installed"):
        v, cert = lz.chern_number(sp.csr_matrix(H), lat, return_certificate=True)
    assert v == 1.0 and cert.method == "eigvalsh" and "qdldl" in cert.note
    if HAS_QDLDL:
        monkeypatch.undo()
        monkeypatch.setattr(lz, "PIVOT_RTOL", 10.0)
        with pytest.warns(lz.LocalizerWarning, match="rejected"):
            v, cert = lz.chern_number(sp.csr_matrix(H), lat, return_certificate=True)
        assert v == 1.0 and cert.method == "eigvalsh" and "rejected" in cert.note


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_naming_the_argument():
    H, lat = qwz(-1.0, 6, False)
    Hc, chain = ssh((0.5, 1.0), (0, 1), 10, False)
    for k in (0.0, -1.0, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match="`kappa`"):
            lz.chern_number(H, lat, kappa=k)
    with pytest.raises(ValueError, match="`kappa`"):
        lz.winding_number(Hc, chain, kappa=-0.1)
    for p in ((-1.0, 2.0), (2.0, 5.6), (100.0, 100.0), (1.0,), (np.nan, 1.0)):
        with pytest.raises(ValueError, match="`point`"):
            lz.chern_number(H, lat, point=p)
    with pytest.raises(ValueError, match="`point`"):
        lz.winding_number(Hc, chain, point=9.6)
    with pytest.raises(ValueError, match="`H`.*shape"):
        lz.chern_number(H[:, :-1], lat)
    with pytest.raises(ValueError, match="`H`.*shape"):
        lz.chern_number(H[:-2, :-2], lat)
    with pytest.raises(ValueError, match="`H`.*shape"):
        lz.chern_number(sp.csr_matrix(H[:, :-1]), lat)
    bad = np.array(H, dtype=complex)
    bad[0, 1] += 1e-3
    with pytest.raises(ValueError, match="`H`.*Hermitian"):
        lz.chern_number(bad, lat)
    with pytest.raises(ValueError, match="`H`.*Hermitian"):
        lz.chern_number(sp.csr_matrix(bad), lat)
    # relative to ||H||: a tiny H with one asymmetric entry is refused too
    tiny = 1e-11 * np.array(H, dtype=complex)
    tiny[0, 1] += 1e-13
    with pytest.raises(ValueError, match="`H`.*Hermitian"):
        lz.chern_number(tiny, lat)
    with pytest.raises(ValueError, match="`H`.*finite"):
        lz.chern_number(np.full_like(H, np.nan), lat)
    with pytest.raises(ValueError, match="`lat`"):
        lz.chern_number(Hc, chain)
    with pytest.raises(ValueError, match="`lat`"):
        lz.winding_number(H, lat)
    onsite = Hc + np.diag(np.linspace(0.1, 0.2, Hc.shape[0]))
    with pytest.raises(ValueError, match="`H`.*chiral"):
        lz.winding_number(onsite, chain)
    with pytest.raises(ValueError, match="`energy`"):
        lz.chern_number(H, lat, energy=float("nan"))
    with pytest.raises(ValueError, match="`method`"):
        lz.chern_number(H, lat, method="lu")
    with pytest.raises(ValueError, match="`H`.*concrete"):
        jax.jit(lambda h: lz.chern_number(h, lat))(jnp.asarray(H))


def test_rigorous_kappa_when_its_ball_fits():
    """Nearly dimerized chains have g ~ ||H|| and a small ||[X, A]||, so LSB's kappa_lsb =
    g^3 / (12 ||H|| ||[X, A]||) has a ball of radius 2 g / kappa_lsb inside a 60-cell chain: the rule is
    "lsb", the hypotheses hold, and the value is the k-space winding."""
    for t, w in (((0.05, 1.0), 1), ((1.0, 0.05), 0)):
        H, lat = ssh(t, (0, 1), 60, False)
        v, cert = lz.winding_number(H, lat, return_certificate=True)
        assert cert.kappa_rule == "lsb" and cert.hypotheses and v == w, cert
        assert cert.kappa == cert.kappa_lsb and 2 * cert.h_gap / cert.kappa <= cert.radius


def test_localizer_matrix_blocks():
    """localizer_matrix: Hermitian, the documented blocks, dense and sparse alike; the chain's is
    ordered A sites then B sites."""
    H, lat = qwz(-1.0, 4, False)
    L = lz.localizer_matrix(H, lat, 0.3, point=(1.5, 1.0), energy=0.2)
    n = H.shape[0]
    x, y = lat.positions[:, 0] - 1.5, lat.positions[:, 1] - 1.0
    assert np.allclose(L, L.conj().T, atol=0)
    assert np.allclose(L[:n, :n], H - 0.2 * np.eye(n)) and np.allclose(L[n:, n:], -(H - 0.2 * np.eye(n)))
    assert np.allclose(L[:n, n:], np.diag(0.3 * (x - 1j * y)))
    # dense H: assembled directly; sparse H: through scipy.sparse; the same entries, bit for bit
    assert np.array_equal(lz.localizer_matrix(sp.csr_matrix(H), lat, 0.3, point=(1.5, 1.0), energy=0.2).toarray(), L)
    Hc, chain = ssh((0.5, 1.0), (0, 1), 6, False)
    Lc = lz.localizer_matrix(Hc, chain, 0.1)
    assert np.array_equal(lz.localizer_matrix(sp.csr_matrix(Hc), chain, 0.1).toarray(), Lc)
    xs = np.arange(6) - 2.5
    assert np.allclose(Lc[:6, 6:], Hc[0::2, 1::2]) and np.allclose(np.diag(Lc), np.concatenate([0.1 * xs, -0.1 * xs]))
    with pytest.raises(ValueError, match="`energy`"):
        lz.localizer_matrix(Hc, chain, 0.1, energy=0.5)
