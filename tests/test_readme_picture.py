"""The README's first picture is the one the README's code draws (docs/make_figures.py readme).

The code block that saves ``chain.svg`` is run as a reader would run it, in an empty folder;
the picture it draws must say what the README's picture says, number for number (the text of
every label; the layout may differ between the system ``dot`` and the in-process renderer).
"""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PICTURE = "docs/figures/readme/chain.svg"


def _make_figures():
    spec = importlib.util.spec_from_file_location("make_figures", ROOT / "docs" / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _labels(svg: str) -> list[str]:
    """The text of every label of an SVG picture, in order."""
    return [html.unescape(text) for text in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]


def test_the_readmes_first_picture_is_drawn_by_its_code(tmp_path, monkeypatch, capsys) -> None:
    first_image = re.search(r"!\[[^\]]*\]\(([^)]+)\)", README.read_text(encoding="utf-8"))
    assert first_image and first_image.group(1) == PICTURE, (
        f"the README's first picture should be {PICTURE}, the one its code draws")
    code = _make_figures().readme_code()
    assert 'save(draw_chain(path), "chain.svg")' in code
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    drawn = _labels((tmp_path / "chain.svg").read_text(encoding="utf-8"))
    shipped = _labels((ROOT / PICTURE).read_text(encoding="utf-8"))
    assert drawn == shipped, f"{PICTURE} is stale: python docs/make_figures.py readme"
    b1 = re.search(r"dC/db1 along this path = (\S+)", printed)  # the code's table ...
    assert b1 and f"= {b1.group(1)}" in drawn, (b1, drawn)  # ... and its picture agree
