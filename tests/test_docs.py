"""The docs stay true: links resolve, the API reference names every public name with its current
signature, source quoted in docs/engine.md is in the file it names, the docs' examples print what
they say, and docs/index.md's quickstart is the README's.

Conventions the pages follow (so that these tests can read them):

- links and images are relative (resolved from the page, inside the repository; http(s) links
  are not fetched); a ``#anchor`` into a Markdown page must name one of its headings, spelled
  as GitHub spells anchors; every lesson has a page linked from docs/index.md and
  docs/lessons/README.md;
- a fenced code block quoted from the source is preceded by a line ``<!-- from PATH -->`` (PATH
  relative to the repository); each line of the block, stripped of leading and trailing
  whitespace, must occur in that order in the file, blank lines ignored; a line ``# ...`` in the
  block stands for lines left out (each piece between them is contiguous in the file);
- examples written as ``>>>`` sessions (``pycon`` blocks) are run with doctest, one namespace
  per page, and must print what the page shows (doctest's ELLIPSIS and NORMALIZE_WHITESPACE);
- docs/api.md has one ``## `module` `` section per module: every name in the module's
  ``__all__`` appears in code in that section, every public function and class appears with its
  exact signature (``inspect.signature``, whitespace ignored), and every public method and
  property of a class appears in code in the ``###`` section of that class.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import inspect
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
API = DOCS / "api.md"
ENGINE = DOCS / "engine.md"
INDEX = DOCS / "index.md"
PAGES = sorted([REPO / "README.md", REPO / "benchmarks" / "README.md", *DOCS.rglob("*.md")])
DOCTEST_PAGES = [ENGINE, API]  # the pages with >>> examples (docs/index.md has none)

# The modules whose public names docs/api.md documents, in the order of the page.
API_MODULES = [
    "minigrad",
    "minigrad.engine",
    "minigrad.value",
    "minigrad.tensor",
    "minigrad.gradcheck",
    "minigrad.nn",
    "minigrad.nn.module",
    "minigrad.nn.layers",
    "minigrad.nn.init",
    "minigrad.nn.losses",
    "minigrad.nn.norms",
    "minigrad.nn.recurrent",
    "minigrad.optim",
    "minigrad.data",
    "minigrad.reference",
    "minigrad.train",
    "minigrad.names",
    "minigrad.trace",
    "minigrad.factors",
    "minigrad.flow",
    "minigrad.flow.report",
    "minigrad.flow.measure",
    "minigrad.flow.figures",
    "minigrad.flow.through_time",
    "minigrad.flow.verdict",
    "minigrad.flow.recorder",
    "minigrad.adapters",
    "minigrad.adapters.torch",
    "minigrad.viz",
    "minigrad.viz.graph",
    "minigrad.viz.chain",
    "minigrad.viz.layers",
    "minigrad.viz.render",
    "minigrad.viz.plots",
    "minigrad.viz.page",
    "minigrad.viz.style",
    "minigrad.viz.labels",
    "minigrad.files",
    "minigrad.cli",
]

FENCE = re.compile(r"^ *(```|~~~)[^\n]*\n.*?^ *\1[ \t]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]+`")
LINK_TARGET = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")  # [text](x), ![alt](x)
LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)  # [ref]: x
HTML_TARGET = re.compile(r"<(?:img|a|source)\b[^>]*?\b(?:src|href|srcset)=[\"']([^\"']+)", re.I)
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:
QUOTE_MARK = re.compile(r"^<!--\s*from\s+(\S+)\s*-->\s*$")
ELISION = "# ..."


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# ---- links ----------------------------------------------------------------------------------
def link_targets(text: str) -> list[str]:
    """Every link and image target of a Markdown page, outside code blocks and code spans."""
    prose = INLINE_CODE.sub("", FENCE.sub("", text))
    return (LINK_TARGET.findall(prose) + LINK_DEFINITION.findall(prose)
            + HTML_TARGET.findall(prose))


def broken_links(page: Path) -> list[str]:
    """The relative targets of ``page`` that name no file or folder inside the repository."""
    broken = []
    for target in link_targets(_read(page)):
        if SCHEME.match(target) or target.startswith("#"):
            continue
        path = unquote(target.split("#", 1)[0].split("?", 1)[0])
        resolved = (REPO / path.lstrip("/") if path.startswith("/") else page.parent / path)
        resolved = resolved.resolve()
        if not resolved.exists() or not resolved.is_relative_to(REPO):
            broken.append(target)
    return broken


def test_the_link_checker_sees_links_and_images_and_skips_code_and_urls() -> None:
    text = ("See [the engine](engine.md#the-graph) and ![chain](figures/x.svg).\n"
            "[ref]: api.md\n<img src=\"figures/y.png\">\n`[not](a-link.md)`\n"
            "```python\nx = a[0](b)\n```\n[web](https://example.org/page)\n")
    assert link_targets(text) == ["engine.md#the-graph", "figures/x.svg",
                                  "https://example.org/page", "api.md", "figures/y.png"]


@pytest.mark.parametrize("page", PAGES, ids=[_rel(p) for p in PAGES])
def test_every_relative_link_and_image_points_to_a_file(page: Path) -> None:
    assert broken_links(page) == [], f"{_rel(page)} links to files that do not exist"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text, lower case, punctuation dropped, '-' for ' '."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """The anchors GitHub makes for the headings of ``page`` (repeats get -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*\s*$", FENCE.sub("", _read(page)), re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_slugs_are_githubs() -> None:
    assert slug("Broadcasting: why a broadcast input's gradient is a sum") == (
        "broadcasting-why-a-broadcast-inputs-gradient-is-a-sum")
    assert slug("The `minigrad` command") == "the-minigrad-command"
    assert slug("`minigrad.nn.losses`") == "minigradnnlosses"
    assert slug("no_grad") == "no_grad"


@pytest.mark.parametrize("page", PAGES, ids=[_rel(p) for p in PAGES])
def test_every_anchor_names_a_heading_of_its_page(page: Path) -> None:
    broken = []
    for target in link_targets(_read(page)):
        if SCHEME.match(target) or "#" not in target:
            continue
        path, anchor = target.split("#", 1)
        linked = (page.parent / unquote(path)).resolve() if path else page
        if linked.suffix == ".md" and linked.is_file() and anchor not in anchors(linked):
            broken.append(target)
    assert broken == [], f"{_rel(page)} links to headings that do not exist"


def test_the_docs_pages_are_found() -> None:
    names = {_rel(p) for p in PAGES}
    for needed in ("README.md", "docs/index.md", "docs/engine.md", "docs/api.md",
                   "docs/benchmarks.md", "docs/lessons/README.md"):
        assert needed in names, needed
    assert len(list(DOCS.glob("lessons/[0-9][0-9]_*.md"))) == 12


def test_every_lesson_has_a_page_linked_from_the_index_and_the_lesson_list() -> None:
    lessons = sorted(REPO.glob("lessons/[0-9][0-9]_*.py"))
    assert lessons, "no lessons found"
    index_links = set(link_targets(_read(INDEX)))
    list_links = set(link_targets(_read(DOCS / "lessons" / "README.md")))
    for lesson in lessons:
        page = DOCS / "lessons" / f"{lesson.stem}.md"
        assert page.is_file(), f"{lesson.name} has no page {_rel(page)}"
        assert f"lessons/{page.name}" in index_links, f"docs/index.md does not link {page.name}"
        assert page.name in list_links, f"docs/lessons/README.md does not link {page.name}"


# ---- the quickstart -------------------------------------------------------------------------
def quickstart_lines(page: Path) -> list[str]:
    """The non-empty lines of the first code block under the page's '## Quickstart' heading."""
    text = _read(page)
    assert "\n## Quickstart" in text, f"{_rel(page)} has no '## Quickstart' section"
    section = text.split("\n## Quickstart", 1)[1]
    block = re.search(r"```[^\n]*\n(.*?)```", section, flags=re.S)
    assert block, f"{_rel(page)}: no code block under '## Quickstart'"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def test_the_index_quickstart_is_the_readme_quickstart() -> None:
    readme = quickstart_lines(REPO / "README.md")
    assert len(readme) == 2, readme
    assert quickstart_lines(INDEX) == readme


# ---- source quoted in the docs --------------------------------------------------------------
def quoted_snippets(page: Path) -> list[tuple[str, int, list[str]]]:
    """(source path, line number in the page, the block's lines) for each quoted block."""
    lines = _read(page).splitlines()
    found = []
    for i, line in enumerate(lines):
        mark = QUOTE_MARK.match(line.strip())
        if not mark:
            continue
        assert i + 1 < len(lines) and lines[i + 1].lstrip().startswith("```"), (
            f"{_rel(page)}:{i + 1}: '{line.strip()}' must be followed by a fenced code block")
        end = next(j for j in range(i + 2, len(lines)) if lines[j].strip().startswith("```"))
        found.append((mark.group(1), i + 1, lines[i + 2:end]))
    return found


def missing_pieces(snippet: list[str], source: str) -> list[list[str]]:
    """The pieces of ``snippet`` (split at '# ...') not found, in order, in ``source``."""
    wanted = [line.strip() for line in snippet]
    pieces: list[list[str]] = [[]]
    for line in wanted:
        if line == ELISION:
            pieces.append([])
        elif line:
            pieces[-1].append(line)
    haystack = [line.strip() for line in source.splitlines() if line.strip()]
    missing, start = [], 0
    for piece in (p for p in pieces if p):
        at = next((k for k in range(start, len(haystack) - len(piece) + 1)
                   if haystack[k:k + len(piece)] == piece), None)
        if at is None:
            missing.append(piece)
        else:
            start = at + len(piece)
    return missing


def test_the_snippet_matcher_finds_pieces_in_order_and_only_then() -> None:
    source = "def f(x):\n    y = x + 1\n\n    return y\n\ndef g():\n    pass\n"
    assert missing_pieces(["def f(x):", "  y = x + 1", "", "return y"], source) == []
    assert missing_pieces(["def f(x):", "# ...", "return y"], source) == []
    assert missing_pieces(["return y", "# ...", "def f(x):"], source) == [["def f(x):"]]
    assert missing_pieces(["y = x + 2"], source) == [["y = x + 2"]]


def test_engine_md_quotes_the_source() -> None:
    """docs/engine.md quotes the engine's source; every quote on any page is in its file."""
    assert len(quoted_snippets(ENGINE)) >= 8, "docs/engine.md should quote the engine's source"
    # Today only docs/engine.md quotes source; a quote added to another page is checked too.
    for page in PAGES:
        for path, line, block in quoted_snippets(page):
            source = REPO / path
            assert source.is_file(), f"{_rel(page)}:{line}: no file {path}"
            missing = missing_pieces(block, _read(source))
            assert not missing, (f"{_rel(page)}:{line}: quoted from {path}, but not found there "
                                 f"(stale quote?): {missing}")


# ---- examples -------------------------------------------------------------------------------
@pytest.mark.parametrize("page", DOCTEST_PAGES, ids=[_rel(p) for p in DOCTEST_PAGES])
def test_the_examples_print_what_the_page_shows(page: Path) -> None:
    # A closing fence ends an example's expected output, as a blank line does for doctest.
    text = re.sub(r"^( *```)", r"\n\1", _read(page), flags=re.M)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(text, {"__name__": "__docs__"}, _rel(page), str(page), 0)
    assert len(test.examples) >= 10, f"{_rel(page)} should show runnable examples"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.failures == 0, "".join(failures)


# ---- the API reference ----------------------------------------------------------------------
def public_names(module: Any) -> list[str]:
    """``__all__``, or (for a module without one) the public names it defines itself."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [name for name, obj in vars(module).items()
            if not name.startswith("_") and not inspect.ismodule(obj)
            and getattr(obj, "__module__", module.__name__) == module.__name__]


class _Text:
    """An annotation or default shown as written (no quotes around string annotations)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _default_text(value: Any) -> Any:
    if isinstance(value, type) and value is not inspect.Parameter.empty:
        module = "np" if value.__module__ == "numpy" else value.__module__
        return _Text(value.__name__ if module == "builtins" else f"{module}.{value.__name__}")
    return value


def signature_text(name: str, obj: Any) -> str | None:
    """``name(params) -> return`` as the docs write it, or None (no signature to show)."""
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return None
    factories = {}
    if dataclasses.is_dataclass(obj):
        factories = {f.name: f.default_factory() for f in dataclasses.fields(obj)
                     if f.default_factory is not dataclasses.MISSING}

    def shown(annotation: Any) -> Any:
        if annotation is inspect.Parameter.empty:
            return annotation
        return _Text(annotation if isinstance(annotation, str)
                     else inspect.formatannotation(annotation))

    params = [p.replace(annotation=shown(p.annotation),
                        default=(factories[p.name] if p.name in factories
                                 else _default_text(p.default)))
              for p in signature.parameters.values()]
    ret = inspect.Signature.empty if inspect.isclass(obj) else shown(signature.return_annotation)
    return name + str(signature.replace(parameters=params, return_annotation=ret))


def api_sections(text: str, level: int) -> dict[str, str]:
    """{heading: body} for the headings of exactly ``level`` #'s (a body ends at the next)."""
    text = FENCE.sub(lambda m: m.group(0).replace("\n#", "\n\u2063#"), text)  # '#' in code
    parts = re.split(rf"^{'#' * level} (?!#)(.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def code_of(text: str) -> str:
    """All inline code and fenced code of a piece of Markdown, as one text."""
    fences = [m.group(0) for m in FENCE.finditer(text)]
    # In a table cell '\|' is a '|' (GitHub's tables), code spans included.
    spans = [m.group(0).replace("\\|", "|")
             for m in INLINE_CODE.finditer(FENCE.sub("", text))]
    return "\n".join(fences + spans)


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def module_section(sections: dict[str, str], module: str) -> str:
    wanted = [body for heading, body in sections.items()
              if re.fullmatch(rf"`{re.escape(module)}`(\s.*)?", heading)]
    assert wanted, f"docs/api.md has no section '## `{module}`'"
    return wanted[0]


def _word(name: str) -> re.Pattern:
    return re.compile(rf"(?<![\w]){re.escape(name)}(?!\w)")


@pytest.mark.parametrize("module_name", API_MODULES)
def test_api_md_names_every_public_name_in_its_module_section(module_name: str) -> None:
    module = importlib.import_module(module_name)
    section = code_of(module_section(api_sections(_read(API), 2), module_name))
    missing = [name for name in public_names(module) if not _word(name).search(section)]
    assert not missing, f"docs/api.md, section {module_name}: not documented: {missing}"


def documented_objects() -> dict[str, Any]:
    """{name: object} of every public function and class of the documented modules."""
    found = {}
    for module_name in API_MODULES:
        module = importlib.import_module(module_name)
        for name in public_names(module):
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                found.setdefault(name, obj)
    return found


def test_api_md_shows_every_signature_as_it_is() -> None:
    text = _squeezed(code_of(_read(API)))
    wrong = [signature_text(name, obj) for name, obj in documented_objects().items()
             if signature_text(name, obj) is not None
             and _squeezed(signature_text(name, obj)) not in text]
    assert not wrong, "docs/api.md lacks these exact signatures:\n" + "\n".join(wrong)


def public_members(cls: type) -> list[str]:
    """Methods and properties that ``cls`` itself defines (not dunders, not inherited)."""
    names = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (property, classmethod, staticmethod)) or inspect.isfunction(member):
            names.append(name)
    return names


def test_api_md_names_every_public_method_in_its_class_section() -> None:
    sections = api_sections(_read(API), 3)
    missing = []
    for name, obj in documented_objects().items():
        members = public_members(obj) if inspect.isclass(obj) else []
        if not members:
            continue
        bodies = [body for heading, body in sections.items()
                  if re.search(rf"`{re.escape(name)}[`(]", heading)]
        if not bodies:
            missing.append(f"{name}: no '### `{name}`' section")
            continue
        code = code_of(bodies[0])
        missing += [f"{name}.{m}" for m in members if not _word(m).search(code)]
    assert not missing, "docs/api.md does not document: " + ", ".join(missing)


def test_signature_text_writes_what_a_reader_would_type() -> None:
    def f(x: int, *rest: str, flag: bool = False, dtype: type = float) -> list[int]:
        return []

    assert signature_text("f", f) == "f(x: int, *rest: str, flag: bool = False, " \
        "dtype: type = float) -> list[int]"
    history = importlib.import_module("minigrad.train").History
    assert signature_text("History", history).startswith("History(epoch: list[int] = [], ")
