"""Where a sweep's values live: the output path, the store of finished chunks, the ``DataArray`` files.

* ``out`` (:func:`check_out`): a ``.nc`` (NetCDF4 through h5netcdf) or ``.npz`` path whose folder
  is writable.
* ``<out>.partial/`` (:func:`partial_dir`): ``meta.json`` (grid, ``n_keys``, ``seed``, ``chunk``,
  the fingerprint of ``fn``, output shape and dtype) and one ``chunk_<j>.npy`` per finished chunk,
  each written atomically; :func:`check_same` refuses to resume or reuse another sweep's files.
* :func:`to_dataarray` labels the values; :func:`save` / :func:`load` write and read them.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np

from tnn import results as tres

__all__ = [
    "FORMATS",
    "check_out",
    "partial_dir",
    "read_meta",
    "write_meta",
    "load_chunks",
    "save_chunk",
    "check_same",
    "coords_of",
    "to_dataarray",
    "labelled",
    "save",
    "load",
]

#: the file formats of a finished sweep
FORMATS = (".nc", ".npz")


def check_out(out) -> Path | None:
    """``out`` as a ``Path`` (None stays None): a ``.nc`` / ``.npz`` file in a writable folder."""
    if out is None:
        return None
    try:
        path = Path(os.fspath(out))
    except TypeError:
        raise ValueError(f"Argument `out` must be a path ending in .nc or .npz, got {out!r}.") from None
    if path.suffix not in FORMATS:
        raise ValueError(f"Argument `out` must end in .nc (NetCDF) or .npz, got {str(path)!r}.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=path.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"Argument `out` ({path}) is not writable: {err.strerror or err}.") from None
    if path.exists() and not path.is_file():
        raise ValueError(f"Argument `out` ({path}) exists and is not a file.")
    return path


# ------------------------------------------------------------------------------ partial store
def partial_dir(path: Path | None) -> Path | None:
    """``<out>.partial``, the folder of an unfinished sweep's chunks (None without ``out``)."""
    return None if path is None else path.with_name(path.name + ".partial")


def read_meta(partial: Path) -> dict | None:
    """The recorded ``meta.json`` of an interrupted sweep, or None when there is none."""
    f = partial / "meta.json"
    return tres.read_json(f) if f.exists() else None


def write_meta(partial: Path, meta: Mapping) -> None:
    """Record what the chunks in ``partial`` belong to (written before the first chunk)."""
    tres.write_json(partial / "meta.json", dict(meta))


def _chunk_path(partial: Path, j: int) -> Path:
    return partial / f"chunk_{j:06d}.npy"


def load_chunks(partial: Path | None, n_chunks: int) -> list[np.ndarray | None]:
    """The finished chunks ``0..n_chunks-1`` found in ``partial`` (None for each missing one)."""
    out: list[np.ndarray | None] = [None] * n_chunks
    if partial is not None:
        for j in range(n_chunks):
            f = _chunk_path(partial, j)
            if f.exists():
                out[j] = np.load(f, allow_pickle=False)
    return out


def save_chunk(partial: Path, j: int, arr: np.ndarray) -> None:
    """Write chunk ``j`` atomically (a kill leaves it whole or absent)."""
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    tres.atomic_write_bytes(_chunk_path(partial, j), buf.getvalue())


def coords_of(da) -> dict[str, list]:
    """The grid of a finished sweep (its axes' coordinates, in order)."""
    return {n: np.asarray(da.coords[n]).tolist() for n in da.attrs.get("grid_names", "").split(",") if n}


def check_same(path, rec: Mapping, axes, n_keys, seed, fingerprint, rec_grid) -> None:
    """Refuse to resume or reuse ``out`` when it belongs to another sweep."""
    want = {n: a.tolist() for n, a in axes.items()}
    diffs = []
    if list(rec_grid) != list(want) or any(
        not np.array_equal(np.asarray(rec_grid[n]), np.asarray(want[n])) for n in want
    ):
        diffs.append("grid")
    if int(rec["n_keys"]) != n_keys:
        diffs.append(f"n_keys ({rec['n_keys']} there)")
    if int(rec["seed"]) != seed:
        diffs.append(f"seed ({rec['seed']} there)")
    if str(rec["fingerprint"]) != fingerprint:
        diffs.append("fn (its lowering differs)")
    if diffs:
        raise ValueError(
            f"Argument `out` ({path}) holds a different sweep (differs in {', '.join(diffs)}); "
            "choose another path or delete it (and its .partial folder)."
        )


# ------------------------------------------------------------------------------ xarray and files
def _xr():
    import xarray

    return xarray


def to_dataarray(values, axes, n_keys, out_dims, pl, seed, n_devices, fn, n_processes: int = 1):
    """The labelled sweep: ``values`` with the grid (and ``seed``) as coordinates, the plan ``pl``
    (a :class:`tnn.sweeps.SweepPlan`) and the key derivation in ``attrs``."""
    dims = (*axes, *(("seed",) if n_keys else ()), *out_dims)
    name = getattr(fn, "__name__", "value")
    attrs = {
        "grid_names": ",".join(axes), "n_keys": n_keys, "seed": seed,
        "key_derivation": "jax.random.fold_in(jax.random.key(seed), seed_index)",
        "chunk": pl.chunk, "n_chunks": pl.n_chunks, "n_devices": n_devices, "n_processes": n_processes,
        "fingerprint": pl.fingerprint, "fn": str(name),
    }
    return labelled(values, axes, n_keys, dims, name if str(name).isidentifier() else "value", attrs)


def labelled(values, axes, n_keys, dims, name, attrs):
    """``values`` as a ``DataArray`` with ``dims``, the grid ``axes`` (and ``seed = 0..n_keys-1``)
    as coordinates, ``name`` and ``attrs``."""
    coords = {n: a for n, a in axes.items()}
    if n_keys:
        coords["seed"] = np.arange(n_keys)
    return _xr().DataArray(values, dims=tuple(dims), coords=coords, name=name, attrs=dict(attrs))


def save(path, da) -> Path:
    """Write a sweep's ``DataArray`` to ``path`` atomically: ``.nc`` (NetCDF4, h5netcdf) or ``.npz``.

    The ``.npz`` holds ``values``, ``dims`` (names), one ``coord_<dim>`` per coordinate and
    ``attrs`` (JSON), readable with NumPy alone.
    """
    path = Path(path)
    if path.suffix not in FORMATS:
        raise ValueError(f"Argument `path` must end in .nc or .npz, got {str(path)!r}.")
    if path.suffix == ".npz":
        arrays = {"values": np.asarray(da.values), "dims": np.asarray(da.dims, dtype=str),
                  "attrs": np.asarray(json.dumps(tres.to_jsonable(dict(da.attrs)))),
                  "name": np.asarray(str(da.name))}
        for c in da.coords:
            arrays[f"coord_{c}"] = np.asarray(da.coords[c].values)
        return tres.save_arrays(path, arrays)
    with tres.atomic_target(path, suffix=".nc") as tmp:
        da.to_netcdf(tmp, engine="h5netcdf")
    return path


def load(path):
    """Read a sweep written by :func:`tnn.sweeps.sweep` / :func:`save` (``.nc`` or ``.npz``) into memory."""
    xr = _xr()
    path = Path(path)
    if path.suffix == ".npz":
        z = tres.load_arrays(path)
        dims = tuple(str(d) for d in z["dims"])
        coords = {k[len("coord_"):]: v for k, v in z.items() if k.startswith("coord_")}
        return xr.DataArray(z["values"], dims=dims, coords=coords, name=str(z["name"]),
                            attrs=json.loads(str(z["attrs"])))
    return xr.load_dataarray(path, engine="h5netcdf")
