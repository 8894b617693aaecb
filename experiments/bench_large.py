"""Benchmark of the matrix-free Hamiltonians and the KPM invariants (``tnn.operators``, ``tnn.kpm``).

Every ratio is two timings taken in the same run, with the same thread settings (recorded in the
JSON), minimum over interleaved repeats after a warm-up (compilation) call. Writes a table to stdout
and JSON to ``results/bench_large.json`` (``--out``). ``--quick`` for smaller settings. Not a test:
nothing here asserts. Run:
``OPENBLAS_NUM_THREADS=1 .venv/bin/python experiments/bench_large.py [--quick] [--only localizer] [--out PATH]``

Rows (targets from issue 22):

* ``dense``: KPM against dense on the same samples, N <= 3200: open QWZ ``n x n`` (``m = -1``, Anderson
  ``W = 1``), ``tnn.kpm.chern_number`` (default moments and vectors) against the jitted
  ``tnn.invariants.chern_number(method="marker", validity="raw", certificate="tail")`` (eigh + marker);
  the SSH chain (``v, w = 0.6, 1``, bond disorder 0.8) ``tnn.kpm.winding_number`` against the dense
  polar route. Value difference, the KPM's stated error, time ratio.
* ``scaling``: ``tnn.kpm.chern_number`` on open QWZ from N = 10^4 to >= 2 10^5 orbitals at fixed moments
  and vectors; fitted exponent of time against N (target <= 1.1).
* ``step``: one Chebyshev step (``tnn.kpm.fermi_projector``: product, subtraction, accumulation)
  against one bare stencil product (a jitted loop of ``op @ t``), per step, at the largest N
  (target <= 1.3x).
* ``memory``: peak memory of ``tnn.kpm.chern_number`` at N = 2 10^5 in a fresh subprocess: XLA's
  compiled buffer sizes (arguments + temporaries + outputs) and the process's resident-set growth
  during the call, per ``N x vectors`` (target <= 64 bytes).
* ``localizer``: the sparse spectral localizer index (``tnn.localizer`` on the ``scipy.sparse`` CSR
  matrix: route ``"ldl"``, qdldl's sparse ``LDL^T`` inertia, gap by shift-invert Lanczos) against KPM
  (``tnn.kpm.chern_number`` / ``winding_number``, default moments and vectors, on the stencil operator
  of the same Terms) on the same samples, with the dense invariant (``validity="raw"``) as reference
  where N is small: open QWZ ``m = 2.2`` with Anderson ``W = 4`` (topological Anderson window,
  ``C = -1``) and ``W = 8`` (beyond, ``C = 0``), N = 1152 .. 51200 (quick: .. 4608); open SSH chains
  (``v = 1``, ``w = 1.5``, intracell bond disorder ``W``, intercell ``W / 2`` as ``tnn sweep
  ssh-disorder``) at ``W = 4`` (``W = 1``) and ``W = 10`` (beyond ``W_c = 5.87``, ``W = 0``),
  N = 2000 .. 60000 (quick: .. 8000). Localizer: eager NumPy/SciPy, the better of two calls up to
  N = 10^4, else one; KPM: the better of two warm calls (fresh vectors), plus the Lanczos bounds,
  its first call (compilation) recorded apart. Table: N, method, value,
  certificate (localizer gap) or stated error (KPM), seconds; the crossover N where KPM's warm time
  drops below the localizer's, per family (None: no crossing in the range).
* ``kwant``: Kwant + kpm-tools on the same Haldane flake, only when ``import kwant`` works (else the
  script says how to install them and skips the row).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time

import numpy as np
import jax
import jax.numpy as jnp

import tnn
from tnn import hamiltonians as hm
from tnn import invariants as inv
from tnn import kpm, lattice
from tnn import results as tio

KWANT_SKIP = ("Kwant / kpm-tools not installed: row skipped. Install them with `.venv/bin/pip install kwant` "
              "(or `conda install -c conda-forge kwant`) and `.venv/bin/pip install "
              "git+https://gitlab.kwant-project.org/kwant/kpm-tools.git`.")


def _block(x):
    return jax.block_until_ready(x)


def timeit(fns: dict, repeats: int, seed: int = 0) -> dict:
    """One warm-up call each, then ``repeats`` interleaved rounds in a shuffled order; minimum."""
    for f in fns.values():
        _block(f())
    best = {k: float("inf") for k in fns}
    rng = np.random.default_rng(seed)
    keys = list(fns)
    for _ in range(repeats):
        for i in rng.permutation(len(keys)):
            t0 = time.perf_counter()
            _block(fns[keys[i]]())
            best[keys[i]] = min(best[keys[i]], time.perf_counter() - t0)
    return best


def _qwz(n, key=0):
    lat = lattice.square(n, n)
    kw = dict(onsite_disorder=1.0, key=jax.random.key(key))
    return lat, kw


# ----------------------------------------------------------------------------- rows
def _versus_dense(sample, lat, H, dense, op, kpm_fn, M, k, repeats) -> dict:
    """One row: the dense invariant ``dense(H)`` against ``kpm_fn(op, lat, ...)`` on the same sample, both
    timed in the same rounds (the KPM timings draw fresh vectors; the value uses a fixed key)."""
    keys = iter(range(10 ** 6))
    run_kpm = lambda: kpm_fn(op, lat, num_moments=M, num_vectors=k, key=jax.random.key(next(keys)))
    t = timeit({"dense": lambda: dense(H), "kpm": run_kpm}, repeats)
    r = kpm_fn(op, lat, num_moments=M, num_vectors=k, key=jax.random.key(12345))
    d = float(dense(H))
    return {"sample": sample, "N": lat.n_sites, "dense": d, "kpm": float(r.value),
            "diff": abs(float(r.value) - d), "kpm_error": float(r.error), "stat_error": float(r.stat_error),
            "trunc_error": float(r.trunc_error), "seconds": t, "time_ratio_kpm_over_dense": t["kpm"] / t["dense"]}


def bench_dense(sizes, chain_cells, repeats, M, k) -> list[dict]:
    rows = []
    for n in sizes:
        lat, kw = _qwz(n)
        H = _block(hm.qwz(-1.0, lat, **kw))
        op = hm.operator("qwz", {"m": -1.0}, lat, **kw)
        dense = jax.jit(lambda H: inv.chern_number(H, lat, validity="raw", certificate="tail"))
        rows.append(_versus_dense(f"qwz {n}x{n} open, W=1", lat, H, dense, op, kpm.chern_number, M, k, repeats))
    L = chain_cells
    lat = lattice.chain(L)
    t_ = jnp.array([0.6, 1.0])
    kw = dict(bond_disorder=0.8, key=jax.random.key(1))
    H = _block(hm.ssh(t_, lat, **kw))
    op = hm.operator("ssh", {"t": t_}, lat, **kw)
    dense = jax.jit(lambda H: inv.winding_number(H, lat, validity="raw"))
    rows.append(_versus_dense(f"ssh L={L} open, Wb=0.8", lat, H, dense, op, kpm.winding_number, M, k, repeats))
    return rows


def bench_scaling(sizes, repeats, M, k) -> dict:
    rows = []
    for n in sizes:
        lat, kw = _qwz(n)
        op = _block(hm.operator("qwz", {"m": -1.0}, lat, **kw))
        bounds = kpm.spectral_bounds(op)
        keys = iter(range(10 ** 6))
        run = lambda: kpm.chern_number(op, lat, num_moments=M, num_vectors=k, key=jax.random.key(next(keys)),
                                       bounds=bounds)
        t = timeit({"kpm": run}, repeats)["kpm"]
        t_b = timeit({"bounds": lambda: kpm.spectral_bounds(op)}, repeats)["bounds"]
        r = run()
        rows.append({"n": n, "N": lat.n_sites, "seconds": t, "seconds_bounds": t_b, "value": float(r.value),
                     "error": float(r.error)})
    N = np.array([r["N"] for r in rows], float)
    T = np.array([r["seconds"] for r in rows])
    slope = float(np.polyfit(np.log(N), np.log(T), 1)[0])
    return {"moments": M, "vectors": k, "rows": rows, "exponent": slope, "target": "exponent <= 1.1"}


def bench_step(n, repeats, M, k) -> dict:
    lat, kw = _qwz(n)
    op = _block(hm.operator("qwz", {"m": -1.0}, lat, **kw))
    lo, hi = kpm.spectral_bounds(op)
    unit = op.scaled(2.0 / (hi - lo), -(hi + lo) / (hi - lo))  # spectrum in [-1, 1]: no overflow in the loop
    v = jnp.asarray(np.random.default_rng(0).normal(size=(lat.n_sites, k)) + 0j)

    @jax.jit
    def bare(op, v):
        # M - 1 products, two per iteration into two buffers (no copy of a rotating loop carry: the
        # cheapest loop of bare products, as the Chebyshev loops of tnn.kpm are written)
        def body(i, ab):
            a = jax.lax.optimization_barrier(op @ ab[1])  # as tnn.kpm: no fusion of two products
            return a, jax.lax.optimization_barrier(op @ a)

        a, b = jax.lax.fori_loop(0, (M - 1) // 2, body, (v, v))
        return b if (M - 1) % 2 == 0 else op @ b

    fns = {"bare_products": lambda: bare(unit, v),
           "chebyshev_series": lambda: kpm.fermi_projector(op, v, num_moments=M, bounds=(lo, hi))}
    t = timeit(fns, repeats)
    out = {"N": lat.n_sites, "moments": M, "vectors": k, "seconds": t,
           "per_step_ratio": t["chebyshev_series"] / t["bare_products"], "target": "<= 1.3",
           "seconds_per_product": t["bare_products"] / (M - 1)}
    # the bonds engine (gather + segment sum) on the same operator, for context
    ob = _block(hm.operator("qwz", {"m": -1.0}, lat, engine="bonds", **kw))
    ub = ob.scaled(2.0 / (hi - lo), -(hi + lo) / (hi - lo))
    tb = timeit({"bonds": lambda: bare(ub, v), "stencil": lambda: bare(unit, v)}, repeats)
    out["bonds_over_stencil_product"] = tb["bonds"] / tb["stencil"]
    return out


def _rss() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def memory_child(n, M, k) -> dict:
    """In a fresh process: XLA's buffer sizes and the resident-set growth of one chern_number call."""
    tnn.enable_x64()
    lat, kw = _qwz(n)
    op = _block(hm.operator("qwz", {"m": -1.0}, lat, **kw))
    bounds = kpm.spectral_bounds(op)
    f = jax.jit(lambda op, key: kpm.chern_number(op, lat, num_moments=M, num_vectors=k, key=key, bounds=bounds).value)
    key = jax.random.key(0)
    compiled = f.lower(op, key).compile()
    ma = compiled.memory_analysis()
    xla = None
    if ma is not None:
        xla = {"argument": int(ma.argument_size_in_bytes), "output": int(ma.output_size_in_bytes),
               "temp": int(ma.temp_size_in_bytes), "alias": int(getattr(ma, "alias_size_in_bytes", 0))}
        xla["total"] = xla["argument"] + xla["output"] + xla["temp"] - xla["alias"]
    _block(compiled(op, jax.random.key(1)))  # first run: allocator warm
    base = _rss()
    peak = [base]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], _rss())
            time.sleep(0.002)

    th = threading.Thread(target=sample)
    th.start()
    _block(compiled(op, jax.random.key(2)))
    stop.set()
    th.join()
    N = lat.n_sites
    op_bytes = int(sum(np.asarray(x).nbytes for x in op.values))
    return {"N": N, "vectors": k, "moments": M, "xla_bytes": xla, "rss_growth_bytes": peak[0] - base,
            "operator_bytes": op_bytes,
            "xla_bytes_per_N_vector": None if xla is None else xla["total"] / (N * k),
            "xla_temp_bytes_per_N_vector": None if xla is None else xla["temp"] / (N * k),
            "rss_growth_per_N_vector": (peak[0] - base) / (N * k), "target": "<= 64 bytes per N x vectors"}


def bench_memory(n, M, k) -> dict:
    cmd = [sys.executable, __file__, "--memory-child", str(n), str(M), str(k)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(), timeout=1200)
    if out.returncode != 0:
        return {"error": out.stderr[-2000:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _csr(tm):
    """``scipy.sparse`` CSR matrix of a :class:`tnn.hamiltonians.Terms` (hoppings, conjugates, diagonal)."""
    import scipy.sparse

    rows, cols, vals = [], [], []
    for r, c, v, herm in zip(tm.rows, tm.cols, tm.vals, tm.hermitize):
        v = np.asarray(v)
        rows.append(r)
        cols.append(c)
        vals.append(v)
        if herm:
            rows.append(c)
            cols.append(r)
            vals.append(np.conj(v))
    if tm.diag is not None:
        idx = np.arange(tm.n)
        rows.append(idx)
        cols.append(idx)
        vals.append(np.asarray(tm.diag))
    return scipy.sparse.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                                   shape=(tm.n, tm.n))


def _localizer_vs_kpm_row(family, sample, lat, tm, kind, M, k, dense_max) -> list[dict]:
    """Rows (localizer, kpm, [dense]) of one sample; ``kind`` ``"chern"`` or ``"winding"``."""
    import warnings

    from tnn import localizer as loc
    from tnn import operators

    N = lat.n_sites
    H = _csr(tm)
    op = _block(operators.from_terms(tm, lat))
    out = []
    t_loc = float("inf")
    for _ in range(2 if N <= 10 ** 4 else 1):  # small N: the better of two calls (a loaded machine)
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            f = loc.chern_number if kind == "chern" else loc.winding_number
            value, cert = f(H, lat, return_certificate=True)
        t_loc = min(t_loc, time.perf_counter() - t0)
    out.append({"family": family, "sample": sample, "N": N, "method": "localizer", "value": float(value),
                "certificate_gap": cert.gap, "reason": cert.reason, "route": cert.method, "kappa": cert.kappa,
                "kappa_rule": cert.kappa_rule, "warnings": [str(w.message)[:200] for w in caught],
                "seconds": t_loc})
    kfn = kpm.chern_number if kind == "chern" else kpm.winding_number
    t0 = time.perf_counter()
    bounds = kpm.spectral_bounds(op)
    t_bounds = time.perf_counter() - t0
    run = lambda s: _block(kfn(op, lat, num_moments=M, num_vectors=k, key=jax.random.key(s), bounds=bounds))
    t0 = time.perf_counter()
    run(0)
    t_first = time.perf_counter() - t0
    t_kpm = float("inf")
    for s in (1, 2):  # the better of two warm calls (fresh vectors each)
        t0 = time.perf_counter()
        r = run(s)
        t_kpm = min(t_kpm, time.perf_counter() - t0 + t_bounds)
    out.append({"family": family, "sample": sample, "N": N, "method": "kpm", "value": float(r.value),
                "error": float(r.error), "stat_error": float(r.stat_error), "trunc_error": float(r.trunc_error),
                "fermi_weight": float(r.fermi_weight), "moments": M, "vectors": k, "seconds": t_kpm,
                "seconds_first_call": t_first + t_bounds})
    if N <= dense_max:
        H_d = np.asarray(H.toarray())
        t0 = time.perf_counter()
        if kind == "chern":
            d = inv.chern_number(jnp.asarray(H_d), lat, method="marker", validity="raw")
        else:
            d = inv.winding_number(jnp.asarray(H_d), lat, validity="raw")
        d = float(d)
        out.append({"family": family, "sample": sample, "N": N, "method": "dense", "value": d,
                    "seconds": time.perf_counter() - t0})
    return out


def bench_localizer_vs_kpm(qwz_sides, chain_cells, M, k, dense_max=2500) -> dict:
    """The ``localizer`` rows (module docstring)."""
    from tnn.systems.qwz import qwz_terms
    from tnn.systems.ssh import ssh_critical_disorder, ssh_disorder_terms

    rows = []
    for W, label in ((4.0, "TAI window"), (8.0, "beyond")):
        for n in qwz_sides:
            lat = lattice.square(n, n)
            tm = qwz_terms(2.2, lat, onsite_disorder=W, key=jax.random.key(7))
            fam = f"qwz m=2.2 W={W:g} ({label})"
            new = _localizer_vs_kpm_row(fam, f"{n}x{n} open", lat, tm, "chern", M, k, dense_max)
            _print_localizer_rows(new)
            rows += new
    for W, label in ((4.0, "topological"), (10.0, "beyond W_c")):
        for L in chain_cells:
            lat = lattice.chain(L)
            tm = ssh_disorder_terms(1.5, W, lat, jax.random.key(7))
            fam = f"ssh w=1.5 W={W:g} ({label})"
            new = _localizer_vs_kpm_row(fam, f"L={L} open", lat, tm, "winding", M, k, dense_max)
            _print_localizer_rows(new)
            rows += new
    crossover = {}
    for fam in dict.fromkeys(r["family"] for r in rows):
        t = {}
        for r in rows:
            if r["family"] == fam and r["method"] in ("localizer", "kpm"):
                t.setdefault(r["N"], {})[r["method"]] = r["seconds"]
        Ns = sorted(t)
        faster = {N: ("kpm" if t[N]["kpm"] < t[N]["localizer"] else "localizer") for N in Ns}
        cross = next((N for i, N in enumerate(Ns) if faster[N] == "kpm" and all(
            faster[m] == "kpm" for m in Ns[i:])), None)
        crossover[fam] = {"faster_by_N": faster, "kpm_faster_from_N": cross,
                          "ratio_localizer_over_kpm": {N: t[N]["localizer"] / t[N]["kpm"] for N in Ns}}
    return {"moments": M, "vectors": k, "ssh_critical_W": ssh_critical_disorder(1.5), "rows": rows,
            "crossover": crossover}


def _print_localizer_rows(rows):
    for r in rows:
        if r["method"] == "localizer":
            gap = r["certificate_gap"]
            cert = ("gap n/a" if gap is None else f"gap {gap:.3g}") + (f" ({r['reason']})" if r["reason"] else "")
        elif r["method"] == "kpm":
            cert = f"error {r['error']:.3g}" + (f" (first call {r['seconds_first_call']:.1f} s)")
        else:
            cert = "reference"
        print(f"  {r['family']:30s} N={r['N']:>7d} {r['method']:9s} {r['value']:+8.3f}  {cert:38s} {r['seconds']:8.2f} s",
              flush=True)


def bench_kwant() -> dict:
    try:
        import kwant  # noqa: F401
        import kpm_tools  # noqa: F401
    except ImportError:
        print(KWANT_SKIP)
        return {"skipped": KWANT_SKIP}
    return {"skipped": "Kwant found, but the comparison is not written yet (issue 22: Haldane flake, same moments "
                       "and vectors)."}


# ----------------------------------------------------------------------------- main
def _localizer_section(res, q, M, k):
    print("\nlocalizer (sparse LDL^T) vs KPM on the same samples: N, method, value, certificate/error, seconds")
    res["localizer"] = bench_localizer_vs_kpm((24, 48) if q else (24, 48, 96, 160),
                                              (1000, 4000) if q else (1000, 4000, 10000, 30000), M, k)
    for fam, c in res["localizer"]["crossover"].items():
        print(_row(f"    {fam}: KPM faster from N =", str(c["kpm_faster_from_N"]),
                   "localizer/kpm time: " + ", ".join(f"{N}: {x:.2f}" for N, x in
                                                      c["ratio_localizer_over_kpm"].items())))


def _row(name, value, target=""):
    return f"{name:58s} {value:>14s}   {target}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller settings (a smoke run)")
    ap.add_argument("--out", default="results/bench_large.json", help="JSON output path")
    ap.add_argument("--repeats", type=int, default=None, help="timing rounds (default 3, quick 2)")
    ap.add_argument("--only", choices=("localizer",), default=None,
                    help="run one section only (localizer: the sparse localizer vs KPM rows)")
    ap.add_argument("--memory-child", nargs=3, type=int, metavar=("N_SIDE", "MOMENTS", "VECTORS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    tnn.enable_x64()
    if args.memory_child:
        print(json.dumps(memory_child(*args.memory_child)))
        return
    q = args.quick
    reps = args.repeats or (2 if q else 3)
    M, k = kpm.DEFAULT_MOMENTS, kpm.DEFAULT_VECTORS
    Ms, ks = (128, 8) if q else (M, k)
    big = 320  # 320 x 320 x 2 = 204800 orbitals
    scaling_sizes = (72, 112, 160, 224, big) if not q else (72, 160, big)
    res = {"versions": {"jax": jax.__version__, "python": platform.python_version()},
           "threads": {k_: os.environ.get(k_) for k_ in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "XLA_FLAGS")},
           "cpu_count": os.cpu_count(), "device": str(jax.devices()[0]), "quick": q}
    print(f"tnn bench_large (quick={q}); threads {res['threads']}; {res['device']}")
    if args.only == "localizer":
        _localizer_section(res, q, M, k)
        path = tio.write_json(args.out, res)
        print(f"\nwrote {path}")
        return
    print("dense rows (minutes: N = 3200 dense takes ~1 min per call) ...", flush=True)
    res["dense"] = bench_dense((16, 24, 32, 40), 1600, reps, M, k)
    print("\nKPM vs dense (same samples; default moments %d, vectors %d)" % (M, k))
    for r in res["dense"]:
        print(_row(f"{r['sample']} N={r['N']}: |kpm - dense| (stated error)",
                   f"{r['diff']:.4f} ({r['kpm_error']:.3f})"))
        print(_row("    time kpm / dense (s)", f"{r['time_ratio_kpm_over_dense']:.3f}",
                   f"{r['seconds']['kpm']:.3f} / {r['seconds']['dense']:.3f}"))
    res["scaling"] = bench_scaling(scaling_sizes, reps, Ms, ks)
    print(f"\nscaling: chern_number, {Ms} moments, {ks} vectors")
    for r in res["scaling"]["rows"]:
        print(_row(f"    N = {r['N']}", f"{r['seconds']:.3f} s", f"value {r['value']:.3f} +- {r['error']:.3f}; "
                                                                  f"bounds {r['seconds_bounds']:.3f} s"))
    print(_row("fitted exponent of time vs N", f"{res['scaling']['exponent']:.3f}", "target <= 1.1"))
    res["step"] = bench_step(big, reps, Ms, ks)
    s = res["step"]
    print(_row(f"\none Chebyshev step / one bare product (N={s['N']}, k={ks})", f"{s['per_step_ratio']:.3f}",
               "target <= 1.3"))
    print(_row("    seconds per bare product", f"{s['seconds_per_product'] * 1e3:.2f} ms"))
    print(_row("    bonds engine / stencil product", f"{s['bonds_over_stencil_product']:.2f}"))
    res["memory"] = bench_memory(big, Ms, ks)
    mem = res["memory"]
    if "error" in mem:
        print("memory child failed:", mem["error"])
    else:
        print(_row(f"\npeak memory N={mem['N']}, k={ks}: XLA buffers / (N k)",
                   "n/a" if mem["xla_bytes_per_N_vector"] is None else f"{mem['xla_bytes_per_N_vector']:.1f} B",
                   "target <= 64 B"))
        print(_row("    XLA temporaries only / (N k)",
                   "n/a" if mem["xla_temp_bytes_per_N_vector"] is None else f"{mem['xla_temp_bytes_per_N_vector']:.1f} B"))
        print(_row("    resident-set growth during the call / (N k)", f"{mem['rss_growth_per_N_vector']:.1f} B"))
        print(_row("    operator (amplitudes + diagonal)", f"{mem['operator_bytes'] / 1e6:.1f} MB"))
    _localizer_section(res, q, M, k)
    res["kwant"] = bench_kwant()
    path = tio.write_json(args.out, res)
    print(f"\nwrote {path}")


if __name__ == "__main__":
    main()
