r"""Real-space builders of :mod:`tnn.hamiltonians` against docs/conventions.md and :mod:`tnn.kspace`.

The Bloch convention ``psi_k(R) = e^{i k.R} u_k`` gives, for a periodic sample and ``k`` on the
matching grid (``k . (L_i a_i) in 2 pi Z``),

    H(k)_{ab} = sum_{R'} H[(R, a), (R', b)] e^{i k.(R' - R)}        (R, R' Cartesian cell positions)

for every cell ``R``. We check this entry by entry against :func:`tnn.kspace.bloch_hamiltonian`
(a spectrum comparison alone cannot tell ``H(k)`` from ``H(-k)``), and the spectra as well. The
QWZ blocks, the SSH hoppings and the Haldane NNN chirality are also checked against matrices
written out by hand here.
"""

import collections
import functools
import itertools

import numpy as np
import jax
import jax.numpy as jnp
import pytest

from tnn import hamiltonians, kspace, lattice

SQRT3 = np.sqrt(3.0)
HALDANE = dict(t1=1.0, t2=0.3, phi=0.7, M=0.4)

# ------------------------------------------------------------------ shared jitted builders
# One jitted function per model, shared by all tests so each geometry compiles once. The counters
# are Python side effects: they run only while JAX traces, i.e. once per compilation.
TRACES = collections.Counter()


@functools.partial(jax.jit, static_argnames=("lat", "ranges"))
def ssh_jit(t, wb, wo, key, lat, ranges):
    TRACES["ssh", lat, ranges] += 1
    return hamiltonians.ssh(t, lat, ranges, bond_disorder=wb, onsite_disorder=wo, key=key)


@functools.partial(jax.jit, static_argnames=("lat",))
def qwz_jit(m, w, key, lat):
    TRACES["qwz", lat] += 1
    return hamiltonians.qwz(m, lat, onsite_disorder=w, key=key)


@functools.partial(jax.jit, static_argnames=("lat",))
def haldane_jit(t1, t2, phi, M, w, key, lat):
    TRACES["haldane", lat] += 1
    return hamiltonians.haldane(t1, t2, phi, M, lat, onsite_disorder=w, key=key)


def build(model, lat, params=None, w=0.0, key=None, ranges=(0, 1), wb=0.0):
    """Eager (unjitted) builder call, ``params`` keyed as in kspace."""
    if model == "ssh":
        return hamiltonians.ssh(params["t"], lat, ranges, bond_disorder=wb, onsite_disorder=w, key=key)
    if model == "qwz":
        return hamiltonians.qwz(params["m"], lat, onsite_disorder=w, key=key)
    return hamiltonians.haldane(**params, lat=lat, onsite_disorder=w, key=key)


def k_grid(model, lat):
    """The allowed momenta ``(n_k, d)`` of a periodic sample."""
    b = kspace.reciprocal_vectors(model)
    fr = np.stack(np.meshgrid(*[np.arange(n) / n for n in lat.dims], indexing="ij"), -1).reshape(-1, lat.ndim)
    return fr @ b


def plane_wave_blocks(H, lat, k):
    """``H_R(k)_{ab} = sum_{R'} H[(R,a),(R',b)] e^{i k.(R'-R)}`` for every cell ``R``: ``(n_cells, 2, 2)``."""
    Hb = np.asarray(H).reshape(lat.n_cells, 2, lat.n_cells, 2)
    R = lat.cell_coords @ lat.bravais
    ph = np.exp(1j * R @ np.atleast_1d(k))
    return np.einsum("rasb,r,s->rab", Hb, ph.conj(), ph)


CASES = [
    ("ssh", lattice.chain(7, pbc=True), {"t": np.array([0.6, 1.1])}, (0, 1)),
    ("ssh", lattice.chain(7, pbc=True), {"t": np.array([0.3, -0.5, 1.2])}, (0, 1, 2)),
    ("ssh", lattice.chain(7, pbc=True), {"t": np.array([0.4, 0.9])}, (0, -1)),
    ("ssh", lattice.chain(9, pbc=True), {"t": np.array([0.2, 0.7, -0.4])}, (-1, 3, 0)),
    ("qwz", lattice.square(4, 5, pbc=True), {"m": -1.3}, None),
    ("haldane", lattice.honeycomb(4, 3, pbc=True), HALDANE, None),
    ("haldane", lattice.honeycomb(3, 4, pbc=True), dict(t1=0.8, t2=-0.25, phi=-2.0, M=-0.3), None),
]
CASE_IDS = [f"{c[0]}-{c[1].dims}-{c[3]}" for c in CASES]


def _bloch(model, params, k, ranges):
    kk = k[0] if model == "ssh" else k
    return np.asarray(kspace.bloch_hamiltonian(model, params, kk, ranges=ranges or (0, 1)))


@pytest.mark.parametrize("model, lat, params, ranges", CASES, ids=CASE_IDS)
def test_plane_wave_projection_equals_bloch_matrix(model, lat, params, ranges):
    H = build(model, lat, params, ranges=ranges)
    ks = k_grid(model, lat)
    n_odd = 0
    for k in ks:
        got = plane_wave_blocks(H, lat, k)
        want = _bloch(model, params, k, ranges)
        np.testing.assert_allclose(got, np.broadcast_to(want, got.shape), atol=1e-12)
        n_odd += np.max(np.abs(want - _bloch(model, params, -k, ranges))) > 1e-3
    # Most k on the grid have H(k) != H(-k), so the projection really fixes the sign convention.
    assert n_odd >= len(ks) // 2


@pytest.mark.parametrize("model, lat, params, ranges", CASES, ids=CASE_IDS)
def test_periodic_spectrum_equals_bloch_spectrum(model, lat, params, ranges):
    H = build(model, lat, params, ranges=ranges)
    E = np.linalg.eigvalsh(np.asarray(H))
    Ek = np.concatenate([np.linalg.eigvalsh(_bloch(model, params, k, ranges)) for k in k_grid(model, lat)])
    np.testing.assert_allclose(E, np.sort(Ek), atol=1e-12)


# ------------------------------------------------------------------ matrices written out by hand
@pytest.mark.parametrize("pbc", [False, True])
@pytest.mark.parametrize("ranges, t", [((0, 1), (0.5, 1.5)), ((0, 1, 2), (0.3, -0.5, 1.2)), ((0, -1), (0.4, 0.9))])
def test_ssh_matrix_by_hand(ranges, t, pbc):
    L = 6
    lat = lattice.chain(L, pbc=pbc)
    want = np.zeros((2 * L, 2 * L))
    for n in range(L):
        for ti, r in zip(t, ranges):
            m = n + r
            if pbc:
                m %= L
            elif not 0 <= m < L:
                continue
            want[2 * m, 2 * n + 1] += ti  # c^dag_{A, n+r} c_{B, n}
            want[2 * n + 1, 2 * m] += ti
    np.testing.assert_array_equal(np.asarray(hamiltonians.ssh(jnp.asarray(t), lat, ranges)), want)


@pytest.mark.parametrize("pbc", [False, True])
def test_qwz_blocks_by_hand(pbc):
    lx, ly, m = 3, 4, 0.7
    lat = lattice.square(lx, ly, pbc=pbc)
    H = np.asarray(hamiltonians.qwz(m, lat))
    sx = np.array([[0, 1], [1, 0]])
    sy = np.array([[0, -1j], [1j, 0]])
    sz = np.diag([1.0, -1.0])
    tx, ty = (sz + 1j * sx) / 2, (sz + 1j * sy) / 2

    def cell(x, y):
        return slice(2 * (x * ly + y), 2 * (x * ly + y) + 2)

    want = np.zeros_like(H)
    for x, y in itertools.product(range(lx), range(ly)):
        want[cell(x, y), cell(x, y)] += m * sz
        for (dx, dy), T in (((1, 0), tx), ((0, 1), ty)):
            xx, yy = x + dx, y + dy
            if pbc:
                xx, yy = xx % lx, yy % ly
            elif xx >= lx or yy >= ly:
                continue
            want[cell(xx, yy), cell(x, y)] += T  # H[r + d, r] = T_d
            want[cell(x, y), cell(xx, yy)] += T.conj().T
    np.testing.assert_allclose(H, want, atol=1e-15)
    # and the two blocks docs/conventions.md names, read directly from the matrix
    np.testing.assert_allclose(H[cell(1, 2), cell(0, 2)], tx, atol=1e-15)
    np.testing.assert_allclose(H[cell(1, 3), cell(1, 2)], ty, atol=1e-15)


# nu for the NNN hop j = (R, s) -> i = (R + off, s), worked out on paper from docs/conventions.md:
# A (0,0) -> A + a1 = (1,0) through B (1/2, sqrt3/6): u = (1/2, sqrt3/6), v = (1/2, -sqrt3/6),
# (u x v)_z = -sqrt3/6 < 0: a right turn, nu = -1. Likewise a2 - a1 and -a2 (the 120-degree
# rotations of a1) give -1 for A; the opposite offsets and the B sublattice flip the sign.
NU_A = {(1, 0): -1, (-1, 1): -1, (0, -1): -1, (-1, 0): +1, (1, -1): +1, (0, 1): +1}


def test_haldane_nnn_chirality_by_hand():
    lx, ly = 4, 3
    lat = lattice.honeycomb(lx, ly, pbc=True)
    phi, t2 = 0.9, 0.35
    H = np.asarray(hamiltonians.haldane(0.0, t2, phi, 0.0, lat))
    for (dx, dy), nu in NU_A.items():
        for x, y in itertools.product(range(lx), range(ly)):
            for s, sign in ((0, 1), (1, -1)):  # nu flips between A and B for the same offset
                j = 2 * (x * ly + y) + s
                i = 2 * (((x + dx) % lx) * ly + (y + dy) % ly) + s
                np.testing.assert_allclose(H[i, j], t2 * np.exp(1j * sign * nu * phi), atol=1e-15)
    # the library's own table agrees, and the three 120-degree-rotated hops of A sum to 3 e^{-i phi}
    table = hamiltonians.haldane_nnn_chirality()
    for (dx, dy), nu in NU_A.items():
        assert table[(dx, dy, 0)] == nu and table[(dx, dy, 1)] == -nu
    iA = 2 * (1 * ly + 1)
    hops = [H[2 * (((1 + dx) % lx) * ly + (1 + dy) % ly), iA] for dx, dy in ((1, 0), (-1, 1), (0, -1))]
    np.testing.assert_allclose(sum(hops), 3 * t2 * np.exp(-1j * phi), atol=1e-14)


def test_haldane_nearest_neighbours_and_mass_by_hand():
    lat = lattice.honeycomb(4, 4, pbc=True)
    t1, M = 0.8, 0.25
    H = np.asarray(hamiltonians.haldane(t1, 0.0, 0.3, M, lat))
    np.testing.assert_allclose(np.diag(H), np.where(lat.sublattice == 0, M, -M))
    offdiag = H - np.diag(np.diag(H))
    adj = np.zeros_like(offdiag)
    b = lat.bonds
    adj[b[:, 0], b[:, 1]] = adj[b[:, 1], b[:, 0]] = t1
    np.testing.assert_allclose(offdiag, adj, atol=1e-15)


# ------------------------------------------------------------------ symmetries
DISORDERED = [
    ("ssh", lattice.chain(8), {"t": np.array([0.5, 1.0])}, dict(wb=0.7, w=0.4)),
    ("ssh", lattice.chain(8, pbc=True), {"t": np.array([0.5, 1.0, 0.3])}, dict(wb=0.7, w=0.4, ranges=(0, 1, -2))),
    ("qwz", lattice.square(4, 3), {"m": 1.2}, dict(w=1.5)),
    ("qwz", lattice.square(3, 4, pbc=True), {"m": -0.5}, dict(w=1.5)),
    ("haldane", lattice.honeycomb(3, 4), HALDANE, dict(w=2.0)),
    ("haldane", lattice.honeycomb(4, 3, pbc=True), HALDANE, dict(w=2.0)),
]


@pytest.mark.parametrize("disordered", [False, True])
@pytest.mark.parametrize("model, lat, params, kw", DISORDERED, ids=[f"{c[0]}-{c[1].pbc}" for c in DISORDERED])
def test_hermitian(model, lat, params, kw, disordered):
    kw = dict(kw) if disordered else {"ranges": kw.get("ranges", (0, 1))}
    key = jax.random.key(3) if disordered else None
    H = np.asarray(build(model, lat, params, key=key, **kw))
    assert H.shape == (lat.n_sites, lat.n_sites)
    np.testing.assert_allclose(H, H.conj().T, atol=1e-15)
    if model != "ssh":
        assert np.iscomplexobj(H) and np.abs(H.imag).max() > 0.1


@pytest.mark.parametrize("ranges, t", [((0, 1), (0.5, 1.5)), ((0, 1, 2), (0.3, -0.5, 1.2)), ((0, -1), (1.0, 0.2))])
@pytest.mark.parametrize("pbc", [False, True])
def test_chiral_symmetry_with_bond_disorder_broken_by_onsite(ranges, t, pbc):
    lat = lattice.chain(10, pbc=pbc)
    gamma = hamiltonians.chiral_operator(lat)
    np.testing.assert_array_equal(gamma, np.tile([1.0, -1.0], 10))
    key = jax.random.key(11)
    H = np.asarray(hamiltonians.ssh(jnp.asarray(t), lat, ranges, bond_disorder=1.0, key=key))
    np.testing.assert_array_equal(gamma[:, None] * H * gamma[None, :], -H)
    H2 = np.asarray(hamiltonians.ssh(jnp.asarray(t), lat, ranges, bond_disorder=1.0, onsite_disorder=0.5, key=key))
    assert np.abs(gamma[:, None] * H2 * gamma[None, :] + H2).max() > 0.05
    # the onsite noise does not reshuffle the bond noise: H2 - H is purely diagonal
    np.testing.assert_array_equal(H2 - np.diag(np.diag(H2)), H)


# ------------------------------------------------------------------ jit, vmap, keys, disorder
# The geometries the jitted builders are compiled for (shared by several tests).
JIT_CHAIN, JIT_SQUARE, JIT_HONEY = lattice.chain(8, pbc=True), lattice.square(3, 4), lattice.honeycomb(3, 3, pbc=True)


def test_jit_compiles_once_across_parameter_values():
    lat_c, lat_s, lat_h = JIT_CHAIN, JIT_SQUARE, JIT_HONEY
    ranges = (0, 1, 2)
    outs, counts = [], []
    for i, seed in enumerate([0, 1, 2]):
        key = jax.random.key(seed)
        outs.append(ssh_jit(jnp.array([0.5 + i, 1.0, -0.2 * i]), 0.1 * i, 0.3 * i, key, lat=lat_c, ranges=ranges))
        outs.append(qwz_jit(jnp.float64(-1.0 + i), 0.5 * i, key, lat=lat_s))
        outs.append(haldane_jit(1.0, 0.1 * i, 0.5 + i, 0.2 * i, 1.0 * i, key, lat=lat_h))
        counts.append((TRACES["ssh", lat_c, ranges], TRACES["qwz", lat_s], TRACES["haldane", lat_h]))
    # traced at most once (at i = 0, unless an earlier test already compiled this signature), never again
    assert counts[0] == counts[1] == counts[2]
    assert all(c >= 1 for c in counts[0])
    # an equal lattice built anew reuses the compilation
    qwz_jit(jnp.float64(0.3), 0.1, jax.random.key(9), lat=lattice.square(3, 4))
    assert TRACES["qwz", lat_s] == counts[0][1]
    # and the jitted builders agree with the eager ones (the disorder-free call has no key)
    np.testing.assert_allclose(outs[4], hamiltonians.qwz(-1.0 + 1, lat_s, 0.5, jax.random.key(1)), atol=1e-15)
    np.testing.assert_allclose(outs[2], hamiltonians.haldane(1.0, 0.0, 0.5, 0.0, lat_h), atol=1e-15)


def test_jit_with_default_arguments_and_constant_checks():
    """Defaults (no disorder, no key) work under jit, and constants are still checked there."""
    lat = JIT_HONEY
    H = jax.jit(hamiltonians.haldane, static_argnames="lat")(1.0, 0.2, 0.3, 0.1, lat=lat)
    np.testing.assert_allclose(H, hamiltonians.haldane(1.0, 0.2, 0.3, 0.1, lat), atol=1e-15)
    H = jax.jit(lambda t: hamiltonians.ssh(t, JIT_CHAIN, (0, 1), 0.0, 0.0))(jnp.array([0.5, 1.0]))
    np.testing.assert_array_equal(H, hamiltonians.ssh([0.5, 1.0], JIT_CHAIN))
    with pytest.raises(ValueError, match="`bond_disorder`"):
        jax.jit(lambda t: hamiltonians.ssh(t, JIT_CHAIN, bond_disorder=-1.0, key=jax.random.key(0)))(jnp.ones(2))
    with pytest.raises(ValueError, match="`m`"):
        jax.jit(lambda w: hamiltonians.qwz(np.nan, JIT_SQUARE, w, jax.random.key(0)))(0.5)


def test_vmap_over_parameters_and_keys_matches_loop():
    lat_c, lat_s, lat_h = JIT_CHAIN, JIT_SQUARE, JIT_HONEY
    keys = jax.random.split(jax.random.key(5), 4)
    ts = jnp.stack([jnp.linspace(0.1, 1.0, 4), jnp.linspace(1.5, 0.5, 4)], axis=1)
    ws = jnp.array([0.0, 0.5, 1.0, 2.0])
    ms = jnp.array([-2.5, -1.0, 0.5, 3.0])
    phis = jnp.array([-1.0, 0.0, 0.5, 2.0])
    Hs = jax.vmap(lambda t, w, k: ssh_jit(t, w, w / 2, k, lat=lat_c, ranges=(0, 1)))(ts, ws, keys)
    Qs = jax.vmap(lambda m, w, k: qwz_jit(m, w, k, lat=lat_s))(ms, ws, keys)
    Ds = jax.vmap(lambda p, w, k: haldane_jit(1.0, 0.2, p, 0.1, w, k, lat=lat_h))(phis, ws, keys)
    for i in range(4):
        want = ssh_jit(ts[i], ws[i], ws[i] / 2, keys[i], lat=lat_c, ranges=(0, 1))
        np.testing.assert_allclose(Hs[i], want, atol=1e-15)
        np.testing.assert_allclose(Qs[i], qwz_jit(ms[i], ws[i], keys[i], lat=lat_s), atol=1e-15)
        np.testing.assert_allclose(Ds[i], haldane_jit(1.0, 0.2, phis[i], 0.1, ws[i], keys[i], lat=lat_h), atol=1e-15)
    # old-style uint32 keys are accepted too
    old = jax.random.PRNGKey(0)
    np.testing.assert_allclose(
        jax.vmap(lambda k: qwz_jit(0.1, 1.0, k, lat=lat_s))(jnp.stack([old, old]))[1],
        hamiltonians.qwz(0.1, lat_s, 1.0, old),
        atol=1e-15,
    )


@pytest.mark.parametrize("model", ["ssh", "qwz", "haldane"])
def test_same_key_same_disorder_different_key_different(model):
    lat = {"ssh": lattice.chain(8), "qwz": lattice.square(3, 3), "haldane": lattice.honeycomb(3, 3)}[model]
    params = {"ssh": {"t": np.array([0.5, 1.0])}, "qwz": {"m": 1.0}, "haldane": HALDANE}[model]
    kw = dict(wb=1.0) if model == "ssh" else {}
    a = np.asarray(build(model, lat, params, w=1.0, key=jax.random.key(0), **kw))
    b = np.asarray(build(model, lat, params, w=1.0, key=jax.random.key(0), **kw))
    c = np.asarray(build(model, lat, params, w=1.0, key=jax.random.key(1), **kw))
    clean = np.asarray(build(model, lat, params))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).min() < np.abs(a - c).max() and np.abs(np.diag(a - c)).min() > 0
    # the noise is confined to the diagonal (and, for SSH bond disorder, to the bonds)
    support = np.abs(clean) > 0
    np.fill_diagonal(support, True)
    assert np.all((a != clean) <= support)
    # a key with zero strengths draws noise of width 0: the clean matrix
    np.testing.assert_array_equal(build(model, lat, params, w=0.0, key=jax.random.key(0)), clean)


def test_disorder_statistics():
    """Uniform [-W/2, W/2]: mean 0, variance W^2/12; checked at 6 sigma on ~10^4 draws."""
    Wb, Wo = 1.6, 2.4
    lat = lattice.chain(4000, pbc=True)
    tm = hamiltonians.terms(
        "ssh", {"t": jnp.array([0.0, 0.0])}, lat, bond_disorder=Wb, onsite_disorder=Wo, key=jax.random.key(7)
    )
    bonds = np.concatenate([np.asarray(v) for v in tm.vals])
    onsite = np.asarray(tm.diag)
    lat2 = lattice.square(60, 60)
    anderson = np.asarray(jnp.real(hamiltonians.qwz_terms(0.0, lat2, Wo, jax.random.key(8)).diag))
    for x, W in ((bonds, Wb), (onsite, Wo), (anderson, Wo)):
        n = len(x)
        assert n >= 7000
        assert np.all(np.abs(x) <= W / 2) and np.abs(x).max() > 0.49 * W
        assert abs(x.mean()) < 6 * W / np.sqrt(12 * n)
        # Var of the sample variance of U(-W/2, W/2) is (W^4/180)/n.
        assert abs(x.var() - W**2 / 12) < 6 * W**2 / np.sqrt(180 * n)
        hist, _ = np.histogram(x, bins=8, range=(-W / 2, W / 2))
        assert hist.min() > 0.8 * n / 8 and hist.max() < 1.2 * n / 8
    # independent draws: bond and onsite noise uncorrelated
    assert abs(np.corrcoef(bonds[:4000], onsite[:4000])[0, 1]) < 6 / np.sqrt(4000)


def test_float64_end_to_end():
    key = jax.random.key(0)
    H = ssh_jit(jnp.array([0.5, 1.0]), 0.3, 0.2, key, lat=lattice.chain(5), ranges=(0, 1))
    Q = qwz_jit(jnp.float64(1.0), 0.3, key, lat=lattice.square(3, 3))
    D = haldane_jit(1.0, 0.2, 0.3, 0.1, 0.3, key, lat=lattice.honeycomb(3, 3))
    assert H.dtype == jnp.float64
    assert Q.dtype == D.dtype == jnp.complex128
    for M in (hamiltonians.ssh([0.5, 1.0], lattice.chain(5)), hamiltonians.qwz(1, lattice.square(3, 3))):
        assert M.dtype in (jnp.float64, jnp.complex128)
    # a value needing float64 survives (1 + 1e-12 is 1 in float32)
    H = hamiltonians.ssh(jnp.array([1.0 + 1e-12, 1.0]), lattice.chain(4))
    assert float(H[0, 1]) - 1.0 == pytest.approx(1e-12, rel=1e-3)
    D = hamiltonians.haldane(1.0, 1.0, 1e-12, 0.0, lattice.honeycomb(3, 3, pbc=True))
    assert abs(float(jnp.max(jnp.abs(D.imag)))) == pytest.approx(1e-12, rel=1e-3)


def test_builders_clean_under_strict_promotion():
    """No implicit dtype or rank promotion inside the builders (STYLE.md, strict JAX)."""
    key = jax.random.key(0)
    with jax.numpy_dtype_promotion("strict"), jax.numpy_rank_promotion("raise"):

        @jax.jit
        def all_models(t, m, phi, w, key):
            return (
                hamiltonians.ssh(t, JIT_CHAIN, (0, 1), w, w, key),
                hamiltonians.qwz(m, JIT_SQUARE, w, key),
                hamiltonians.haldane(1.0, 0.2, phi, 0.1, JIT_HONEY, w, key),
                hamiltonians.sparse("qwz", {"m": m}, JIT_SQUARE, onsite_disorder=w, key=key).data,
            )

        out = all_models(jnp.array([0.5, 1.0]), jnp.float64(0.5), jnp.float64(0.3), jnp.float64(0.5), key)
    assert [o.dtype for o in out] == [jnp.float64, jnp.complex128, jnp.complex128, jnp.complex128]


def test_derivatives_match_finite_differences():
    lat = JIT_HONEY
    H = jax.jit(lambda p: hamiltonians.haldane(p[0], p[1], p[2], p[3], lat))
    p = jnp.array([1.0, 0.3, 0.7, 0.4])
    J = jax.jit(jax.jacfwd(H))(p)  # (N, N, 4) complex
    eps = 1e-6
    for i in range(4):
        d = jnp.zeros(4).at[i].set(eps)
        np.testing.assert_allclose(J[..., i], (H(p + d) - H(p - d)) / (2 * eps), atol=1e-8)
    # SSH is linear in t: dH/dt_i is the adjacency of range r_i
    lat = JIT_CHAIN
    J = jax.jacfwd(lambda t: hamiltonians.ssh(t, lat, (0, 2)))(jnp.array([0.3, 0.7]))
    np.testing.assert_array_equal(J[..., 1], hamiltonians.ssh(jnp.array([0.0, 1.0]), lat, (0, 2)))


# ------------------------------------------------------------------ sparse builder
@pytest.mark.parametrize(
    "model, lat, params, kw",
    [
        (
            "ssh",
            lattice.chain(7, pbc=True),
            {"t": jnp.array([0.5, 1.0, 0.2])},
            dict(ranges=(0, 1, -1), bond_disorder=0.5, onsite_disorder=0.5),
        ),
        ("qwz", lattice.square(4, 3), {"m": 0.5}, dict(onsite_disorder=1.0)),
        ("haldane", lattice.honeycomb(3, 4, pbc=True), HALDANE, dict(onsite_disorder=1.0)),
    ],
)
def test_sparse_builder_matches_dense(model, lat, params, kw):
    key = jax.random.key(4)
    w, wb, ranges = kw.get("onsite_disorder", 0.0), kw.get("bond_disorder", 0.0), kw.get("ranges", (0, 1))
    dense = build(model, lat, params, w=w, wb=wb, key=key, ranges=ranges)
    S = hamiltonians.sparse(model, params, lat, key=key, **kw)
    assert S.shape == dense.shape and S.dtype == dense.dtype
    np.testing.assert_allclose(S.todense(), dense, atol=1e-15)
    v = jax.random.normal(jax.random.key(1), (lat.n_sites,)).astype(S.dtype)
    np.testing.assert_allclose(S @ v, dense @ v, atol=1e-13)
    # jittable with the lattice static, values traced
    f = jax.jit(lambda p, k: hamiltonians.sparse(model, p, lat, key=k, **kw).todense())
    np.testing.assert_allclose(f(params, key), dense, atol=1e-15)


# ------------------------------------------------------------------ validation
CH = lattice.chain(6)
SQ = lattice.square(3, 3)
HC = lattice.honeycomb(3, 3)
K = jax.random.key(0)
NAN, INF = float("nan"), float("inf")


@pytest.mark.parametrize(
    "call, arg",
    [
        # hopping amplitudes vs ranges
        (lambda: hamiltonians.ssh([0.5, 1.0, 0.2], CH), "t"),
        (lambda: hamiltonians.ssh([0.5], CH, ranges=(0, 1)), "t"),
        (lambda: hamiltonians.ssh([[0.5, 1.0]], CH), "t"),
        (lambda: hamiltonians.ssh([0.5 + 1j, 1.0], CH), "t"),
        (lambda: hamiltonians.ssh("ab", CH), "t"),
        (lambda: hamiltonians.ssh(None, CH), "t"),
        # bad ranges
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=()), "ranges"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=(0, 0)), "ranges"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=(0, 1.0)), "ranges"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=(0, True)), "ranges"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=None), "ranges"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, ranges=1), "ranges"),
        # sizes too small for the ranges
        (lambda: hamiltonians.ssh([0.5, 1.0], lattice.chain(1)), "lat"),
        (lambda: hamiltonians.ssh([0.5, 1.0], lattice.chain(2, pbc=True)), "lat"),
        (lambda: hamiltonians.ssh([0.5, 1.0, 1.0], lattice.chain(2), ranges=(0, 1, 2)), "lat"),
        (lambda: hamiltonians.ssh([0.5, 1.0, 1.0], lattice.chain(4, pbc=True), ranges=(0, 1, -2)), "lat"),
        # negative or non-finite disorder
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, bond_disorder=-0.1, key=K), "bond_disorder"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, onsite_disorder=-1.0, key=K), "onsite_disorder"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, bond_disorder=INF, key=K), "bond_disorder"),
        (lambda: hamiltonians.qwz(1.0, SQ, onsite_disorder=-0.5, key=K), "onsite_disorder"),
        (lambda: hamiltonians.qwz(1.0, SQ, onsite_disorder=NAN, key=K), "onsite_disorder"),
        (lambda: hamiltonians.haldane(1.0, 0.1, 0.2, 0.0, HC, onsite_disorder=-2.0, key=K), "onsite_disorder"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, bond_disorder=[0.1, 0.2], key=K), "bond_disorder"),
        # non-finite parameters
        (lambda: hamiltonians.ssh([NAN, 1.0], CH), "t"),
        (lambda: hamiltonians.ssh([0.5, INF], CH), "t"),
        (lambda: hamiltonians.qwz(NAN, SQ), "m"),
        (lambda: hamiltonians.qwz(-INF, SQ), "m"),
        (lambda: hamiltonians.qwz([1.0, 2.0], SQ), "m"),
        (lambda: hamiltonians.haldane(NAN, 0.1, 0.2, 0.0, HC), "t1"),
        (lambda: hamiltonians.haldane(1.0, INF, 0.2, 0.0, HC), "t2"),
        (lambda: hamiltonians.haldane(1.0, 0.1, NAN, 0.0, HC), "phi"),
        (lambda: hamiltonians.haldane(1.0, 0.1, 0.2, -INF, HC), "M"),
        # wrong lattice kind / not a lattice
        (lambda: hamiltonians.ssh([0.5, 1.0], SQ), "lat"),
        (lambda: hamiltonians.qwz(1.0, HC), "lat"),
        (lambda: hamiltonians.qwz(1.0, CH), "lat"),
        (lambda: hamiltonians.haldane(1.0, 0.1, 0.2, 0.0, SQ), "lat"),
        (lambda: hamiltonians.haldane(1.0, 0.1, 0.2, 0.0, (3, 3)), "lat"),
        # a missing or malformed key when disorder is requested
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, bond_disorder=0.5), "key"),
        (lambda: hamiltonians.ssh([0.5, 1.0], CH, onsite_disorder=0.5), "key"),
        (lambda: hamiltonians.qwz(1.0, SQ, onsite_disorder=1.0), "key"),
        (lambda: hamiltonians.haldane(1.0, 0.1, 0.2, 0.0, HC, onsite_disorder=1.0), "key"),
        (lambda: hamiltonians.qwz(1.0, SQ, onsite_disorder=1.0, key=3), "key"),
        (lambda: hamiltonians.qwz(1.0, SQ, onsite_disorder=1.0, key=jax.random.split(K, 2)), "key"),
        # terms / sparse
        (lambda: hamiltonians.terms("kitaev2d", {"m": 1.0}, SQ), "model"),
        (lambda: hamiltonians.terms("qwz", {"mass": 1.0}, SQ), "params"),
        (lambda: hamiltonians.terms("haldane", {"t1": 1.0}, HC), "params"),
        (lambda: hamiltonians.sparse("qwz", [1.0], SQ), "params"),
        (lambda: hamiltonians.sparse("qwz", {"m": NAN}, SQ), "m"),
    ],
)
def test_validation_errors_name_the_argument(call, arg):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        call()


def test_traced_disorder_strength_needs_a_key():
    with pytest.raises(ValueError, match="`key`"):
        jax.jit(lambda w: hamiltonians.qwz(1.0, SQ, onsite_disorder=w))(0.0)
