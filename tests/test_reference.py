"""The reference numbers (minigrad.reference) are sourced, shown on docs/reference.md, read by
the lessons, and the only place the repository cites for them.

- every entry has a value and a non-empty source;
- docs/reference.md has a row per entry that states every number of it and its source;
- no lesson, module, test or page cites the file the numbers used to live in, outside the
  repository (its name is built below, so this file does not contain it);
- each lesson that compares with a published number imports ``minigrad.reference``, and no
  lesson's code types one of the distinctive reference numbers itself.
"""

from __future__ import annotations

import ast
import numbers
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from minigrad import reference
from minigrad.reference import Reference

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "reference.md"
ENTRIES = reference.entries()
# The lessons that compare with a number of the module.
READERS = {"04_training_on_mnist", "05_vanishing_gradient", "06_exploding_gradient",
           "07_unstable_gradient", "10_pytorch", "11_gradient_through_time", "12_normalisation"}


def numbers_of(value: object) -> Iterator[float]:
    """Every number in a value: itself, or the keys and items of a table or a tuple."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from numbers_of(key)
            yield from numbers_of(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from numbers_of(item)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        yield value


def stated(number: float, text: str) -> bool:
    """Whether ``text`` writes ``number`` (96.9 as '96.9' or '96.90'; 5.0 as '5' or '5.0')."""
    shown = f"{number:g}"
    tail = r"0*" if "." in shown else r"(?:\.0+)?"
    return re.search(rf"(?<![\d.]){re.escape(shown)}{tail}(?![\d])", text) is not None


def page_rows() -> dict[str, str]:
    """{entry name: its table row} of docs/reference.md, backticks dropped."""
    rows = {}
    for line in PAGE.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\|\s*`([A-Z0-9_]+)`\s*\|", line)
        if found:
            rows[found.group(1)] = line.replace("`", "")
    return rows


def test_the_module_lists_its_entries() -> None:
    assert len(ENTRIES) >= 15, sorted(ENTRIES)
    assert sorted(ENTRIES) == sorted(n for n in reference.__all__
                                     if n not in ("Reference", "entries"))
    assert reference.BOOK_ACCURACY.value == {1: 96.48, 2: 96.90, 3: 96.57, 4: 96.53}


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_every_entry_has_a_value_and_a_source(name: str) -> None:
    entry = ENTRIES[name]
    assert isinstance(entry, Reference)
    assert list(numbers_of(entry.value)), f"{name}: no number in {entry.value!r}"
    assert entry.source.strip(), f"{name}: no source"


def test_the_measured_entries_say_they_are_not_published() -> None:
    for name in ("SEED_MEDIANS", "SEED_RATIO_RANGE", "ADJACENT_RATIO_MEDIAN", "BATCH_NORM_TORCH"):
        assert "measured" in ENTRIES[name].source and "not published" in ENTRIES[name].source


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_the_page_states_every_number_and_the_source(name: str) -> None:
    rows = page_rows()
    assert name in rows, f"docs/reference.md has no row '| `{name}` |'"
    missing = [n for n in numbers_of(ENTRIES[name].value) if not stated(n, rows[name])]
    assert not missing, f"docs/reference.md, row {name}: does not state {missing}"
    assert ENTRIES[name].source in rows[name], f"docs/reference.md, row {name}: not its source"


def test_the_page_has_no_row_for_an_entry_that_is_gone() -> None:
    assert set(page_rows()) == set(ENTRIES)


def test_the_number_matcher_reads_numbers_whole() -> None:
    assert stated(96.9, "2 hidden: 96.90%") and stated(5.0, "at w = 5: 0.385")
    assert stated(5.0, "5.0: 0.385") and stated(-3, "near -3 (")
    assert not stated(0.06, "0.0657") and not stated(16, "160") and not stated(16, "1.16")
    assert list(numbers_of({2: (0.5, 1)})) == [2, 0.5, 1]


def cited_files() -> list[Path]:
    files = [REPO / "README.md", *(REPO / "docs").glob("*.md"),
             *(REPO / "docs" / "lessons").glob("*.md")]
    for folder in ("lessons", "minigrad", "tests"):
        files += [p for p in (REPO / folder).rglob("*")
                  if p.is_file() and p.suffix in (".py", ".md")
                  and "lessons" not in p.relative_to(REPO / folder).parts]  # the link
    return sorted(files)


def test_nothing_cites_the_file_outside_the_repository() -> None:
    old_name = "REFERENCE" + ".md"
    files = cited_files()
    assert len(files) > 60 and REPO / "lessons" / "05_vanishing_gradient.py" in files
    citing = [str(p.relative_to(REPO)) for p in files
              if old_name in p.read_text(encoding="utf-8")]
    assert citing == [], f"these cite {old_name}, which a user of the repository cannot see"


def lesson_tree(stem: str) -> ast.Module:
    return ast.parse((REPO / "lessons" / f"{stem}.py").read_text(encoding="utf-8"))


def imports_reference(tree: ast.Module) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "minigrad" \
                and any(a.name == "reference" for a in node.names):
            return True
        if isinstance(node, ast.Import) and any(a.name == "minigrad.reference"
                                                for a in node.names):
            return True
    return False


def distinctive(number: float) -> bool:
    """A number of three or more significant digits (96.48, 0.4477, 3906.25): one that would
    only be in a lesson's code because it was copied from a source."""
    digits = f"{abs(number):g}".replace(".", "").lstrip("0").rstrip("0")
    return len(digits) >= 3


def test_the_lessons_that_compare_read_the_module() -> None:
    lessons = {p.stem for p in (REPO / "lessons").glob("[0-9][0-9]_*.py")}
    assert READERS <= lessons
    assert [stem for stem in sorted(READERS) if not imports_reference(lesson_tree(stem))] == []


def test_no_lesson_types_a_reference_number() -> None:
    wanted = {n for entry in ENTRIES.values() for n in numbers_of(entry.value) if distinctive(n)}
    assert {96.48, 0.4477, 6.894, 3906.25, 0.2851} <= wanted
    typed = {}
    for path in sorted((REPO / "lessons").glob("[0-9][0-9]_*.py")):
        constants = {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                     if isinstance(node, ast.Constant) and isinstance(node.value, float)}
        if constants & wanted:
            typed[path.name] = sorted(constants & wanted)
    assert typed == {}, f"lessons type reference numbers instead of reading them: {typed}"
