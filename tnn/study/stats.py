"""Small helpers shared by the report and the plots: values over seeds, and their formatting."""

from __future__ import annotations

import math

import numpy as np

#: seeds whose accuracies differ by more than this are shown as disagreeing, never averaged silently
DISAGREE = 0.2


def cells(rows, model: str, split: str, stage: str = "trained", key: str = "acc") -> list[float] | None:
    """The values of ``key`` over seeds; None if the model has no number there (n/a)."""
    sel = [r for r in rows if r["model"] == model and r["split"] == split and r["stage"] == stage]
    vals = [r.get(key) for r in sel]
    if not sel or any(v is None for v in vals):
        return None
    return [float(v) for v in vals]


def mean(vals) -> float | None:
    if vals is None:
        return None
    v = [x for x in vals if x is not None and not math.isnan(x)]
    return float(np.mean(v)) if v else None


def fmt(vals, digits: int = 3) -> str:
    """``mean ± std [min–max]`` over seeds (``n/a`` if none); disagreeing seeds are listed."""
    if vals is None:
        return "n/a"
    v = [x for x in vals if x is not None and not math.isnan(x)]
    if not v:
        return "--"
    if len(v) == 1:
        return f"{v[0]:.{digits}f}"
    s = f"{np.mean(v):.{digits}f} ± {np.std(v):.{digits}f} [{min(v):.{digits}f}–{max(v):.{digits}f}]"
    if max(v) - min(v) > DISAGREE:
        s += " **seeds disagree: " + " / ".join(f"{x:.2f}" for x in v) + "**"
    return s


def num(x, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    if isinstance(x, float) and (abs(x) >= 1e4 or (0 < abs(x) < 1e-3)):
        return f"{x:.2e}"
    return f"{x:.{digits}f}" if isinstance(x, float) else str(x)
