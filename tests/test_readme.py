"""The README stays true: CI runs its test command verbatim, and its Python snippet runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _bash_blocks():
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)


def test_ci_runs_the_readme_test_command():
    blocks = [b.strip() for b in _bash_blocks()]
    test_cmd = [b for b in blocks if "pytest" in b]
    assert len(test_cmd) == 1, "README must give exactly one test command"
    assert test_cmd[0] in (ROOT / ".ci" / "run").read_text()


def test_readme_python_snippet_runs(capsys):
    code = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    assert code, "README has a Python snippet"
    for block in code:
        exec(compile(block, "README.md", "exec"), {})
    out = capsys.readouterr().out.split()
    assert out[:2] == ["1", "1"]
