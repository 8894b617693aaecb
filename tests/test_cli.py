"""The `tnn` command as a new user meets it: help texts, clear errors instead of tracebacks (an
unwritable --out, a dataset folder that holds another dataset), the test split reported by
`tnn train`, and the BLAS thread limit of every command (tnn.threads)."""

import argparse
import json

import numpy as np
import pytest

from tnn import cli, threads


def _subparsers(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                for n2, s2 in _subparsers(sub):
                    yield f"{name} {n2}", s2


def test_every_option_of_every_command_has_help_and_no_rst_markup(capsys):
    parser = cli.build_parser()
    subs = dict(_subparsers(parser))
    assert {"demo", "data", "data generate", "data info", "train", "study"} <= set(subs)
    for name, p in [("tnn", parser), *subs.items()]:
        assert p.description, f"{name}: no description"
        assert "``" not in (p.description or "") + (p.epilog or ""), name
        for a in p._actions:
            if isinstance(a, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert a.help and a.help.strip(), f"{name} {a.option_strings or a.dest}: no help text"
            assert "``" not in a.help, name
    for argv in (["--help"], ["data", "--help"], ["demo", "--help"], ["train", "--help"]):
        with pytest.raises(SystemExit) as e:
            cli.main(argv)
        assert e.value.code == 0
        assert "``" not in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["demo", "--quick"], ["study", "--quick", "--no-progress"],
                                  ["data", "generate", "--preset", "ssh", "--n", "16", "--quiet"]])
def test_unwritable_out_is_a_one_line_error(argv, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert cli.main([*argv, "--out", str(blocker / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"tnn {' '.join(argv[:2]) if argv[0] == 'data' else argv[0]}: error: ")
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert str(blocker) in err and "--out" in err


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "ssh"
    argv = ["data", "generate", "--preset", "ssh", "--n", "96", "--size", "24", "--features",
            "wavefunctions,hamiltonian", "--shard-size", "32", "--chunk-size", "16", "--quiet", "--out", str(out)]
    assert cli.main(argv) == 0
    return out, argv


def test_growing_a_dataset_is_refused_naming_what_differs(small_dataset, capsys):
    out, argv = small_dataset
    manifest = (out / "manifest.json").read_text()
    capsys.readouterr()
    grown = [a if a != "96" else "192" for a in argv]
    assert cli.main(grown) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "n: 96 there, 192 asked" in err and "cannot be grown" in err
    assert "--overwrite" in err
    other = [*argv[:-2], "--seed", "7", "--out", str(out)]
    assert cli.main(other) == 2
    err = capsys.readouterr().err
    assert "seed: 0 there, 7 asked" in err and "cannot be grown" not in err
    assert (out / "manifest.json").read_text() == manifest  # nothing was touched
    assert cli.main(argv) == 0  # the same spec: verified and kept


def test_train_reports_the_test_split(small_dataset, tmp_path, capsys):
    data, _ = small_dataset
    out = tmp_path / "mlp"
    assert cli.main(["train", "--model", "mlp", "--data", str(data), "--seeds", "0", "1", "--epochs", "1",
                     "--batch-size", "16", "--width", "4", "--no-progress", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    cfg = json.loads((out / "config.json").read_text())  # the dataset's description goes with the run
    assert cfg["data"]["model"] == "ssh" and cfg["model"]["name"] == "mlp" and cfg["seeds"] == [0, 1]
    test = json.loads((out / "test.json").read_text())
    assert set(test["seeds"]) == {"0", "1"} and test["n"] > 0
    assert f"test split: {test['n']} gapped samples" in printed
    for s in ("0", "1"):
        assert 0.0 <= test["seeds"][s]["acc"] <= 1.0
        assert f"test_acc {test['seeds'][s]['acc']:.4f}" in printed


def test_train_names_a_missing_feature(small_dataset, tmp_path, capsys):
    data, _ = small_dataset
    assert cli.main(["train", "--model", "cnn", "--input", "projector", "--data", str(data), "--seeds", "0",
                     "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "stores no 'projector'" in err and "wavefunctions, hamiltonian" in err and "--features" in err


def test_blas_threads_limit_and_restore(monkeypatch):
    info = threads.blas_info()
    if not info:
        pytest.skip("no BLAS library found by threadpoolctl")
    before = [d["num_threads"] for d in info]
    with threads.blas_threads(1):
        assert all(d["num_threads"] == 1 for d in threads.blas_info())
    assert [d["num_threads"] for d in threads.blas_info()] == before
    with pytest.raises(ValueError, match="`n`"):
        with threads.blas_threads(0):
            pass
    for var in ("TNN_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert threads.default_blas_threads() == 1
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert threads.default_blas_threads() is None  # the user's choice is respected
    monkeypatch.setenv("TNN_BLAS_THREADS", "3")
    assert threads.default_blas_threads() == 3
    monkeypatch.setenv("TNN_BLAS_THREADS", "many")
    with pytest.raises(ValueError, match="TNN_BLAS_THREADS"):
        threads.default_blas_threads()


def test_current_blas_threads_and_malloc_arena_cap(monkeypatch):
    """What a child process copies (tnn study's helper), and the arena cap the study applies: on glibc
    it applies unless the user set MALLOC_ARENA_MAX (whose value wins); bad counts are refused."""
    if threads.blas_info():
        with threads.blas_threads(1):
            assert threads.current_blas_threads() == 1
    with pytest.raises(ValueError, match="`n`"):
        threads.cap_malloc_arenas(0)
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert threads.cap_malloc_arenas(2) is False
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    import platform

    if platform.libc_ver()[0] == "glibc":
        assert threads.cap_malloc_arenas(8) is True  # glibc's default for a 64-bit process is 8 per core


def test_commands_run_with_the_chosen_blas_threads(monkeypatch):
    if not threads.blas_info():
        pytest.skip("no BLAS library found by threadpoolctl")
    seen = []

    def fake(args):
        seen.append(sorted({d["num_threads"] for d in threads.blas_info()}))
        return 0

    parser = cli.build_parser
    monkeypatch.setattr(cli, "build_parser", lambda: _with_func(parser(), fake))
    for var in ("TNN_BLAS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["demo"]) == 0
    assert cli.main(["--blas-threads", "2", "demo"]) == 0
    assert seen == [[1], [2]]


def _with_func(parser, func):
    parser.set_defaults(func=func)
    for _, sub in _subparsers(parser):
        sub.set_defaults(func=func)
    return parser


@pytest.mark.slow  # 5 s (default nk); no CLI: test_kspace checks vmapped and jitted Chern numbers against concrete ones
def test_kspace_under_vmap_matches_concrete_calls():
    import jax
    import jax.numpy as jnp

    from tnn import kspace

    ms = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    got = jax.vmap(lambda m: kspace.chern_number("qwz", {"m": m}))(jnp.asarray(ms))
    np.testing.assert_array_equal(got, [kspace.chern_number("qwz", {"m": float(m)}) for m in ms])
