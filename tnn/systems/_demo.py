"""Small helpers the systems' ``tnn demo`` panels share (k-space references, colours, steps)."""

from __future__ import annotations

import numpy as np

from tnn import bloch

#: integer invariants -1, 0, +1 in three clear colours; NaN (gapless: no invariant) in a fourth
COLOURS = {-1: "#2166ac", 0: "#f7f7f7", 1: "#b2182b"}
GAPLESS = "#ffb000"


def kspace_or_none(fn, xs) -> list:
    """``fn(x)`` for each ``x``, or None where the model is gapless (:class:`tnn.kspace.GaplessError`)."""
    out = []
    for x in xs:
        try:
            out.append(fn(x))
        except bloch.GaplessError:
            out.append(None)
    return out


def step_reference(ax, fine, label: str) -> None:
    """Draw the fine k-space reference ``(x, invariant)`` as exact steps (the gapless points, NaN,
    are left out: the step is drawn through them)."""
    x, y = fine
    ok = np.isfinite(y)
    ax.step(x[ok], y[ok], "k-", where="mid", lw=1.2, label=label)


def integer_cmap():
    """``(cmap, norm)`` for maps of the integers -1, 0, 1 with NaN in the gapless colour."""
    from matplotlib.colors import BoundaryNorm, ListedColormap  # noqa: PLC0415

    cmap = ListedColormap([COLOURS[-1], COLOURS[0], COLOURS[1]]).with_extremes(bad=GAPLESS)
    return cmap, BoundaryNorm([-1.5, -0.5, 0.5, 1.5], cmap.N)
