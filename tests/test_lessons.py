"""Every lesson is a test: each runs in its quick setting and must end with its claims holding.

A lesson is ``lessons/NN_name.py`` in jupytext's percent format. Each one is run as a learner
would run it: as a script (a fresh interpreter, ``--quick --out DIR``, matplotlib's Agg
backend) and as a notebook (jupytext to ipynb, executed by nbclient in an ipykernel, with
MINIGRAD_QUICK=1 and MINIGRAD_OUT), where it must show each picture it writes inline, in the
cell that makes it. Each is checked to be a notebook that imports only minigrad's public
names. A guard test counts the lessons, so none silently drops out of the suite.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LESSONS = sorted(ROOT.glob("lessons/[0-9][0-9]_*.py"))
EXPECTED_LESSONS = 12
TIMEOUT_SECONDS = 300
TAIL_CHARS = 4000  # how much of a failing lesson's output to show

lesson_files = pytest.mark.parametrize("path", LESSONS, ids=[p.stem for p in LESSONS])


def _tail(text: str) -> str:
    """The end of a long output, where the traceback or the failed assert is."""
    return text if len(text) <= TAIL_CHARS else "...\n" + text[-TAIL_CHARS:]


def test_every_lesson_is_found() -> None:
    numbers = [int(p.name[:2]) for p in LESSONS]
    assert len(LESSONS) == EXPECTED_LESSONS, (
        f"expected {EXPECTED_LESSONS} lessons in {ROOT / 'lessons'}, found {len(LESSONS)}: "
        f"{[p.name for p in LESSONS]}")
    assert numbers == list(range(1, EXPECTED_LESSONS + 1)), (
        f"lesson numbers should run 01..{EXPECTED_LESSONS:02d} once each, got {numbers}")


@pytest.mark.slow
@lesson_files
def test_lesson_runs_quick(path: Path, tmp_path: Path) -> None:
    env = dict(os.environ)
    env.pop("MINIGRAD_OUT", None)  # it would override --out
    env.update(MPLBACKEND="Agg", MINIGRAD_QUICK="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = tmp_path / "out"
    command = [sys.executable, "-W", "error::RuntimeWarning",
               str(path.relative_to(ROOT)), "--quick", "--out", str(out)]
    try:
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{path.name} --quick did not finish in {TIMEOUT_SECONDS} s; its output:\n"
                    f"{_tail(error.stdout or '')}\n{_tail(error.stderr or '')}")
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited with {result.returncode}\n"
                    f"--- stdout (tail) ---\n{_tail(result.stdout)}\n"
                    f"--- stderr (tail) ---\n{_tail(result.stderr)}", pytrace=False)
    written = sorted(p.name for p in out.rglob("*") if p.is_file()) if out.exists() else []
    assert written, f"{path.name} wrote no figures into --out {out}"


FIGURE_SUFFIXES = {".svg", ".png", ".pdf"}
PICTURE_TYPES = ("image/svg+xml", "image/png")


def _inline_pictures(cell: dict) -> list[tuple[str, object]]:
    """(mime type, data) of every picture a notebook cell displayed."""
    return [(kind, output["data"][kind]) for output in cell.get("outputs", [])
            if output.get("output_type") in ("display_data", "execute_result")
            for kind in PICTURE_TYPES if kind in output.get("data", {})]


@pytest.mark.slow
@lesson_files
def test_lesson_runs_as_a_notebook_and_shows_its_pictures(path: Path, tmp_path: Path,
                                                          monkeypatch) -> None:
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    out = tmp_path / "out"
    # The kernel inherits this environment: the quick setting, the folder, the default backend
    # of a notebook (inline; the pictures must not depend on a backend being set).
    monkeypatch.setenv("MINIGRAD_QUICK", "1")
    monkeypatch.setenv("MINIGRAD_OUT", str(out))
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook = jupytext.read(path, fmt="py:percent")
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(
        f"# Lesson {int(path.name[:2])}:"), (
        f"{path.name} as a notebook should open with its title as a heading, not with "
        f"{first.cell_type} {first.source[:60]!r}")
    warnings_cell = jupytext.reads("import warnings\n"
                                   "warnings.simplefilter('error', RuntimeWarning)",
                                   fmt="py:percent").cells[0]  # as -W error in the script test
    notebook.cells.insert(0, warnings_cell)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    seen: set[Path] = set()
    made_by: list[tuple[dict, list[str]]] = []  # (code cell, the figure files it wrote)

    def after_cell(cell: dict, **_: object) -> None:
        now = {p for p in out.rglob("*") if p.suffix in FIGURE_SUFFIXES} if out.exists() else set()
        if cell["cell_type"] == "code":
            made_by.append((cell, sorted(p.name for p in now - seen)))
        seen.update(now)

    client = nbclient.NotebookClient(notebook, timeout=TIMEOUT_SECONDS, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}},
                                     on_cell_executed=after_cell)
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as error:
        pytest.fail(f"{path.name} as a notebook failed:\n{_tail(str(error))}", pytrace=False)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    echoes = [cell.source[:60] for cell in code for output in cell.outputs
              if output.get("output_type") == "execute_result"
              and str(output["data"].get("text/plain", "")).startswith(("'", '"'))]
    assert not echoes, f"{path.name}: cells echo a string: {echoes}"
    figures = sorted(p.name for p in out.rglob("*") if p.suffix in FIGURE_SUFFIXES)
    pictures = [picture for cell in code for picture in _inline_pictures(cell)]
    assert figures, f"{path.name} as a notebook wrote no figures into MINIGRAD_OUT {out}"
    assert len(pictures) >= len(figures), (
        f"{path.name} as a notebook showed {len(pictures)} pictures inline but wrote "
        f"{len(figures)} figure files: {figures}")
    assert sum(len(files) for _, files in made_by) == len(figures), (
        f"{path.name}: the cell hook saw {made_by}, the folder has {figures}")
    elsewhere = [(cell["source"][:70], files) for cell, files in made_by
                 if len(_inline_pictures(cell)) < len(files)]
    assert not elsewhere, (f"{path.name}: cells that write more figures than they show "
                           f"(first lines, files): {elsewhere}")
    for kind, data in pictures:
        if kind == "image/svg+xml":
            assert "<svg" in data and "max-width:100%" in data, (
                f"{path.name}: an inline SVG that does not scale to the cell: {data[:200]}")
        else:
            assert data, f"{path.name}: an empty inline PNG"
    print(f"{path.name}: {len(pictures)} inline pictures, {len(figures)} figure files")


def _cells(source: str) -> list[tuple[str, str]]:
    """(header, body) of each percent-format cell; text before the first marker is skipped."""
    parts = re.split(r"^(# %%.*)$", source, flags=re.MULTILINE)
    return [(parts[i].strip(), parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


@lesson_files
def test_lesson_is_a_percent_notebook(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source, filename=str(path))
    docstring = ast.get_docstring(tree)
    number = int(path.name[:2])
    assert docstring, f"{path.name} should open with a docstring (title and run commands)"
    for command in (f"python lessons/{path.name}", "--quick", f"minigrad lesson {number}"):
        assert command in docstring, f"{path.name}'s docstring should show `{command}`"
    cells = _cells(source)
    code = [body for header, body in cells if header == "# %%"]
    markdown = [body for header, body in cells if header.startswith("# %% [markdown]")]
    assert code, f"{path.name} has no `# %%` code cells"
    assert markdown, f"{path.name} has no `# %% [markdown]` prose cells"
    last_code = ast.parse(code[-1])
    assert any(isinstance(node, ast.Assert) for node in ast.walk(last_code)), (
        f"{path.name} should end with a code cell that asserts its headline claim")


@lesson_files
def test_lesson_converts_with_jupytext(path: Path) -> None:
    jupytext = pytest.importorskip("jupytext")
    notebook = jupytext.read(path, fmt="py:percent")
    kinds = [cell.cell_type for cell in notebook.cells]
    assert "markdown" in kinds and kinds.count("code") >= 2, (
        f"{path.name} as a notebook has cells {kinds}")
    assert '"cell_type": "markdown"' in jupytext.writes(notebook, fmt="ipynb")


def _public_names(module_name: str) -> set[str] | None:
    """The module's ``__all__`` (None if it defines none)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    return set(names) if names is not None else None


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _lesson_like(module_name: str) -> bool:
    """True for a module path that reaches into another lesson. The package minigrad.lessons
    itself is public API (its ``settings``); its names are checked against __all__ below."""
    parts = module_name.split(".")
    return parts[0] == "lessons" or any(re.match(r"\d\d_", part) for part in parts)


@lesson_files
def test_lesson_uses_only_public_minigrad(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _lesson_like(alias.name):
                    problems.append(f"line {node.lineno}: imports the lesson {alias.name}")
                elif alias.name.startswith("minigrad") and any(
                        _is_private(part) for part in alias.name.split(".")):
                    problems.append(f"line {node.lineno}: imports the private {alias.name}")
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level or _lesson_like(module):
                problems.append(f"line {node.lineno}: imports from the lesson "
                                f"{'.' * node.level}{module}")
                continue
            if not module.startswith("minigrad"):
                continue
            if any(_is_private(part) for part in module.split(".")):
                problems.append(f"line {node.lineno}: imports from the private {module}")
                continue
            public = _public_names(module)
            for alias in node.names:
                if alias.name == "*":
                    problems.append(f"line {node.lineno}: star import from {module}")
                elif _is_private(alias.name) or (public is not None and alias.name not in public):
                    problems.append(f"line {node.lineno}: {alias.name} is not a public name of "
                                    f"{module} (not in its __all__)")
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            problems.append(f"line {node.lineno}: reaches into the private attribute "
                            f".{node.attr}")
    assert not problems, f"{path.name} uses non-public names:\n" + "\n".join(problems)


def test_lessons_settings_reads_quick_and_out(tmp_path, monkeypatch):
    from minigrad.lessons import settings

    monkeypatch.setattr("sys.argv", ["05_x.py", "--quick", "--out", str(tmp_path / "a")])
    monkeypatch.delenv("MINIGRAD_QUICK", raising=False)
    assert settings(5) == (True, tmp_path / "a") and (tmp_path / "a").is_dir()
    monkeypatch.setattr("sys.argv", ["05_x.py"])
    monkeypatch.setenv("MINIGRAD_OUT", str(tmp_path / "b"))
    assert settings(5) == (False, tmp_path / "b")
    monkeypatch.delenv("MINIGRAD_OUT")
    monkeypatch.chdir(tmp_path)
    assert settings(7) == (False, Path("minigrad-out/lesson_07"))
    assert (tmp_path / "minigrad-out" / "lesson_07").is_dir()
    # A notebook runs in the lessons' folder: the default is the same folder as the script's.
    (tmp_path / "lessons").mkdir()
    (tmp_path / "lessons" / "07_x.py").write_text("")
    monkeypatch.chdir(tmp_path / "lessons")
    assert settings(7) == (False, Path("../minigrad-out/lesson_07"))
    assert settings(7)[1].resolve() == (tmp_path / "minigrad-out" / "lesson_07").resolve()
