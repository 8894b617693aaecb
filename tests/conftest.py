"""Test configuration: float64 on, BLAS single-threaded, JAX caches cleared between modules to stay
inside 24 GiB."""

import jax
import pytest

import tnn
from tnn.threads import blas_threads

tnn.enable_x64()


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
