"""Loss and metrics: label encoding, the training loss, and the metrics of ``metrics.csv``."""

from __future__ import annotations

from typing import Callable

import numpy as np
import jax.numpy as jnp
import optax

from tnn import _checks
from tnn.models import Model, ModelConfig

__all__ = ["encode_labels", "make_loss", "metrics_from_outputs"]


def encode_labels(model_config: ModelConfig, y) -> np.ndarray:
    """Invariant values ``y`` ``(n,)`` -> class indices (classify, int32) or floats (regress).

    Values within 1e-6 of a class value count as that class (labels rounded from real-space
    invariants); anything else raises ``ValueError`` naming ``y``."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"Argument `y` must have shape (n,), but has shape {y.shape}.")
    _checks.check_finite("y", y)
    if model_config.task == "regress":
        return y.astype(np.float64)
    classes = np.asarray(model_config.classes, dtype=np.float64)
    diff = np.abs(y.astype(np.float64)[:, None] - classes[None, :])
    idx = diff.argmin(axis=1)
    bad = diff[np.arange(len(y)), idx] > 1e-6
    if np.any(bad):
        raise ValueError(
            f"Argument `y` holds values {sorted(set(np.unique(y[bad]).tolist()))} outside the model's classes "
            f"{tuple(model_config.classes)} (ModelConfig field `classes`)."
        )
    return idx.astype(np.int32)


def make_loss(model: Model) -> Callable:
    """``loss(params, x, t) -> scalar``: mean cross-entropy (classify; ``t`` class indices) or mean
    squared error (regress; ``t`` values) of ``model.apply(params, x)``. ``x`` encoded, batched."""
    task = model.config.task

    def loss(params, x, t):
        out = model.apply(params, x)
        if task == "classify":
            return optax.softmax_cross_entropy_with_integer_labels(out, t).mean()
        return jnp.mean((out[:, 0] - t.astype(out.dtype)) ** 2)

    return loss


# ------------------------------------------------------------------------------------ metrics
def _softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def metrics_from_outputs(model_config: ModelConfig, outputs, values, bins: int = 10) -> dict[str, float]:
    """Metrics of outputs ``(n, n_out)`` against invariant values ``(n,)`` (NumPy, float64).

    Keys: ``loss``, ``acc``, ``acc_<v>`` per class value (NaN where the class is absent), ``mae``,
    ``bias``, ``rmse`` of the regressed invariant, and ``ece`` (classification)."""
    out = np.asarray(outputs, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    classes = np.asarray(model_config.classes, dtype=np.float64)
    res: dict[str, float] = {}
    if model_config.task == "classify":
        t = encode_labels(model_config, values)
        p = _softmax(out)
        logp = np.log(np.clip(p, 1e-300, None))
        res["loss"] = float(-logp[np.arange(len(t)), t].mean())
        pred = p.argmax(axis=1)
        reg = p @ classes
        conf = p.max(axis=1)
        correct = pred == t
        edges = np.linspace(0.0, 1.0, bins + 1)
        which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
        ece = 0.0
        for b in range(bins):
            sel = which == b
            if sel.any():
                ece += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
        res["ece"] = float(ece)
    else:
        reg = out[:, 0]
        res["loss"] = float(np.mean((reg - values) ** 2))
        pred = np.abs(reg[:, None] - classes[None, :]).argmin(axis=1)
        t = np.abs(values[:, None] - classes[None, :]).argmin(axis=1)
        correct = pred == t
    res["acc"] = float(correct.mean())
    for k, v in enumerate(model_config.classes):
        sel = t == k
        res[f"acc_{v}"] = float(correct[sel].mean()) if sel.any() else float("nan")
    err = reg - values
    res["mae"] = float(np.abs(err).mean())
    res["bias"] = float(err.mean())
    res["rmse"] = float(np.sqrt((err**2).mean()))
    return res
