"""Figure helper shared by the analysis modules: matplotlib without a display, atomic PNG writes."""

from __future__ import annotations

import io as _io
from pathlib import Path


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str | Path, dpi: int = 110) -> Path:
    """Write ``fig`` as PNG to ``path`` atomically (:func:`tnn.results.atomic_write_bytes`) and close it."""
    from tnn import results as tres

    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    pyplot().close(fig)
    return tres.atomic_write_bytes(path, buf.getvalue())
