"""Parameter distributions: what a dataset or a system's preset draws each scalar parameter from.

:class:`ParamDist` and its constructors (:func:`uniform`, :func:`fixed`, :func:`normal`,
:func:`choice`) sit below the systems and the data pipeline: a system's dataset presets name them,
and :mod:`tnn.data` draws from them (its ``tnn.data.uniform`` etc. are these).
"""

from __future__ import annotations

import dataclasses
import math

from tnn import _checks

__all__ = ["ParamDist", "DISTS", "uniform", "fixed", "normal", "choice"]

#: distribution name -> number of arguments (None: any number, at least one)
DISTS = {"uniform": 2, "normal": 2, "fixed": 1, "choice": None}


@dataclasses.dataclass(frozen=True)
class ParamDist:
    """Distribution of one scalar parameter.

    Attributes:
      name: the parameter's name (see the module docstring; ``"W"`` for the disorder strength).
      dist: ``"uniform"`` (``args = (low, high)``), ``"normal"`` (``(mean, std)``), ``"fixed"``
        (``(value,)``) or ``"choice"`` (``(v1, v2, ...)``, each equally likely).
      args: the distribution's numbers, floats.
    """

    name: str
    dist: str
    args: tuple[float, ...]

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Argument `name` of a ParamDist must be a non-empty string, got {self.name!r}.")

        def error(field, msg, value):
            return ValueError(f"Argument `{field}` of parameter {self.name!r} {msg}, got {value!r}.")

        _checks.check_choice("dist", self.dist, sorted(DISTS), error=error)
        want = DISTS[self.dist]
        args = _checks.check_reals("args", self.args, min_length=1, error=error)
        if want is not None and len(args) != want:
            raise error("args", f"must hold {want} number(s) for dist={self.dist!r}", self.args)
        if self.dist == "uniform" and not args[0] <= args[1]:
            raise error("args", "must have low <= high", args)
        if self.dist == "normal" and args[1] < 0:
            raise error("args", "must have std >= 0", args)
        object.__setattr__(self, "args", args)

    @property
    def is_random(self) -> bool:
        return not (self.dist == "fixed" or (self.dist == "choice" and len(set(self.args)) == 1)
                    or (self.dist == "uniform" and self.args[0] == self.args[1])
                    or (self.dist == "normal" and self.args[1] == 0))

    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can produce (``+-inf`` for a normal)."""
        if self.dist == "normal":
            return (-math.inf, math.inf) if self.args[1] > 0 else (self.args[0], self.args[0])
        return (min(self.args), max(self.args))


def uniform(name: str, low: float, high: float) -> ParamDist:
    return ParamDist(name, "uniform", (low, high))


def fixed(name: str, value: float) -> ParamDist:
    return ParamDist(name, "fixed", (value,))


def normal(name: str, mean: float, std: float) -> ParamDist:
    return ParamDist(name, "normal", (mean, std))


def choice(name: str, *values: float) -> ParamDist:
    return ParamDist(name, "choice", tuple(values))
