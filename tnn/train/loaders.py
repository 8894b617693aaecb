"""Data into :func:`tnn.train.fit`: in-memory pairs, streamed batches, and :mod:`tnn.data` datasets."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import numpy as np
import jax

from tnn import _checks
from tnn.models import Model, ModelConfig
from tnn.train.loss import encode_labels

__all__ = ["load_dataset", "DatasetLoader", "dataset_classes", "Memory", "take", "n_samples", "split_xy",
           "is_stream", "stream_batches", "memory_data", "feature_fields"]


@dataclasses.dataclass
class Memory:
    """In-memory data of a fit: encoded inputs, encoded labels and the invariant values."""

    x: Any  # encoded, leading axis n
    y: np.ndarray  # encoded labels (n,)
    values: np.ndarray  # invariant values (n,)

    @property
    def n(self) -> int:
        return int(self.y.shape[0])


def take(x, idx):
    return jax.tree_util.tree_map(lambda a: a[idx], x)


def n_samples(x) -> int:
    leaves = jax.tree_util.tree_leaves(x)
    if not leaves:
        raise ValueError("Argument `x` must hold at least one array.")
    n = {int(np.shape(a)[0]) if np.ndim(a) else -1 for a in leaves}
    if len(n) != 1 or -1 in n:
        raise ValueError(f"Argument `x` must have one leading sample axis shared by every array, got sizes {sorted(n)}.")
    return n.pop()


def split_xy(data, name: str):
    if isinstance(data, Mapping) and "x" in data and "y" in data:
        return data["x"], data["y"]
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise ValueError(f"Argument `{name}` must be (x, y), a mapping with 'x' and 'y', or a batch loader.")


def is_stream(data) -> bool:
    return callable(data) or hasattr(data, "batches")


def stream_batches(data, epoch: int):
    return data.batches(epoch) if hasattr(data, "batches") else data(epoch)


def memory_data(model: Model, data, name: str) -> Memory:
    x, y = split_xy(data, name)
    x = model.prepare(x)
    n = n_samples(x)
    values = np.asarray(y)
    if values.shape != (n,):
        raise ValueError(f"Argument `{name}` labels must have shape ({n},), but have shape {values.shape}.")
    return Memory(x, encode_labels(model.config, values), values.astype(np.float64))


def feature_fields(model_config: ModelConfig) -> tuple[str, ...]:
    src = model_config.resolved_input()
    return ("wavefunctions", "energies") if src == "wavefunctions" else (src,)


def load_dataset(path, model_config: ModelConfig, split: str = "train", drop_ill_defined: bool = True):
    """Read split ``split`` of a :mod:`tnn.data` dataset for a model: ``(x, y, lat, info)``.

    ``x`` holds the arrays of the model's input feature (``wavefunctions`` with ``energies`` for
    topo), ``y`` the ``label`` array (invariant values). Samples flagged ``ill_defined`` (gapless,
    NaN invariant, broken chiral symmetry, or an invalid class; see :mod:`tnn.data`) are dropped
    unless ``drop_ill_defined=False``; ``info`` records the dataset, its spec digest and the counts.
    ``path`` may also be an open :class:`tnn.data.Dataset`.
    """
    from tnn import data as data_mod

    ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
    fields = feature_fields(model_config)
    missing = [f for f in fields if f not in ds.arrays]
    if missing:
        raise ValueError(
            f"Argument `path`: dataset {ds.path} stores no {missing[0]!r} (it has {sorted(ds.arrays)}); "
            f"ModelConfig field `input` is {model_config.resolved_input()!r}."
        )
    arrs = ds.load(split, fields + ("label", "ill_defined"))
    keep = ~arrs["ill_defined"].astype(bool) if drop_ill_defined else np.ones(len(arrs["label"]), bool)
    x = {f: arrs[f][keep] for f in fields}
    y = arrs["label"][keep]
    info = {"path": str(ds.path), "split": split, "spec": ds.spec.name, "model": ds.spec.model,
            "size": list(ds.spec.size), "pbc": ds.spec.pbc, "digest": ds.spec.digest(),
            "n": int(keep.sum()), "dropped_ill_defined": int((~keep).sum())}
    return x, y, ds.spec.lattice(), info


class DatasetLoader:
    """Stream a :mod:`tnn.data` split into :func:`fit` without loading it into memory.

    ``batches(epoch)`` yields ``(x, y)``: ``x`` the model's input feature(s), ``y`` the labels, in
    the order of ``Dataset.batches(split, batch_size, seed, epoch)`` (a function of ``(seed,
    epoch)`` only, so resume reproduces it). Samples flagged ``ill_defined`` are dropped and the
    rest re-batched, so every batch has exactly ``batch_size`` samples (one compilation); the last
    incomplete batch is dropped. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, path, model_config: ModelConfig, split: str = "train", batch_size: int = 32, seed: int = 0,
                 drop_ill_defined: bool = True):
        from tnn import data as data_mod

        self.ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
        self.fields = feature_fields(model_config)
        missing = [f for f in self.fields if f not in self.ds.arrays]
        if missing:
            raise ValueError(f"Argument `path`: dataset {self.ds.path} stores no {missing[0]!r}.")
        _checks.check_int("batch_size", batch_size, 1)
        self.split, self.batch_size, self.seed, self.drop = split, int(batch_size), int(seed), drop_ill_defined
        self.lattice = self.ds.spec.lattice()
        n = self.ds.n_split(split)
        if drop_ill_defined:
            n -= int(self.ds.load(split, ("ill_defined",))["ill_defined"].astype(bool).sum())
        self.n_valid = n

    def __len__(self) -> int:
        return self.n_valid // self.batch_size

    def batches(self, epoch: int):
        names = self.fields + ("label",)
        buf: dict[str, list] = {f: [] for f in names}
        have = 0
        for b in self.ds.batches(self.split, self.batch_size, seed=self.seed, epoch=epoch,
                                 fields=names + ("ill_defined",)):
            keep = ~b["ill_defined"].astype(bool) if self.drop else np.ones(len(b["label"]), bool)
            for f in names:
                buf[f].append(b[f][keep])
            have += int(keep.sum())
            while have >= self.batch_size:
                cat = {f: np.concatenate(v) for f, v in buf.items()}
                out = {f: a[: self.batch_size] for f, a in cat.items()}
                buf = {f: [a[self.batch_size :]] for f, a in cat.items()}
                have -= self.batch_size
                yield {f: out[f] for f in self.fields}, out["label"]


def dataset_classes(path) -> tuple[int, ...]:
    """The class values of a dataset: its spec's ``classes``, else every class the model can have."""
    from tnn import data as data_mod

    ds = path if isinstance(path, data_mod.Dataset) else data_mod.open_dataset(path)
    if ds.spec.classes is not None:
        return tuple(int(c) for c in ds.spec.classes)
    return tuple(data_mod.spec.default_classes(ds.spec.model, ds.spec.ranges))
