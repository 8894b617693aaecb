"""Test configuration: float64 on, BLAS single-threaded, JAX caches cleared between modules to stay
inside 24 GiB, and JAX's persistent compilation cache in a temporary folder of the session.

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
