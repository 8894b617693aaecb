"""`tnn demo`: the main job of the README runs end to end and agrees with k space."""

import json
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from tnn import cli

ROOT = Path(__file__).resolve().parents[1]


def test_experiments_demo_is_tnn_demo(monkeypatch):
    """``experiments/demo.py`` is no second entry: it hands its arguments to ``tnn demo`` unchanged."""
    seen = []
    monkeypatch.setattr(cli, "main", lambda argv=None: seen.append(argv) or 7)
    monkeypatch.setattr(sys, "argv", ["demo.py", "--quick", "--out", "x", "--seed", "3"])
    with pytest.raises(SystemExit) as e:
        runpy.run_path(str(ROOT / "experiments" / "demo.py"), run_name="__main__")
    assert e.value.code == 7 and seen == [["demo", "--quick", "--out", "x", "--seed", "3"]]


@pytest.mark.slow  # 21 s; the invariants behind the demo are tested against k space elsewhere
def test_demo_quick_agrees_with_kspace(tmp_path, capsys):
    from tnn import systems

    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out)]) == 0
    rep = json.loads((out / "demo.json").read_text())
    # what experiments/demo.py printed before it became tnn demo: every system's summary, then the time
    printed = capsys.readouterr().out.splitlines()
    summaries = [line for name, s in systems.SYSTEMS.items() if s.demo is not None for line in s.demo.summary(rep[name])]
    assert len(summaries) >= 4 and printed[:-1] == summaries
    assert printed[-1].startswith("done in ") and printed[-1].endswith(f"{out}/demo.json, {out}/phase_diagrams.png")
    assert (out / "phase_diagrams.png").stat().st_size > 0
    assert rep["seed"] == 0
    assert rep["ssh"]["max_dev_from_kspace_away_from_transition"] < 1e-3
    q = rep["qwz"]
    for mm, c, b, m in zip(q["m"], q["kspace"], q["bott"], q["marker_bulk"]):
        if c is None:  # transition: never certified, never a number
            assert b is None or np.isnan(b)
        else:  # every certified value equals k space; deep in the phases they are certified
            if np.isfinite(b):
                assert abs(b - c) < 1e-6
            if np.isfinite(m):
                assert abs(m - c) < 0.05
            if abs(abs(mm) - 1.0) < 1e-9 or abs(mm) == 3.0:
                assert np.isfinite(b) and np.isfinite(m), mm
    bott = np.asarray(rep["haldane"]["bott"], dtype=float)
    # the k-space reference on the same (phi, M) grid, computed under vmap (NaN on gapless lines)
    ck = np.asarray(rep["haldane"]["kspace"], dtype=float)
    assert ck.shape == bott.shape == (len(rep["haldane"]["phi"]), len(rep["haldane"]["M"])) and ck.shape[0] >= 21
    assert set(ck[np.isfinite(ck)].astype(int)) == {-1, 0, 1} and np.isnan(ck).any()
    assert rep["haldane"]["agree"] > 0.9
    vals = bott[np.isfinite(bott)]
    assert set(np.rint(vals).astype(int)) == {-1, 0, 1} and np.max(np.abs(vals - np.rint(vals))) < 1e-6
