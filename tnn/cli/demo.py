"""``tnn demo``: the command line of :func:`tnn.demo.run_demo`."""

from __future__ import annotations

import argparse

from tnn.demo import run_demo

__all__ = ["register_cli"]


def register_cli(sub) -> None:
    p = sub.add_parser(
        "demo", help="phase diagrams of the invariants, real space against k space",
        description="Sweep the SSH ratio v/w (open and periodic chains, clean and with bond disorder), the QWZ "
                    "mass m (Bott index and bulk Chern marker), the Haldane (phi, M) plane (Bott index) and the "
                    "Kitaev chain's mu / t (winding number), each with one jitted, vmapped call, and compare every clean point with the k-space invariant. "
                    "Writes demo.json and phase_diagrams.png to --out. Gapless points are NaN (grey in the plot).",
    )
    p.add_argument("--out", default="results/demo", help="output folder (default: results/demo)")
    p.add_argument("--quick", action="store_true", help="smaller sizes and grids (about 20 s)")
    p.add_argument("--seed", type=int, default=0, help="PRNG seed of the disorder draws (default 0)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from tnn import systems

    rep = run_demo(args.out, quick=args.quick, seed=args.seed)
    for name, s in systems.SYSTEMS.items():
        if s.demo is not None:
            for line in s.demo.summary(rep[name]):
                print(line)
    print(f"done in {rep['seconds']:.1f} s -> {args.out}/demo.json, {args.out}/phase_diagrams.png")
    return 0
