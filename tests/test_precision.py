"""Precision is an explicit call: ``import tnn`` changes no JAX setting; ``tnn.enable_x64`` works.

The import checks run in a fresh interpreter (this test session already enabled x64 in conftest).
"""

import subprocess
import sys
import textwrap

import jax
import jax.numpy as jnp

import tnn

SCRIPT = textwrap.dedent(
    """
    import jax
    before = dict(jax.config.values)
    x64_before = jax.config.read("jax_enable_x64")
    import tnn, tnn.lattice, tnn.hamiltonians, tnn.kspace, tnn.precision
    after = dict(jax.config.values)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    assert not changed, f"import tnn changed JAX settings: {changed}"
    assert jax.config.read("jax_enable_x64") is x64_before is False
    assert tnn.x64_enabled() is False

    import jax.numpy as jnp
    lat = tnn.lattice.square(3, 3)
    assert tnn.hamiltonians.qwz(1.0, lat).dtype == jnp.complex64  # float32 default untouched
    # the float32 path works end to end as well
    key = jax.random.key(0)
    assert tnn.hamiltonians.haldane(1.0, 0.2, 0.3, 0.1, tnn.lattice.honeycomb(3, 3), 1.0, key).dtype == jnp.complex64
    assert tnn.hamiltonians.ssh([0.5, 1.0], tnn.lattice.chain(4), bond_disorder=0.5, key=key).dtype == jnp.float32
    assert tnn.hamiltonians.sparse("qwz", {"m": 1.0}, lat).dtype == jnp.complex64
    c, gap = tnn.kspace.chern_number_and_gap("qwz", {"m": -1.0}, nk=8)
    assert c.dtype == jnp.float32 and abs(float(c) - 1) < 1e-4
    w, gap = tnn.kspace.winding_number_and_gap([0.5, 1.0])
    assert w.dtype == jnp.float32 and abs(float(w) - 1) < 1e-4

    tnn.enable_x64()
    assert jax.config.read("jax_enable_x64") is True and tnn.x64_enabled() is True
    H = tnn.hamiltonians.qwz(1.0, lat)
    assert H.dtype == jnp.complex128, H.dtype
    assert tnn.hamiltonians.ssh([0.5, 1.0], tnn.lattice.chain(4)).dtype == jnp.float64
    c, gap = tnn.kspace.chern_number_and_gap("qwz", {"m": -1.0}, nk=8)
    assert c.dtype == jnp.float64

    tnn.enable_x64(False)
    assert tnn.x64_enabled() is False
    assert tnn.hamiltonians.qwz(1.0, lat).dtype == jnp.complex64
    print("OK")
    """
)


def test_import_changes_no_jax_setting_and_enable_x64_switches():
    env_clean = {k: v for k, v in __import__("os").environ.items() if not k.startswith("JAX_")}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120, env=env_clean
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("OK")


def test_x64_enabled_in_this_session():
    # conftest.py calls tnn.enable_x64(); tests rely on float64 arrays being created
    assert tnn.x64_enabled()
    assert jnp.asarray(1.0).dtype == jnp.float64
    assert jax.config.read("jax_enable_x64") is True
