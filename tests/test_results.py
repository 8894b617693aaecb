"""tnn.results: atomic writes leave either the old or the new file, never a partial one; parameter
archives and CSV round-trip exactly."""

import json
import os

import numpy as np
import pytest

from tnn import results as tres


def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    p = tmp_path / "sub" / "a.json"
    tres.write_json(p, {"x": (1, 2.5), "y": np.float64(3.0), "z": np.arange(3)})
    assert tres.read_json(p) == {"x": [1, 2.5], "y": 3.0, "z": [0, 1, 2]}
    tres.write_json(p, {"x": 2})
    assert tres.read_json(p) == {"x": 2}
    assert os.listdir(p.parent) == ["a.json"]


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_written_files_take_their_mode_from_the_umask(tmp_path, umask):
    """Results are readable by the group when the user's umask says so (a temporary file alone
    would be 0600), for every writer built on the atomic rename: text, JSON, CSV, arrays, the one
    figure writer, and a foreign writer (as NetCDF's) that recreates the temporary file 0600 itself."""
    plt = tres.pyplot()
    old = os.umask(umask)
    try:
        tres.atomic_write_text(tmp_path / "report.md", "x")
        tres.write_json(tmp_path / "config.json", {"a": 1})
        tres.write_csv(tmp_path / "metrics.csv", [{"a": 1}], columns=["a"])
        tres.save_arrays(tmp_path / "arrays.npz", {"a": np.zeros(2)})
        tres.save_figure(plt.figure(figsize=(1, 1)), tmp_path / "figure.png", dpi=10)
        with tres.atomic_target(tmp_path / "sweep.nc", suffix=".nc") as tmp:
            tmp.unlink()
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    finally:
        os.umask(old)
    names = ("report.md", "config.json", "metrics.csv", "arrays.npz", "figure.png", "sweep.nc")
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    for name in names:
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    p = tmp_path / "a.txt"
    tres.atomic_write_text(p, "old")

    def boom(*a, **k):
        raise KeyboardInterrupt  # a kill arriving between the write and the rename

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        tres.atomic_write_text(p, "new")
    monkeypatch.undo()
    assert p.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]


def test_params_roundtrip_and_bad_trees(tmp_path):
    params = {"conv": {"kernel": np.random.default_rng(0).normal(size=(3, 2)), "bias": np.zeros(2)},
              "log_tau": np.asarray(2.0), "c": np.array([1 + 2j])}
    tres.save_params(tmp_path / "p.npz", params)
    back = tres.load_params(tmp_path / "p.npz")
    assert back.keys() == params.keys() and back["conv"].keys() == params["conv"].keys()
    for a, b in [(back["conv"]["kernel"], params["conv"]["kernel"]), (back["c"], params["c"]), (back["log_tau"], params["log_tau"])]:
        np.testing.assert_array_equal(a, b)
        assert a.dtype == b.dtype
    with pytest.raises(ValueError, match="`params`"):
        tres.flatten_params({"a": [np.zeros(2)]})
    with pytest.raises(ValueError, match="`params`"):
        tres.flatten_params({"a/b": np.zeros(2)})


def test_csv_roundtrip_is_exact(tmp_path):
    rows = [{"seed": 0, "loss": 0.1 + 0.2, "acc": None}, {"seed": 1, "loss": 1e-300, "extra": "x"}]
    tres.write_csv(tmp_path / "m.csv", rows)
    back = tres.read_csv(tmp_path / "m.csv")
    assert back[0] == {"seed": 0, "loss": 0.1 + 0.2, "acc": None, "extra": None}
    assert back[1]["loss"] == 1e-300 and back[1]["extra"] == "x"


def test_results_dir_layout(tmp_path):
    d = tres.results_dir(tmp_path / "run")
    assert (d / "params").is_dir() and (d / "figures").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="`path`"):
        tres.results_dir(tmp_path / "file")
    json.dumps(tres.to_jsonable({"t": (1, np.int32(2)), "p": tmp_path}))
