"""`tnn demo`: the main job of the README runs end to end and agrees with k space."""

import json

import numpy as np

from tnn import cli


def test_demo_quick_agrees_with_kspace(tmp_path):
    out = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--out", str(out)]) == 0
    rep = json.loads((out / "demo.json").read_text())
    assert (out / "phase_diagrams.png").stat().st_size > 0
    assert rep["seed"] == 0
    assert rep["ssh"]["max_dev_from_kspace_away_from_transition"] < 1e-3
    q = rep["qwz"]
    for c, b, m in zip(q["kspace"], q["bott"], q["marker_bulk"]):
        if c is None:  # transition: flagged gapless, never a number
            assert b is None or np.isnan(b)
        else:
            assert abs(b - c) < 1e-6 and abs(m - c) < 0.05
    bott = np.asarray(rep["haldane"]["bott"], dtype=float)
    # the k-space reference on the same (phi, M) grid, computed under vmap (NaN on gapless lines)
    ck = np.asarray(rep["haldane"]["kspace"], dtype=float)
    assert ck.shape == bott.shape == (len(rep["haldane"]["phi"]), len(rep["haldane"]["M"])) and ck.shape[0] >= 21
    assert set(ck[np.isfinite(ck)].astype(int)) == {-1, 0, 1} and np.isnan(ck).any()
    assert rep["haldane"]["agree"] > 0.9
    vals = bott[np.isfinite(bott)]
    assert set(np.rint(vals).astype(int)) == {-1, 0, 1} and np.max(np.abs(vals - np.rint(vals))) < 1e-6
