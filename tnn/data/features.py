r"""The dataset features: their one registry, and the eigenvector features of one sample.

The registry
------------
Every feature a dataset can store is a :class:`Feature` record (name, what it is computed from,
shape kind, dtype rule, function, one line of doc). The features every system provides are
:data:`COMMON_FEATURES`; a system contributes its own through ``System.features`` (SSH: ``hoppings``,
in :mod:`tnn.systems.ssh`). :func:`registry` gathers them, at call time, from the registered systems
(:data:`tnn.systems.SYSTEMS`), so a system added there has its features stored without any change
here; every other list of feature names (:data:`tnn.data.FEATURES`, the models' inputs, the probes'
input kinds, the study's choices) is derived from it or checked against it
(:func:`check_names`). :func:`compute` is the one computation of a sample's features.

The eigenvector features
------------------------
The eigenvectors of ``H`` carry an arbitrary phase each, and inside a degenerate eigenspace an
arbitrary unitary (clean periodic samples: ``E(k) = E(-k)``; open topological chains: the zero-mode
pair). The features here are functions of the eigenspaces only, so they are the same for every
basis ``eigh`` or the chiral SVD route (:func:`tnn.data.chiral_eigh`) may return:

* ``density`` ``(N, N)``: ``rho[i, n] = |psi_n(i)|^2`` with the states in ascending energy order,
  averaged over each degenerate cluster (``rho[:, n] = diag(P_c) / d_c`` for the cluster ``c`` of
  ``n``, ``P_c`` the spectral projector and ``d_c`` its dimension). Clusters: runs of the ascending
  spectrum with consecutive gaps ``<= DEGENERACY_TOL * max|E|``. A non-degenerate state keeps its own
  ``|psi_n(i)|^2``.
* ``edge_modes`` ``(N, k)``: the ``density`` columns of the ``k`` states nearest zero energy
  (:data:`EDGE_MODES_K` = 4), ordered by ``|E|`` and then by ``E`` (``|E|`` ties within the same
  tolerance count as ties, so ``-E`` comes before ``+E`` whatever the rounding). On an open
  topological chain these are the edge modes (``2|W|`` of them) and the bulk states nearest the gap.
* ``projector``: ``Q = V sign(E) V^dag`` with ``sign(0) = 0`` for exact zero modes
  (``|E| <= ZERO_MODE_FLOOR * max|E|``, :data:`tnn.invariants.ZERO_MODE_FLOOR`: the same rule as both
  routes of :func:`tnn.invariants.winding_number`, so the pairing of an exact zero-mode pair, which
  is arbitrary, drops out). Chiral chains (``System.chiral_invariant``): the chiral block
  ``U = Q[A, B] = Q[0::2, 1::2]`` ``(L, L)``; otherwise ``Q`` ``(N, N)``.

SSH's ``hoppings`` ``(R + 2, L)`` is its system's (:mod:`tnn.systems.ssh`); its reader
``hoppings_from_hamiltonian``, which reads the table back from any chain Hamiltonian (the probes use
it on modified chains), stays reachable here: every ``Feature.from_hamiltonian`` of the registry is
an attribute of this module under its function's name.

All functions take one sample (``E`` ``(N,)`` ascending, ``V`` ``(N, N)`` eigenvectors in columns);
batch them with ``jax.vmap``. Site order and sign conventions: docs/conventions.md.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tnn import _checks, systems
from tnn.data.eigensystem import fix_gauge
from tnn.invariants import ZERO_MODE_FLOOR
from tnn.systems.base import FEATURE_DTYPES, FEATURE_KINDS, FEATURE_SOURCES, Feature, FeatureFn, Sample

__all__ = [
    "Feature",
    "FeatureFn",
    "Sample",
    "FEATURE_SOURCES",
    "FEATURE_KINDS",
    "FEATURE_DTYPES",
    "COMMON_FEATURES",
    "COMMON_NAMES",
    "registry",
    "feature",
    "names",
    "providers",
    "lattices",
    "check_names",
    "compute",
    "EDGE_MODES_K",
    "DEGENERACY_TOL",
    "EIGEN_FEATURES",
    "state_density",
    "edge_modes",
    "edge_mode_order",
    "sign_projector",
    "eigen_features",
]

#: number of states nearest zero energy in the ``edge_modes`` feature
EDGE_MODES_K = 4
#: relative energy spacing (of ``max|E|``) below which neighbouring states count as degenerate
DEGENERACY_TOL = 1e-9


def _scale(E):
    return jnp.max(jnp.abs(E))


def state_density(E, V, tol: float = DEGENERACY_TOL):
    r"""``|psi_n(i)|^2`` ``(N, N)`` (sites x states, ascending energy), averaged over each degenerate
    cluster of states, so it does not depend on the basis of a degenerate eigenspace.

    Args:
      E: ``(N,)`` ascending energies. V: ``(N, N)`` eigenvectors in columns.
      tol: two neighbouring energies closer than ``tol * max|E|`` are degenerate.
    """
    rho = jnp.real(V) ** 2 + jnp.imag(V) ** 2
    n = E.shape[0]
    new = jnp.concatenate([jnp.ones((1,), bool), jnp.diff(E) > tol * _scale(E)])
    cid = jnp.cumsum(new.astype(jnp.int32)) - 1  # cluster of each state
    sums = jax.ops.segment_sum(rho.T, cid, num_segments=n)  # (clusters, N sites)
    count = jax.ops.segment_sum(jnp.ones((n,), rho.dtype), cid, num_segments=n)
    return (sums[cid] / count[cid][:, None]).T


def edge_mode_order(E, tol: float = DEGENERACY_TOL):
    r"""Indices ``(N,)`` of the states ordered by ``|E|``, then by ``E``; ``|E|`` closer than
    ``tol * max|E|`` count as equal (so ``-E`` precedes ``+E`` whatever the rounding of ``eigh``)."""
    a = jnp.abs(E)
    t = tol * _scale(E)
    n = E.shape[0]
    idx = jnp.arange(n)
    near = jnp.abs(a[:, None] - a[None, :]) <= t
    before = (a[None, :] < a[:, None] - t) | (near & (E[None, :] < E[:, None])) | (
        near & (E[None, :] == E[:, None]) & (idx[None, :] < idx[:, None]))
    rank = jnp.sum(before, axis=1)
    return jnp.argsort(rank, stable=True)


def edge_modes(E, V, k: int = EDGE_MODES_K, tol: float = DEGENERACY_TOL):
    r"""``|psi_n(i)|^2`` ``(N, k)`` of the ``k`` states nearest zero energy (:func:`edge_mode_order`),
    degenerate clusters averaged as in :func:`state_density`. ``k`` static, ``1 <= k <= N``."""
    k = _checks.check_int("k", k, 1, E.shape[0])
    return state_density(E, V, tol)[:, edge_mode_order(E, tol)[:k]]


def sign_projector(E, V, chain_block: bool):
    r"""``Q = V sign(E) V^dag`` with ``sign(0) = 0`` for ``|E| <= ZERO_MODE_FLOOR * max|E|``.

    Returns the chain's chiral block ``U = Q[0::2, 1::2]`` ``(L, L)`` when ``chain_block``, else ``Q``
    ``(N, N)``."""
    s = jnp.where(jnp.abs(E) > ZERO_MODE_FLOOR * _scale(E), jnp.sign(E), 0.0).astype(V.dtype)
    if chain_block:
        return (V[0::2] * s[None, :]) @ jnp.conj(V[1::2].T)
    return (V * s[None, :]) @ jnp.conj(V.T)


def eigen_features(names, E, V, chain_block: bool, k: int = EDGE_MODES_K) -> dict:
    r"""The eigenvector features ``names`` (a subset of :data:`EIGEN_FEATURES`) of one sample:
    ``{"density": (N, N), "edge_modes": (N, k), "projector": (L, L) or (N, N)}``."""
    out = {}
    if "density" in names:
        out["density"] = state_density(E, V)
    if "edge_modes" in names:
        out["edge_modes"] = edge_modes(E, V, k)
    if "projector" in names:
        out["projector"] = sign_projector(E, V, chain_block)
    return out


# ------------------------------------------------------------------------------------ the registry
#: the features every system provides, in the order of :data:`tnn.data.FEATURES`
COMMON_FEATURES: tuple[Feature, ...] = (
    Feature("wavefunctions", "eigensystem", "eigenvectors", "hamiltonian", lambda s: fix_gauge(s.V, s.gauge),
            "(N, N): the eigenvectors of H in the columns, ascending energy, phases fixed by the dataset's gauge"),
    Feature("density", "eigensystem", "sites", "real", lambda s: state_density(s.E, s.V),
            "(N, N): |psi_n(i)|^2, sites x states in ascending energy, averaged over degenerate clusters"),
    Feature("edge_modes", "eigensystem", "sites", "real", lambda s: edge_modes(s.E, s.V),
            f"(N, {EDGE_MODES_K}): the density columns of the {EDGE_MODES_K} states nearest zero energy"),
    Feature("hamiltonian", "hamiltonian", "matrix", "hamiltonian", lambda s: s.H, "(N, N): the real-space H"),
    Feature("projector", "eigensystem", "matrix", "hamiltonian",
            lambda s: sign_projector(s.E, s.V, s.system.chiral_invariant),
            "Q = sign(H) (N, N); chiral chains: its chiral block U = Q[A, B] (L, L)"),
)
_COMMON = {f.name: f for f in COMMON_FEATURES}
#: their names
COMMON_NAMES = tuple(_COMMON)
#: the gauge-invariant features of the eigensystem (:func:`eigen_features`; ``wavefunctions`` needs a
#: gauge, :func:`tnn.data.fix_gauge`)
EIGEN_FEATURES = tuple(f.name for f in COMMON_FEATURES if f.source == "eigensystem" and f.kind != "eigenvectors")


def _gather(of) -> dict[str, Feature]:
    out = dict(_COMMON)
    for s in of:
        for f in s.features:
            if out.get(f.name, f) is not f:
                raise ValueError(f"System {s.name!r} contributes a feature {f.name!r} that another record already "
                                 "defines; give it another name.")
            out[f.name] = f
    return out


def registry(model: str | None = None) -> dict[str, Feature]:
    """``{name: Feature}``: every feature (``model`` None) or those of the system ``model``, the common
    ones first (:data:`COMMON_FEATURES`), then the systems' own in the registry's order. Read from
    :data:`tnn.systems.SYSTEMS` at each call. Two systems may share a feature only as the same record;
    a system's own feature may not take a common feature's name (``ValueError``)."""
    return _gather(systems.SYSTEMS.values() if model is None else [systems.get(model)])


def feature(name: str, model: str | None = None, argument: str = "feature") -> Feature:
    """The record of the feature ``name`` (of ``model`` when given); ``ValueError`` naming ``argument``
    and the known features otherwise."""
    return registry(model)[check_names(name, model, argument, one=True)[0]]


def names(kind: str | None = None, source: str | None = None, model: str | None = None) -> tuple[str, ...]:
    """The names of the features (of ``model``) with shape ``kind`` and ``source`` (None: any), in
    registry order."""
    if kind is not None:
        _checks.check_choice("kind", kind, FEATURE_KINDS)
    if source is not None:
        _checks.check_choice("source", source, FEATURE_SOURCES)
    return tuple(n for n, f in registry(model).items()
                 if (kind is None or f.kind == kind) and (source is None or f.source == source))


def providers(name: str) -> tuple[str, ...]:
    """The systems (registry names, in order) whose datasets may store the feature ``name``."""
    feature(name)
    return tuple(n for n, s in systems.SYSTEMS.items() if name in COMMON_NAMES or any(f.name == name for f in s.features))


def lattices(name: str) -> tuple[str, ...]:
    """The lattice kinds of the systems that provide the feature ``name`` (sorted)."""
    return tuple(sorted({systems.get(n).lattice for n in providers(name)}))


def check_names(names, model: str | None = None, argument: str = "features", one: bool = False) -> tuple[str, ...]:
    """``names`` (one name or a sequence of distinct names) as a tuple, each a feature of the registry
    and, when ``model`` is given, of that system; ``ValueError`` naming ``argument`` otherwise.
    ``one``: exactly one name."""
    given = (names,) if (one or isinstance(names, str)) else names
    try:
        given = tuple(given)
    except TypeError as err:
        raise ValueError(f"Argument `{argument}` must be a tuple of feature names, got {names!r}.") from err
    every = registry()
    for f in given:
        if not isinstance(f, str) or f not in every:
            raise ValueError(f"Argument `{argument}` has unknown feature {f!r}; known: {sorted(every)}.")
        if model is not None and f not in registry(model):
            raise ValueError(f"Argument `{argument}`: feature {f!r} is not available for the {model} model "
                             f"(only {providers(f)}).")
    if not given or len(set(given)) != len(given):
        raise ValueError(f"Argument `{argument}` must be a non-empty tuple of distinct names, got {given!r}.")
    return given


def compute(names, sample: Sample) -> dict:
    """The features ``names`` of one ``sample`` (:class:`Sample`; ``sample.E``, ``sample.V`` set when
    a feature of source ``"eigensystem"`` is among them), ``{name: array}`` in registry order,
    float64/complex128. Jittable; every name must be a feature of ``sample.system``."""
    reg = _gather([sample.system])
    return {n: f.compute(sample) for n, f in reg.items() if n in names}


def _readers() -> dict:
    """The systems' readers of their own features from a Hamiltonian (``Feature.from_hamiltonian``), by name."""
    return {f.from_hamiltonian.__name__: f.from_hamiltonian for f in registry().values() if f.from_hamiltonian is not None}


__all__ += sorted(_readers())


def __getattr__(name: str):
    # e.g. tnn.data.features.hoppings_from_hamiltonian, SSH's (tnn.systems.ssh): a public name kept
    # without this module naming a system
    readers = _readers() if not name.startswith("__") else {}
    if name in readers:
        return readers[name]
    raise AttributeError(f"module 'tnn.data.features' has no attribute {name!r}")
