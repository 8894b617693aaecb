"""`tnn study`: a tiny study end to end (files, one row per model x seed x test set, the exact topo
sanity check), resume without retraining, refusal of a changed config, and config checks.

The tiny study: open SSH chains of 10 cells (transfer: 16), 120 + 40 + 40 samples, 2 epochs, two
seeds; about 30 s on two cores, nearly all of it compilation.
"""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from tnn import cli, results as io
from tnn.study import SPLITS, STUDY_MODELS, StudyConfig, results_table, run_study

TINY = dict(size=10, transfer_size=16, n=120, splits=(0.6, 0.2, 0.2), n_transfer=40, n_disorder=40, epochs=2,
            batch_size=16, width=4, depth=1, seeds=(0, 1))


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study") / "run"
    cfg = StudyConfig(out=str(out), **TINY)
    return cfg, run_study(cfg)


def test_files_rows_and_exact_topo(study):
    cfg, summary = study
    out = Path(summary["out"])
    for f in ("config.json", "metrics.csv", "report.md", "accuracy.png"):
        assert (out / f).stat().st_size > 0, f
    saved = io.read_json(out / "config.json")
    assert StudyConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in saved["study"].items()}) == cfg.validate()
    assert set(saved["datasets"]) == {"ssh", "transfer", "disorder"}
    rows = io.read_csv(out / "metrics.csv")
    assert [(r["model"], r["stage"], r["seed"], r["split"], r["acc"]) for r in rows] == [
        (r["model"], r["stage"], r["seed"], r["split"], r.get("acc")) for r in summary["rows"]]  # floats round-trip
    trained = [r for r in rows if r["stage"] == "trained"]
    keys = sorted((r["model"], r["seed"], r["split"]) for r in trained)
    want = sorted((m, s, sp) for m in STUDY_MODELS for s in cfg.seeds for sp in SPLITS)
    assert keys == want  # exactly one row per model x seed x test set
    for r in trained:
        assert r["epochs"] == cfg.epochs and r["n"] > 0 and r["n"] + r["n_ill_defined"] == summary["datasets"][SPLITS[r["split"]][0]]["n_test"]
        if r["model"] == "mlp" and r["split"] == "transfer":  # fixed input size: no number, no crash
            assert r["acc"] is None and r["note"].startswith("n/a")
        else:
            assert 0.0 <= r["acc"] <= 1.0 and r["note"] is None
            per = [r[f"acc_{c}"] for c in summary["classes"]]
            assert any(not math.isnan(a) for a in per if a is not None)
    # the sanity check: the untrained exact topo model is right on every gapped sample of every set
    init = [r for r in rows if r["stage"] == "init"]
    assert sorted((r["seed"], r["split"]) for r in init) == sorted((s, sp) for s in cfg.seeds for sp in SPLITS)
    assert all(r["model"] == "topo-exact" and r["acc"] == 1.0 and r["n"] > 0 for r in init)
    report = (out / "report.md").read_text()
    assert "Sanity check: PASS" in report and "| mlp |" in report and "n/a" in report
    table = results_table(summary)
    assert len(table.splitlines()) == 1 + len(STUDY_MODELS) and "n/a" in table.splitlines()[3]


def test_rerun_resumes_without_retraining(study):
    cfg, first = study
    out = Path(first["out"])
    csv_before = (out / "metrics.csv").read_text()
    ckpt = {m: (out / "runs" / m / "checkpoint.npz").stat().st_mtime_ns for m in STUDY_MODELS}
    again = run_study(cfg)
    assert again["reused"] == list(STUDY_MODELS)
    assert (out / "metrics.csv").read_text() == csv_before
    # a run killed between training and evaluation: the fit resumes from its final checkpoint (no
    # training step, the checkpoint is not rewritten) and the evaluation gives the same numbers
    (out / "runs" / "cnn" / "eval.json").unlink()
    lines = []
    third = run_study(cfg, log=lines.append)
    assert [line for line in lines if "resumed" in line] == [next(line for line in lines if line.startswith("model cnn"))]
    assert "cnn" not in third["reused"] and len(third["reused"]) == len(STUDY_MODELS) - 1
    assert (out / "metrics.csv").read_text() == csv_before
    assert {m: (out / "runs" / m / "checkpoint.npz").stat().st_mtime_ns for m in STUDY_MODELS} == ckpt
    # a different config is refused in that folder, before any work
    with pytest.raises(ValueError, match="`out`"):
        run_study(dataclasses.replace(cfg, epochs=3))


def test_no_keep_datasets_deletes_them_and_a_rerun_regenerates_them(study):
    cfg, first = study
    out = Path(first["out"])
    csv_before = (out / "metrics.csv").read_text()
    assert first["sizes"]["data"] > 0 and first["sizes"]["total"] >= first["sizes"]["data"] + first["sizes"]["runs"]
    assert f"{first['sizes']['data'] / 1e6:.1f} MB" in (out / "report.md").read_text()
    lean = run_study(cfg, keep_datasets=False)
    assert not (out / "data").exists() and lean["sizes"]["data"] == 0
    assert lean["reused"] == list(STUDY_MODELS) and (out / "metrics.csv").read_text() == csv_before
    assert "deleted at the end" in (out / "report.md").read_text()
    again = run_study(cfg)  # the datasets come back bit-identical, so every model is reused
    assert again["reused"] == list(STUDY_MODELS) and (out / "metrics.csv").read_text() == csv_before
    assert (out / "data" / "ssh").is_dir()


@pytest.mark.parametrize(
    "field,value",
    [
        ("seeds", ()),
        ("seeds", (0, 0)),
        ("seeds", (-1,)),
        ("data_seed", -1),
        ("size", 4),
        ("transfer_size", 2.5),
        ("n", 10),
        ("splits", (0.5, 0.5)),
        ("splits", (0.8, 0.2, 0.0)),
        ("n_transfer", -1),
        ("n_disorder", 1.5),
        ("models", ("topo", "cnn")),
        ("models", ()),
        ("epochs", 0),
        ("batch_size", 0),
        ("learning_rate", float("nan")),
        ("width", 0),
        ("depth", -1),
        ("channels", 0),
        ("out", ""),
    ],
)
def test_invalid_config_names_the_field(field, value, tmp_path):
    cfg = dataclasses.replace(StudyConfig(out=str(tmp_path / "s"), **TINY), **{field: value})
    with pytest.raises(ValueError, match=f"`{field}`"):
        run_study(cfg)
    assert not (tmp_path / "s").exists()  # checked before anything is written


def test_cli_reports_a_bad_field(tmp_path, capsys):
    assert cli.main(["study", "--epochs", "0", "--out", str(tmp_path / "s")]) == 2
    assert "`epochs`" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_quick_is_deterministic(tmp_path, capsys):
    """`tnn study --quick` twice in fresh folders: identical metrics; the exact topo check passes."""
    for k in (1, 2):
        assert cli.main(["study", "--quick", "--no-progress", "--out", str(tmp_path / f"q{k}")]) == 0
    assert "sanity check" in capsys.readouterr().out
    a, b = ((tmp_path / f"q{k}" / "metrics.csv").read_text() for k in (1, 2))
    assert a == b
    rows = io.read_csv(tmp_path / "q1" / "metrics.csv")
    assert all(r["acc"] == 1.0 for r in rows if r["stage"] == "init")
    assert np.isfinite([r["acc"] for r in rows if r["acc"] is not None]).all()
