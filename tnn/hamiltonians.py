r"""Pure real-space Hamiltonian builders: ``ssh``, ``qwz``, ``haldane``.

Every physical parameter, disorder strength and PRNG key is a traced argument; the lattice and
the hopping ``ranges`` are static. A builder wrapped in ``jax.jit`` compiles once per lattice (a
lattice is a pytree without leaves, so it needs no ``static_argnames``; ``ranges``, a tuple of ints,
does: ``jax.jit(ssh, static_argnames="ranges")``) and ``jax.vmap`` maps over parameters and keys. Output is a
dense ``(N, N)`` matrix, ``N = lat.n_sites``, in the site order of :mod:`tnn.lattice`.

The construction is a list of *hopping families*: static NumPy index arrays ``(rows, cols)`` from
:meth:`tnn.lattice.Lattice.hop` and traced amplitudes. :func:`terms` exposes that list;
:func:`assemble` scatters it into a dense matrix and :func:`sparse` / :func:`assemble_sparse` into a
``jax.experimental.sparse.BCOO`` one (same entries, same noise for the same key). Inputs are checked
in Python first (``ValueError`` naming the argument, constants checked even inside a caller's
``jit``); the assembly then runs under one internal ``jit`` per geometry, so eager calls are cheap too.

Conventions are those of ``docs/conventions.md``:

* SSH family: ``H = sum_n sum_i t[i] (c^dag_{A,n+r_i} c_{B,n} + h.c.)``; bond disorder adds an
  independent uniform ``[-Wb/2, Wb/2]`` to every bond amplitude (keeps chiral symmetry), onsite
  disorder a uniform ``[-Wo/2, Wo/2]`` on every site (breaks it).
* QWZ: onsite ``m sigma_z``; ``H[r + x, r] = (sigma_z + i sigma_x)/2``,
  ``H[r + y, r] = (sigma_z + i sigma_y)/2`` plus h.c., so that the Bloch matrix is
  ``sin kx sx + sin ky sy + (m + cos kx + cos ky) sz``.
* Haldane: NN hopping ``t1``; NNN ``t2 exp(i nu phi)`` for the hop ``j -> k -> i`` with
  ``nu = sign((r_k - r_j) x (r_i - r_k))_z``; mass ``+M`` on A, ``-M`` on B.
* Anderson disorder (QWZ, Haldane): uniform ``[-W/2, W/2]`` per orbital.
"""

from __future__ import annotations

from tnn import assembly, operators, systems
from tnn.assembly import (  # noqa: F401  (the engine's public names, reachable here as before)
    Terms,
    anderson_noise,
    assemble,
    assemble_sparse,
    block_family,
    build,
    check_ranges,
    chiral_operator,
    complex_dtype,
    real_dtype,
    uniform_noise,
)
from tnn.lattice import Lattice

# The builders (ssh, qwz, haldane, kitaev_chain, ..., their *_terms) live with their systems in
# tnn.systems; they are attributes of this module too (visible in dir()).
globals().update(systems.builders())

__all__ = [
    "terms",
    "assemble",
    "assemble_sparse",
    "sparse",
    "operator",
    "as_operator",
    "Terms",
    "MODEL_PARAMS",
    "chiral_operator",
    "build",
    "check_ranges",
    "block_family",
    "uniform_noise",
    "anderson_noise",
    "model_params",
    "real_dtype",
    "complex_dtype",
    *systems.builders(),
]


def model_params() -> dict[str, tuple[str, ...]]:
    """``{system name: names of its builder's physical arguments}`` for every registered system."""
    return {name: s.params for name, s in systems.SYSTEMS.items()}


def __getattr__(name: str):
    if name.startswith("__"):
        raise AttributeError(f"module 'tnn.hamiltonians' has no attribute {name!r}")
    # MODEL_PARAMS, and the builders of a system added to the registry after this module was imported.
    if name == "MODEL_PARAMS":
        return model_params()
    fn = systems.lookup(name)
    if fn is None:
        raise AttributeError(f"module 'tnn.hamiltonians' has no attribute {name!r}")
    return fn


def _check_model(model: str, params: dict, kwargs: dict):
    system = systems.get(model)
    if not isinstance(params, dict) or set(params) != set(system.params):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(
            f"Argument `params` for model {model!r} must be a dict with exactly the keys "
            f"{sorted(system.params)}, got {got}."
        )
    clash = set(kwargs) & set(system.params)
    if clash:
        raise ValueError(f"Argument `params` must hold {sorted(clash)}, not the keyword arguments.")
    return system


def terms(model: str, params: dict, lat: Lattice, **kwargs) -> Terms:
    """The hopping-family list of ``model`` (a name of :data:`tnn.systems.SYSTEMS`).

    ``params`` is keyed as the builder's physical arguments (``MODEL_PARAMS[model]``); ``kwargs``
    are the remaining keyword arguments of the builder (``ranges``, disorder strengths, ``key``).
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    return core(*args, lat, *static)


def sparse(model: str, params: dict, lat: Lattice, **kwargs):
    """Sparse (BCOO) version of the dense builders, for lattices too large for an ``(N, N)`` array.

    ``sparse("qwz", {"m": m}, lat, onsite_disorder=W, key=key)`` has the same entries as
    ``qwz(m, lat, onsite_disorder=W, key=key)`` (same checks, same noise for the same key).
    Returns a ``BCOO`` of shape ``(N, N)``; ``H @ v`` is a sparse matrix-vector product.
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    return build(core, args, lat, static, True)


def operator(model: str, params: dict, lat: Lattice, *, engine: str | None = None, **kwargs) -> operators.Operator:
    """Matrix-free version of the dense builders: the action ``v -> H v`` of ``model`` on ``lat``.

    ``operator("qwz", {"m": m}, lat, onsite_disorder=W, key=key) @ v`` equals
    ``qwz(m, lat, onsite_disorder=W, key=key) @ v`` (same checks, same noise for the same key) for
    ``v`` of shape ``(N,)`` or ``(N, k)``, without forming ``H``. Arguments as :func:`terms`;
    ``engine``: None (default: the stencil, shifted copies of ``v`` on the cells x orbitals grid),
    ``"stencil"`` or ``"bonds"`` (gather + segment sum). Returns a :class:`tnn.operators.Operator`,
    a pytree that ``jit`` and ``vmap`` take (parameters and keys may be traced).
    """
    check, core = _check_model(model, params, kwargs).check_core
    args, lat, static = check(**params, lat=lat, **kwargs)
    if engine is not None and engine not in ("stencil", "bonds"):
        raise ValueError(f"Argument `engine` must be None, 'stencil' or 'bonds', got {engine!r}.")
    return assembly.build_operator(core, args, lat, static, engine)


def as_operator(H) -> operators.Operator:
    """A user's Hamiltonian (``scipy.sparse``, ``jax.experimental.sparse.BCOO``, dense ``(N, N)``, or an
    operator) as a :class:`tnn.operators.Operator`: :func:`tnn.operators.as_operator`."""
    return operators.as_operator(H)
