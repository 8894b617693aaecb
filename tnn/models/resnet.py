r"""ResNet baseline: a residual CNN (1D or 2D) with LayerNorm, global mean pooling and a dense head.

``stem Conv(width)`` -> ``depth`` pre-norm residual blocks
``x + Conv(GELU(LN(Conv(GELU(LN(x))))))`` -> LN -> mean over cells -> ``Dense(width)`` + GELU ->
``Dense(n_out)``. Input ``(B, *spatial, C)``, output ``(B, n_out)``; size-agnostic like the CNN.

Normalization is LayerNorm over the channel axis of each cell: it has no running statistics (so the
model stays a pure ``apply(params, x)``; BatchNorm would need a mutable ``batch_stats`` collection
and makes a sample's output depend on its batch) and it commutes with translations.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from tnn.models.base import Model, ModelConfig, compute_dtype, from_linen
from tnn.models.cnn import flax_padding, spatial_dims

__all__ = ["ResNet", "build"]


class _Norm(nn.Module):
    kind: str
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        # force_float32_reductions=False: statistics in the input's dtype, which is what flax's default
        # gives for float32 and float64 input too, without its promote_types(float64, float32) that
        # jax_numpy_dtype_promotion="strict" refuses
        return nn.LayerNorm(param_dtype=self.param_dtype, force_float32_reductions=False)(x) if self.kind == "layer" else x


class ResNet(nn.Module):
    width: int
    depth: int
    kernel_size: int
    n_out: int
    padding: str = "zero"
    norm: str = "layer"
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        nd = spatial_dims(x)
        k = (self.kernel_size,) * nd
        pad = flax_padding(self.padding)
        x = nn.Conv(self.width, k, padding=pad, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x)
        for _ in range(self.depth):
            y = nn.Conv(self.width, k, padding=pad, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(nn.gelu(_Norm(self.norm, self.param_dtype)(x)))
            y = nn.Conv(self.width, k, padding=pad, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(nn.gelu(_Norm(self.norm, self.param_dtype)(y)))
            x = x + y
        x = _Norm(self.norm, self.param_dtype)(x).mean(axis=tuple(range(1, 1 + nd)))
        x = nn.gelu(nn.Dense(self.width, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x))
        return nn.Dense(self.n_out, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x)


def build(config: ModelConfig, lat, prepare) -> Model:
    module = ResNet(
        config.width, config.depth, config.kernel_size, config.n_out, config.resolved_padding(lat), config.norm,
        config.resolved_dtype(),
    )
    return from_linen(module, config, lat, prepare)
