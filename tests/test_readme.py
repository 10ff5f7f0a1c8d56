"""The README stays true: its Quickstart is what CI runs, and its example prints what it says."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")


def quickstart_commands() -> list[str]:
    """The shell lines of the first code block under '## Quickstart'."""
    section = README.split("## Quickstart", 1)[1]
    block = re.search(r"```(?:bash|sh|console)?\n(.*?)```", section, flags=re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip()]


def test_quickstart_has_exactly_two_commands_demo_then_tests():
    commands = quickstart_commands()
    assert len(commands) == 2, commands
    install_and_demo, install_and_test = commands
    assert install_and_demo.startswith("pip install") and install_and_demo.endswith(
        "minigrad demo")
    assert install_and_test.startswith('pip install -e ".[dev]"')
    assert install_and_test.endswith("pytest")


def test_ci_runs_the_readme_test_command():
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    pattern = re.search(r"grep -m1 -E '(.*?)' README\.md", ci).group(1)
    assert re.match(pattern, quickstart_commands()[1]), (pattern, quickstart_commands()[1])


def test_every_picture_the_readme_shows_exists():
    for target in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", README):
        assert (REPO / target).is_file(), target


def test_every_python_example_in_the_readme_runs_and_prints_what_it_says(tmp_path):
    """Each ```python block runs as written (in a scratch folder: some write pictures), and
    its output begins with the lines of its '# prints X' comments (the first one must have
    some)."""
    examples = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert len(examples) >= 3
    assert re.findall(r"# prints (.+)", examples[0]), (
        "the README's first example should show its output in '# prints' comments")
    has_torch = importlib.util.find_spec("torch") is not None
    for example in examples:
        if "import torch" in example and not has_torch:  # the PyTorch example: an extra
            continue  # (CI installs torch and runs it)
        expected = [e.strip() for e in re.findall(r"# prints (.+)", example)]
        result = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True,
                                cwd=tmp_path, timeout=300,
                                env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin",
                                     "PYTHONPATH": str(REPO)})
        assert result.returncode == 0, (example, result.stderr[-2000:])
        assert result.stdout.split("\n")[:len(expected)] == expected, (example, result.stdout)
    assert (tmp_path / "chain.svg").is_file() and (tmp_path / "layers.svg").is_file()
