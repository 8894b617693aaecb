"""How many threads LAPACK/BLAS may use: one by default in the ``tnn`` commands.

JAX's CPU ``eigh``/``eigvals``/``svd`` call the LAPACK of SciPy's bundled OpenBLAS, whose threads
busy-wait for work. With any other load on the machine that is ruinous: measured on the 2-core
CI-class machine, a 900 x 900 ``eigvals`` took 22-31 s with OpenBLAS's two threads while another
job ran, against 1.8 s with one thread; a batch of N = 100 ``eigh`` 20 ms per matrix against
0.75 ms. The matrices of this project are small (N <= a few thousand), where extra BLAS threads buy
little even on an idle machine, so every ``tnn`` command runs BLAS single-threaded unless told
otherwise; parallelism comes from XLA and from worker processes (``tnn data generate --workers``).

Choosing the count (first match wins):

1. ``tnn --blas-threads N COMMAND ...`` (or :func:`blas_threads` in Python);
2. the environment variable ``TNN_BLAS_THREADS=N``;
3. ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` set by the user: left as they are;
4. otherwise 1.

The limit is applied at run time with ``threadpoolctl`` to every BLAS library loaded in the
process (NumPy's and SciPy's OpenBLAS, MKL, BLIS, ...) and restored afterwards. Importing ``tnn``
changes nothing; only the commands (and code that asks) limit threads.
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["blas_threads", "default_blas_threads", "blas_info", "current_blas_threads", "cap_malloc_arenas"]

_USER_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")


def default_blas_threads() -> int | None:
    """The count the commands use (rules 2-4 of the module docstring); ``None``: leave BLAS alone."""
    env = os.environ.get("TNN_BLAS_THREADS")
    if env is not None and env.strip():
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"Environment variable `TNN_BLAS_THREADS` must be a positive int, got {env!r}.") from None
        if n < 1:
            raise ValueError(f"Environment variable `TNN_BLAS_THREADS` must be a positive int, got {env!r}.")
        return n
    if any(os.environ.get(v, "").strip() for v in _USER_VARS):
        return None
    return 1


def _ensure_lapack_loaded() -> None:
    # JAX loads SciPy's LAPACK lazily (at the first linear-algebra lowering): load it now so that
    # its OpenBLAS is among the libraries threadpoolctl limits.
    try:
        import scipy.linalg.cython_lapack  # noqa: F401, PLC0415
    except ImportError:
        pass


@contextlib.contextmanager
def blas_threads(n: int | None = 1):
    """Context in which every loaded BLAS uses at most ``n`` threads (``None``: no change).

    Restores the previous counts on exit. Example::

        with tnn.threads.blas_threads(1):
            E = jnp.linalg.eigvalsh(H)
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"Argument `n` must be a positive int or None, got {n!r}.")
    from threadpoolctl import threadpool_limits  # noqa: PLC0415

    _ensure_lapack_loaded()
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def blas_info() -> list[dict]:
    """The BLAS libraries loaded in this process and their current thread counts (threadpoolctl)."""
    from threadpoolctl import threadpool_info  # noqa: PLC0415

    _ensure_lapack_loaded()
    return [d for d in threadpool_info() if d.get("user_api") == "blas"]


def current_blas_threads() -> int | None:
    """The thread count of the loaded BLAS libraries now (the smallest, when they differ), or None
    when none is loaded: what a child process should pass to :func:`blas_threads` to match this one."""
    counts = [int(d["num_threads"]) for d in blas_info() if d.get("num_threads")]
    return min(counts) if counts else None


#: glibc's ``mallopt`` parameter number of ``M_ARENA_MAX`` (malloc.h)
_M_ARENA_MAX = -8


def cap_malloc_arenas(n: int = 2) -> bool:
    """Let glibc's ``malloc`` use at most ``n`` arenas from now on (``mallopt(M_ARENA_MAX, n)``, the
    same as starting the process with ``MALLOC_ARENA_MAX=n``). Returns whether it applied (False on
    another C library, or when the user set ``MALLOC_ARENA_MAX``, which wins).

    glibc gives each thread that allocates its own arena, up to 8 per core, and an arena keeps the
    memory freed in it. XLA's worker threads allocate and free large buffers, so a long JAX process's
    resident memory grows with the arenas: ``tnn study --quick`` (one process) peaked at 0.94 GB by
    default and 0.77 GB with two arenas, in about the same time (75 s against 81 s on a loaded
    machine).
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"Argument `n` must be a positive int, got {n!r}.")
    if os.environ.get("MALLOC_ARENA_MAX", "").strip():
        return False
    import ctypes  # noqa: PLC0415
    import ctypes.util  # noqa: PLC0415

    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return bool(libc is not None and hasattr(libc, "mallopt") and libc.mallopt(_M_ARENA_MAX, n) == 1)
    except OSError:
        return False
