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


def test_readme_python_snippets_print_what_the_readme_says(capsys):
    """Every ```python block runs; one followed by "prints" and a ```text block prints exactly that."""
    text = (ROOT / "README.md").read_text()
    pairs = re.findall(r"```python\n(.*?)```(?:\s*prints[^\n]*\n\s*```text\n(.*?)```)?", text, flags=re.S)
    assert pairs and all(code for code, _ in pairs), "README has Python snippets"
    assert any(want for _, want in pairs), "README shows the output of a snippet"
    for code, want in pairs:
        capsys.readouterr()
        exec(compile(code, "README.md", "exec"), {})
        if want:
            assert capsys.readouterr().out == want


def test_readme_cli_commands_exist_and_dataset_example_feeds_a_baseline():
    """The commands in the README's command list parse, and the `tnn data generate` example stores the
    feature the baselines of `tnn train` read by default."""
    from tnn import cli
    from tnn.cli.data import spec_from_args
    from tnn.models import ModelConfig

    parser = cli.build_parser()
    # "tnn study [--quick]  # comment": the optional parts in brackets and the comment dropped
    lines = [re.sub(r"\[[^\]]*\]", "", line.split("#")[0]).strip() for b in _bash_blocks() for line in b.splitlines()]
    cmds = [line.split()[1:] for line in lines if line.startswith("tnn ")]
    assert {c[0] for c in cmds} >= {"study", "demo", "data", "train"}
    for argv in cmds:
        args = parser.parse_args(argv)
        assert args.func is not None
    gen = [c for c in cmds if c[:2] == ["data", "generate"]]
    assert gen
    spec = spec_from_args(parser.parse_args(gen[0]))
    for model in ("mlp", "cnn", "resnet", "symmetric", "topo"):
        assert ModelConfig(model, classes=(0, 1)).resolved_input() in spec.features, model
