r"""The fifth system, the BHZ model (tnn/systems/bhz.py), and what it proves about the registry.

* Builder: Hermitian, ``(4 lx ly)^2``; on a torus its plane-wave projection is the Bloch matrix entry
  by entry and its spectrum the union of the Bloch spectra on the torus's k grid; disorder keeps
  Hermiticity (and time reversal) and is reproducible from its key.
* k space: ``C_s = +1`` for ``0 < M/B < 4``, ``-1`` for ``4 < M/B < 8``, 0 outside, with and without
  spin mixing; NaN where ``P S_z P`` has no gap (strong mixing near ``M = 0``). The band gap and the spin
  gap are exact minima over the zone (a fine grid refined by Nelder-Mead agrees): 0 on the off-grid rings
  where mixing closes them (``m(k) = 0``, ``rho(k) = delta`` / ``< delta``), NaN there, and k space equals
  the Bott index on either side.
* Real space: the spin Chern number (marker on an open 12 x 12, Bott on a periodic 10 x 10) equals
  k space at M/B = 1, 2, 6, 9, -1 without and with spin mixing; without mixing each sector is the
  Chern number of its spin block on a two-orbital lattice.
* Exact labels' ``xi``: that of the full 4-band Fermi projector, finite with spin mixing (the decay of
  the infinite system's projector), continuous at zero mixing, growing toward the gap closings.
* Registry: a dataset preset whose labels equal k space, a demo panel, ValueErrors naming the
  argument, and no module outside tnn/systems/bhz.py and the registry line knows the name.
"""

import pickle
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tnn import data, hamiltonians, invariants, kspace, lattice, systems, validity
from tnn.data import exact
from tnn.systems import bhz

ROOT = Path(__file__).resolve().parents[1]
P = dict(A=1.0, B=1.0)


def test_builder_is_hermitian_and_equals_its_bloch_matrix_on_a_torus():
    lx, ly, d = 4, 3, 0.2
    lat = lattice.square(lx, ly, pbc=True, n_orb=4)
    H = np.asarray(hamiltonians.bhz(1.0, 1.0, 2.5, lat, spin_mixing=d))
    assert H.shape == (4 * lx * ly,) * 2 and lat.n_sites == 48
    np.testing.assert_allclose(H, H.conj().T, atol=0)
    p = {**P, "M": 2.5, "spin_mixing": d}
    ks = [(2 * np.pi * i / lx, 2 * np.pi * j / ly) for i in range(lx) for j in range(ly)]
    for k in ks[:3] + [(0.3, 1.1)]:  # H(k) = sum_d e^{ik.d} H[R, R + d] (docs/conventions.md)
        blk = sum(np.exp(1j * (k[0] * dx + k[1] * dy)) * H[0:4, lat.site_index(np.array([dx % lx, dy % ly]), 0):][:, :4]
                  for dx in (-1, 0, 1) for dy in (-1, 0, 1))
        np.testing.assert_allclose(np.asarray(kspace.bloch_hamiltonian("bhz", p, k)), blk, atol=1e-12)
    bands = np.concatenate([np.linalg.eigvalsh(np.asarray(bhz.bhz_bloch(1.0, 1.0, 2.5, k, d))) for k in ks])
    np.testing.assert_allclose(np.linalg.eigvalsh(H), np.sort(bands), atol=1e-12)
    # time reversal T = i s_y K: the down block is the partner of the up block (no mixing)
    H0 = np.asarray(bhz.bhz(1.0, 1.0, 2.5, lat))
    T = np.kron(np.eye(lat.n_cells), np.kron(np.array([[0, 1], [-1, 0]]), np.eye(2)))
    np.testing.assert_allclose(T @ H0.conj() @ T.T, H0, atol=1e-14)
    assert np.all(H0[np.ix_(lat.sublattice < 2, lat.sublattice >= 2)] == 0)


def test_disorder_is_hermitian_reproducible_and_needs_a_key():
    lat = lattice.square(3, 3, pbc=False, n_orb=4)
    k1, k2 = jax.random.key(1), jax.random.key(2)
    H1 = np.asarray(bhz.bhz(1.0, 1.0, 1.0, lat, spin_mixing=0.1, onsite_disorder=2.0, key=k1))
    np.testing.assert_allclose(H1, H1.conj().T, atol=0)
    np.testing.assert_array_equal(H1, np.asarray(bhz.bhz(1.0, 1.0, 1.0, lat, spin_mixing=0.1, onsite_disorder=2.0, key=k1)))
    H2 = np.asarray(bhz.bhz(1.0, 1.0, 1.0, lat, spin_mixing=0.1, onsite_disorder=2.0, key=k2))
    clean = np.asarray(bhz.bhz(1.0, 1.0, 1.0, lat, spin_mixing=0.1))
    assert np.abs(H1 - H2).max() > 0.1 and np.all(np.abs(np.diag(H1 - clean)) <= 1.0)
    np.testing.assert_array_equal(H1 - np.diag(np.diag(H1)), clean - np.diag(np.diag(clean)))
    with pytest.raises(ValueError, match="`key`"):
        bhz.bhz(1.0, 1.0, 1.0, lat, onsite_disorder=1.0)
    # traced parameters and keys under vmap; the sparse assembly has the same entries
    Hs = jax.vmap(lambda m, k: bhz.bhz(1.0, 1.0, m, lat, onsite_disorder=1.0, key=k))(jnp.array([1.0, 2.0]), jax.random.split(k1, 2))
    assert Hs.shape == (2, 36, 36)
    S = hamiltonians.sparse("bhz", {**P, "M": 1.0, "spin_mixing": 0.1}, lat, onsite_disorder=2.0, key=k1)
    np.testing.assert_allclose(np.asarray(S.todense()), H1, atol=1e-14)


@pytest.mark.parametrize("delta", [0.0, 0.3])
def test_kspace_spin_chern_number(delta):
    ms = jnp.array([-1.0, 1.0, 2.0, 3.5, 4.5, 6.0, 7.5, 9.0])
    c, gap, spin_gap = jax.jit(jax.vmap(lambda m: bhz.bhz_kspace(1.0, 1.0, m, delta)))(ms)
    np.testing.assert_allclose(np.asarray(c), [0, 1, 1, 1, -1, -1, -1, 0], atol=1e-9)
    assert np.all(np.asarray(gap) > 0) and np.all(np.asarray(spin_gap) > 0.3)
    # B -> 2B scales the boundaries: M/B is what counts
    assert abs(float(bhz.bhz_kspace(1.0, 2.0, 12.0, delta)[0]) + 1) < 1e-9 and abs(float(bhz.bhz_kspace(1.0, 2.0, 17.0, delta)[0])) < 1e-9
    # gapless at the transitions M/B = 0, 4, 8 (no mixing): NaN
    if delta == 0.0:
        c0, g0, _ = bhz.bhz_kspace(1.0, 1.0, jnp.array(4.0))
        assert np.isnan(c0) and g0 < 1e-12
    # the registry's k-space hook is the same function
    assert abs(systems.get("bhz").kspace({**P, "M": 2.0, "spin_mixing": delta}, (), 48)[0] - 1) < 1e-9


def test_spin_gapless_is_flagged():
    # strong mixing at small M: the band gap stays open but P S_z P has no gap around 0 at Gamma
    c, gap, spin_gap = bhz.bhz_kspace(1.0, 1.0, 0.02, 1.0)
    assert gap > 0 and spin_gap < bhz.SPIN_GAP_TOL and np.isnan(c)
    lat = lattice.square(8, 8, pbc=True, n_orb=4)
    v, cert = bhz.spin_chern_number(bhz.bhz(1.0, 1.0, 0.02, lat, spin_mixing=1.0), lat, method="bott", return_certificate=True)
    assert np.isnan(v) and int(cert.reason) == validity.SPIN_GAPLESS and float(cert.spin_gap) < bhz.SPIN_GAP_TOL
    assert validity.reason_names(cert.reason) == "spin_gapless"


def _bloch_grid(A, B, M, delta, ks):
    """Bloch matrices ``(..., 4, 4)`` at the momenta ``ks`` ``(..., 2)`` (numpy)."""
    kx, ky = ks[..., 0], ks[..., 1]
    m = M - 2 * B * (2 - np.cos(kx) - np.cos(ky))
    return sum(c[..., None, None] * g for c, g in zip((A * np.sin(kx), A * np.sin(ky), m, np.full_like(m, delta)),
                                                      (bhz._G1, bhz._G2, bhz._G3, bhz._G4)))


def _gaps_at(A, B, M, delta, ks):
    """Direct band gap ``E_3 - E_2`` and spin gap ``min(s_+, -s_-)`` of ``P s_z P`` (``eigh`` of the 4 x 4
    Bloch matrix) at each of ``ks`` ``(..., 2)``."""
    E, V = np.linalg.eigh(_bloch_grid(A, B, M, delta, ks))
    W = V[..., :2]
    s = np.linalg.eigvalsh(np.einsum("...ia,i,...ib->...ab", W.conj(), np.array([1.0, 1.0, -1.0, -1.0]), W))
    return E[..., 2] - E[..., 1], np.minimum(s[..., 1], -s[..., 0])


def _reference_gaps(A, B, M, delta, n=120, starts=4):
    """``min_k`` of :func:`_gaps_at` (band gap, spin gap): an ``n x n`` grid (with the TRIM), each minimum
    refined by Nelder-Mead on the 4 x 4 Bloch matrix from the ``starts`` best grid points."""
    from scipy.optimize import minimize  # noqa: PLC0415

    ks = 2 * np.pi * np.arange(n) / n
    K = np.stack(np.meshgrid(ks, ks, indexing="ij"), -1).reshape(-1, 2)
    out = []
    for which, values in enumerate(_gaps_at(A, B, M, delta, K)):
        best = values.min()
        for j in np.argsort(values)[:starts]:
            r = minimize(lambda k: _gaps_at(A, B, M, delta, np.asarray(k))[which], K[j], method="Nelder-Mead",
                         options=dict(xatol=1e-12, fatol=1e-15, maxiter=4000))
            best = min(best, r.fun)
        out.append(best)
    return out


def _closing_interval(A, B, delta):
    """The ``M`` over which the band gap is closed, near ``M = 0`` (``0 < delta < A``, ``B > 0``): ``m(k) = 0``
    on the ring ``cos kx + cos ky = 2 - M/2B`` and ``rho = A |(sin kx, sin ky)|`` on it spans ``delta``."""
    q = (delta / A) ** 2
    return 2 * B * (2 - np.sqrt(4 - 2 * q)), 2 * B * (1 - np.sqrt(1 - q))


def test_kspace_gaps_are_exact_off_the_grid():
    # With mixing the band gap closes where m(k) = 0 and rho(k) = delta: a ring of k near Gamma (no grid
    # holds it) for M in [0.0225636, 0.0226284] at A = 2, B = 1, delta = 0.3. The nk = 48 grid gave the gap
    # 0.0787 there, and C_s = 1 at M = 0.0226.
    m_lo, m_hi = _closing_interval(2.0, 1.0, 0.3)
    assert 0.02256 < m_lo < 0.02257 and 0.02262 < m_hi < 0.02263
    ms = jnp.asarray(np.concatenate([np.linspace(m_lo, m_hi, 7)[1:-1], [0.0226]]))
    for nk in (48, 8):  # exact, whatever the grid
        c, gap, spin_gap = jax.jit(jax.vmap(lambda m: bhz.bhz_kspace(2.0, 1.0, m, 0.3, nk=nk)))(ms)
        assert np.all(np.isnan(np.asarray(c))) and np.all(np.asarray(gap) == 0) and np.all(np.asarray(spin_gap) == 0)
    for M in (m_lo, m_hi):
        assert float(bhz.bhz_kspace(2.0, 1.0, M, 0.3)[1]) <= 1e-12
    # The spin gap (P S_z P) closes where m(k) = 0 and rho(k) < delta: for 0 <= M < m_hi (the ring shrinks
    # to Gamma at M = 0). The grid gave C_s = 1 from M ~ 0.021 on (spin gap 0.053 there, 0.074 at m_lo).
    for M in (0.0, 0.001, 0.01, 0.021, 0.0225):
        c, gap, spin_gap = bhz.bhz_kspace(2.0, 1.0, M, 0.3)
        assert np.isnan(c) and float(gap) > 0 and float(spin_gap) == 0, M
    # both gaps equal the minimum over k of those of the 4 x 4 Bloch matrix (a fine grid refined by
    # Nelder-Mead): beside the closings, inside the spin-gapless range, and elsewhere (off-TRIM minima
    # without mixing too: A = B = 1, M = 1.9 at kx = 0, cos ky = 1/15, 0.012 below the nk = 48 grid;
    # B < 0; small A and delta)
    cases = [(2.0, 1.0, m_lo - 1e-4, 0.3), (2.0, 1.0, m_hi + 1e-4, 0.3), (2.0, 1.0, 0.0225, 0.3),
             (2.0, 1.0, 1.0, 0.3), (1.0, 1.0, 1.9, 0.0), (1.0, 1.0, 0.05, 0.3), (1.0, 1.0, 3.7, 1.0),
             (-0.46, 0.36, -9.5, 0.69), (0.07, -1.15, -4.0, 0.024), (2.54, -0.112, -0.4506, -0.0165)]
    for p in cases:
        gap, spin_gap = (float(x) for x in bhz.bhz_kspace(*p)[1:])
        ref_gap, ref_spin = _reference_gaps(*p)
        assert gap <= ref_gap + 1e-12 and gap == pytest.approx(ref_gap, abs=1e-8), (p, gap, ref_gap)
        assert spin_gap <= ref_spin + 1e-12 and spin_gap == pytest.approx(ref_spin, abs=1e-8), (p, spin_gap, ref_spin)
    assert float(bhz.bhz_kspace(2.0, 1.0, m_hi + 1e-4, 0.3)[1]) > 1e-5  # open again: C_s = 1 beyond
    ks = 2 * np.pi * np.stack(np.meshgrid(np.arange(48), np.arange(48), indexing="ij"), -1) / 48
    assert _gaps_at(1.0, 1.0, 1.9, 0.0, ks)[0].min() - float(bhz.bhz_kspace(1.0, 1.0, 1.9)[1]) > 0.01
    # Without mixing and A = 2B (the tests' and the preset's model) the minimum lies at a TRIM: the gap
    # is the grid's (over the grid and the TRIM), the spin gap 1 (S_z conserved)
    ms = np.array([-1.0, 0.5, 1.0, 2.0, 3.5, 4.0, 4.5, 6.0, 8.0, 9.0])
    _, gap, spin_gap = jax.jit(jax.vmap(lambda m: bhz.bhz_kspace(2.0, 1.0, m)))(jnp.asarray(ms))
    np.testing.assert_allclose(np.asarray(gap), [_gaps_at(2.0, 1.0, M, 0.0, ks)[0].min() for M in ms], atol=1e-12)
    assert np.all(np.asarray(spin_gap) == 1.0)


def test_kspace_beside_the_mixed_closing_equals_real_space():
    # delta = 0.3: C_s = 0 below the closings (spin gap from M = 0, band gap at M ~ 0.0226), 1 above.
    # Bott on a periodic 10 x 10: certified at M = -0.3, -0.1 and 1 (the projector decays slowly near the
    # closing: delocalized at M = 0.3, where the raw value is k space's); spin_gapless inside.
    lp = lattice.square(10, 10, pbc=True, n_orb=4)
    bott = jax.jit(lambda m: bhz.spin_chern_number(bhz.bhz(2.0, 1.0, m, lp, spin_mixing=0.3), lp, method="bott",
                                                   return_certificate=True))
    raw = jax.jit(lambda m: bhz.spin_chern_number(bhz.bhz(2.0, 1.0, m, lp, spin_mixing=0.3), lp, method="bott",
                                                  validity="raw"))
    for M, want in ((-0.3, 0.0), (-0.1, 0.0), (1.0, 1.0)):
        ck = float(bhz.bhz_kspace(2.0, 1.0, M, 0.3)[0])
        v, cert = bott(M)
        assert ck == pytest.approx(want, abs=1e-9) and cert.valid and abs(float(v) - ck) < 1e-6, M
    assert float(bhz.bhz_kspace(2.0, 1.0, 0.3, 0.3)[0]) == pytest.approx(1.0, abs=1e-9) and abs(float(raw(0.3)) - 1) < 1e-6
    v, cert = bott(0.01)
    assert np.isnan(v) and validity.reason_names(cert.reason) == "spin_gapless" and np.isnan(bhz.bhz_kspace(2.0, 1.0, 0.01, 0.3)[0])


MS = (1.0, 2.0, 6.0, 9.0, -1.0)


@pytest.mark.parametrize("delta", [0.0, 0.2])
def test_real_space_spin_chern_equals_kspace(delta):
    lp = lattice.square(10, 10, pbc=True, n_orb=4)
    lo = lattice.square(12, 12, pbc=False, n_orb=4)
    bott = jax.jit(lambda m: bhz.spin_chern_number(bhz.bhz(2.0, 1.0, m, lp, spin_mixing=delta), lp, method="bott"))
    # the tail certificate in the loop (0.35 s a call); the localizer's (2 s: two dense localizers) below
    marker = jax.jit(lambda m: bhz.spin_chern_number(bhz.bhz(2.0, 1.0, m, lo, spin_mixing=delta), lo, method="marker",
                                                     certificate="tail"))
    for m in MS:
        ck = float(bhz.bhz_kspace(2.0, 1.0, m, delta)[0])
        assert abs(float(bott(m)) - ck) < 1e-6, (m, delta)
        assert abs(float(marker(m)) - ck) < 0.1, (m, delta)
    # eager, with the default (localizer) certificate: both sectors certified, their localizer indices
    # the integers, opposite Chern numbers (time reversal)
    v, cert = bhz.spin_chern_number(bhz.bhz(2.0, 1.0, 6.0, lo, spin_mixing=delta), lo, return_certificate=True)
    assert cert.valid and abs(float(cert.value_plus) + 1) < 0.1 and abs(float(cert.value_minus) - 1) < 0.1
    assert float(cert.spin_gap) > 0.5 and float(cert.tail) <= validity.TAIL_MAX[2]
    assert (float(cert.plus.localizer_index), float(cert.minus.localizer_index)) == (-1.0, 1.0) and abs(float(v) + 1) < 0.01


def test_without_mixing_each_sector_is_its_spin_block():
    lo = lattice.square(8, 8, pbc=False, n_orb=4)
    l2 = lattice.square(8, 8, pbc=False)
    H = np.asarray(bhz.bhz(2.0, 1.0, 2.0, lo))
    up, down = np.flatnonzero(lo.sublattice < 2), np.flatnonzero(lo.sublattice >= 2)
    _, cert = bhz.spin_chern_number(H, lo, return_certificate=True, certificate="tail")
    c_up = invariants.chern_number(H[np.ix_(up, up)], l2, validity="raw", certificate="tail")
    c_down = invariants.chern_number(H[np.ix_(down, down)], l2, validity="raw", certificate="tail")
    np.testing.assert_allclose([float(cert.value_plus), float(cert.value_minus)], [float(c_up), float(c_down)], atol=1e-8)
    assert abs(float(c_up) - 1) < 0.2 and float(cert.spin_gap) == pytest.approx(1.0)
    # the four-orbital lattice's own Chern number of the whole H is C_up + C_down = 0
    assert abs(float(invariants.chern_number(H, lo, validity="raw", certificate="tail"))) < 1e-6


# Hung on jaxlib 0.10.2 (3 of 3 runs) while the two spin sectors were separate branches, each with its
# own batched SVD: both XLA:CPU pool threads sat in lapack_zgesdd_ffi -> ParallelBatchMap ->
# BlockingCounter::Wait (gdb). The sectors are now one stacked computation, with no SVD (README, the BHZ paragraph).
def test_dataset_preset_labels_equal_kspace():
    spec = data.preset("bhz", n=16, chunk_size=16, shard_size=16, seed=3)
    assert spec.lattice() == lattice.square(8, 8, pbc=True, n_orb=4) and spec.n_sites == 256
    assert spec.method == "bott" and spec.classes == (-1, 0, 1)
    out = data.compute_samples(spec, 0, 16)
    ck = np.array([float(bhz.bhz_kspace(*t)[0]) for t in out["params"]])
    np.testing.assert_array_equal(out["kspace"], ck)
    assert sorted(set(out["kspace_class"].tolist())) == [-1, 0, 1]
    clean = out["strength"] == 0
    np.testing.assert_array_equal(out["label"][clean], out["kspace_class"][clean])
    # every certified clean sample's real-space class is k space's (those near M/B = 0, 4 are refused);
    # certified disordered samples are labelled by it
    valid = out["reason"] == 0
    assert (valid & clean).sum() >= 3 and (valid & ~clean).sum() >= 3
    np.testing.assert_array_equal(out["class"][valid & clean], out["kspace_class"][valid & clean])
    np.testing.assert_array_equal(out["label"][valid & ~clean], out["class"][valid & ~clean])
    # xi of the clean 4-band projector, with and without mixing (it was NaN with mixing: issue 21)
    mixed = out["params"][:, 3] != 0
    assert (clean & mixed).sum() >= 2 and (clean & ~mixed).sum() >= 2
    assert np.all(np.isfinite(out["xi"][clean])) and np.all(out["xi"][clean] > 0)
    np.testing.assert_allclose(out["xi"][clean], [_xi(*t) for t in out["params"][clean]], rtol=1e-6)
    assert out["wavefunctions"].shape == (16, 256, 256)


# ----------------------------------------------------------------------------- xi of the exact labels
@jax.jit
def _xi_core(p):
    system = systems.get("bhz")
    return 1.0 / jnp.min(system.decay_rates(p, lambda b: exact.bloch_decay_rates(b, system.reciprocal)))


def _xi(A, B, M, delta):
    """The exact labels' ``xi`` of the clean model: ``1 / min(kappa)`` of ``System.decay_rates``."""
    return float(_xi_core({n: jnp.asarray(float(v)) for n, v in zip(("A", "B", "M", "spin_mixing"), (A, B, M, delta))}))


def _projector_decay(M, delta, nk, R, A=2.0, B=1.0):
    """Fitted decay rate of ``|P(n a_1)|`` of the infinite clean model (4-band ``eigh`` on an ``nk^2`` grid):
    ``|P| ~ exp(-kappa n) / n^alpha`` over ``n`` in ``R``."""
    ks = 2 * np.pi * np.arange(nk) / nk
    kx, ky = np.meshgrid(ks, ks, indexing="ij")
    m = M - 2 * B * (2 - np.cos(kx) - np.cos(ky))
    H = sum(c[..., None, None] * g for c, g in zip((A * np.sin(kx), A * np.sin(ky), m, np.full_like(m, delta)),
                                                  (bhz._G1, bhz._G2, bhz._G3, bhz._G4)))
    _, V = np.linalg.eigh(H)
    W = V[..., :2]
    Pr = np.fft.ifft2(W @ np.conj(np.swapaxes(W, -1, -2)), axes=(0, 1))[:, 0]  # (nk, 4, 4): R = (n, 0)
    amp = np.sqrt(np.sum(np.abs(Pr) ** 2, axis=(1, 2)))
    return np.linalg.lstsq(np.stack([np.ones(len(R)), -R, -np.log(R)], 1), np.log(amp[R]), rcond=None)[0][1]


def test_mixed_xi_is_the_decay_length_of_the_fermi_projector():
    # det H(k) = f_+ f_-, f_+- = (m +- i delta)^2 + A^2 (sin^2 kx + sin^2 ky): the factors whose zeros
    # (complex k) are the projector's singularities
    rng = np.random.default_rng(0)
    for k in rng.uniform(-np.pi, np.pi, (5, 2)):
        m = 0.7 - 2 * (2 - np.cos(k[0]) - np.cos(k[1]))
        rho2 = 4.0 * (np.sin(k[0]) ** 2 + np.sin(k[1]) ** 2)
        det = np.linalg.det(np.asarray(bhz.bhz_bloch(2.0, 1.0, 0.7, k, 0.4)))
        assert det == pytest.approx(((m + 0.4j) ** 2 + rho2) * ((m - 0.4j) ** 2 + rho2), rel=1e-12)
    # finite in every gapped phase, the same along both Bravais vectors (x <-> y symmetric)
    system = systems.get("bhz")
    for M in (-1.0, 1.0, 2.0, 3.0, 5.0, 6.0, 7.0, 9.0):
        p = {"A": jnp.asarray(2.0), "B": jnp.asarray(1.0), "M": jnp.asarray(M), "spin_mixing": jnp.asarray(0.3)}
        kappa = np.asarray(system.decay_rates(p, lambda b: exact.bloch_decay_rates(b, system.reciprocal)))
        assert np.all(np.isfinite(kappa)) and np.all(kappa > 0.1) and kappa[0] == pytest.approx(kappa[1], rel=1e-10)
    # the decay of the infinite system's projector (measured: 1 - fit/kappa = 0.1%, 1.0%, 0.9%)
    for M, delta, nk, R in ((3.0, 0.3, 256, np.arange(10, 41)), (0.5, 1.0, 256, np.arange(20, 81)),
                            (9.0, 0.3, 256, np.arange(10, 41))):
        assert _projector_decay(M, delta, nk, R) == pytest.approx(1.0 / _xi(2.0, 1.0, M, delta), rel=0.02)


def test_mixed_xi_is_continuous_at_zero_mixing():
    # delta -> 0 gives the unmixed value, that of the spin blocks (the down block is up's partner)
    def block(M, spin):
        def h(k):
            m = (M - 2 * (2 - jnp.cos(k[0]) - jnp.cos(k[1]))).astype(jnp.complex128)
            sx, sy = (2 * spin * jnp.sin(k[0])).astype(jnp.complex128), (2 * jnp.sin(k[1])).astype(jnp.complex128)
            return jnp.stack([jnp.stack([m, sx - 1j * sy]), jnp.stack([sx + 1j * sy, -m])])
        return h

    for M in (-0.5, 1.0, 3.0, 6.5, 9.0):
        k_blocks = [np.asarray(exact.bloch_decay_rates(block(M, s), bhz._RECIPROCAL)) for s in (1, -1)]
        unmixed = 1.0 / np.min(np.minimum(*k_blocks))
        assert _xi(2.0, 1.0, M, 0.0) == pytest.approx(unmixed, rel=1e-12)
        xs = [_xi(2.0, 1.0, M, d) for d in (1e-8, 1e-4, 1e-2)]
        assert xs[0] == pytest.approx(unmixed, rel=1e-10) and xs[1] == pytest.approx(unmixed, rel=1e-6)
        assert abs(xs[2] - unmixed) < 0.01 * unmixed


@pytest.mark.parametrize("delta", [0.0, 0.3])
def test_xi_grows_toward_the_gap_closings(delta):
    # toward M/B = 0, 4, 8 from both sides; with mixing the closing near M = 0 moves to M ~ B delta^2 / A^2
    for seq in ((-1.0, -0.5, -0.2, -0.1), (1.5, 1.0, 0.5, 0.3), (2.5, 3.0, 3.5, 3.8), (5.5, 5.0, 4.5, 4.2),
                (6.5, 7.0, 7.5, 7.8), (9.5, 9.0, 8.5, 8.2)):
        xs = [_xi(2.0, 1.0, M, delta) for M in seq]
        assert all(a < b for a, b in zip(xs, xs[1:])) and xs[-1] > 3 * xs[0], (seq, xs)
    if delta:  # measured 1.6e4 at M = 0.0225 (the gap at the ring |k| = delta / A closes)
        assert _xi(2.0, 1.0, delta**2 / 2.0**2, delta) > 1e3  # B delta^2 / A^2


@pytest.mark.slow  # the tnn demo / tnn sweep runs of the slow suite cover it end to end
def test_demo_panel_runs(tmp_path):
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    panel = systems.get("bhz").demo
    rep, fine = panel.run(True, jax.random.key(0))
    assert rep["M"][0] == -2.0 and rep["M"][-1] == 10.0
    for m, c, b, bm in zip(rep["M"], rep["kspace"], rep["bott"], rep["bott_mixed"]):
        if c is None:  # the transitions M = 0, 4, 8: k space gapless
            assert m % 4 == 0
            continue
        for v in (b, bm):  # every certified value equals k space; deep in the phases they are certified
            assert np.isnan(v) or abs(v - c) < 1e-6, m
            assert np.isfinite(v) or m not in (-2.0, 2.0, 6.0, 10.0), m
    fig, ax = plt.subplots()
    panel.plot([ax], rep, fine)
    fig.savefig(tmp_path / "bhz.png")
    plt.close(fig)
    assert len(panel.summary(rep)) == 5


def test_bad_input_names_the_argument():
    sq4, sq2 = lattice.square(4, 4, n_orb=4), lattice.square(4, 4)
    H = np.asarray(bhz.bhz(1.0, 1.0, 2.0, sq4))
    cases = [
        (lambda: bhz.bhz(1.0, 1.0, 2.0, sq2), "`lat`"),
        (lambda: bhz.bhz(1.0, 1.0, 2.0, lattice.honeycomb(4, 4)), "`lat`"),
        (lambda: bhz.bhz("x", 1.0, 2.0, sq4), "`A`"),
        (lambda: bhz.bhz(1.0, np.nan, 2.0, sq4), "`B`"),
        (lambda: bhz.bhz(1.0, 1.0, (1.0, 2.0), sq4), "`M`"),
        (lambda: bhz.bhz(1.0, 1.0, 2.0, sq4, spin_mixing=1j), "`spin_mixing`"),
        (lambda: bhz.bhz(1.0, 1.0, 2.0, sq4, onsite_disorder=-1.0, key=jax.random.key(0)), "`onsite_disorder`"),
        (lambda: bhz.bhz_kspace(1.0, 1.0, 2.0, nk=2), "`nk`"),
        (lambda: bhz.spin_chern_number(H, sq4, method="bott"), "`lat`"),
        (lambda: bhz.spin_chern_number(H, sq4, method="kitaev"), "`method`"),
        (lambda: bhz.spin_chern_number(H[:8, :8], sq4), "`H`"),
        (lambda: bhz.spin_chern_number(H, sq4, window=5), "`trim`"),
        (lambda: bhz.spin_chern_number(H, sq4, validity="spectral", gap_tol=-1.0), "`gap_tol`"),
        (lambda: bhz.spin_chern_number(H, lattice.square(8, 4, n_orb=2)), "`lat`"),
        (lambda: lattice.square(4, 4, n_orb=0), "`n_orb`"),
        (lambda: lattice.Lattice("chain", (4,), False, n_orb=4), "`n_orb`"),
        (lambda: hamiltonians.qwz(1.0, sq4), "`lat`"),
    ]
    for fn, name in cases:
        with pytest.raises(ValueError, match=name):
            fn()


def test_no_module_outside_the_system_knows_its_name():
    # the system's module, its k-space helper (exact gaps) and the registry
    allowed = {"tnn/systems/bhz.py", "tnn/systems/bhz_gaps.py", "tnn/systems/__init__.py"}
    hits = []
    for path in (ROOT / "tnn").rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            if re.search("bhz", line, flags=re.I):
                hits.append(f"{rel}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)
    # ... and the registry mentions it on its import line and its one SYSTEMS line only
    lines = [ln for ln in (ROOT / "tnn/systems/__init__.py").read_text().splitlines() if "bhz" in ln]
    assert lines == ["from tnn.systems import bhz, haldane, kitaev, qwz, ssh", '    "bhz": bhz.SYSTEM,']


def test_four_orbital_lattice():
    a, b = lattice.square(3, 4, n_orb=4), lattice.Lattice("square", (3, 4), False, n_orb=4)
    assert a == b and hash(a) == hash(b) and a != lattice.square(3, 4) and lattice.square(3, 4) == lattice.square(3, 4, n_orb=2)
    assert (a.n_orb, a.n_sites, a.orbital_names) == (4, 48, ("s0", "s1", "s2", "s3")) and "n_orb=4" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a and jax.jit(lambda x, lat: x * lat.n_orb)(1.0, a) == 4.0
    # site 4 * cell + orbital, every orbital at its cell's position; bonds join an orbital to itself
    np.testing.assert_array_equal(a.site_index(np.array([1, 2]), 3), 4 * (1 * 4 + 2) + 3)
    np.testing.assert_array_equal(a.positions, np.repeat(a.cell_coords, 4, axis=0).astype(float))
    assert np.all(a.sublattice[a.bonds[:, 0]] == a.sublattice[a.bonds[:, 1]]) and len(a.bonds) == 4 * (2 * 4 + 3 * 3)
