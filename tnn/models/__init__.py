r"""Models behind one pure interface: ``init(key, x) -> params``, ``apply(params, x) -> (B, n_out)``.

``make_model(config, lat)`` builds any of ``"mlp"``, ``"cnn"``, ``"resnet"``, ``"symmetric"``,
``"topo"`` as a :class:`Model` (see :mod:`tnn.models.base` for the interface, the batch convention
and why Linen). Typical use::

    cfg = ModelConfig("cnn", classes=(0, 1), width=16)
    model = make_model(cfg, lat)
    x = model.prepare({"hamiltonian": H})        # (B, N, N) -> (B, L, C)
    params = model.init(jax.random.key(0), x)
    logits = model.apply(params, x)               # (B, 2)

Dataset features (all batched; the names and layouts of :mod:`tnn.data`): ``"hamiltonian"``
``(B, N, N)``, ``"projector"`` ``(B, N, N)`` (2D ``Q``) or ``(B, L, L)`` (SSH chiral block),
``"density"`` ``(B, N, N)`` (or ``(B, N)``), ``"edge_modes"`` ``(B, N, k)`` (``k = 4``: with ``cells``
``(B, *dims, n_orb * k)``, size-agnostic), ``"hoppings"`` ``(B, R + 2, L)`` (SSH), and for topo
``"energies"`` ``(B, N)`` with ``"wavefunctions"`` (or ``"eigenvectors"``) ``(B, N, N)``: columns
are eigenvectors, sorted by ascending energy.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import jax
import jax.numpy as jnp

from tnn.data import features as _features
from tnn.lattice import Lattice
from tnn.models import inputs
from tnn.models.base import (
    CELL_INPUTS,
    INPUTS,
    MATRIX_INPUTS,
    MODEL_NAMES,
    SITE_INPUTS,
    Model,
    ModelConfig,
    class_logits,
    count_params,
    from_linen,
)

__all__ = [
    "Model",
    "ModelConfig",
    "make_model",
    "make_prepare",
    "from_linen",
    "class_logits",
    "count_params",
    "inputs",
    "MODEL_NAMES",
    "INPUTS",
    "SITE_INPUTS",
]


def _get(features: Mapping[str, Any], key: str):
    if key not in features:
        raise ValueError(f"Argument `features` must contain {key!r} for this model, has {sorted(features)}.")
    return features[key]


def make_prepare(config: ModelConfig, lat: Lattice | None):
    """The encoding ``features -> x`` of a model (see :mod:`tnn.models.inputs`).

    A ``Mapping`` of dataset features is encoded; anything else is taken as already encoded and
    returned unchanged (so ``prepare`` is idempotent).
    """
    source = config.resolved_input()
    enc = config.resolved_encoding(lat)
    radius = config.radius

    if source == "wavefunctions":

        def prepare(features):
            if not isinstance(features, Mapping) or set(features) == {"energies", "eigenvectors"}:
                return features  # already the model input
            if "eigenvectors" not in features and "wavefunctions" in features:
                wf = features["wavefunctions"]
                if isinstance(wf, Mapping):  # {"energies", "eigenvectors"} nested
                    features = wf
                else:  # tnn.data layout: "wavefunctions" (B, N, N) next to "energies" (B, N)
                    features = {"energies": _get(features, "energies"), "eigenvectors": wf}
            return {"energies": _get(features, "energies"), "eigenvectors": _get(features, "eigenvectors")}

        return prepare

    if enc in ("cells", "chiral") and lat is None:
        raise ValueError(f"Argument `lat` must be given for the {enc!r} encoding.")
    if source in SITE_INPUTS + CELL_INPUTS and enc not in ("cells", "flat"):
        raise ValueError(f"ModelConfig field `encoding` must be 'cells' or 'flat' for input {source!r}, got {enc!r}.")
    if source not in _features.COMMON_NAMES and (lat is None or lat.kind not in _features.lattices(source)):
        # a system's own feature (SSH hoppings) exists on its system's lattices only
        raise ValueError(f"ModelConfig field `input` {source!r} exists for {', '.join(_features.providers(source))} "
                         f"samples only ({', '.join(_features.lattices(source))} lattices), got lattice {lat!r}.")
    if enc == "chiral" and lat.kind != "chain":
        raise ValueError(
            f"ModelConfig field `encoding` 'chiral' needs a chain and a matrix input, got a {lat.kind} "
            f"lattice and input {source!r}."
        )

    def prepare(features):
        if not isinstance(features, Mapping):
            return features
        return _encode(jnp.asarray(_get(features, source)), source, enc, lat, radius)

    return prepare


@functools.partial(jax.jit, static_argnames=("source", "enc", "lat", "radius"))
def _encode(a, source: str, enc: str, lat: Lattice | None, radius: int):
    # One compiled program per input shape (eager, each gather, stack and reshape was compiled apart).
    if source in SITE_INPUTS:
        a = a[..., None] if a.ndim == 2 else a  # (B, N) -> (B, N, 1)
        return inputs.site_cells(a, lat) if enc == "cells" else inputs.site_flat(a)
    if source in CELL_INPUTS:
        return inputs.hoppings_cells(a) if enc == "cells" else inputs.flat_real(a)
    # an (L, L) matrix on a chain is its chiral block (the projector of a chiral chain)
    if source in MATRIX_INPUTS and lat is not None and lat.kind == "chain" and a.shape[-1] == lat.n_cells:
        a = inputs.chiral_block_to_matrix(a, lat)
    if enc == "cells":
        return inputs.cells(a, lat, radius)
    if enc == "chiral":
        return inputs.chiral(a, lat, radius)
    return inputs.flat(a)


def make_model(config: ModelConfig, lat: Lattice | None = None) -> Model:
    """Build the model ``config.name`` for lattice ``lat`` (static; required by topo and by the
    ``cells``/``chiral`` encodings). Raises ``ValueError`` naming the offending config field."""
    if not isinstance(config, ModelConfig):
        raise ValueError(f"Argument `config` must be a tnn.models.ModelConfig, got {type(config).__name__}.")
    config = config.validate()
    if lat is not None and not isinstance(lat, Lattice):
        raise ValueError(f"Argument `lat` must be a tnn.lattice.Lattice or None, got {type(lat).__name__}.")
    prepare = make_prepare(config, lat)
    if config.name == "mlp":
        from tnn.models import mlp as mod
    elif config.name == "cnn":
        from tnn.models import cnn as mod
    elif config.name == "resnet":
        from tnn.models import resnet as mod
    elif config.name == "symmetric":
        from tnn.models import symmetric as mod
    else:
        from tnn.models import topo as mod
    return mod.build(config, lat, prepare)
