r"""On-disk layout of a dataset: shards, manifest, checksums, and the streaming loader.

Layout::

    <dataset>/
      manifest.json        spec, seed, versions, splits, array shapes/dtypes, per-shard entries
      shard-00000.npz      samples [0, shard_size)        (an uncompressed .npz: one .npy per array)
      shard-00001.npz      samples [shard_size, 2 shard_size)
      ...

Every array in a shard has a leading sample axis. Shards are written by a deterministic writer
(fixed zip timestamps, sorted members, no compression), so equal content gives equal bytes and the
sha256 in the manifest identifies the content. Files are written to a temporary name (``.tmp-*``)
and moved into place (:func:`tnn.results.atomic_write_bytes`); the manifest is rewritten the same way
after each shard. A reader hashes the bytes it read before parsing them: a corrupted or truncated
shard raises :class:`ShardError` naming the file and is never loaded.

The manifest (``format: "tnn-dataset"``, ``format_version: 1``, or 2 for a compact dataset)
holds ``spec`` (the :class:`~tnn.data.spec.DatasetSpec` as a dict), ``spec_digest``, ``seed``,
``versions`` (tnn, jax, numpy), ``n_samples``, ``n_shards``, ``splits`` (``{"train": [start, stop],
...}``), ``arrays`` (per-sample shape and dtype of every array), ``shards`` (one entry per shard,
``null`` until written: ``file``, ``start``, ``count``, ``sha256``, ``bytes``, ``class_counts``) and
``complete``.

Compact datasets (``spec.compact``): the shards hold the label arrays only; ``arrays`` lists the
features too, each marked ``"derived": true``, and the reader recomputes them from the shard's
``params``, ``strength`` and ``index`` (:func:`tnn.data.samples.rebuild_features`, the computation
of generation, same bits) whenever they are asked for. A reader that predates them refuses format 2
instead of misreading it.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import zipfile
from pathlib import Path
from typing import Iterator

import numpy as np

from tnn import _checks, results as tres
from tnn.data.samples import REBUILD_INPUTS, rebuild_features
from tnn.data.spec import DatasetSpec

__all__ = [
    "Dataset",
    "open_dataset",
    "ShardError",
    "DatasetError",
    "MANIFEST",
    "shard_name",
    "npz_bytes",
    "read_manifest",
    "write_manifest",
    "FORMAT",
    "FORMAT_VERSION",
    "FORMAT_VERSIONS",
    "COMPACT_FORMAT_VERSION",
]

MANIFEST = "manifest.json"
FORMAT = "tnn-dataset"
FORMAT_VERSION = 1
#: the format of a compact dataset (features derived, not stored): a reader without them refuses it
COMPACT_FORMAT_VERSION = 2
#: the versions this reader understands
FORMAT_VERSIONS = (FORMAT_VERSION, COMPACT_FORMAT_VERSION)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class DatasetError(ValueError):
    """A dataset folder is missing, incomplete, or does not match what was asked for."""


class ShardError(DatasetError):
    """A shard file is missing, truncated or corrupted (its sha256 does not match the manifest)."""


def shard_name(k: int) -> str:
    return f"shard-{k:05d}.npz"


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """A ``.npz`` archive of ``arrays`` as bytes, byte-for-byte reproducible.

    ``numpy.savez`` stamps the current time into the zip headers; here every member gets a fixed
    date, fixed permissions and no compression, in sorted order. ``numpy.load`` reads the result.
    """
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name in sorted(arrays):
            info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            member = _io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[name]), allow_pickle=False)
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str | None:
    try:
        with open(path, "rb") as f:
            return hashlib.file_digest(f, "sha256").hexdigest()
    except FileNotFoundError:
        return None


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of the dataset folder ``path``; :class:`DatasetError` if absent or unreadable."""
    path = Path(path)
    mf = path / MANIFEST
    if not mf.is_file():
        raise DatasetError(f"{path} is not a tnn dataset: no {MANIFEST} (generate it with `tnn data generate`).")
    try:
        m = json.loads(mf.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DatasetError(f"{mf} is not valid JSON: {err}") from err
    if m.get("format") != FORMAT or m.get("format_version") not in FORMAT_VERSIONS:
        raise DatasetError(f"{mf}: not a {FORMAT} manifest of version {' or '.join(map(str, FORMAT_VERSIONS))} "
                           f"(format={m.get('format')!r}, version={m.get('format_version')!r}).")
    return m


def write_manifest(path: str | os.PathLike, manifest: dict) -> None:
    tres.atomic_write_text(Path(path) / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def read_shard(path: Path, entry: dict, fields: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
    """Read one shard, checking its sha256 against the manifest ``entry`` before parsing it; only
    the arrays ``fields`` are parsed (None: all)."""
    file = path / entry["file"]
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        raise ShardError(f"shard file {file} is missing (listed in {path / MANIFEST}); re-run `tnn data generate` "
                         "with the same spec to regenerate it.") from None
    got = sha256_bytes(data)
    if got != entry["sha256"]:
        raise ShardError(
            f"shard file {file} is corrupted or truncated: {len(data)} bytes with sha256 {got[:16]}..., the "
            f"manifest expects {entry['bytes']} bytes with sha256 {entry['sha256'][:16]}...; it was not loaded. "
            "Re-run `tnn data generate` with the same spec (resume) to regenerate it."
        )
    with np.load(_io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in (z.files if fields is None else fields)}


class Dataset:
    """A generated dataset on disk, read lazily shard by shard.

    ``Dataset(path)`` (or :func:`open_dataset`) reads only the manifest; shards are read (and their
    checksums verified) when samples are asked for, so datasets larger than memory stream.

    Attributes:
      path: the folder. spec: its :class:`DatasetSpec`. manifest: the parsed manifest.
      n: number of samples. splits: ``{"train": (start, stop), "val": ..., "test": ...}``.
      arrays: ``{name: (per-sample shape, dtype)}`` of every array, stored or derived.
      derived: the names of ``arrays`` that a compact dataset recomputes on reading (empty otherwise).
    """

    def __init__(self, path: str | os.PathLike, allow_incomplete: bool = False):
        self.path = Path(path)
        self.manifest = read_manifest(self.path)
        self.spec = DatasetSpec.from_dict(self.manifest["spec"])
        if not self.manifest.get("complete") and not allow_incomplete:
            done = sum(e is not None for e in self.manifest["shards"])
            raise DatasetError(
                f"dataset {self.path} is incomplete ({done} of {self.manifest['n_shards']} shards written); "
                "resume it with `tnn data generate` and the same spec."
            )
        self.n = int(self.manifest["n_samples"])
        self.splits = {k: (int(a), int(b)) for k, (a, b) in self.manifest["splits"].items()}
        self.arrays = {k: (tuple(v["shape"]), np.dtype(v["dtype"])) for k, v in self.manifest["arrays"].items()}
        self.derived = frozenset(k for k, v in self.manifest["arrays"].items() if v.get("derived"))

    def __repr__(self) -> str:
        return f"Dataset({str(self.path)!r}, model={self.spec.model!r}, n={self.n}, size={self.spec.size})"

    def __len__(self) -> int:
        return self.n

    @property
    def shards(self) -> list[dict]:
        return self.manifest["shards"]

    def _entry(self, k: int) -> dict:
        e = self.shards[k]
        if e is None:
            raise ShardError(f"shard {k} ({self.path / shard_name(k)}) has not been generated yet.")
        return e

    def shard(self, k: int, fields: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Arrays of shard ``k`` (checksum verified), optionally only ``fields``: ``{name: (count, ...)}``.
        Derived arrays (compact datasets) are recomputed from the shard's ``params``, ``strength``
        and ``index``."""
        return self._rows(k, 0, None, self._fields(fields))

    def _rows(self, k: int, lo: int, hi: int | None, fields: tuple[str, ...]) -> dict[str, np.ndarray]:
        """Rows ``lo:hi`` of the arrays ``fields`` of shard ``k``; derived ones are recomputed for
        those rows only."""
        derived = tuple(f for f in fields if f in self.derived)
        read = tuple(f for f in fields if f not in self.derived)
        if derived:
            read += tuple(f for f in REBUILD_INPUTS if f not in read)
        arrs = {f: a[lo:hi] for f, a in read_shard(self.path, self._entry(k), read).items()}
        if derived:
            arrs.update(rebuild_features(self.spec, arrs, derived))
        return {f: arrs[f] for f in fields}

    def verify(self) -> list[str]:
        """Check every shard's checksum; returns the list of problems (empty when all is well)."""
        bad = []
        for k, e in enumerate(self.shards):
            if e is None:
                bad.append(f"shard {k}: not generated")
                continue
            got = sha256_file(self.path / e["file"])
            if got is None:
                bad.append(f"{self.path / e['file']}: missing")
            elif got != e["sha256"]:
                bad.append(f"{self.path / e['file']}: checksum mismatch (corrupted or truncated)")
        return bad

    def _fields(self, fields) -> tuple[str, ...]:
        if fields is None:
            return tuple(self.arrays)
        fields = (fields,) if isinstance(fields, str) else tuple(fields)
        unknown = [f for f in fields if f not in self.arrays]
        if unknown:
            raise ValueError(f"Argument `fields` has unknown arrays {unknown}; this dataset stores {sorted(self.arrays)}.")
        return fields

    def _split(self, split: str) -> tuple[int, int]:
        if split == "all":
            return (0, self.n)
        if split not in self.splits:
            raise ValueError(f"Argument `split` must be one of {sorted(self.splits) + ['all']}, got {split!r}.")
        return self.splits[split]

    def _pieces(self, start: int, stop: int) -> list[tuple[int, int, int]]:
        """``(shard, lo, hi)``: local row ranges of the shards that overlap ``[start, stop)``."""
        out = []
        for k, e in enumerate(self.shards):
            s0 = k * self.spec.shard_size
            s1 = s0 + (e["count"] if e else min(self.spec.shard_size, self.n - s0))
            lo, hi = max(start, s0), min(stop, s1)
            if lo < hi:
                out.append((k, lo - s0, hi - s0))
        return out

    def load(self, split: str = "all", fields=None) -> dict[str, np.ndarray]:
        """Every sample of ``split`` (``"train"``, ``"val"``, ``"test"`` or ``"all"``) in index order,
        as ``{name: array of shape (n_split, ...)}``. For datasets that fit in memory."""
        fields = self._fields(fields)
        start, stop = self._split(split)
        pieces = self._pieces(start, stop)
        parts = [self._rows(k, lo, hi, fields) for k, lo, hi in pieces]
        if not parts:
            return {f: np.zeros((0, *self.arrays[f][0]), self.arrays[f][1]) for f in fields}
        return {f: np.concatenate([p[f] for p in parts]) for f in fields}

    def n_split(self, split: str) -> int:
        a, b = self._split(split)
        return b - a

    def batches(self, split: str = "train", batch_size: int = 64, seed: int = 0, epoch: int = 0,
                shuffle: bool = True, drop_last: bool = False, fields=None,
                buffer_shards: int = 2) -> Iterator[dict[str, np.ndarray]]:
        """Stream ``split`` in batches of ``{name: (batch, ...)}`` NumPy arrays.

        With ``shuffle``, the order is a function of ``(seed, epoch)`` only: the shards of the split
        are visited in a seeded random order, ``buffer_shards`` of them at a time are pooled and
        permuted, and rows left over after the last full batch of a pool are carried into the next
        pool. At most ``buffer_shards`` shards (plus one batch) are in memory at once, so datasets
        larger than memory stream. Without ``shuffle`` the order is the sample index order.
        ``drop_last`` drops a final partial batch.
        """
        batch_size = _checks.check_int("batch_size", batch_size, 1)
        buffer_shards = _checks.check_int("buffer_shards", buffer_shards, 1)
        fields = self._fields(fields)
        start, stop = self._split(split)
        pieces = self._pieces(start, stop)
        rng = np.random.default_rng([int(seed), int(epoch)]) if shuffle else None
        if shuffle:
            pieces = [pieces[i] for i in rng.permutation(len(pieces))]
        carry: dict[str, np.ndarray] | None = None
        for g in range(0, len(pieces), buffer_shards):
            group = pieces[g : g + buffer_shards]
            parts = []
            for k, lo, hi in group:
                parts.append(self._rows(k, lo, hi, fields))
            if carry is not None:
                parts.insert(0, carry)
            pool = {f: np.concatenate([p[f] for p in parts]) for f in fields}
            del parts
            m = len(pool[fields[0]])
            if shuffle:
                # The carried rows were already shuffled; permuting the whole pool again is harmless.
                perm = rng.permutation(m)
                pool = {f: a[perm] for f, a in pool.items()}
            n_full = (m // batch_size) * batch_size
            for b in range(0, n_full, batch_size):
                yield {f: a[b : b + batch_size] for f, a in pool.items()}
            carry = {f: a[n_full:] for f, a in pool.items()} if n_full < m else None
        if carry is not None and not drop_last:
            yield carry

    def labels(self, split: str = "all") -> np.ndarray:
        """The training labels (``label`` array) of ``split``."""
        return self.load(split, ("label",))["label"]


def open_dataset(path: str | os.PathLike, allow_incomplete: bool = False) -> Dataset:
    """Open the dataset folder ``path`` (see :class:`Dataset`)."""
    return Dataset(path, allow_incomplete=allow_incomplete)
