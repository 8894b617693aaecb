"""The learnability study (what ``tnn study`` runs), as a script with its config in view.

Run: ``.venv/bin/python experiments/study.py [--quick] [OUT]`` (default OUT: results/study, or
results/study-quick). Edit ``PROFILE`` and ``OVERRIDES`` below to change the study: any field of
:class:`tnn.study.config.StudyConfig` (seeds, models, sections, size, n, epochs, ...). A rerun with the
same config resumes and gives the same numbers; ``config.json`` in OUT records what ran.
"""

import sys

from tnn.study.claims import findings
from tnn.study.config import profile
from tnn.study.runner import run_study
from tnn.study.summary import results_table, sanity
from tnn.threads import blas_threads

#: one of tnn.study.config.PROFILES: "quick" (~2 min on 2 cores), "default" (~9 min), "full" (one GPU)
PROFILE = "default"
#: StudyConfig fields that differ from the profile, e.g. dict(seeds=(0, 1, 2), epochs=30)
OVERRIDES: dict = {}

if __name__ == "__main__":
    name = "quick" if "--quick" in sys.argv else PROFILE
    args = [a for a in sys.argv[1:] if a != "--quick"]
    out = args[0] if args else ("results/study" if name == "default" else f"results/study-{name}")
    config = profile(name, **{**OVERRIDES, "out": out})
    with blas_threads(1):
        summary = run_study(config, log=lambda s: print(s, file=sys.stderr, flush=True))
    print(results_table(summary))
    ok, _ = sanity(summary)
    print(f"sanity check (exact topo, untrained, = the real-space invariant on every sample): {'PASS' if ok else 'FAIL'}")
    for f in findings(summary):
        print(f"finding: {f['verdict']:12s} {f['claim']}")
    print(f"done in {summary['seconds']:.1f} s -> {out}/report.md, {out}/metrics.csv")
