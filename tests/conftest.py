"""Test configuration: float64 on, JAX caches cleared between modules to stay inside 24 GiB."""

import jax
import pytest

import tnn

tnn.enable_x64()


@pytest.fixture(autouse=True, scope="module")
def _clear_jax_caches():
    yield
    jax.clear_caches()
