"""JAX's persistent compilation cache for the ``tnn`` commands: compile each program once, on disk.

The work of a ``tnn`` command is mostly compilation on a CPU: ``tnn study --quick`` spent 162 s of
its 222 s compiling 1,755 XLA programs (measured with ``jax.monitoring`` on the 2-core reference
machine). Many are the same program compiled again: the study drops JAX's in-memory executables
after each unit to keep its peak memory down (``tnn.study``), and the same small array operations,
builders and evaluations recur from unit to unit. Served from JAX's persistent cache they are loaded,
not compiled: ``--quick`` 208 s -> 177 s starting from an *empty* cache, 63 s when the cache already
holds the programs (a rerun, a second study, the same sweep at another seed).

A cached executable is the same compiled program (XLA's compilation is deterministic and the cache
key holds the program, the compile options, the backend and the versions of JAX and XLA), so the
numbers are the same with and without the cache.

Choosing the folder (first match wins):

1. ``tnn --compile-cache DIR COMMAND ...`` (``off``: no persistent cache), or :func:`enable` in Python;
2. the environment variable ``TNN_COMPILE_CACHE=DIR`` (or ``off``);
3. JAX's own ``JAX_COMPILATION_CACHE_DIR`` set by the user: left as JAX reads it;
4. otherwise ``$XDG_CACHE_HOME/tnn/jax`` (``~/.cache/tnn/jax``).

The folder is capped at :data:`MAX_BYTES`: :func:`enable` removes the programs written longest ago
until the folder fits (:func:`trim`), once, when a command starts. JAX's own cap is left off: it
lists and stats every file of the folder for every program it stores, which cost a cold
``tnn study --quick`` (about 1,000 programs stored) 11 s of system time. As with
:mod:`tnn.threads`, importing ``tnn`` changes nothing: only the commands (and code that asks) turn the
cache on. It must be turned on before the first compilation of the process to serve all of it.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax

__all__ = ["enable", "trim", "default_cache_dir", "cache_dir", "MAX_BYTES", "OFF"]

#: size cap of the cache folder (least recently used programs are evicted past it)
MAX_BYTES = 2**30
#: values of ``--compile-cache`` / ``TNN_COMPILE_CACHE`` that turn the persistent cache off
OFF = ("off", "none", "0", "false", "no")


def default_cache_dir() -> str | None:
    """The folder the commands use (rules 2-4 of the module docstring); ``None``: no persistent cache
    (``TNN_COMPILE_CACHE=off``), or JAX's own setting is left as it is (``JAX_COMPILATION_CACHE_DIR``)."""
    env = os.environ.get("TNN_COMPILE_CACHE", "").strip()
    if env:
        return None if env.lower() in OFF else env
    if os.environ.get("JAX_COMPILATION_CACHE_DIR", "").strip():
        return None
    base = os.environ.get("XDG_CACHE_HOME", "").strip() or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tnn", "jax")


def enable(path: str | os.PathLike | None) -> str | None:
    """Serve and store every compiled program of this process in folder ``path`` (created if missing;
    every program, however small or fast to compile). ``None``: leave JAX's setting as it is.
    Returns the folder in use (``None`` when none). Raises ``ValueError`` naming ``path`` when it
    exists and is not a folder."""
    if path is None:
        return cache_dir()
    if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
        raise ValueError(f"Argument `path` must be a folder path or None, got {path!r}.")
    p = Path(path).expanduser()
    if p.exists() and not p.is_dir():
        raise ValueError(f"Argument `path`: {p} exists and is not a folder (the compilation cache needs one).")
    p.mkdir(parents=True, exist_ok=True)
    trim(p, MAX_BYTES)
    jax.config.update("jax_compilation_cache_dir", str(p))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    jax.config.update("jax_compilation_cache_max_size", -1)  # no per-program eviction scan (module docstring)
    return str(p)


#: the file name ending of a stored program in JAX's cache folder
_SUFFIX = "-cache"


def trim(path: str | os.PathLike, max_bytes: int) -> int:
    """Remove the programs of cache folder ``path`` written longest ago until the rest holds at most
    ``max_bytes`` bytes; returns the bytes removed. Another process may remove a file at the same
    time (a study's helper process): a file already gone is skipped."""
    entries = []
    for f in Path(path).glob(f"*{_SUFFIX}"):
        try:
            st = f.stat()
        except FileNotFoundError:
            continue
        entries.append((st.st_mtime, f, st.st_size))
    total, removed = sum(e[2] for e in entries), 0
    for _, f, size in sorted(entries, key=lambda e: (e[0], e[1].name)):
        if total - removed <= max_bytes:
            break
        for g in (f, f.with_name(f.name[: -len(_SUFFIX)] + "-atime")):
            try:
                g.unlink()
            except FileNotFoundError:
                pass
        removed += size
    return removed


def cache_dir() -> str | None:
    """The persistent cache folder JAX uses now (``None``: none)."""
    return jax.config.jax_compilation_cache_dir or None
