"""Benchmark of the real-space invariants against bare LAPACK calls and NumPy references.

Every figure is a ratio of two timings taken in the same run (interleaved repeats, minimum of each),
so it is meaningful on a shared, noisy machine; absolute seconds are printed for context. Writes a
table to stdout and JSON to ``results/bench_invariants.json`` (``--out``). ``--quick`` for smaller
sizes. Not a test: nothing here asserts.

Rows (targets from the project's issue):

* winding number, one open chain of L cells (default 400): ``tnn`` (jitted) / one bare LAPACK SVD of
  the ``L x L`` chiral block (JAX and NumPy); target <= 1.2.
* winding number, a batch of chains (default 4096 x 50 cells, chiral bond disorder): ``jit(vmap)``
  against per-sample NumPy loops (textbook route: ``eigh`` of ``H``, ``Q = V sign(E) V^dag``, bulk
  trace; and the SVD route); target >= 5x faster than the loop.
* local Chern marker, open QWZ 30 x 30 (N = 1800), and Bott index, periodic QWZ 30 x 30: ``tnn``
  (jitted, including its ``eigh``) / one bare ``eigh`` of the same matrix; targets <= 1.3 (marker),
  <= 1.45 and never slower than the NumPy reference (Bott). NumPy references are in the table.
* tensor networks: the ``tensornetwork.ncon`` engine against ``jnp.einsum`` on the same
  ``opt_einsum`` path, and against the fast path of the public function.
* winding batch floor: the same batch through one bare batched ``eigh`` of ``h^T h`` (the LAPACK call
  the polar route is built on), to show how much of the time is the diagonalization itself.
* memory at N = 3200 (40 x 40), in units of one ``N x N`` complex128 array (target <= 6 for the
  marker): (1) the compiled ``memory_analysis()`` of the jitted marker (eigh included): arguments +
  outputs + temporaries, i.e. the XLA buffers (LAPACK's own workspace inside the eigh call is not
  one); (2) peak RSS (VmHWM) of fresh subprocesses (import, build ``H``, compile) with and without one call,
  which includes LAPACK's workspace; ``H`` itself (1 unit) is in the baseline of (2).

Run: ``.venv/bin/python experiments/bench_invariants.py [--quick] [--out PATH] [--repeats R]``. The spectral
localizer against PyBott and the certificate's cost: ``experiments/bench_localizer.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import jax
import jax.numpy as jnp

import tnn
from tnn import contractions as tc
from tnn import hamiltonians, invariants, lattice, results as tres


def _block(x):
    return jax.block_until_ready(x)


def timeit(fns: dict, repeats: int, seed: int = 0) -> dict:
    """Interleaved timing: one warm-up call each, then ``repeats`` rounds in a shuffled order (so no
    function always runs right after a heavy NumPy reference); minimum per function."""
    for f in fns.values():
        _block(f())
    best = {k: float("inf") for k in fns}
    rng = np.random.default_rng(seed)
    keys = list(fns)
    for _ in range(repeats):
        for i in rng.permutation(len(keys)):
            k, f = keys[i], fns[keys[i]]
            t0 = time.perf_counter()
            _block(f())
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


# ----------------------------------------------------------------------------- NumPy references
def np_winding_eigh(H, L, trim):
    """Textbook route: diagonalize H, Q = V sign(E) V^dag, bulk trace with the cell index."""
    E, V = np.linalg.eigh(H)
    s = np.where(np.arange(2 * L) < L, -1.0, 1.0)
    Q = (V * s) @ V.conj().T
    U = Q[0::2, 1::2]
    x = np.arange(L)
    d = x[:, None] - x[None, :]
    rows = slice(trim, L - trim)
    return float(np.sum(d[rows] * np.abs(U[rows]) ** 2) / (L - 2 * trim))


def np_winding_svd(H, L, trim):
    """SVD route: polar factor of the chiral block, bulk trace."""
    X, _, Yh = np.linalg.svd(H[0::2, 1::2])
    U = X @ Yh
    x = np.arange(L)
    d = x[:, None] - x[None, :]
    rows = slice(trim, L - trim)
    return float(np.sum(d[rows] * np.abs(U[rows]) ** 2) / (L - 2 * trim))


def np_marker(H, lat):
    """NumPy Bianco-Resta marker (one-term form), complex products."""
    E, V = np.linalg.eigh(H)
    W = V[:, : H.shape[0] // 2]
    x, y = lat.positions[:, 0], lat.positions[:, 1]
    Xw = W.conj().T @ (x[:, None] * W)
    Yw = W.conj().T @ (y[:, None] * W)
    site = np.imag(np.einsum("ia,ia->i", W @ (Xw @ Yw), W.conj()))
    return 4 * np.pi / lat.cell_area * site.reshape(lat.n_cells, 2).sum(1).reshape(lat.shape)


def np_bott(H, lat):
    """NumPy Bott index: eigh, projected unitaries, eigvals of the n_occ x n_occ product."""
    E, V = np.linalg.eigh(H)
    W = V[:, : H.shape[0] // 2]
    px, py = tc.exact_bott_phases(lat)
    Ux = W.conj().T @ (px[:, None] * W)
    Uy = W.conj().T @ (py[:, None] * W)
    ev = np.linalg.eigvals(Ux @ Uy @ Ux.conj().T @ Uy.conj().T)
    return -float(np.sum(np.angle(ev)) / (2 * np.pi))


# ----------------------------------------------------------------------------- sections
def bench_winding_single(L: int, repeats: int) -> dict:
    lat = lattice.chain(L)
    H = hamiltonians.ssh(jnp.array([0.5, 1.5]), lat, bond_disorder=0.5, key=jax.random.key(0))
    Hn = np.asarray(H)
    h = H[0::2, 1::2]
    hn = np.asarray(h)
    f_tnn = jax.jit(lambda H: invariants.winding_number(H, lat))
    f_svd = jax.jit(lambda h: jnp.linalg.svd(h))
    f_eigh_hh = jax.jit(lambda h: jnp.linalg.eigh(h.T @ h))
    t = timeit(
        {
            "tnn_jit": lambda: f_tnn(H),
            "tnn_eager": lambda: invariants.winding_number(H, lat),
            "svd_jax": lambda: f_svd(h),
            "svd_numpy": lambda: np.linalg.svd(hn),
            "eigh_hdag_h_jax": lambda: f_eigh_hh(h),
            "numpy_textbook": lambda: np_winding_eigh(Hn, L, L // 4),
        },
        # Each call is ~20 ms: many more rounds than the heavy sections, for a stable minimum.
        max(15, 5 * repeats),
    )
    w = float(f_tnn(H))
    return {
        "L": L,
        "value": w,
        "numpy_value": np_winding_eigh(Hn, L, L // 4),
        "seconds": t,
        "ratio_vs_svd_jax": t["tnn_jit"] / t["svd_jax"],
        "ratio_vs_svd_numpy": t["tnn_jit"] / t["svd_numpy"],
        "ratio_eager_vs_svd_jax": t["tnn_eager"] / t["svd_jax"],
        "target": "<= 1.2 x bare SVD",
    }


def bench_winding_batch(B: int, L: int, repeats: int) -> dict:
    lat = lattice.chain(L)
    keys = jax.random.split(jax.random.key(1), B)
    t = jnp.array([0.5, 1.5])
    Hs = jax.jit(jax.vmap(lambda k: hamiltonians.ssh(t, lat, bond_disorder=1.0, key=k)))(keys)
    Hn = np.asarray(Hs)

    def value_and_gap(H):
        w, cert = invariants.winding_number(H, lat, return_certificate=True)
        return w, cert.gap  # under jit the certificate's other fields, unused, are not computed

    f = jax.jit(jax.vmap(value_and_gap))
    trim = L // 4

    def loop_eigh():
        return [np_winding_eigh(H, L, trim) for H in Hn]

    def loop_svd():
        return [np_winding_svd(H, L, trim) for H in Hn]

    h = Hs[:, 0::2, 1::2]
    floor = jax.jit(lambda h: jnp.linalg.eigh(jnp.swapaxes(h, -1, -2) @ h))
    tm = timeit(
        {
            "tnn_vmap": lambda: f(Hs),
            "bare_batched_eigh_hTh": lambda: floor(h),
            "numpy_loop_textbook": loop_eigh,
            "numpy_loop_svd": loop_svd,
        },
        max(2, repeats // 2),
    )
    w, gap = f(Hs)
    ref = np.array(loop_eigh())
    return {
        "batch": B,
        "L": L,
        "max_abs_diff_vs_numpy": float(np.max(np.abs(np.asarray(w) - ref))),
        "fraction_integer_1e-3": float(np.mean(np.abs(np.asarray(w) - 1) < 1e-3)),
        "seconds": tm,
        "speedup_vs_numpy_loop_textbook": tm["numpy_loop_textbook"] / tm["tnn_vmap"],
        "speedup_vs_numpy_loop_svd": tm["numpy_loop_svd"] / tm["tnn_vmap"],
        "per_chain_us": 1e6 * tm["tnn_vmap"] / B,
        "ratio_vs_bare_batched_eigh": tm["tnn_vmap"] / tm["bare_batched_eigh_hTh"],
        "target": ">= 5 x faster than the per-sample NumPy loop",
    }


def bench_marker_bott(n: int, repeats: int) -> dict:
    lo, lp = lattice.square(n, n), lattice.square(n, n, pbc=True)
    Ho = hamiltonians.qwz(-1.0, lo, onsite_disorder=1.0, key=jax.random.key(2))
    Hp = hamiltonians.qwz(-1.0, lp, onsite_disorder=1.0, key=jax.random.key(2))
    Hon, Hpn = np.asarray(Ho), np.asarray(Hp)
    eigh = jax.jit(jnp.linalg.eigh)
    marker = jax.jit(lambda H: invariants.local_chern_marker(H, lo))
    bott = jax.jit(lambda H: invariants.bott_index(H, lp))
    W = eigh(Hp)[1][:, : lp.n_sites // 2]
    eigvals = jax.jit(jnp.linalg.eigvals)
    t = timeit(
        {
            "eigh_jax_open": lambda: eigh(Ho),
            "marker_tnn": lambda: marker(Ho),
            "eigh_jax_periodic": lambda: eigh(Hp),
            "bott_tnn": lambda: bott(Hp),
            "eigh_numpy": lambda: np.linalg.eigh(Hon),
            "marker_numpy": lambda: np_marker(Hon, lo),
            "bott_numpy": lambda: np_bott(Hpn, lp),
            "eigvals_nocc_jax": lambda: eigvals(W[: lp.n_sites // 2]),
        },
        repeats,
    )
    cm = marker(Ho)
    return {
        "lattice": f"{n}x{n}",
        "N": lo.n_sites,
        "marker_centre": float(cm[n // 2, n // 2]),
        "marker_max_abs_diff_vs_numpy": float(np.max(np.abs(np.asarray(cm) - np_marker(Hon, lo)))),
        "bott": float(bott(Hp)),
        "bott_numpy": np_bott(Hpn, lp),
        "seconds": t,
        "marker_ratio_vs_eigh": t["marker_tnn"] / t["eigh_jax_open"],
        "marker_numpy_ratio_vs_eigh": t["marker_numpy"] / t["eigh_jax_open"],
        "bott_ratio_vs_eigh": t["bott_tnn"] / t["eigh_jax_periodic"],
        "bott_numpy_ratio_vs_eigh": t["bott_numpy"] / t["eigh_jax_periodic"],
        "bott_vs_numpy_reference": t["bott_tnn"] / t["bott_numpy"],
        "eigvals_nocc_ratio_vs_eigh": t["eigvals_nocc_jax"] / t["eigh_jax_periodic"],
        "targets": "marker <= 1.3 x eigh; Bott <= 1.45 x eigh and <= NumPy reference",
    }


def bench_networks(L: int, n: int, repeats: int) -> dict:
    out = {}
    lat = lattice.chain(L)
    E, V = jnp.linalg.eigh(hamiltonians.ssh(jnp.array([0.6, 1.0]), lat))
    K, s, M = tc.exact_winding_kernel(lat), tc.exact_winding_weights(2 * L), tc.exact_mixing()
    fns = {e: jax.jit(lambda V, e=e: tc.winding_network(V, s, K, M, engine=e)) for e in ("ncon", "einsum")}
    fast = jax.jit(lambda E, V: invariants.winding_number_from_eigh(E, V, lat, validity="raw"))
    t = timeit({"ncon": lambda: fns["ncon"](V), "einsum": lambda: fns["einsum"](V), "fast": lambda: fast(E, V)}, repeats)
    out["winding_network"] = {"L": L, "seconds": t, "ncon_over_einsum": t["ncon"] / t["einsum"], "ncon_over_fast": t["ncon"] / t["fast"]}

    lo = lattice.square(n, n)
    E, V = jnp.linalg.eigh(hamiltonians.qwz(-1.0, lo))
    W = V[:, : lo.n_sites // 2]
    f = tc.exact_occupation(lo.n_sites // 2, lo.n_sites // 2)
    x, y = tc.exact_coordinates(lo)
    sc = tc.exact_marker_scale(lo)
    fns = {e: jax.jit(lambda W, e=e: tc.marker_network(tc.as_cell_orbital(W, 2), f, x, y, sc, engine=e)) for e in ("ncon", "einsum")}
    fast = jax.jit(lambda E, V: invariants.local_chern_marker_from_eigh(E, V, lo, validity="raw"))
    t = timeit({"ncon": lambda: fns["ncon"](W), "einsum": lambda: fns["einsum"](W), "fast": lambda: fast(E, V)}, repeats)
    out["marker_network"] = {"lattice": f"{n}x{n}", "seconds": t, "ncon_over_einsum": t["ncon"] / t["einsum"], "ncon_over_fast": t["ncon"] / t["fast"]}
    return out


def bench_memory(n: int) -> dict:
    lo = lattice.square(n, n)
    N = lo.n_sites
    H = jax.ShapeDtypeStruct((N, N), jnp.complex128)
    unit = N * N * 16

    def stats(f):
        ma = jax.jit(f).lower(H).compile().memory_analysis()
        if ma is None:
            return None
        total = ma.argument_size_in_bytes + ma.output_size_in_bytes + ma.temp_size_in_bytes - ma.alias_size_in_bytes
        return {
            "argument_bytes": int(ma.argument_size_in_bytes),
            "output_bytes": int(ma.output_size_in_bytes),
            "temp_bytes": int(ma.temp_size_in_bytes),
            "alias_bytes": int(ma.alias_size_in_bytes),
            "total_in_NxN_complex": total / unit,
        }

    return {
        "lattice": f"{n}x{n}",
        "N": N,
        "method": "jax.jit(f).lower(H).compile().memory_analysis(): arguments + outputs + temporaries - aliases "
                  "(XLA buffers; LAPACK's own workspace inside the eigh call is not an XLA buffer)",
        "marker": stats(lambda H: invariants.local_chern_marker(H, lo)),
        "bare_eigh": stats(lambda H: jnp.linalg.eigh(H)),
        "rss_method": "peak RSS (VmHWM) of fresh subprocesses that import, build H and compile both "
                      "functions, then call one of them (or none); reported: peak(call) - peak(no call). "
                      "Includes LAPACK's workspace; 0 means the call fit in memory already touched.",
        "rss_marker": _rss_growth("marker", n),
        "rss_bare_eigh": _rss_growth("eigh", n),
        "target": "marker <= 6 N x N complex arrays",
    }


_RSS_SCRIPT = """
import resource, sys
import jax, jax.numpy as jnp
import tnn
from tnn import hamiltonians, invariants, lattice
tnn.enable_x64()
what, n = sys.argv[1], int(sys.argv[2])
lo = lattice.square(n, n)
H = jax.block_until_ready(hamiltonians.qwz(-1.0, lo))
fs = {"marker": jax.jit(lambda H: invariants.local_chern_marker(H, lo)).lower(H).compile(),
      "eigh": jax.jit(jnp.linalg.eigh).lower(H).compile()}
if what in fs:
    jax.block_until_ready(fs[what](H))
# VmHWM is the peak of this process image; ru_maxrss would carry over the parent's peak across exec.
try:
    line = [l for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
    print(int(line.split()[1]) * 1024)
except (OSError, IndexError):
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
"""


def _peak_rss(what: str, n: int) -> int | None:
    import subprocess
    import sys

    try:
        res = subprocess.run([sys.executable, "-c", _RSS_SCRIPT, what, str(n)], capture_output=True, text=True,
                             timeout=900, check=True)
        return int(res.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, IndexError, ValueError, OSError):
        return None


def _rss_growth(what: str, n: int) -> dict | None:
    """Peak resident memory added by one call, in bytes and in N x N complex128 units."""
    base, peak = _peak_rss("none", n), _peak_rss(what, n)
    if base is None or peak is None:
        return None
    N = 2 * n * n
    return {"baseline_peak_bytes": base, "peak_bytes": peak, "in_NxN_complex": (peak - base) / (N * N * 16)}


# ----------------------------------------------------------------------------- main
def _row(name, value, target=""):
    return f"{name:58s} {value:>12s}   {target}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--out", default="results/bench_invariants.json", help="JSON output path")
    ap.add_argument("--repeats", type=int, default=None, help="timing rounds (default 5, quick 3)")
    args = ap.parse_args(argv)
    tnn.enable_x64()
    q = args.quick
    reps = args.repeats or (3 if q else 5)
    sizes = {
        "winding_L": 100 if q else 400,
        "batch": (256, 50) if q else (4096, 50),
        "qwz": 12 if q else 30,
        "networks": (60, 8) if q else (200, 16),
        "memory": 16 if q else 40,
    }
    t0 = time.perf_counter()
    res = {
        "quick": q,
        "repeats": reps,
        "sizes": sizes,
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "jax": jax.__version__,
                    "backend": jax.default_backend()},
    }
    res["winding_single"] = bench_winding_single(sizes["winding_L"], reps)
    res["winding_batch"] = bench_winding_batch(*sizes["batch"], reps)
    res["marker_bott"] = bench_marker_bott(sizes["qwz"], reps)
    res["networks"] = bench_networks(*sizes["networks"], reps)
    res["memory"] = bench_memory(sizes["memory"])
    res["seconds_total"] = time.perf_counter() - t0

    ws, wb, mb, nw, mem = (res[k] for k in ("winding_single", "winding_batch", "marker_bott", "networks", "memory"))
    lines = [
        _row("measurement", "ratio", "target"),
        _row(f"winding L={ws['L']}: tnn(jit) / bare SVD (jax)", f"{ws['ratio_vs_svd_jax']:.2f}", "<= 1.2"),
        _row(f"winding L={ws['L']}: tnn(jit) / bare SVD (numpy)", f"{ws['ratio_vs_svd_numpy']:.2f}", "<= 1.2"),
        _row(f"winding L={ws['L']}: tnn(eager, with checks) / bare SVD (jax)", f"{ws['ratio_eager_vs_svd_jax']:.2f}", ""),
        _row(f"winding batch {wb['batch']}x{wb['L']}: NumPy loop (eigh) / tnn(vmap)", f"{wb['speedup_vs_numpy_loop_textbook']:.2f}x", ">= 5x"),
        _row(f"winding batch {wb['batch']}x{wb['L']}: NumPy loop (SVD) / tnn(vmap)", f"{wb['speedup_vs_numpy_loop_svd']:.2f}x", ""),
        _row("winding batch: tnn(vmap) / bare batched eigh(h^T h) (floor)", f"{wb['ratio_vs_bare_batched_eigh']:.2f}", ""),
        _row(f"marker {mb['lattice']} (N={mb['N']}): tnn / eigh", f"{mb['marker_ratio_vs_eigh']:.2f}", "<= 1.3"),
        _row(f"marker {mb['lattice']}: NumPy reference / eigh", f"{mb['marker_numpy_ratio_vs_eigh']:.2f}", ""),
        _row(f"Bott {mb['lattice']}: tnn / eigh", f"{mb['bott_ratio_vs_eigh']:.2f}", "<= 1.45"),
        _row(f"Bott {mb['lattice']}: NumPy reference / eigh", f"{mb['bott_numpy_ratio_vs_eigh']:.2f}", ""),
        _row(f"Bott {mb['lattice']}: tnn / NumPy reference", f"{mb['bott_vs_numpy_reference']:.2f}", "<= 1"),
        _row("eigvals n_occ x n_occ / eigh", f"{mb['eigvals_nocc_ratio_vs_eigh']:.2f}", ""),
        _row(f"winding network L={nw['winding_network']['L']}: ncon / einsum", f"{nw['winding_network']['ncon_over_einsum']:.2f}", "<= 1"),
        _row("winding network: ncon / fast path", f"{nw['winding_network']['ncon_over_fast']:.2f}", ""),
        _row(f"marker network {nw['marker_network']['lattice']}: ncon / einsum", f"{nw['marker_network']['ncon_over_einsum']:.2f}", "<= 1"),
        _row("marker network: ncon / fast path", f"{nw['marker_network']['ncon_over_fast']:.2f}", ""),
    ]
    if mem["marker"] is not None:
        lines.append(_row(f"memory marker {mem['lattice']} (N={mem['N']}), N x N complex units",
                          f"{mem['marker']['total_in_NxN_complex']:.2f}", "<= 6"))
        lines.append(_row(f"memory bare eigh {mem['lattice']}, N x N complex units",
                          f"{mem['bare_eigh']['total_in_NxN_complex']:.2f}", ""))
    if mem["rss_marker"] is not None and mem["rss_bare_eigh"] is not None:
        lines.append(_row(f"peak RSS added by the marker call {mem['lattice']}, N x N complex",
                          f"{mem['rss_marker']['in_NxN_complex']:.2f}", ""))
        lines.append(_row(f"peak RSS added by a bare eigh call {mem['lattice']}, N x N complex",
                          f"{mem['rss_bare_eigh']['in_NxN_complex']:.2f}", ""))
    print("\n".join(lines))
    print(f"(seconds: winding single {ws['seconds']['tnn_jit']:.4f} vs SVD {ws['seconds']['svd_jax']:.4f}; "
          f"batch {wb['seconds']['tnn_vmap']:.3f} vs loop {wb['seconds']['numpy_loop_textbook']:.3f}; "
          f"eigh {mb['seconds']['eigh_jax_open']:.3f}, marker {mb['seconds']['marker_tnn']:.3f}, "
          f"Bott {mb['seconds']['bott_tnn']:.3f}; total {res['seconds_total']:.0f} s)")
    res["table"] = lines
    # atomic (a killed run leaves no half-written JSON), with the umask's mode like every result
    out = tres.write_json(args.out, res)
    print(f"wrote {out}")
    return res


if __name__ == "__main__":
    main()
