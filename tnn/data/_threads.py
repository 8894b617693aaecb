"""Run LAPACK single-threaded while a dataset is generated.

JAX's CPU ``eigh``/``svd`` call the LAPACK of SciPy's bundled OpenBLAS. For the small matrices of a
dataset (N = 100 to 300) OpenBLAS threads buy nothing, and on a loaded machine they cost a great
deal: measured on the 2-core CI-class machine with other jobs running, a batch of N = 100 ``eigh``
took 20 ms per matrix with the default threads against 0.75 ms with one thread. One thread also
makes the floating-point results independent of how many worker processes run, which the
bit-for-bit resume guarantee relies on, so generation uses one thread whatever
:func:`tnn.threads.default_blas_threads` says. Parallelism comes from worker processes instead.

This does at run time what ``OPENBLAS_NUM_THREADS=1`` does at start-up, through
:func:`tnn.threads.blas_threads` (``threadpoolctl``); the previous counts are restored afterwards.
"""

from __future__ import annotations

import contextlib

from tnn.threads import blas_threads


@contextlib.contextmanager
def single_threaded_blas():
    """Context in which every loaded BLAS uses one thread; restores the old counts on exit."""
    with blas_threads(1):
        yield
