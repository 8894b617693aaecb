"""Phase diagrams of every registered system, real space against k space: ``tnn demo`` itself.

Run: ``.venv/bin/python experiments/demo.py [--quick] [--out OUT] [--seed N]`` (default OUT:
results/demo), the same arguments as ``tnn demo`` (``tnn demo --help``); it prints each system's
summary lines and the time, and writes ``demo.json`` and ``phase_diagrams.png``: one panel per system
of ``tnn.systems.SYSTEMS`` (:func:`tnn.demo.run_demo`).
"""

import sys

from tnn.cli import main

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
