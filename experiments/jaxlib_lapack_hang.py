"""Does this jaxlib hang on a vmapped SVD over forced host devices? (issue 22, item 5; no tnn inside)

jaxlib 0.9.1-0.11.0 run a batched LAPACK call as tasks on XLA:CPU's intra-op thread pool (one
thread per core, shared by the host devices) and block until they finish. When the thunk executor
has put that call on a pool thread on every device at once, no thread is left for the tasks and
the process blocks forever with no CPU use. Measured with jaxlib 0.10.2 on 2 cores, 2 forced
devices: two noise draws from split keys -> hang (every run; native stacks: both "tf_XLAEigen"
threads in ``jax::ParallelBatchMap`` -> ``absl::BlockingCounter::Wait`` under
``lapack_dgesdd_ffi``); one draw -> 1.4 s. ``tnn.sweeps`` maps items one at a time on CPU
(:func:`tnn.sweeps.program.per_device`), which never batches a LAPACK call, so it cannot hang so.

Run: ``.venv/bin/python experiments/jaxlib_lapack_hang.py [--devices 2] [--timeout 60]``. Not a test.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    import jax, jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    jax.config.update("jax_enable_x64", True)
    streams = int(sys.argv[1])
    N = 61

    def fn(s, v):
        keys = jax.random.split(jax.random.fold_in(jax.random.key(5), s), streams)
        A = sum(jax.random.uniform(k, (N, N)) for k in keys) + v
        return jnp.linalg.svd(A, compute_uv=False).sum()

    sh = NamedSharding(Mesh(jax.devices(), ("d",)), P("d"))
    g = jax.jit(jax.vmap(fn), out_shardings=sh)
    t0 = time.time()
    np.asarray(g(jax.device_put(np.arange(16, dtype=np.int32), sh), jax.device_put(np.linspace(0, 1, 16), sh)))
    print(f"{time.time() - t0:.2f}")
    """
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    import jaxlib  # noqa: PLC0415  (only for the version; the child starts JAX)

    env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={args.devices}")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(f"jaxlib {jaxlib.__version__}, {args.devices} forced host devices, {os.cpu_count()} cores")
    for streams in (1, 2):
        try:
            r = subprocess.run([sys.executable, "-c", CHILD, str(streams)], env=env, capture_output=True, text=True,
                               timeout=args.timeout)
            verdict = f"finished in {r.stdout.strip()} s" if r.returncode == 0 else f"failed: {r.stderr[-500:]}"
        except subprocess.TimeoutExpired:
            verdict = f"HUNG (killed after {args.timeout:.0f} s)"
        print(f"  {streams} noise stream(s), vmapped SVD: {verdict}")


if __name__ == "__main__":
    main()
