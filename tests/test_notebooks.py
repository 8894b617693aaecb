"""The notebooks (jupytext percent sources in notebooks/) execute: jupytext -> nbclient, a real
kernel, at their smoke size (``SMOKE = True``). The invariants notebook runs in the default suite
(a few seconds); the two that train or take Hessians are marked slow."""

from pathlib import Path

import pytest

NB = Path(__file__).resolve().parents[1] / "notebooks"


def _execute(name: str, tmp_path):
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    nb = jupytext.read(NB / name)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors
    return nb


def test_notebooks_are_percent_sources():
    names = sorted(p.name for p in NB.glob("*.py"))
    assert names == ["01_invariants.py", "02_datasets_training.py", "03_trainability_proxies.py"]
    assert not list(NB.glob("*.ipynb"))  # outputs never go into git
    for n in names:
        text = (NB / n).read_text()
        assert "format_name: percent" in text and "SMOKE = True" in text


@pytest.mark.slow
def test_invariants_notebook_executes(tmp_path):
    nb = _execute("01_invariants.py", tmp_path)
    out = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "every certified real-space value equals k space: True" in out


@pytest.mark.slow
@pytest.mark.parametrize("name", ["02_datasets_training.py", "03_trainability_proxies.py"])
def test_heavier_notebooks_execute(name, tmp_path):
    _execute(name, tmp_path)
