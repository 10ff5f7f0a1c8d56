"""The import rules of docs/engine.md ("The layout"), read from the source with ast.

- the engine imports nothing of minigrad, and neither does ``reference`` (the published
  numbers: plain data, the floor of the lessons' comparisons);
- nothing below ``viz`` imports ``viz``, at module level or inside a function;
- nothing imports ``cli``; the lessons import only the public package, never each other;
- no import circle among minigrad's modules (lazy imports inside functions count too);
- nothing above the node types reads a node's private fields (``_parents``, ``_op``, ``_rule``,
  ``_ctx``): they use ``parents``, ``op``, ``local_derivatives()`` and ``vjp()``.

Each rule is checked on the real tree, and each checker is shown to catch a planted violation,
so a rule cannot pass by reading nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "minigrad"
NODE_TYPES = {"minigrad.engine", "minigrad.value", "minigrad.tensor", "minigrad.tensor_ops"}
PRIVATE_NODE_FIELDS = {"_parents", "_op", "_rule", "_ctx"}


def module_name(path: Path) -> str:
    """minigrad/flow/report.py -> 'minigrad.flow.report'; a package's __init__ -> the package."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    """Every module of the package (the shipped lessons folder is a link: left out)."""
    found = {module_name(p): p for p in PACKAGE.rglob("*.py")
             if "lessons" not in p.relative_to(PACKAGE).parts}
    assert len(found) > 30, sorted(found)  # the walk found the package
    return found


def imports_of(source: str, name: str, known: set[str]) -> set[str]:
    """The minigrad modules that ``source`` (module ``name``) imports, anywhere in the file.

    ``from minigrad.flow import gradient_flow`` imports minigrad.flow; ``from minigrad import
    nn`` imports minigrad.nn (a module); ``importlib.import_module(f"minigrad.{x}")`` with a
    literal set of names (the package's lazy attributes) is read too.
    """
    tree = ast.parse(source)
    package = name if name in known and (PACKAGE / Path(*name.split(".")[1:]) / "__init__.py"
                                         ).exists() else name.rpartition(".")[0]
    found: set[str] = set()
    roots = {"minigrad"}  # names bound to the package: `import minigrad` (then minigrad.viz...)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.asname for a in node.names if a.name == "minigrad" and a.asname}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in ("import_module", "__import__") \
                and node.args and isinstance(node.args[0], ast.Constant) \
                and str(node.args[0].value).startswith("minigrad"):
            found.add(_longest_known(str(node.args[0].value), known))
        elif isinstance(node, ast.Attribute) and _dotted(node).split(".")[0] in roots:
            found.add(_longest_known("minigrad." + _dotted(node).split(".", 1)[1], known))
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("minigrad")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            if not base.startswith("minigrad"):
                continue
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known} - {name}


def _called(call: ast.Call) -> str:
    """The name of the function a call calls: 'import_module' for importlib.import_module(...)."""
    function = call.func
    return function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")


def _dotted(node: ast.AST) -> str:
    """'minigrad.viz.draw_layers' for that attribute chain; '' when it is not one of names."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    return ".".join([node.id, *reversed(parts)]) if isinstance(node, ast.Name) else ""


def _longest_known(dotted: str, known: set[str]) -> str:
    """The longest prefix of a dotted name that is a module: minigrad.viz.draw_layers ->
    minigrad.viz."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return "minigrad"


def import_graph() -> dict[str, set[str]]:
    known = set(modules())
    return {name: imports_of(path.read_text(encoding="utf-8"), name, known)
            for name, path in modules().items()}


def find_cycle(graph: dict[str, set[str]], ignore: set[str]) -> list[str] | None:
    """One import circle (a list of modules, the first repeated at the end), or None.

    ``ignore``: modules left out (the package root ``minigrad``: every ``import minigrad.x``
    runs it first, so counting it would make every module a circle with it).
    """
    colour: dict[str, int] = {}  # 1 on the stack, 2 done
    for start in sorted(graph):
        if start in ignore or colour.get(start):
            continue
        stack = [(start, iter(sorted(graph[start] - ignore)))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not colour.get(child):
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, set()) - ignore))))
    return None


def private_reads(source: str) -> list[tuple[int, str]]:
    """(line, field) for every read of a node's private field: ``x._parents``, and
    ``getattr(x, "_parents")``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE_NODE_FIELDS \
                and not (isinstance(node.value, ast.Name) and node.value.id == "self"):
            found.append((node.lineno, node.attr))
        elif isinstance(node, ast.Call) and _called(node) in ("getattr", "setattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and node.args[1].value in PRIVATE_NODE_FIELDS:
            found.append((node.lineno, node.args[1].value))
    return sorted(found)


# ---- the rules on the real tree -------------------------------------------------------------
def test_the_engine_imports_nothing_of_minigrad() -> None:
    assert import_graph()["minigrad.engine"] == set()


def test_the_reference_numbers_import_nothing_of_minigrad() -> None:
    assert import_graph()["minigrad.reference"] == set()


def test_nothing_below_viz_imports_viz() -> None:
    graph = import_graph()
    above_viz = {m for m in graph if m.startswith("minigrad.viz")} | {"minigrad.cli", "minigrad"}
    offenders = {m: sorted(i for i in imports if i.startswith("minigrad.viz"))
                 for m, imports in graph.items() if m not in above_viz}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_nothing_imports_the_command() -> None:
    graph = import_graph()
    assert [m for m, imports in graph.items() if "minigrad.cli" in imports
            and m != "minigrad.__main__"] == []


def test_no_import_circle() -> None:
    assert find_cycle(import_graph(), ignore={"minigrad"}) is None


def test_nothing_above_the_node_types_reads_their_private_fields() -> None:
    found = {name: private_reads(path.read_text(encoding="utf-8"))
             for name, path in modules().items()
             if name not in NODE_TYPES and not name.startswith("minigrad.ops")}
    assert {name: reads for name, reads in found.items() if reads} == {}


def test_lessons_import_only_the_public_package() -> None:
    lessons = sorted((REPO / "lessons").glob("[0-9][0-9]_*.py"))
    assert len(lessons) >= 9
    for lesson in lessons:
        tree = ast.parse(lesson.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minigrad"):
                assert not any(part.startswith("_") for part in node.module.split(".")), (
                    lesson.name, node.module)
                assert all(not a.name.startswith("_") for a in node.names), (lesson.name,)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.startswith(("lessons.", "0", "1")) for n in names), lesson.name


# ---- each checker catches what it is for ----------------------------------------------------
def test_the_checkers_catch_planted_violations() -> None:
    known = {"minigrad.engine", "minigrad.viz", "minigrad.viz.graph", "minigrad.flow",
             "minigrad.flow.report", "minigrad.trace"}
    lazy = "def plot():\n    from minigrad.viz.graph import draw_graph\n"
    assert imports_of(lazy, "minigrad.flow.report", known) == {"minigrad.viz.graph"}
    assert imports_of("from minigrad import trace\n", "minigrad.flow", known) == {"minigrad.trace"}
    assert imports_of("from . import report\n", "minigrad.flow", known) == \
        {"minigrad.flow.report"}
    circle = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(circle, set()) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}, set()) is None
    assert private_reads("def f(node):\n    return node._parents\n") == [(2, "_parents")]
    assert private_reads("def f(node):\n    return getattr(node, '_ctx')\n") == [(2, "_ctx")]
    lazy_string = "def f():\n    return importlib.import_module('minigrad.viz.graph')\n"
    assert imports_of(lazy_string, "minigrad.flow.report", known) == {"minigrad.viz.graph"}
    dunder = "def f():\n    return __import__('minigrad.viz')\n"
    assert imports_of(dunder, "minigrad.flow.report", known) == {"minigrad.viz"}
    chained = "import minigrad\ndef f(r):\n    return minigrad.viz.graph.draw_graph(r)\n"
    assert imports_of(chained, "minigrad.flow.report", known) == {"minigrad.viz",
                                                                  "minigrad.viz.graph"}
    aliased = "import minigrad as mg\ndef f(r):\n    return mg.viz.draw_layers(r)\n"
    assert imports_of(aliased, "minigrad.flow.report", known) == {"minigrad.viz"}
    assert private_reads("class N:\n    def f(self):\n        return self._op\n") == []


@pytest.mark.parametrize("name", ["minigrad.trace", "minigrad.flow.measure", "minigrad.factors",
                                  "minigrad.names", "minigrad.viz.graph", "minigrad.viz.chain",
                                  "minigrad.reference"])
def test_the_floors_exist_where_the_docs_say(name: str) -> None:
    assert name in modules()
