r"""Exact labels of dataset samples (``label="exact"``): the reference of the infinite system, where
one exists, with its correlation length and its distance to the nearest transition.

Per sample (``docs/conventions.md``, "Exact labels and certificates"):

* **clean** (``disorder="none"`` or ``W = 0``): the k-space invariant of the model (exact for the
  infinite system; :func:`tnn.kspace.winding_number_and_gap` /
  :func:`tnn.kspace.chern_number_and_gap`); ill-defined only where k space is gapless.
* **disordered chiral chains** (SSH ``bond``, Kitaev ``mu``): the zero-energy Lyapunov winding
  ``min(ranges) + #{gamma_k < 0}`` of the ensemble with the sample's parameters and ``W``, in the
  thermodynamic limit: the exponents of one chain of ``spec.lyapunov_cells`` cells (default
  10^4) drawn from the same distribution with its own seeded disorder
  (:func:`tnn.validity.lyapunov_scan`). They self-average: the statistical error ``err`` (batch
  means over :data:`tnn.validity.LYAPUNOV_BLOCKS` blocks) falls as ``1/sqrt(n)``. Measured at
  10^4 cells: median 0.0036 (max ~0.009) for the ``ssh-bond`` preset (``W = 0.5, 1``; 0.0081 at
  2000 cells, 0.0026 at 2 10^4), 0.0013 for ``kitaev-mu``, ~0.013 for nearest-neighbour SSH at
  ``W = 1, 2`` (bonds through 0); against the closed form of nearest-neighbour SSH the deviation
  over ``err`` has mean 0.01 and std 0.97 (96 samples), so ``err`` is the error. A sample whose
  exponent nearest 0 is within :data:`LYAPUNOV_SIGMAS` errors of 0 is at the transition:
  ill-defined, reason ``at_transition`` (5.7% of ``ssh-bond`` at 10^4 cells, 12.7% at 2000).
  Cost: about 0.45 ms per 1000 cells per sample (``ssh-bond``, chunks of 64, shared 2-core
  machine): ~4.7 ms per sample at 10^4 cells, against ~1 ms for the rest of an L = 32 sample.
* **symmetry broken** (SSH ``onsite`` with ``W > 0``): no winding number; ill-defined (reason
  ``symmetry_broken``), the clean class stays in ``kspace_class`` (and in ``label``).
* **disordered 2D** (Anderson QWZ/Haldane, ``W > 0``): the certified real-space value (its
  certificate ``reason``, ``tail`` is stored beside it); uncertified: ill-defined (``uncertified``).

Stored with it (:data:`tnn.data.samples.LABEL_ARRAYS`):

* ``label_source`` int32: :data:`LABEL_SOURCES` (0 k space, 1 Lyapunov, 2 certified real space,
  -1 none: the sample is ill-defined); ``label_reason`` int32: :data:`LABEL_REASONS` (0 ``ok``).
* ``xi`` float64, the correlation / localization length in cells: clean chains
  ``1 / min_k |ln|z_k||`` over the roots of ``q(z) = sum_r t_r z^r`` (:func:`chain_root_rates`);
  disordered chains ``1 / min_k |gamma_k|``; clean 2D ``1 / min(kappa_1, kappa_2)``, the decay
  rate of the Fermi projector along the Bravais vectors from the complex-momentum branch points of
  the Bloch Hamiltonian (:func:`bloch_decay_rates`); disordered 2D and symmetry-broken chains NaN
  (no exact reference: the certificate's tail bounds the finite-size error, not ``xi``).
* ``transition_distance`` float64: chains ``1 / xi`` (``min|ln|z||``, ``min|gamma|``; 1/cells);
  2D the clean model's k-space gap (energy; for disordered samples that of the clean model with the
  same parameters, the disorder shifts the transition); NaN for symmetry-broken chains.
* ``transition_error``: the statistical error of ``transition_distance`` (Lyapunov ``err``; 0 for
  the k-space values, which are exact up to the grid).
"""

from __future__ import annotations

import numpy as np
import jax
import jax.numpy as jnp

from tnn import systems, validity
from tnn.assembly import complex_dtype

__all__ = [
    "LABEL_SOURCES",
    "LABEL_REASONS",
    "SOURCE_NONE",
    "SOURCE_KSPACE",
    "SOURCE_LYAPUNOV",
    "SOURCE_REALSPACE",
    "LYAPUNOV_SIGMAS",
    "BLOCH_THETAS",
    "chain_root_rates",
    "bloch_decay_rates",
    "exact_label",
    "source_names",
    "label_reason_names",
]

SOURCE_NONE, SOURCE_KSPACE, SOURCE_LYAPUNOV, SOURCE_REALSPACE = -1, 0, 1, 2
#: label_source code -> name
LABEL_SOURCES = {SOURCE_KSPACE: "kspace", SOURCE_LYAPUNOV: "lyapunov", SOURCE_REALSPACE: "realspace",
                 SOURCE_NONE: "none"}
OK, KSPACE_GAPLESS, SYMMETRY_BROKEN, AT_TRANSITION, UNCERTIFIED = range(5)
#: label_reason code -> name
LABEL_REASONS = {OK: "ok", KSPACE_GAPLESS: "kspace_gapless", SYMMETRY_BROKEN: "symmetry_broken",
                 AT_TRANSITION: "at_transition", UNCERTIFIED: "uncertified"}
#: a Lyapunov exponent within this many statistical errors of 0 marks a sample at the transition
LYAPUNOV_SIGMAS = 3.0
#: grid of the real momentum in :func:`bloch_decay_rates`: divisible by 2, 3 and 4 (k = 0, pi, 2pi/3)
BLOCH_THETAS = 48
_ROOT_CUTOFF = 1e-12


def source_names(codes) -> np.ndarray:
    """Names of ``label_source`` codes (any shape) as a NumPy string array."""
    codes = np.asarray(codes)
    return np.vectorize(LABEL_SOURCES.get, otypes=[object])(codes).astype(str)


def label_reason_names(codes) -> np.ndarray:
    """Names of ``label_reason`` codes (any shape) as a NumPy string array."""
    codes = np.asarray(codes)
    return np.vectorize(LABEL_REASONS.get, otypes=[object])(codes).astype(str)


def _root_logs(c):
    """``ln|z|`` ``(deg,)`` of the roots of ``sum_p c[p] z^p`` (``c`` ``(deg + 1,)``, low power first):
    eigenvalues of the companion matrix. Coefficients below ``1e-12 max|c|`` count as 0; a vanishing
    leading one is floored there (its roots come out huge, far from the unit circle)."""
    deg = c.shape[-1] - 1
    scale = jnp.max(jnp.abs(c))
    c = jnp.where(jnp.abs(c) > _ROOT_CUTOFF * scale, c, 0.0)
    lead = jnp.where(jnp.abs(c[deg]) > 0, c[deg], (_ROOT_CUTOFF * scale).astype(c.dtype))
    comp = jnp.zeros((deg, deg), c.dtype).at[1:, :-1].set(jnp.eye(deg - 1, dtype=c.dtype))
    comp = comp.at[:, -1].set(-c[:deg] / lead)
    return jnp.log(jnp.abs(jnp.linalg.eigvals(comp)))


def chain_root_rates(columns, ranges):
    """``ln|z_k|`` ``(D,)``, descending, of the roots of ``q(z) = sum_r t_r z^{r - min(ranges)}``
    (``columns`` ``(R,)``: ``t_r = h[b + r, b]`` of a clean chain; ``ranges`` static): the clean
    limit of the zero-energy Lyapunov exponents. ``min(ranges) + #{ln|z| < 0}`` is the winding
    number, ``1 / min|ln|z||`` the correlation length in cells. Jittable."""
    order = np.argsort(ranges)
    r = np.asarray(ranges)[order]
    cdt = complex_dtype(columns.dtype)
    c = jnp.zeros(r[-1] - r[0] + 1, cdt).at[r - r[0]].set(jnp.asarray(columns)[order].astype(cdt))
    return -jnp.sort(-_root_logs(c))


def bloch_decay_rates(bloch, reciprocal, n_theta: int = BLOCH_THETAS, n_fourier: int = 6):
    r"""Decay rates ``(kappa_1, kappa_2)`` (1/cells) of the Fermi projector of a clean two-band model
    along its Bravais vectors ``a_1, a_2``: ``|P(R, R + n a_d)| ~ exp(-kappa_d n)``.

    ``bloch``: ``k (2,) -> (2, 2)`` Bloch matrix (Cartesian ``k``); ``reciprocal`` ``(2, 2)`` rows
    ``b_d`` (``a_d . b_e = 2 pi delta``). With ``H = d_0 + d . sigma`` the projector
    ``(1 - d . sigma / |d|) / 2`` is analytic in the momentum except at the branch points of
    ``|d| = sqrt(f)``, ``f = d_z^2 + H_01 H_10``. For each real phase ``theta_e`` along the other
    vector (``n_theta`` points) the zeros of ``f`` in ``z = exp(i theta_d)`` are the roots of a
    Laurent polynomial (its Fourier components from ``n_fourier`` samples: hoppings of range up to
    ``(n_fourier - 1) // 2`` cells along ``a_d``); ``kappa_d = min |ln|z||`` over them and over
    ``theta_e`` (Kohn; He and Vanderbilt, PRL 86, 5341 (2001): the nearest complex singularity sets
    the exponential decay). 0 where the gap closes. Jittable; ``xi = 1 / min(kappa)``.
    """
    b = np.asarray(reciprocal, dtype=float) / (2 * np.pi)
    M, R = int(n_fourier), (int(n_fourier) - 1) // 2
    th = 2 * np.pi * np.arange(M) / M
    ph = 2 * np.pi * np.arange(n_theta) / n_theta
    rates = []
    for d in (0, 1):
        k = th[None, :, None] * b[d] + ph[:, None, None] * b[1 - d]  # (n_theta, M, 2)
        H = jax.vmap(jax.vmap(bloch))(jnp.asarray(k))
        F = jnp.fft.fft(H, axis=1) / M  # F[:, n % M] = component of exp(i n theta_d)
        comp = F[:, np.arange(-R, R + 1) % M]  # (n_theta, 2R + 1, 2, 2), index i <-> power i - R
        dz = 0.5 * (comp[..., 0, 0] - comp[..., 1, 1])
        u, lo = comp[..., 0, 1], comp[..., 1, 0]
        f = jnp.zeros((n_theta, 4 * R + 1), F.dtype)
        for i in range(2 * R + 1):
            for j in range(2 * R + 1):
                f = f.at[:, i + j].add(dz[:, i] * dz[:, j] + u[:, i] * lo[:, j])
        logs = jax.vmap(_root_logs)(f)  # (n_theta, 4R)
        rates.append(jnp.min(jnp.abs(logs)))
    return jnp.stack(rates)


def exact_label(spec, theta, w, key, kspace, realspace) -> dict:
    """The exact label of one sample and what comes with it (module docstring); jittable.

    Args:
      spec: the :class:`~tnn.data.spec.DatasetSpec` (static). theta: ``(P,)`` parameters.
      w: the sample's disorder strength (scalar). key: a PRNG key for the long chain's disorder
        (independent of the sample's own), or None for a clean spec.
      kspace: ``(kclass int32, kdefined bool, kgap)`` of the clean model.
      realspace: ``(rclass int32, valid bool)``: the rounded real-space value and its certificate.

    Returns:
      ``{"label", "ill_defined", "label_source", "label_reason", "xi", "transition_distance",
      "transition_error"}``, scalars.
    """
    system = systems.get(spec.model)
    kcls, kdefined, kgap = kspace
    rclass, rvalid = realspace
    f64 = jnp.float64
    clean = jnp.bool_(True) if spec.disorder == "none" else (w == 0)
    nan = jnp.asarray(jnp.nan, f64)
    k_reason = jnp.where(kdefined, OK, KSPACE_GAPLESS)
    k_source = jnp.where(kdefined, SOURCE_KSPACE, SOURCE_NONE)
    if system.chiral_invariant:
        cell, col_ranges = system.zero_energy_columns(theta, spec.ranges, "none", w, None, 1)
        rates = chain_root_rates(cell[0], col_ranges)
        k_dist = jnp.min(jnp.abs(rates)).astype(f64)
        if not system.is_chiral(spec.disorder):  # e.g. SSH onsite disorder: no winding once W > 0
            broken = ~clean
            return {
                "label": kcls, "ill_defined": broken | ~kdefined,
                "label_source": jnp.where(broken, SOURCE_NONE, k_source).astype(jnp.int32),
                "label_reason": jnp.where(broken, SYMMETRY_BROKEN, k_reason).astype(jnp.int32),
                "xi": jnp.where(broken, nan, 1.0 / k_dist), "transition_distance": jnp.where(broken, nan, k_dist),
                "transition_error": jnp.where(broken, nan, 0.0),
            }
        if spec.disorder == "none":
            g_cls, g_dist, g_err = kcls, k_dist, jnp.asarray(0.0, f64)
        else:
            cols, col_ranges = system.zero_energy_columns(theta, spec.ranges, spec.disorder, w, key, spec.lyapunov_cells)
            gamma, err = validity.lyapunov_scan(cols, col_ranges)
            near = jnp.argmin(jnp.abs(gamma))
            g_cls = (min(col_ranges) + jnp.sum(gamma < 0)).astype(jnp.int32)
            g_dist, g_err = jnp.abs(gamma[near]).astype(f64), err[near].astype(f64)
        critical = g_dist <= LYAPUNOV_SIGMAS * g_err
        return {
            "label": jnp.where(clean, kcls, g_cls).astype(jnp.int32),
            "ill_defined": jnp.where(clean, ~kdefined, critical),
            "label_source": jnp.where(clean, k_source,
                                      jnp.where(critical, SOURCE_NONE, SOURCE_LYAPUNOV)).astype(jnp.int32),
            "label_reason": jnp.where(clean, k_reason, jnp.where(critical, AT_TRANSITION, OK)).astype(jnp.int32),
            "xi": 1.0 / jnp.where(clean, k_dist, g_dist),
            "transition_distance": jnp.where(clean, k_dist, g_dist),
            "transition_error": jnp.where(clean, 0.0, g_err),
        }
    params = system.to_params(theta, spec.ranges)

    def rates(bloch):
        return bloch_decay_rates(bloch, system.reciprocal)

    if system.decay_rates is None:
        kappa = rates(lambda k: system.bloch(params, k, ()))
    else:  # a system with more than two bands: its own (System.decay_rates)
        kappa = system.decay_rates(params, rates)
    xi_clean = (1.0 / jnp.min(kappa)).astype(f64)
    return {
        "label": jnp.where(clean, kcls, rclass).astype(jnp.int32),
        "ill_defined": jnp.where(clean, ~kdefined, ~rvalid),
        "label_source": jnp.where(clean, k_source, jnp.where(rvalid, SOURCE_REALSPACE, SOURCE_NONE)).astype(jnp.int32),
        "label_reason": jnp.where(clean, k_reason, jnp.where(rvalid, OK, UNCERTIFIED)).astype(jnp.int32),
        "xi": jnp.where(clean, xi_clean, nan),
        "transition_distance": jnp.asarray(kgap, f64),
        "transition_error": jnp.asarray(0.0, f64),
    }
