"""Run LAPACK single-threaded while a dataset is generated.

JAX's CPU ``eigh``/``svd`` call the LAPACK of SciPy's bundled OpenBLAS. For the small matrices of a
dataset (N = 100 to 300) OpenBLAS threads buy nothing, and on a loaded machine they cost a great
deal: measured on the 2-core CI-class machine with other jobs running, a batch of N = 100 ``eigh``
took 20 ms per matrix with the default threads against 0.75 ms with one thread. One thread also
makes the floating-point results independent of how many worker processes run, which the
bit-for-bit resume guarantee relies on. Parallelism comes from worker processes instead.

This does at run time what ``OPENBLAS_NUM_THREADS=1`` does at start-up: it finds the OpenBLAS
libraries loaded in this process (Linux: ``/proc/self/maps``) and calls their
``openblas_set_num_threads``; the previous count is restored afterwards. Where that is not possible
(another platform or BLAS) it does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os

_SETTERS = (
    "scipy_openblas_set_num_threads64_",
    "scipy_openblas_set_num_threads",
    "openblas_set_num_threads64_",
    "openblas_set_num_threads",
)
_GETTERS = (
    "scipy_openblas_get_num_threads64_",
    "scipy_openblas_get_num_threads",
    "openblas_get_num_threads64_",
    "openblas_get_num_threads",
)


def _loaded_openblas() -> list[str]:
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and ".so" in line}
    except OSError:
        return []
    return sorted(p for p in paths if os.path.isfile(p))


@functools.lru_cache(maxsize=None)
def _controls(paths: tuple[str, ...]) -> tuple[tuple, ...]:
    out = []
    for p in paths:
        try:
            lib = ctypes.CDLL(p, mode=getattr(os, "RTLD_NOLOAD", 0) | ctypes.RTLD_GLOBAL)
        except OSError:
            continue
        get = next((getattr(lib, n) for n in _GETTERS if hasattr(lib, n)), None)
        set_ = next((getattr(lib, n) for n in _SETTERS if hasattr(lib, n)), None)
        if get is not None and set_ is not None:
            get.restype = ctypes.c_int
            set_.argtypes = [ctypes.c_int]
            out.append((get, set_))
    return tuple(out)


def _ensure_lapack_loaded() -> None:
    # JAX loads SciPy's LAPACK lazily (first linear-algebra lowering); load it now so its
    # OpenBLAS is found.
    try:
        import scipy.linalg.cython_lapack  # noqa: F401, PLC0415
    except ImportError:
        pass


@contextlib.contextmanager
def single_threaded_blas():
    """Context in which every loaded OpenBLAS uses one thread; restores the old counts on exit."""
    _ensure_lapack_loaded()
    ctl = _controls(tuple(_loaded_openblas()))
    old = [get() for get, _ in ctl]
    for _, set_ in ctl:
        set_(1)
    try:
        yield
    finally:
        for (_, set_), n in zip(ctl, old):
            set_(n)
