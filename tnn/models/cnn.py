r"""CNN baseline (1D or 2D): convolutions over cells, global mean pooling, a small dense head.

Input ``(B, *spatial, C)`` with one or two spatial axes (the ``cells``/``chiral`` encodings of
:mod:`tnn.models.inputs`); output ``(B, n_out)``. Size-agnostic: the parameters are the
convolution kernels and the head, independent of the number of cells, because the spatial axes
are removed by a global mean. With ``padding="circular"`` the network is exactly invariant under
cyclic translations of a periodic sample.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from tnn.models.base import Model, ModelConfig, compute_dtype, from_linen

__all__ = ["CNN", "build", "flax_padding", "spatial_dims"]


def flax_padding(padding: str) -> str:
    return "CIRCULAR" if padding == "circular" else "SAME"


def spatial_dims(x) -> int:
    """The number of spatial axes of a batch ``x`` of shape ``(B, L, C)`` or ``(B, Lx, Ly, C)``."""
    nd = x.ndim - 2
    if nd not in (1, 2):
        raise ValueError(f"Argument `x` must have shape (B, L, C) or (B, Lx, Ly, C), but has shape {x.shape}.")
    return nd


class CNN(nn.Module):
    """``depth`` x (Conv(width, k) + GELU) -> mean over cells -> Dense(width) + GELU -> Dense(n_out)."""

    width: int
    depth: int
    kernel_size: int
    n_out: int
    padding: str = "zero"
    param_dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        nd = spatial_dims(x)
        for _ in range(self.depth):
            x = nn.gelu(nn.Conv(self.width, (self.kernel_size,) * nd, padding=flax_padding(self.padding), param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x))
        x = x.mean(axis=tuple(range(1, 1 + nd)))
        x = nn.gelu(nn.Dense(self.width, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x))
        return nn.Dense(self.n_out, param_dtype=self.param_dtype, dtype=compute_dtype(x, self.param_dtype))(x)


def build(config: ModelConfig, lat, prepare) -> Model:
    module = CNN(config.width, config.depth, config.kernel_size, config.n_out, config.resolved_padding(lat), config.resolved_dtype())
    return from_linen(module, config, lat, prepare)
