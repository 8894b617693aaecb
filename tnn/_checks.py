"""Input checks for the public edge: the one place of the library's argument checks.

Every failure is a ``ValueError`` in one style, ``"Argument `name` must be ..., got value."``
(:func:`argument_error`). The scalar and tuple checks (:func:`check_int`, :func:`check_real`,
:func:`check_finite`, :func:`check_bool`, :func:`check_choice`, :func:`check_ints`,
:func:`check_reals`, :func:`check_splits`) take an ``error`` callable with the same signature,
``error(name, message, value) -> Exception``, so that a config class raises its own error naming
its field; :func:`check_fields` checks a config's fields by rules (:func:`integer`, :func:`real`,
...).

This module imports nothing else of ``tnn``, so every module, :mod:`tnn.lattice` included, can use
it (the check of a lattice argument is :func:`tnn.lattice.check_lattice`).

Checks run in Python before any tracing. Values that are JAX tracers (the function is being called
inside ``jit``/``vmap``/``grad``) can only be checked for shape and dtype; their values are checked
when the caller passes concrete arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
from typing import Any, Callable, Mapping

import numpy as np
import jax
import jax.numpy as jnp

#: ``error(name, message, value) -> Exception``: how a check reports a bad value
ErrorFn = Callable[[str, str, Any], Exception]


def _show(value) -> str:
    """``value`` as the "got ..." part of a message: a vector as NumPy prints it (long ones
    shortened), a matrix by its shape, anything else as its repr."""
    if isinstance(value, (np.ndarray, jax.Array)) and is_concrete(value):
        arr = np.asarray(value)
        if arr.ndim > 1:
            return f"an array of shape {arr.shape}"
        return np.array2string(arr, threshold=8, edgeitems=3, separator=", ")
    return repr(value)


def argument_error(name: str, msg: str, value) -> ValueError:
    """The library's error for a bad argument: ``"Argument `name` {msg}, got {value}."``."""
    return ValueError(f"Argument `{name}` {msg}, got {_show(value)}.")


# ------------------------------------------------------------------------------ scalars
def is_int(v) -> bool:
    """A Python or NumPy integer, not a bool."""
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def is_real(v) -> bool:
    """A finite Python or NumPy real number (int or float, within float range), not a bool."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)):
        return False
    try:
        return math.isfinite(v)
    except OverflowError:  # an int beyond the float range
        return False


def _num(x) -> str:
    """A bound as written in a message: ``2**63 - 1`` rather than its 19 digits."""
    if is_int(x) and x >= 2**16 and (x + 1) & x == 0:
        return f"2**{int(x).bit_length()} - 1"
    return str(x)


def _bounds(lo, hi, lo_open: bool = False, hi_open: bool = False) -> str:
    """`` >= lo``, `` in (lo, hi]``, ... (with a leading space), or ``""`` without bounds."""
    lo, hi = (None if x is None else _num(x) for x in (lo, hi))
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo}"
    if hi is not None:
        return f" {'<' if hi_open else '<='} {hi}"
    return ""


def _in_bounds(v, lo, hi, lo_open: bool = False, hi_open: bool = False) -> bool:
    if lo is not None and (v <= lo if lo_open else v < lo):
        return False
    return hi is None or (v < hi if hi_open else v <= hi)


def check_int(name: str, value, minimum: int | None = None, maximum: int | None = None, *,
              error: ErrorFn = argument_error) -> int:
    """``value`` as a Python int; it must be an int (not a bool) in ``[minimum, maximum]``."""
    if not is_int(value) or not _in_bounds(value, minimum, maximum):
        raise error(name, "must be an int" + _bounds(minimum, maximum), value)
    return int(value)


def check_real(name: str, value, lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
               hi_open: bool = False, error: ErrorFn = argument_error) -> float:
    """``value`` as a Python float; it must be a finite real number (not a bool) between ``lo`` and
    ``hi`` (closed ends unless ``lo_open``/``hi_open``)."""
    if not is_real(value) or not _in_bounds(value, lo, hi, lo_open, hi_open):
        raise error(name, "must be a finite number" + _bounds(lo, hi, lo_open, hi_open), value)
    return float(value)


def check_finite(name: str, value, *, error: ErrorFn = argument_error):
    """Every entry of the number or array ``value`` must be finite (no NaN or inf); returns ``value``.
    Non-float data passes (its other checks are the caller's)."""
    arr = np.asarray(value)
    if arr.dtype.kind in "fc" and not bool(np.all(np.isfinite(arr))):
        n_bad = int(np.sum(~np.isfinite(arr)))
        count = f" ({n_bad} of {arr.size} entries are not)" if arr.size > 1 else ""
        raise error(name, "must be finite" + count, value)
    return value


def check_bool(name: str, value, *, error: ErrorFn = argument_error) -> bool:
    """``value`` as a Python bool; it must be a Python or NumPy bool (``1`` or ``"yes"`` are refused)."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(name, "must be a bool", value)
    return bool(value)


def check_choice(name: str, value, options, *, error: ErrorFn = argument_error):
    """``value`` must be one of ``options``; returns it."""
    if value not in options:
        raise error(name, f"must be one of {tuple(options)}", value)
    return value


def _check_tuple(name: str, value, items: str, ok: Callable, convert: Callable, length: int | None,
                 min_length: int, distinct: bool, error: ErrorFn) -> tuple:
    """``value`` as a tuple of ``convert(v)``, each ``ok(v)``; ``length`` of them (or at least
    ``min_length``), all different when ``distinct``. ``items`` names them in the message."""
    count = f"{length} " if length is not None else f"at least {min_length} " if min_length > 1 else ""
    lead = "non-empty " if length is None and min_length == 1 else ""
    msg = f"must be a {lead}tuple of {count}{'distinct ' if distinct else ''}{items}"
    try:
        out = tuple(value)
    except TypeError:
        raise error(name, msg, value) from None
    if (
        not all(ok(v) for v in out)
        or (length is not None and len(out) != length)
        or len(out) < min_length
        or (distinct and len(set(out)) != len(out))
    ):
        raise error(name, msg, value)
    return tuple(convert(v) for v in out)


def check_ints(name: str, value, minimum: int | None = None, *, length: int | None = None, min_length: int = 0,
               distinct: bool = False, error: ErrorFn = argument_error) -> tuple[int, ...]:
    """``value`` as a tuple of Python ints: each an int ``>= minimum``; ``length`` of them (or at least
    ``min_length``), all different when ``distinct``."""
    return _check_tuple(name, value, "ints" + _bounds(minimum, None),
                        lambda v: is_int(v) and _in_bounds(v, minimum, None), int, length, min_length, distinct, error)


def check_reals(name: str, value, lo: float | None = None, *, lo_open: bool = False, min_length: int = 0,
                distinct: bool = False, error: ErrorFn = argument_error) -> tuple[float, ...]:
    """``value`` as a tuple of Python floats: each a finite number ``>= lo`` (``> lo`` when
    ``lo_open``); at least ``min_length`` of them, all different when ``distinct``."""
    return _check_tuple(name, value, "finite numbers" + _bounds(lo, None, lo_open),
                        lambda v: is_real(v) and _in_bounds(v, lo, None, lo_open), float, None, min_length, distinct,
                        error)


def check_splits(name: str, value, *, strict: bool = False,
                 error: ErrorFn = argument_error) -> tuple[float, float, float]:
    """``value`` as three fractions ``(train, val, test)`` summing to 1, each in ``[0, 1]`` (in
    ``(0, 1)`` when ``strict``: every part non-empty)."""
    msg = f"must be three fractions (train, val, test) in {'(0, 1)' if strict else '[0, 1]'} summing to 1"
    try:
        out = tuple(value)
    except TypeError:
        raise error(name, msg, value) from None
    if len(out) != 3 or not all(is_real(v) and _in_bounds(v, 0, 1, strict, strict) for v in out) \
            or abs(sum(out) - 1) > 1e-9:
        raise error(name, msg, value)
    return tuple(float(v) for v in out)


def seed_tuple(value, error: ErrorFn = argument_error) -> tuple[int, ...]:
    """``value`` as a non-empty tuple of distinct non-negative ints; otherwise raises
    ``error("seeds", message, value)`` (the caller's config error, naming its field)."""
    return check_ints("seeds", value, 0, min_length=1, distinct=True, error=error)


# ------------------------------------------------------------------------------ config fields
def integer(minimum: int | None = None, maximum: int | None = None):
    """A rule of :func:`check_fields`: an int in ``[minimum, maximum]`` (:func:`check_int`)."""
    return functools.partial(check_int, minimum=minimum, maximum=maximum)


def integers(minimum: int | None = None, *, length: int | None = None, min_length: int = 0, distinct: bool = False):
    """A rule of :func:`check_fields`: a tuple of ints (:func:`check_ints`)."""
    return functools.partial(check_ints, minimum=minimum, length=length, min_length=min_length, distinct=distinct)


def real(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = False):
    """A rule of :func:`check_fields`: a finite number between ``lo`` and ``hi`` (:func:`check_real`)."""
    return functools.partial(check_real, lo=lo, hi=hi, lo_open=lo_open, hi_open=hi_open)


def reals(lo: float | None = None, *, lo_open: bool = False, min_length: int = 0, distinct: bool = False):
    """A rule of :func:`check_fields`: a tuple of finite numbers (:func:`check_reals`)."""
    return functools.partial(check_reals, lo=lo, lo_open=lo_open, min_length=min_length, distinct=distinct)


def boolean():
    """A rule of :func:`check_fields`: a bool (:func:`check_bool`)."""
    return check_bool


def choice(options):
    """A rule of :func:`check_fields`: one of ``options`` (:func:`check_choice`)."""
    return functools.partial(check_choice, options=tuple(options))


def check_fields(obj, rules: Mapping[str | tuple[str, ...], Callable], error: ErrorFn) -> dict[str, Any]:
    """Check the fields of the config ``obj`` by ``rules`` and return ``{field: checked value}``.

    ``rules`` maps a field name, or a tuple of names sharing a rule, to a rule (:func:`integer`,
    :func:`real`, :func:`choice`, or any ``rule(name, value, error=error)``), in the order of the
    checks. A bad field raises ``error(field, message, value)``: the config's own error, naming it.
    """
    out = {}
    for names, rule in rules.items():
        for f in (names,) if isinstance(names, str) else names:
            out[f] = rule(f, getattr(obj, f), error=error)
    return out


def config_from_dict(cls, d: Mapping[str, Any]):
    """The config dataclass ``cls`` rebuilt from its JSON form ``d`` (lists back to tuples) and
    validated (``cls.validate()``); a key that is not a field raises ``ValueError`` naming it."""
    names = {f.name for f in dataclasses.fields(cls)}
    bad = sorted(set(d) - names)
    if bad:
        raise ValueError(f"{cls.__name__} field `{bad[0]}` is not a {cls.__name__} field (known: {sorted(names)}).")
    return cls(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in d.items()}).validate()


# ------------------------------------------------------------------------------ arrays
def is_concrete(x) -> bool:
    """True if ``x`` holds a value we can inspect now (not a tracer).

    Ask this of the *caller's* value: inside ``jit`` even ``jnp.asarray(0.0)`` is a tracer, so a
    converted array says nothing about whether the user passed a constant.
    """
    return not isinstance(x, jax.core.Tracer)


def densify(x):
    """A ``scipy.sparse`` matrix or array as a dense NumPy array; anything else unchanged.

    SciPy is not a dependency of tnn: a sparse matrix can only exist once ``scipy.sparse`` has been
    imported, so it is looked up in ``sys.modules`` (never imported here)."""
    sp = sys.modules.get("scipy.sparse")
    if sp is not None and sp.issparse(x):
        return x.toarray()
    return x


def concrete_value(x) -> np.ndarray | None:
    """``x`` as a NumPy array when its value is known now (Python/NumPy data, concrete jax arrays),
    else ``None`` (tracers, or objects NumPy cannot read)."""
    if not is_concrete(x):
        return None
    try:
        return np.asarray(x)
    except (TypeError, ValueError):
        return None


def as_param(name: str, x, shape: tuple[int, ...] | None = (), allow_complex: bool = False):
    """Convert ``x`` to an array, checking its shape, dtype kind and (if concrete) finiteness.

    Integer and boolean input becomes the default float dtype. Raises ``ValueError`` naming
    ``name``. The value checks use the caller's ``x``, so constants passed inside ``jit`` are
    checked as well.
    """
    if x is None:
        raise ValueError(f"Argument `{name}` must be given, got None.")
    try:
        arr = x if isinstance(x, jax.Array) else jnp.asarray(x)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Argument `{name}` must be numeric, got {type(x).__name__}.") from err
    if not (jnp.issubdtype(arr.dtype, jnp.number) or jnp.issubdtype(arr.dtype, jnp.bool_)):
        raise ValueError(f"Argument `{name}` must be numeric, got dtype {arr.dtype}.")
    if jnp.issubdtype(arr.dtype, jnp.complexfloating) and not allow_complex:
        raise ValueError(f"Argument `{name}` must be real, got dtype {arr.dtype}.")
    if shape is not None and tuple(arr.shape) != tuple(shape):
        raise ValueError(f"Argument `{name}` must have shape {tuple(shape)}, but has shape {tuple(arr.shape)}.")
    val = concrete_value(x)
    if val is not None:
        check_finite(name, val)
    if not jnp.issubdtype(arr.dtype, jnp.inexact):
        arr = arr.astype(jnp.result_type(float))
    return arr


def nonnegative(name: str, x):
    """A real, finite scalar that must be >= 0 when concrete (disorder strengths)."""
    arr = as_param(name, x, ())
    val = concrete_value(x)
    if val is not None and float(val) < 0:
        raise ValueError(f"Argument `{name}` must be >= 0, got {float(val)}.")
    return arr


def is_zero(x) -> bool:
    """True if the caller's ``x`` is known now to be zero (False for tracers)."""
    val = concrete_value(x)
    return val is not None and val.size > 0 and bool(np.all(val == 0))


def check_key(key, needed: bool, what: str):
    """``key`` must be a PRNG key when ``needed`` (a nonzero or traced disorder strength)."""
    if key is None:
        if needed:
            raise ValueError(
                f"Argument `key` must be a jax PRNG key when {what} is requested (nonzero or traced "
                "disorder strength), got None."
            )
        return None
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"Argument `key` must be a single PRNG key, got shape {key.shape}.")
        return key
    arr = jnp.asarray(key)
    if arr.shape != (2,) or arr.dtype != jnp.uint32:
        raise ValueError(
            "Argument `key` must be a PRNG key (jax.random.key(seed) or jax.random.PRNGKey(seed)), "
            f"got shape {arr.shape} dtype {arr.dtype}."
        )
    return arr


def square_matrix(name: str, H, n: int | None = None):
    arr = H if isinstance(H, jax.Array) else jnp.asarray(H)
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"Argument `{name}` must have shape (N, N), but has shape {tuple(arr.shape)}.")
    if n is not None and arr.shape[0] != n:
        raise ValueError(
            f"Argument `{name}` must have shape ({n}, {n}) to match the lattice, but has shape "
            f"{tuple(arr.shape)}."
        )
    return arr
