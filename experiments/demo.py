"""Phase diagrams of every registered system, real space against k space (what ``tnn demo`` runs).

Run: ``.venv/bin/python experiments/demo.py [--quick] [OUT]`` (default OUT: results/demo). Writes
``demo.json`` and ``phase_diagrams.png``; one panel per system of ``tnn.systems.SYSTEMS``.
"""

import sys

from tnn.demo import run_demo
from tnn.systems import SYSTEMS
from tnn.threads import blas_threads

if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    out = args[0] if args else "results/demo"
    with blas_threads(1):
        report = run_demo(out, quick="--quick" in sys.argv)
    for name, system in SYSTEMS.items():
        if system.demo is not None:
            print("\n".join(system.demo.summary(report[name])))
    print(f"{report['seconds']:.1f} s -> {out}/demo.json, {out}/phase_diagrams.png")
