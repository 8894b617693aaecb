r"""The landscape of one trained model on one batch: :func:`analyze` builds the model's training loss
and runs :func:`tnn.landscape.analyze_loss` on it; :func:`write_analysis` writes its JSON and figure.
(Moved from ``tnn.landscape.analysis``, issue 21: the landscape itself takes losses, never models.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import jax
import jax.numpy as jnp

from tnn import results as tres
from tnn.landscape import analyze_loss
from tnn.landscape.pytrees import Params
from tnn.results import pyplot, save_figure
from tnn.train import encode_labels, make_loss

__all__ = ["analyze", "write_analysis"]


def analyze(
    model,
    params: Params,
    data,
    key: jax.Array,
    *,
    k: int = 10,
    num_steps: int | None = None,
    num_probes: int = 8,
    slq_steps: int = 64,
    n_alpha: int = 41,
    n_grid2d: int = 21,
    span: float = 1.0,
    exact_max: int = 1500,
    end: Params | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Curvature and slices of one trained member on one batch.

    Args:
      model: a :class:`tnn.models.Model`; params: one member's parameters.
      data: ``(x, y)``: features (or encoded input) and invariant values of the batch the loss is
        evaluated on (the model's training loss, :func:`tnn.train.make_loss`).
      key: PRNG key (Lanczos start, SLQ and Hutchinson probes, slice directions).
      k: extreme eigenvalues by Lanczos; num_steps: its steps (default as :func:`tnn.landscape.hessian_eigs`).
      num_probes, slq_steps: SLQ probes and steps (capped at ``P``).
      n_alpha, n_grid2d, span: 1D slice points and 2D grid side over ``[-span, span]``.
      exact_max: models with at most this many parameters also get the full Hessian's exact
        eigenvalues (the summary then uses them, else the SLQ nodes).
      end: parameters to draw the straight line to (e.g. topo's exact solution); None: no line.

    Returns:
      the dict of :func:`tnn.landscape.analyze_loss` (NumPy arrays and floats: ``n_params``, ``loss``,
      ``eigs_low``, ``eigs_high``, ``exact_eigs`` (or absent), ``density_grid``, ``density``, ``trace``,
      ``summary``, ``slice_alphas``, ``slice_1d``, ``slice_2d`` (``(n_grid2d, n_grid2d)``), ``line``
      (or absent)).
    """
    x, y = data
    xe = model.prepare(x)
    t = jnp.asarray(encode_labels(model.config, np.asarray(y)))
    base = make_loss(model)

    def loss(p):
        return base(p, xe, t)

    return analyze_loss(loss, params, key, k=k, num_steps=num_steps, num_probes=num_probes, slq_steps=slq_steps,
                        n_alpha=n_alpha, n_grid2d=n_grid2d, span=span, exact_max=exact_max, end=end, progress=progress,
                        desc=f"landscape {model.name}")


def write_analysis(result: dict[str, Any], folder: str | Path, name: str = "landscape") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` (every number of :func:`analyze`) and ``<folder>/<name>.png``
    (Lanczos extremes and exact spectrum, SLQ density, 1D slice and line, 2D slice). Atomic writes
    (:mod:`tnn.results`). Returns the paths."""
    plt = pyplot()

    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", tres.to_jsonable(result))
    fig, ax = plt.subplots(1, 4, figsize=(16, 3.6))
    if "exact_eigs" in result:
        ev = result["exact_eigs"]
        ax[0].plot(np.arange(len(ev)), ev, ".", ms=3, label="exact (eigh)")
    kl = len(result["eigs_low"])
    ax[0].plot(np.arange(kl), result["eigs_low"], "x", label="Lanczos lowest")
    P = result["n_params"]
    ax[0].plot(np.arange(P - kl, P), result["eigs_high"], "x", label="Lanczos highest")
    ax[0].set_yscale("symlog", linthresh=1e-4)
    ax[0].set_xlabel("index")
    ax[0].set_ylabel("Hessian eigenvalue")
    ax[0].legend(fontsize=7)
    ax[1].semilogy(result["density_grid"], np.maximum(result["density"], 1e-12))
    ax[1].set_xlabel("eigenvalue")
    ax[1].set_ylabel("SLQ density")
    ax[2].plot(result["slice_alphas"], result["slice_1d"], label="filter-normalized")
    if "line" in result:
        ax[2].plot(result["line"]["alphas"], result["line"]["losses"], label=f"line to end (barrier {result['line']['barrier']:.3g})")
    ax[2].set_xlabel("alpha")
    ax[2].set_ylabel("loss")
    ax[2].legend(fontsize=7)
    g = result["slice_2d_grid"]
    cs = ax[3].contourf(g, g, np.log10(np.maximum(result["slice_2d"].T, 1e-12)), levels=20)
    fig.colorbar(cs, ax=ax[3], label="log10 loss")
    ax[3].set_xlabel("alpha (d1)")
    ax[3].set_ylabel("beta (d2)")
    s = result["summary"]
    fig.suptitle(f"top {s['top']:.3g}, condition {s['condition']:.3g}, negative fraction {s['negative_fraction']:.3g}")
    fig.tight_layout()
    ipath = save_figure(fig, folder / f"{name}.png")
    return {"json": jpath, "figure": ipath}
