r"""Variance of the loss gradient at initialization against the chain length (barren plateaus).

:func:`gradient_variance` measures, for chains of each length ``L``, the variance over random
initializations of each loss-gradient component, averaged over components (the quantity of the
barren-plateau analysis of McClean et al., Nat. Commun. 9, 4812 (2018)), and fits
``Var ~ L^(-alpha)`` (and ``Var ~ exp(-L / xi)``) by least squares in log space.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import jax
import jax.numpy as jnp

from tnn import _checks

__all__ = ["gradient_variance", "write_gradient_variance"]


def _fit_line(x, y):
    A = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    pred = A @ coef
    ss = np.sum((y - y.mean()) ** 2)
    return float(coef[0]), float(coef[1]), float(1 - np.sum((y - pred) ** 2) / ss) if ss > 0 else float("nan")


def gradient_variance(model_config, lengths: Sequence[int], *, n_inits: int = 16, n_samples: int = 64, seed: int = 0,
                      progress: bool = False) -> dict[str, Any]:
    r"""Variance of the loss gradient at initialization against chain length ``L``.

    For each ``L``: ``n_samples`` SSH chains (:func:`tnn.data.preset` ``"ssh"`` restricted to
    ``model_config.classes``, seed ``seed``; samples without a certified label dropped, and
    ``ValueError`` if fewer than two remain at some ``L``), ``n_inits`` initializations
    (keys ``0 .. n_inits - 1``; topo: its ``init`` as configured, use ``"random"``), the gradient of
    the training loss on the whole batch for each, and ``Var_init[dL/dtheta_k]`` averaged over ``k``.

    Returns:
      dict: ``lengths``, ``variance`` ``(n_L,)``, ``grad_norm`` (mean squared norm), ``n_certified``
      (the samples used at each ``L``), and the fits
      ``alpha`` (``Var ~ L^-alpha``), ``alpha_r2``, ``xi`` (``Var ~ exp(-L/xi)``, inf if it grows),
      ``xi_r2``.
    """
    from tqdm.auto import tqdm

    from tnn import data
    from tnn.lattice import chain
    from tnn.models import make_model
    from tnn.train import encode_labels, make_loss
    from tnn.train.loaders import feature_fields

    Ls = list(_checks.check_ints("lengths", lengths, 8, min_length=2))
    n_inits = _checks.check_int("n_inits", n_inits, 2)
    n_samples = _checks.check_int("n_samples", n_samples, 2)
    feature = model_config.resolved_input()
    fields = feature_fields(model_config)
    var, gn, n_cert = [], [], []
    for L in tqdm(Ls, desc=f"grad variance {model_config.name}", disable=not progress):
        spec = data.preset("ssh", size=L, n=n_samples, seed=seed, classes=tuple(model_config.classes),
                           features=("wavefunctions", "hamiltonian") if feature in ("wavefunctions", "hamiltonian") else (feature,),
                           chunk_size=n_samples, shard_size=n_samples)
        arr = data.compute_samples(spec, 0, n_samples)
        keep = ~arr["ill_defined"].astype(bool)
        if keep.sum() < 2:
            # Short chains rarely carry a certified label (tnn.validity: their correlations reach the
            # boundary); a gradient over fewer than two samples would be meaningless (or 0 for none).
            raise ValueError(f"Argument `lengths`: only {int(keep.sum())} of {n_samples} SSH chains of {L} cells have a "
                             "certified label (tnn.validity); use longer chains or more samples (`n_samples`).")
        n_cert.append(int(keep.sum()))
        feats = {f: arr[f][keep] for f in fields}
        model = make_model(model_config, chain(L))
        x = model.prepare(feats)
        t = jnp.asarray(encode_labels(model.config, arr["label"][keep]))
        x1 = jax.tree_util.tree_map(lambda a: a[:1], x)
        stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *[model.init(jax.random.key(s), x1) for s in range(n_inits)])
        g = jax.jit(jax.vmap(jax.grad(make_loss(model)), in_axes=(0, None, None)))(stacked, x, t)
        flat = jnp.concatenate([a.reshape(n_inits, -1) for a in jax.tree_util.tree_leaves(g)], axis=1)
        flat = np.asarray(flat)
        var.append(float(flat.var(axis=0, ddof=1).mean()))
        gn.append(float((flat**2).sum(axis=1).mean()))
    Ls_a, v = np.asarray(Ls, float), np.asarray(var)
    slope, _, r2 = _fit_line(np.log(Ls_a), np.log(v))
    eslope, _, er2 = _fit_line(Ls_a, np.log(v))
    return {"model": model_config.name, "init": model_config.init, "lengths": Ls, "variance": v, "grad_norm": np.asarray(gn),
            "alpha": -slope, "alpha_r2": r2, "xi": float(-1 / eslope) if eslope < 0 else float("inf"), "xi_r2": er2,
            "n_inits": int(n_inits), "n_samples": int(n_samples), "n_certified": n_cert, "seed": int(seed)}


def write_gradient_variance(results: Mapping[str, dict], folder: str | Path, name: str = "gradient_variance") -> dict[str, Path]:
    """Write ``<folder>/<name>.json`` and ``<folder>/<name>.png`` (variance against L, log-log, with
    the fitted power law) for ``results``: model -> :func:`gradient_variance`."""
    from tnn import results as tres
    from tnn.results import pyplot, save_figure

    plt = pyplot()
    folder = Path(folder)
    jpath = tres.write_json(folder / f"{name}.json", dict(results))
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for m, r in results.items():
        L = np.asarray(r["lengths"], float)
        line = ax.loglog(L, r["variance"], "o", label=f"{m}: alpha = {r['alpha']:.2f} (R2 {r['alpha_r2']:.2f})")
        c = np.exp(np.mean(np.log(r["variance"]) + r["alpha"] * np.log(L)))
        ax.loglog(L, c * L ** (-r["alpha"]), "-", lw=0.8, color=line[0].get_color())
    ax.set_xlabel("chain length L (cells)")
    ax.set_ylabel("Var_init[dL/dtheta] (mean over parameters)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return {"json": jpath, "figure": save_figure(fig, folder / f"{name}.png")}
