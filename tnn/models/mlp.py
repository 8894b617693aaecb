r"""MLP baseline: a fixed-size input, flattened, through ``depth`` dense layers.

Not size-agnostic by construction (the first layer's width is the flattened input size): it is the
reference point for what a network with no locality, no weight sharing and no symmetry learns.
Input: ``(B, ...)``, flattened to ``(B, F)``; output ``(B, n_out)``. GELU activations (smooth, so
Hessians in :mod:`tnn.landscape` are well defined everywhere).
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from tnn.models.base import Model, ModelConfig, compute_dtype, from_linen

__all__ = ["MLP", "build"]


class MLP(nn.Module):
    """``depth`` hidden ``Dense(width)`` + GELU, then ``Dense(n_out)``. ``(B, ...) -> (B, n_out)``."""

    width: int
    depth: int
    n_out: int
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        x = x.reshape(x.shape[0], -1)
        for _ in range(self.depth):
            x = nn.gelu(nn.Dense(self.width, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x))
        return nn.Dense(self.n_out, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x)


def build(config: ModelConfig, lat, prepare) -> Model:
    return from_linen(MLP(config.width, config.depth, config.n_out, config.resolved_dtype()), config, lat, prepare)
