r"""Dataset samples: what turns a :class:`~tnn.data.spec.DatasetSpec` and a sample index into arrays.

A chunk of ``chunk_size`` samples is one jitted call: the parameter draws (with rejection, one
sample after the other under ``lax.map``, since a ``vmap``-ed ``while_loop`` would run every lane
as long as the slowest), then Hamiltonian, eigensystem, labels and features under ``vmap``.
:func:`compute_samples` runs such chunks; :mod:`tnn.data.generation` writes them as shards.
The features are one function of the spec and a sample's ``params``, ``strength`` and ``index``
(:func:`_sample_features`), which :func:`rebuild_features` runs again for compact datasets.

Determinism
-----------
Sample ``i`` (its PRNG index: ``spec.index_offset`` plus its position in the dataset) depends only
on ``(spec, i)``, never on the size: its PRNG key is ``fold_in(k_samples, i)`` with
``k_samples, k_classes = split(key(seed))``, and every random choice of the sample (parameter draws,
rejection attempts, the near-boundary coin, the disorder strength and the disorder itself) comes
from that key. Balancing assigns the target class of sample ``i`` from a permutation keyed by
``fold_in(k_classes, i // n_classes)``. The long chain of an exact Lyapunov label draws its
disorder from ``fold_in(k_disorder_i, LYAPUNOV_STREAM)``, a stream of its own.

Speed: LAPACK runs single-threaded (:func:`tnn.threads.blas_threads`; on a shared 2-core machine
threaded OpenBLAS made a batch of N = 100 ``eigh`` 20x slower (20 ms against 0.75 ms per matrix), and
one thread makes the floating-point results independent of the number of workers, which the
bit-for-bit resume and the rebuilt features of compact datasets rely on);
chiral chains (SSH without onsite disorder) are diagonalized through one ``L x L`` SVD of the chiral
block (:func:`~tnn.data.eigensystem.chiral_eigh`) instead of a ``2L x 2L`` ``eigh``, and only when an
eigenvector feature is stored: otherwise labels and energies come from the polar route's one ``eigh``
of ``h^dag h`` (about half the SVD's cost at L = 50).

Rejection sampling (``classes``, ``balance``, ``boundary_fraction``) uses the clean model's
k-space invariant (exact and cheap): attempt ``a`` of sample ``i`` draws its parameters from
``fold_in(k_params_i, a)`` until the class (and, for near-boundary samples, a k-space gap below
``boundary_gap``) is right, at most :data:`MAX_ATTEMPTS` times. Before any shard is written a
preflight (:func:`preflight`) draws :data:`PREFLIGHT_DRAWS` candidates and refuses (``ValueError``)
classes rarer than :data:`MIN_CLASS_PROBABILITY`, so a run never stalls on an unreachable class.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable

import numpy as np
import jax
import jax.numpy as jnp

from tnn import hamiltonians, invariants, systems
from tnn.data import exact, features
from tnn.data.eigensystem import chiral_eigensystem
from tnn.data.spec import KSPACE_GAP_TOL, DatasetSpec, ParamDist
from tnn.precision import require_x64
from tnn.threads import blas_threads

__all__ = [
    "compute_samples",
    "rebuild_features",
    "feature_layout",
    "REBUILD_INPUTS",
    "preflight",
    "INVALID_CLASS",
    "MAX_ATTEMPTS",
    "LABEL_ARRAYS",
    "PREFLIGHT_DRAWS",
    "MIN_CLASS_PROBABILITY",
]

#: class stored for samples whose invariant is NaN (never a real class): :data:`tnn.systems.INVALID_CLASS`
INVALID_CLASS = systems.INVALID_CLASS
#: rejection attempts per sample before giving up (raises RuntimeError; the preflight makes it ~impossible)
MAX_ATTEMPTS = 3000
PREFLIGHT_DRAWS = 1024
#: k-grid of the preflight estimate for the 2D models (an estimate: a coarse grid is enough, but it must
#: hold the points where the gap closes, a multiple of 6 for QWZ and Haldane, or every small-gap draw
#: counts as NaN: tnn.kspace.FHS_FLUX_MAX)
PREFLIGHT_NK_2D = 24
MIN_CLASS_PROBABILITY = 0.01
#: arrays stored for every dataset, whatever its features
LABEL_ARRAYS = (
    "label", "invariant", "class", "kspace", "kspace_class", "gap", "kspace_gap", "invalid", "reason", "tail",
    "kspace_gapless", "symmetry_broken", "ill_defined", "params", "strength", "near_boundary",
    "attempts", "index", "energies", "label_source", "label_reason", "xi", "transition_distance",
    "transition_error",
)
#: folded into a sample's disorder key for the long chain of its exact Lyapunov label
LYAPUNOV_STREAM = 0x4C59


# ------------------------------------------------------------------------------------ draws
def _draw(d: ParamDist, key, dtype):
    if d.dist == "uniform":
        lo, hi = d.args
        return lo + (hi - lo) * jax.random.uniform(key, (), dtype)
    if d.dist == "normal":
        mean, std = d.args
        return mean + std * jax.random.normal(key, (), dtype)
    if d.dist == "fixed":
        return jnp.asarray(d.args[0], dtype)
    vals = jnp.asarray(d.args, dtype)
    return vals[jax.random.randint(key, (), 0, len(d.args))]


def _draw_params(spec: DatasetSpec, key):
    keys = jax.random.split(key, len(spec.params))
    return jnp.stack([_draw(d, k, jnp.float64) for d, k in zip(spec.params, keys)])


def _kspace(spec: DatasetSpec, theta):
    """Clean k-space invariant (float) and gap of parameters ``theta``."""
    system = systems.get(spec.model)
    return system.kspace(system.to_params(theta, spec.ranges), spec.ranges, spec.kspace_nk)


def _kclass(inv, gap):
    return systems.nearest_class(inv, gap > KSPACE_GAP_TOL)


def _needs_rejection(spec: DatasetSpec) -> bool:
    return spec.classes is not None or spec.boundary_fraction > 0


# ------------------------------------------------------------------------------------ one sample
def _keys(k_samples, i):
    ki = jax.random.fold_in(k_samples, i.astype(jnp.uint32))
    return jax.random.split(ki, 4)  # parameters, near-boundary coin, strength, disorder


def _select(spec: DatasetSpec, k_samples, k_classes, i):
    """Parameters of sample ``i`` (after rejection): ``theta, kinv, kgap, near, attempts``."""
    k_par, k_near, _, _ = _keys(k_samples, i)
    if spec.balance:
        nc = len(spec.classes)
        perm = jax.random.permutation(jax.random.fold_in(k_classes, (i // nc).astype(jnp.uint32)), nc)
        target = jnp.asarray(spec.classes, jnp.int32)[perm[i % nc]]
    near = (jax.random.uniform(k_near, (), jnp.float64) < spec.boundary_fraction) if spec.boundary_fraction > 0 else jnp.bool_(False)

    def attempt(a):
        theta = _draw_params(spec, jax.random.fold_in(k_par, a.astype(jnp.uint32)))
        inv, gap = _kspace(spec, theta)
        return theta, inv, gap

    def accepted(inv, gap):
        cls, defined = _kclass(inv, gap)
        ok = jnp.bool_(True)
        if spec.classes is not None:
            ok = ok & defined & ((cls == target) if spec.balance else jnp.isin(cls, jnp.asarray(spec.classes, jnp.int32)))
        if spec.boundary_fraction > 0:
            ok = ok & (~near | (gap < spec.boundary_gap))
        return ok

    a0 = jnp.int32(0)
    theta, kinv, kgap = attempt(a0)
    n_att = jnp.int32(1)
    if _needs_rejection(spec):

        def cond(s):
            a, _, inv, gap = s
            return (~accepted(inv, gap)) & (a < MAX_ATTEMPTS)

        def body(s):
            a = s[0] + 1
            return (a, *attempt(a))

        a, theta, kinv, kgap = jax.lax.while_loop(cond, body, (a0, theta, kinv, kgap))
        # attempts > MAX_ATTEMPTS marks a sample whose conditions were never met.
        n_att = jnp.where(accepted(kinv, kgap), a + 1, MAX_ATTEMPTS + 1)
    return theta, kinv, kgap, near, n_att


def _sample_hamiltonian(spec: DatasetSpec, lat, k_samples, i, theta, w):
    """Terms and dense ``H`` ``(N, N)`` of sample ``i`` with parameters ``theta`` and disorder
    strength ``w``: its disorder key is the fourth key of :func:`_keys`."""
    _, _, _, k_dis = _keys(k_samples, i)
    key = None if spec.disorder == "none" else k_dis
    tm = systems.get(spec.model).dataset_terms(theta, lat, spec.ranges, spec.disorder, w, key)
    return tm, hamiltonians.assemble(tm)


def _eigensystem(spec: DatasetSpec, lat, H):
    """``(E, V, svd)``: the eigensystem of ``H`` as the stored features see it. Chiral chains: one
    ``L x L`` SVD of the chiral block (``svd = (X, s, Yh)``, which the polar-route labels reuse);
    otherwise ``eigh`` (``svd = None``)."""
    if systems.get(spec.model).is_chiral(spec.disorder):
        X, s, Yh = jnp.linalg.svd(invariants.chiral_block(H, lat))
        return (*chiral_eigensystem(X, s, Yh), (X, s, Yh))
    E, V = jnp.linalg.eigh(H)
    return E, V, None


def _sample_features(spec: DatasetSpec, names, lat, k_samples, i, theta, w, eigen: bool):
    """The one computation of a sample's features, shared by generation and the rebuild.

    Sample ``i`` with parameters ``theta`` and disorder strength ``w``: its terms and ``H``
    (:func:`_sample_hamiltonian`), its eigensystem when ``eigen`` (:func:`_eigensystem`), and the
    features ``names`` (float64/complex128; cast by :func:`_cast_features`). Returns
    ``(H, (E, V, svd), features)``, ``E = V = svd = None`` without ``eigen``.
    """
    tm, H = _sample_hamiltonian(spec, lat, k_samples, i, theta, w)
    E, V, svd = _eigensystem(spec, lat, H) if eigen else (None, None, None)
    return H, (E, V, svd), _features(spec, names, lat, tm, H, E, V, theta)


def _finish(spec: DatasetSpec, lat, k_samples, i, theta, kinv, kgap, near, n_att):
    """Hamiltonian, eigensystem, labels and features of sample ``i`` with parameters ``theta``."""
    _, _, k_str, k_dis = _keys(k_samples, i)
    # Sequence the k-space reference before the real-space diagonalization: XLA's CPU runtime may
    # run independent custom calls (LAPACK) concurrently; keep one LAPACK call in flight.
    theta, kinv, kgap = jax.lax.optimization_barrier((theta, kinv, kgap))
    w = _draw(spec.strength, k_str, jnp.float64)
    system = systems.get(spec.model)
    chiral = system.is_chiral(spec.disorder)
    # Chiral chains whose shards hold no eigenvector feature (a compact dataset among them): labels
    # and energies from the polar route's own SVD, no eigensystem.
    polar = chiral and not _needs_eigenvectors(spec)
    H, (E, V, svd), feats = _sample_features(spec, _stored_features(spec), lat, k_samples, i, theta, w, not polar)
    # Raw values (validity="raw") with their certificate; validity is decided below from the
    # certificate (spec.gap_tol None) or the spectral gap (an explicit spec.gap_tol).
    # Chiral chains with known hopping ranges: certified by their own zero-energy localization length.
    ranges = spec.ranges if (system.uses_ranges and len(set(spec.ranges)) >= 2) else None
    if polar:
        inv, cert, E = invariants.winding_polar_energies(H, lat, trim=spec.trim, ranges=ranges)
    elif chiral:
        # The SVD that gave the eigensystem gives the same polar-route labels.
        inv, cert = invariants.winding_number_from_svd(*svd, lat, trim=spec.trim, return_certificate=True, validity="raw",
                                                       ranges=ranges)
    else:
        # The system's real-space invariant of the eigensystem (System.realspace), raw, with its certificate;
        # on chains whose onsite disorder breaks chiral symmetry, Q = sign(H) of the full H.
        inv, cert = system.realspace(E, V, lat, spec.method, None if spec.method == "bott" else spec.trim)
    gap = cert.gap
    if spec.gap_tol is None:
        invalid = cert.reason != 0
    else:
        invalid = ~(gap >= spec.gap_tol)
    rclass, finite = systems.nearest_class(inv)
    kcls, kdefined = _kclass(kinv, kgap)
    broken = (w > 0) if (system.chiral_invariant and not chiral) else jnp.bool_(False)
    lyap_key = None if spec.disorder == "none" else jax.random.fold_in(k_dis, LYAPUNOV_STREAM)
    ex = exact.exact_label(spec, theta, w, lyap_key, (kcls, kdefined, kgap), (rclass, ~invalid & finite))
    if spec.label == "realspace":
        label, ill = rclass, broken | invalid | ~finite
    elif spec.label == "kspace":
        label, ill = kcls, broken | ~kdefined
    else:
        label, ill = ex["label"], ex["ill_defined"]

    out = {
        "label": label, "invariant": inv, "class": rclass, "kspace": kinv, "kspace_class": kcls,
        "gap": gap, "kspace_gap": kgap, "invalid": invalid, "reason": cert.reason, "tail": cert.tail,
        "kspace_gapless": ~kdefined, "symmetry_broken": broken, "ill_defined": ill, "params": theta,
        "strength": w, "near_boundary": near, "attempts": n_att, "index": i.astype(jnp.int64), "energies": E,
        **{k: ex[k] for k in ("label_source", "label_reason", "xi", "transition_distance", "transition_error")},
    }
    out.update(feats)
    return out


def _stored_features(spec: DatasetSpec) -> tuple[str, ...]:
    """The feature arrays the shards of ``spec`` hold: none for a compact dataset."""
    return () if spec.compact else spec.features


def _needs_eigenvectors(spec: DatasetSpec, names=None) -> bool:
    names = _stored_features(spec) if names is None else names
    reg = features.registry(spec.model)
    return any(reg[f].source == "eigensystem" for f in names)


def _features(spec: DatasetSpec, names, lat, tm, H, E, V, theta) -> dict:
    """The features ``names`` of one sample from its terms ``tm``, ``H``, eigensystem ``E, V`` (None
    when no eigenvector feature is asked) and parameters ``theta``, in float64/complex128: each by its
    record of the registry (:func:`tnn.data.features.compute`), the common ones and the system's own
    alike. ``density``, ``edge_modes`` and ``projector`` are functions of the eigenspaces, the same
    for the eigh and the chiral SVD route."""
    sample = features.Sample(systems.get(spec.model), lat, spec.ranges, theta, tm, H, E, V, spec.gauge)
    return features.compute(names, sample)


def _cast_features(spec: DatasetSpec, arrays: dict) -> dict:
    """Features in ``spec.dtype`` (labels stay float64). Inside the jitted chunk function: XLA's
    conversion is part of the compiled call, where a NumPy cast afterwards cost about 15% of a QWZ
    sample. Both round to nearest, so the stored values do not depend on where it happens."""
    if spec.dtype == "float64":
        return arrays
    out = dict(arrays)
    for f in features.registry(spec.model):
        if f in out:
            a = out[f]
            out[f] = a.astype(jnp.complex64 if jnp.iscomplexobj(a) else jnp.float32)
    return out


def _compute_key(spec: DatasetSpec) -> DatasetSpec:
    """The part of the spec that the compiled chunk function depends on (seed and n are data; a
    compact spec's features are computed on loading, not here)."""
    return dataclasses.replace(spec, n=spec.chunk_size, seed=0, shard_size=spec.chunk_size,
                               splits=(1.0, 0.0, 0.0), name="", index_offset=0,
                               features=("hamiltonian",) if spec.compact else spec.features)


@functools.lru_cache(maxsize=16)
def _chunk_fn(key_spec: DatasetSpec) -> Callable:
    lat = key_spec.lattice()

    @jax.jit
    def chunk(root, idx):
        k_samples, k_classes = jax.random.split(root)
        select = functools.partial(_select, key_spec, k_samples, k_classes)
        # Rejection runs sample by sample: under vmap a while_loop runs every lane until the slowest
        # one is done (B x max attempts k-space evaluations instead of sum of attempts).
        sel = jax.lax.map(select, idx) if _needs_rejection(key_spec) else jax.vmap(select)(idx)
        out = jax.vmap(lambda i, *s: _finish(key_spec, lat, k_samples, i, *s))(idx, *sel)
        return _cast_features(key_spec, out)

    return chunk


@functools.lru_cache(maxsize=16)
def _candidates_fn(key_spec: DatasetSpec) -> Callable:
    if systems.get(key_spec.model).ndim == 2:
        key_spec = dataclasses.replace(key_spec, kspace_nk=min(key_spec.kspace_nk, PREFLIGHT_NK_2D))

    @jax.jit
    def cand(keys):
        def one(k):
            theta = _draw_params(key_spec, k)
            return _kspace(key_spec, theta)

        return jax.vmap(one)(keys)

    return cand


def compute_samples(spec: DatasetSpec, start: int, stop: int, on_chunk: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
    """Samples ``[start, stop)`` of ``spec`` as NumPy arrays with a leading sample axis.

    Computed in whole chunks of ``spec.chunk_size`` starting at ``start`` (pass a multiple of
    ``chunk_size`` to reproduce the stored shards bit for bit). ``start``, ``stop`` are positions in the
    dataset; sample ``j`` has PRNG index ``spec.index_offset + j`` (stored as ``index``). Needs float64 on
    (:func:`tnn.enable_x64`; else ``RuntimeError``) and runs single-threaded LAPACK; features are cast
    to ``spec.dtype`` after. ``on_chunk(count)`` is called as each chunk reaches the host.
    """
    if not (0 <= start < stop):
        raise ValueError(f"Arguments `start`, `stop` must satisfy 0 <= start < stop, got {start}, {stop}.")
    require_x64("tnn.data (labels and features)")
    with blas_threads(1):
        fn = _chunk_fn(_compute_key(spec))
        root = jax.random.key(spec.seed or 0)
        parts = []
        c = spec.chunk_size
        for s0 in range(start, stop, c):
            idx = jnp.arange(s0, s0 + c, dtype=jnp.int64) + spec.index_offset
            parts.append(fn(root, idx))
        # Every chunk is dispatched first (JAX runs them back to back), then pulled to the host.
        host = []
        for j, p in enumerate(parts):
            host.append(jax.tree.map(np.asarray, p))
            if on_chunk is not None:
                on_chunk(min(c, stop - start - j * c))
    out = {k: np.concatenate([h[k] for h in host])[: stop - start] for k in host[0]}
    failed = out["attempts"] > MAX_ATTEMPTS
    if np.any(failed):
        raise RuntimeError(
            f"samples {out['index'][failed][:5].tolist()} did not reach their class after {MAX_ATTEMPTS} "
            "rejection attempts; widen the parameter ranges or drop the rare classes."
        )
    return out


#: the stored arrays a feature is recomputed from (:func:`rebuild_features`)
REBUILD_INPUTS = ("params", "strength", "index")


def _check_names(spec: DatasetSpec, names) -> tuple[str, ...]:
    names = (names,) if isinstance(names, str) else tuple(names)
    unknown = [f for f in names if f not in spec.features]
    if unknown or len(set(names)) != len(names):
        raise ValueError(f"Argument `names` must be distinct features of the dataset {list(spec.features)}, got {list(names)}.")
    return names


@functools.lru_cache(maxsize=16)
def _rebuild_fn(key_spec: DatasetSpec, names: tuple[str, ...]) -> Callable:
    lat = key_spec.lattice()
    eigen = _needs_eigenvectors(key_spec, names)

    @jax.jit
    def rebuild(root, idx, theta, w):
        k_samples, _ = jax.random.split(root)
        one = lambda i, t, s: _sample_features(key_spec, names, lat, k_samples, i, t, s, eigen)[2]  # noqa: E731
        return _cast_features(key_spec, jax.vmap(one)(idx, theta, w))

    return rebuild


def rebuild_features(spec: DatasetSpec, arrays, names=None) -> dict[str, np.ndarray]:
    r"""The features ``names`` of stored samples, recomputed as generation computed them.

    A compact dataset (``spec.compact``) stores no feature; every feature is a function of the
    spec and the sample's stored ``params`` (``theta``), ``strength`` (``w``) and ``index`` (the
    PRNG index, whose fourth key of ``fold_in(k_samples, index)`` is the disorder key): the same
    Hamiltonian, eigensystem route (the chiral SVD or ``eigh``), gauge and cast as generation
    (:func:`_sample_features`), jitted and vmapped in chunks of ``spec.chunk_size`` under float64
    and single-threaded LAPACK. Only the eigenvector features need a diagonalization (``hamiltonian``
    and ``hoppings`` alone need none).

    Args:
      spec: the dataset's :class:`DatasetSpec`.
      arrays: ``{"params": (S, P) float64, "strength": (S,) float64, "index": (S,) int}``, as stored
        (more keys are ignored).
      names: features of ``spec.features`` (None: all of them).

    Returns:
      ``{name: (S, ...)}`` NumPy arrays in ``spec.dtype``, equal to the arrays a non-compact
      dataset stores for those samples (shapes in :mod:`tnn.data`).
    """
    if not isinstance(spec, DatasetSpec):
        raise ValueError(f"Argument `spec` must be a tnn.data.DatasetSpec, got {type(spec).__name__}.")
    names = spec.features if names is None else _check_names(spec, names)
    missing = [k for k in REBUILD_INPUTS if k not in arrays]
    if missing:
        raise ValueError(f"Argument `arrays` must hold {list(REBUILD_INPUTS)}, missing {missing}.")
    theta = np.asarray(arrays["params"], np.float64)
    w = np.asarray(arrays["strength"], np.float64)
    idx = np.asarray(arrays["index"], np.int64)
    n = len(idx)
    if theta.shape != (n, len(spec.params)) or w.shape != (n,) or idx.shape != (n,):
        raise ValueError(f"Argument `arrays`: params {theta.shape}, strength {w.shape} and index {idx.shape} must "
                         f"have shapes (S, {len(spec.params)}), (S,), (S,) with one S.")
    if n == 0 or not names:
        shapes = feature_layout(spec)
        return {f: np.zeros((n, *shapes[f][0]), shapes[f][1]) for f in names}
    c = spec.chunk_size
    pad = -n % c  # whole chunks (one compilation); the padding repeats the last sample
    theta, w, idx = (np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) for a in (theta, w, idx))
    require_x64("tnn.data (labels and features)")
    with blas_threads(1):
        fn = _rebuild_fn(_compute_key(spec), tuple(names))
        root = jax.random.key(spec.seed or 0)
        parts = [fn(root, idx[s:s + c], theta[s:s + c], w[s:s + c]) for s in range(0, n + pad, c)]
        host = [jax.tree.map(np.asarray, p) for p in parts]
    return {f: np.concatenate([h[f] for h in host])[:n] for f in names}


def feature_layout(spec: DatasetSpec) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """``{feature: (per-sample shape, dtype)}`` of every feature of ``spec`` (traced, not computed)."""
    require_x64("tnn.data (labels and features)")
    fn = _rebuild_fn(_compute_key(spec), tuple(spec.features))
    c = spec.chunk_size
    out = jax.eval_shape(fn, jax.random.key(0), jax.ShapeDtypeStruct((c,), jnp.int64),
                         jax.ShapeDtypeStruct((c, len(spec.params)), jnp.float64), jax.ShapeDtypeStruct((c,), jnp.float64))
    return {f: (tuple(a.shape[1:]), np.dtype(a.dtype)) for f, a in out.items()}


def preflight(spec: DatasetSpec) -> dict[int, float]:
    """Estimate, from :data:`PREFLIGHT_DRAWS` draws, the probability of each requested class (joint
    with a near-boundary gap when ``boundary_fraction > 0``); ``ValueError`` if one is below
    :data:`MIN_CLASS_PROBABILITY`. Returns ``{class: probability}`` (empty without rejection)."""
    if not _needs_rejection(spec):
        return {}
    require_x64("tnn.data (labels and features)")
    keys = jax.random.split(jax.random.fold_in(jax.random.key(spec.seed or 0), 0xFFFFFFFF), PREFLIGHT_DRAWS)
    inv, gap = _candidates_fn(_compute_key(spec))(keys)
    cls, defined = _kclass(inv, gap)
    cls, defined, gap = np.asarray(cls), np.asarray(defined), np.asarray(gap)
    classes = spec.classes if spec.classes is not None else tuple(sorted(set(cls[defined].tolist())))
    probs, problems = {}, []
    for c in classes:
        hit = defined & (cls == c)
        p = float(hit.mean())
        probs[int(c)] = p
        if p < MIN_CLASS_PROBABILITY:
            problems.append(f"class {c}: p = {p:.4f}")
        if spec.boundary_fraction > 0:
            pn = float((hit & (gap < spec.boundary_gap)).mean())
            if pn < MIN_CLASS_PROBABILITY:
                problems.append(f"class {c} with k-space gap < {spec.boundary_gap}: p = {pn:.4f}")
    if spec.boundary_fraction > 0 and spec.classes is None and float((gap < spec.boundary_gap).mean()) < MIN_CLASS_PROBABILITY:
        problems.append(f"k-space gap < {spec.boundary_gap}: p = {float((gap < spec.boundary_gap).mean()):.4f}")
    if problems:
        raise ValueError(
            "Argument `spec`: the parameter distributions rarely produce what classes/balance/"
            f"boundary_fraction ask for ({'; '.join(problems)}; need >= {MIN_CLASS_PROBABILITY}). "
            "Widen the parameter ranges, drop those classes or raise boundary_gap."
        )
    return probs

