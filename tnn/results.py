r"""Results folders and atomic writes.

Every file this module writes goes to a temporary name in the same folder first and is then moved
into place with :func:`os.replace` (atomic on POSIX and Windows): a run killed in the middle of a
write leaves the previous version (or nothing), never a half-written file that a later run would
trust. Temporary names start with ``.tmp-`` and are ignored by every reader here.

Layout of a results folder (what :mod:`tnn.train` writes)::

    <run>/
      config.json          the model and training configs, seeds, versions (one JSON object)
      metrics.csv          one row per (seed, epoch): losses, accuracies, calibration, timing
      params/seed<S>.npz   final (best, with early stopping) parameters of each ensemble member
      checkpoint.npz       the last complete epoch: parameters, optimizer state, epoch, history
      figures/learning_curves.png

Parameters are stored as ``.npz`` archives whose entry names are the ``/``-joined dictionary keys
of the parameter pytree (``"head/w"``), so they can be read back without pickle and without tnn.
Only pytrees of nested ``dict``\ s with string keys and array leaves can be saved this way; that is
what every :mod:`tnn.models` model produces.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io as _io
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

__all__ = [
    "atomic_target",
    "atomic_write_bytes",
    "atomic_write_text",
    "write_json",
    "read_json",
    "write_csv",
    "read_csv",
    "flatten_params",
    "unflatten_params",
    "save_params",
    "load_params",
    "save_arrays",
    "load_arrays",
    "to_jsonable",
    "results_dir",
    "pyplot",
    "save_figure",
]

_SEP = "/"


# ------------------------------------------------------------------------------------ atomic
_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process's umask (read by setting it and putting it back, under a lock)."""
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_target(path: str | os.PathLike, suffix: str = ""):
    """Yield a temporary file name next to ``path`` (``suffix`` kept, for writers that look at it);
    when the block ends normally it replaces ``path`` atomically (``os.replace``), on any failure
    (KeyboardInterrupt included) it is removed, so no half-written file ever carries ``path``'s
    name. The folder is created if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + path.name + ".", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp creates the file readable by its owner only; the result gets the mode of any
        # file the user writes (0666 less the umask), whatever the writer did to the temporary
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (:func:`atomic_target`); the temporary file is flushed
    and fsynced before the rename so that the new content is on disk when the name appears."""
    with atomic_target(path) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


# ------------------------------------------------------------------------------------ figures
def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib  # noqa: PLC0415  (matplotlib only where a figure is drawn)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def save_figure(fig, path: str | os.PathLike, dpi: int = 110) -> Path:
    """Write the matplotlib figure ``fig`` as PNG to ``path`` atomically (:func:`atomic_write_bytes`)
    and close it: the one figure writer of the library (results, study, demo, sweeps, training)."""
    buf = _io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        pyplot().close(fig)
    return atomic_write_bytes(path, buf.getvalue())


# ------------------------------------------------------------------------------------ JSON
def to_jsonable(obj: Any) -> Any:
    """Convert dataclasses, tuples, NumPy/JAX scalars and arrays, and paths into JSON types."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, (complex, np.complexfloating)):
        return {"real": float(obj.real), "imag": float(obj.imag)}
    if hasattr(obj, "__array__") and not isinstance(obj, (str, bytes)):
        return to_jsonable(np.asarray(obj).tolist())
    return obj


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` (after :func:`to_jsonable`) as indented JSON, atomically."""
    return atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2, sort_keys=False) + "\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ------------------------------------------------------------------------------------ CSV
def write_csv(path: str | os.PathLike, rows: Iterable[Mapping[str, Any]], columns: list[str] | None = None) -> Path:
    """Write ``rows`` (dicts) as CSV, atomically. Columns: ``columns`` or the union in first-seen order.

    Missing values are written as empty cells; floats with ``repr`` precision (round-trip exact).
    """
    rows = list(rows)
    if columns is None:
        columns = []
        for r in rows:
            for k in r:
                if k not in columns:
                    columns.append(k)
    buf = _io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="raise", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _csv_cell(r.get(k)) for k in columns})
    return atomic_write_text(path, buf.getvalue())


def _csv_cell(v):
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if isinstance(v, (np.integer,)):
        return int(v)
    return v


def read_csv(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read a CSV written by :func:`write_csv`; numeric cells become ``int``/``float``, empty ``None``."""
    with open(path, encoding="utf-8", newline="") as f:
        return [{k: _parse_cell(v) for k, v in row.items()} for row in csv.DictReader(f)]


def _parse_cell(v: str):
    if v == "":
        return None
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


# ------------------------------------------------------------------------------------ arrays
def flatten_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, np.ndarray]:
    """Nested dicts of arrays -> flat ``{"a/b/c": np.ndarray}``. Raises ``ValueError`` naming
    ``params`` for anything else (lists, tuples, non-string keys, keys containing ``/``)."""
    if not isinstance(params, Mapping):
        raise ValueError(f"Argument `params` must be nested dicts of arrays, got {type(params).__name__} at {prefix or '<root>'}.")
    out: dict[str, np.ndarray] = {}
    for k, v in params.items():
        if not isinstance(k, str) or _SEP in k or k == "":
            raise ValueError(f"Argument `params` has a key {k!r} at {prefix or '<root>'}; keys must be non-empty strings without '/'.")
        name = f"{prefix}{_SEP}{k}" if prefix else k
        if isinstance(v, Mapping):
            if not v:
                raise ValueError(f"Argument `params` has an empty dict at {name}; it cannot be stored.")
            out.update(flatten_params(v, name))
        elif hasattr(v, "__array__") or isinstance(v, (int, float, complex, np.number)):
            out[name] = np.asarray(v)
        else:
            raise ValueError(f"Argument `params` has a {type(v).__name__} at {name}; expected an array.")
    return out


def unflatten_params(flat: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """Inverse of :func:`flatten_params`."""
    out: dict[str, Any] = {}
    for name, v in flat.items():
        parts = name.split(_SEP)
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        d[parts[-1]] = v
    return out


def save_arrays(path: str | os.PathLike, arrays: Mapping[str, Any]) -> Path:
    """Save a flat ``{name: array}`` mapping as an uncompressed ``.npz``, atomically."""
    buf = _io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in arrays.items()})
    return atomic_write_bytes(path, buf.getvalue())


def load_arrays(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every entry of an ``.npz`` into memory (the file is closed on return)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def save_params(path: str | os.PathLike, params: Mapping[str, Any]) -> Path:
    """Save a parameter pytree (nested dicts of arrays) as ``.npz``, atomically."""
    return save_arrays(path, flatten_params(params))


def load_params(path: str | os.PathLike) -> dict[str, Any]:
    """Load a parameter pytree saved by :func:`save_params` (NumPy leaves)."""
    return unflatten_params(load_arrays(path))


# ------------------------------------------------------------------------------------ folders
def results_dir(path: str | os.PathLike, exist_ok: bool = True) -> Path:
    """Create (if needed) and return a results folder with its ``params/`` and ``figures/``."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"Argument `path` must be a folder, but {path} is a file.")
    if path.exists() and not exist_ok and any(path.iterdir()):
        raise ValueError(f"Argument `path` ({path}) already holds results; pass a new folder or resume.")
    (path / "params").mkdir(parents=True, exist_ok=True)
    (path / "figures").mkdir(parents=True, exist_ok=True)
    return path
