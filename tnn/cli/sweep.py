"""``tnn sweep``: the command line of :func:`tnn.sweeps.presets.run_preset`."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from tnn.sweeps.presets import PRESETS, run_preset

__all__ = ["register_cli"]


def register_cli(sub) -> None:
    lines = "\n".join(f"  {name:16s} {p.help}" for name, p in PRESETS.items())
    ap = sub.add_parser(
        "sweep", help="phase diagrams over parameter grids and disorder keys (tnn.sweeps), with presets",
        description=f"Sweep an invariant over a preset's parameter grid, on all local devices.\n\npresets:\n{lines}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("preset", nargs="?", choices=sorted(PRESETS), metavar="PRESET",
                    help=f"which sweep to run: one of {', '.join(PRESETS)}")
    ap.add_argument("--list", action="store_true", help="list the presets with their defaults and exit")
    ap.add_argument("--out", default=None, help="output folder (default: results/sweep/<PRESET>); a rerun resumes there")
    ap.add_argument("--quick", action="store_true", help="smaller system, coarser grid and fewer keys")
    ap.add_argument("--size", type=int, default=None, help="system size: cells of the chain, or L of an L x L sample")
    ap.add_argument("--points", type=int, default=None, help="grid points per axis (default: the preset's)")
    ap.add_argument("--n-keys", type=int, default=None, help="disorder keys per grid point (disordered presets only)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the disorder keys (default: 0)")
    ap.add_argument("--chunk", type=int, default=None,
                    help="grid points per compiled vmap call (default: sized from the measured memory of one point)")
    ap.add_argument("--host-devices", type=int, default=None,
                    help="on CPU, split the host into this many JAX devices (must come before JAX starts; "
                         "default: as JAX starts, usually 1)")
    ap.add_argument("--distributed", action="store_true",
                    help="one process of a multi-process job (jax.distributed): the grid is split over the devices "
                         "of all processes, process 0 writes --out. The processes find each other through "
                         "TNN_COORDINATOR (host:port of process 0), TNN_NUM_PROCESSES and TNN_PROCESS_ID, or "
                         "JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID, or SLURM (srun) / Open MPI "
                         "(mpirun) as JAX detects them; e.g. srun -n 4 tnn sweep ssh-disorder --distributed")
    ap.add_argument("--no-progress", action="store_true", help="no progress bar")
    ap.set_defaults(func=_main)


def _parse(args: argparse.Namespace) -> dict:
    """Command-line arguments -> :func:`run_preset` keywords (every check names its option)."""
    if args.preset is None:
        raise ValueError("Argument `PRESET` is required (one of " + ", ".join(PRESETS) + "); see `tnn sweep --help`.")
    for opt in ("size", "points", "chunk", "host_devices"):
        v = getattr(args, opt)
        if v is not None and v < (2 if opt == "points" else 1):
            raise ValueError(f"Argument `--{opt.replace('_', '-')}` must be >= {2 if opt == 'points' else 1}, got {v}.")
    if args.n_keys is not None and args.n_keys < 0:
        raise ValueError(f"Argument `--n-keys` must be >= 0, got {args.n_keys}.")
    if args.seed < 0:
        raise ValueError(f"Argument `--seed` must be >= 0, got {args.seed}.")
    out = Path(args.out if args.out is not None else Path("results") / "sweep" / args.preset)
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".tmp-probe-", dir=out)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"Argument `--out` ({out}) is not a writable folder: {err.strerror or err}.") from None
    return dict(preset=args.preset, out=out, quick=args.quick, size=args.size, points=args.points,
                n_keys=args.n_keys, seed=args.seed, chunk=args.chunk, progress=not args.no_progress,
                distributed=args.distributed)


def _set_host_devices(n: int) -> None:
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError as err:  # JAX already started in this process
        print(f"tnn sweep: warning: --host-devices {n} ignored ({err})", file=sys.stderr)


def _process_index() -> int:
    import jax

    return jax.process_index()


def _main(args: argparse.Namespace) -> int:
    if args.list:
        for name, p in PRESETS.items():
            print(f"{name:16s} {p.help}\n{'':16s} axes {p.x.name} in [{p.x.lo:.3g}, {p.x.hi:.3g}] x "
                  f"{p.y.name} in [{p.y.lo:.3g}, {p.y.hi:.3g}], {p.x.n} x {p.y.n} points, size {p.size}, "
                  f"{p.n_keys} keys")
        return 0
    kw = _parse(args)
    if args.host_devices is not None:
        _set_host_devices(args.host_devices)
    cfg = run_preset(**kw)
    if _process_index() != 0:
        return 0  # process 0 reports
    rate = cfg["items_per_second"]
    procs = f" of {cfg['n_processes']} processes" if cfg["n_processes"] > 1 else ""
    print(f"{cfg['preset']}: {cfg['n_items']} points on {cfg['n_devices']} device(s){procs} in {cfg['seconds']:.1f} s"
          f" ({rate:.0f} points/s), {cfg['nan_cells']} ill-defined (NaN)"
          f" -> {kw['out']}/sweep.nc, {kw['out']}/phase_diagram.png")
    return 0
