"""Test configuration: float64 on, strict dtype promotion, BLAS single-threaded, JAX caches cleared
between modules to stay inside 24 GiB, and JAX's persistent compilation cache in a temporary folder of
the session.

Strict dtype promotion (``jax_numpy_dtype_promotion="strict"``, also for the ``tnn`` commands and
notebooks the tests run, through ``JAX_NUMPY_DTYPE_PROMOTION``): every mixed-dtype operation of the
library is an explicit cast, so a float32 leaking into float64 work (or a real array silently made
complex) fails a test instead of changing a result. optax's own updates are traced under the standard
rule (:func:`tnn.train.optim.update`).

The cache: many tests compile the same programs (the same model, builder or invariant at the same
shapes) in other modules or behind new ``jit`` wrappers; served from disk they are not compiled
again. Measured on ``tests/test_inputs.py tests/test_landscape_minima.py tests/test_heads.py``:
96 s without, 84 s with a cold cache. The folder starts empty and is removed at the end; the ``tnn``
commands the tests run use it too (``TNN_COMPILE_CACHE``), never the user's ``~/.cache/tnn/jax``.
"""

import atexit
import os
import shutil
import tempfile

import jax
import pytest

import tnn
from tnn.threads import blas_threads

tnn.enable_x64()
os.environ["JAX_NUMPY_DTYPE_PROMOTION"] = "strict"  # the tnn commands and notebooks the tests run
jax.config.update("jax_numpy_dtype_promotion", "strict")

_CACHE = tempfile.mkdtemp(prefix="tnn-test-jax-cache-")
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
os.environ["TNN_COMPILE_CACHE"] = _CACHE  # the tnn commands the tests run (in process or not) use it too
jax.config.update("jax_compilation_cache_dir", _CACHE)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread():
    # As the tnn commands do (tnn.threads): OpenBLAS threads busy-wait and, on a shared 2-core
    # machine, make LAPACK calls several times slower.
    with blas_threads(1):
        yield


@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches():
    yield
    jax.clear_caches()
