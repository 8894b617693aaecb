"""Contraction of a tensor network written as einsum subscripts: an ``opt_einsum`` path, each pairwise
step run by ``tensornetwork.ncon`` on the JAX backend (see :mod:`tnn.contractions`, "How a network is
contracted"). The only module of the package that imports ``tensornetwork``.
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import opt_einsum
import tensornetwork

# --------------------------------------------------------------------------------- contraction
_ENGINES = ("ncon", "einsum")


def _parse(subscripts: str) -> tuple[tuple[str, ...], str]:
    if "->" not in subscripts:
        raise ValueError(f"Argument `subscripts` must contain '->', got {subscripts!r}.")
    lhs, out = subscripts.replace(" ", "").split("->")
    inputs = tuple(lhs.split(","))
    for term in inputs:
        if len(set(term)) != len(term):
            raise ValueError(f"Argument `subscripts`: repeated index within one tensor in {term!r}.")
    if not set(out) <= set("".join(inputs)):
        raise ValueError(f"Argument `subscripts`: output indices {out!r} do not all appear in the inputs.")
    return inputs, out


@functools.lru_cache(maxsize=512)
def contraction_path(subscripts: str, shapes: tuple[tuple[int, ...], ...], optimize: str = "auto"):
    """The ``opt_einsum`` path for ``subscripts`` with operand ``shapes`` (cached).

    Returns ``(path, info)``: ``path`` a list of position tuples in ``opt_einsum``'s convention
    (contracted operands are removed, the result is appended), ``info`` its ``PathInfo`` (FLOP
    count, scaling, largest intermediate).
    """
    inputs, _ = _parse(subscripts)
    if len(inputs) != len(shapes):
        raise ValueError(f"Argument `shapes` must have {len(inputs)} entries for {subscripts!r}, got {len(shapes)}.")
    path, info = opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize)
    return tuple(tuple(int(p) for p in step) for step in path), info


@functools.lru_cache(maxsize=512)
def _plan(subscripts: str, shapes: tuple[tuple[int, ...], ...], optimize: str):
    """Pairwise steps ``(positions, operand index strings, kept indices)`` and the final transpose."""
    inputs, out = _parse(subscripts)
    path, _ = contraction_path(subscripts, shapes, optimize)
    current = list(inputs)
    steps = []
    for pos in path:
        pos = tuple(sorted(pos, reverse=True))
        terms = tuple(current.pop(p) for p in pos)
        remaining = set("".join(current)) | set(out)
        union = "".join(dict.fromkeys("".join(terms)))
        kept = "".join(c for c in union if c in remaining)
        steps.append((pos, terms, kept))
        current.append(kept)
    (final,) = current
    return tuple(steps), tuple(final.index(c) for c in out)


def _ncon_step(tensors: list, terms: tuple[str, ...], kept: str):
    """One pairwise (or single-tensor) contraction with ``tensornetwork.ncon``."""
    labels = {c: -(k + 1) for k, c in enumerate(kept)}
    summed = [c for c in dict.fromkeys("".join(terms)) if c not in labels]
    labels.update({c: k + 1 for k, c in enumerate(summed)})
    if len(terms) == 1 and not summed and terms[0] == kept:
        return tensors[0]
    if len(terms) == 2 and not (set(terms[0]) & set(terms[1])) - set(kept):
        # No index is contracted between the two: a pointwise (Hadamard/outer) product, which ncon
        # would run as a batched matmul of 1 x 1 matrices. Broadcasting is the same product, faster.
        return jnp.einsum(f"{terms[0]},{terms[1]}->{kept}", *tensors)
    structure = [[labels[c] for c in t] for t in terms]
    out_order = [-(k + 1) for k in range(len(kept))] or None
    return tensornetwork.ncon(tensors, structure, out_order=out_order, backend="jax")


def contract(subscripts: str, *operands, optimize: str = "auto", engine: str = "ncon"):
    """Contract a tensor network written as einsum ``subscripts`` along an ``opt_einsum`` path.

    Args:
      subscripts: e.g. ``"ij,ij,ij->"``; explicit output (``->``) required, indices may be shared by
        any number of operands (hyperedges), but not repeated within one operand.
      *operands: arrays matching ``subscripts``.
      optimize: ``opt_einsum`` strategy (``"auto"``, ``"optimal"``, ``"dp"``, ``"greedy"``, ...).
      engine: ``"ncon"`` (pairwise ``tensornetwork.ncon``, JAX backend) or ``"einsum"``
        (``jnp.einsum`` with the same path).

    Returns:
      The contracted array, indices in the order of the output subscripts.
    """
    if engine not in _ENGINES:
        raise ValueError(f"Argument `engine` must be one of {_ENGINES}, got {engine!r}.")
    shapes = tuple(tuple(int(d) for d in jnp.shape(o)) for o in operands)
    inputs, _ = _parse(subscripts)
    for k, (term, shape) in enumerate(zip(inputs, shapes)):
        if len(term) != len(shape):
            raise ValueError(
                f"Argument `operands[{k}]` must have {len(term)} axes for {term!r}, but has shape {shape}."
            )
    if engine == "einsum":
        path, _ = contraction_path(subscripts, shapes, optimize)
        return jnp.einsum(subscripts, *operands, optimize=[tuple(p) for p in path])
    steps, final = _plan(subscripts, shapes, optimize)
    current = list(operands)
    for pos, terms, kept in steps:
        tensors = [current.pop(p) for p in pos]
        current.append(_ncon_step(tensors, terms, kept))
    (res,) = current
    return jnp.transpose(res, final) if final != tuple(range(len(final))) else res
