"""Tests for minigrad.viz.render: SVG without system Graphviz, clear errors otherwise."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import graphviz
import pytest

from minigrad.viz.render import (
    GraphvizNotFound,
    RenderError,
    fit_width,
    in_notebook,
    render_svg,
    save,
    show,
    which_renderer,
)

HAS_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAS_DOT, reason="system Graphviz 'dot' not installed")


@pytest.fixture
def graph() -> graphviz.Digraph:
    """A small backward graph using the features minigrad's drawings need."""
    g = graphviz.Digraph("backward")
    g.node("w", "{ w | data 0.50 | grad -1.20 }", shape="record", color="red", penwidth="2")
    g.node("act", "σ′(z)", color="blue")
    g.node("sum", "sum\nover batch")
    with g.subgraph(name="cluster_layer") as c:
        c.attr(label="layer 1")
        c.node("w")
    g.edge("sum", "act")
    g.edge("act", "w")
    return g


def assert_has_labels(svg: str) -> None:
    """Check the SVG contains the text of every label in the `graph` fixture."""
    assert "<svg" in svg
    svg = html.unescape(svg)  # Graphviz writes "-" as "&#45;"
    for text in ("data 0.50", "grad -1.20", "σ′(z)", "sum", "over batch", "layer 1"):
        assert text in svg
    assert 'stroke="red"' in svg


def test_in_process_svg_is_written(no_dot: None, graph: graphviz.Digraph, tmp_path: Path) -> None:
    assert which_renderer() == "in-process"
    out = save(graph, tmp_path / "g.svg")
    assert out == tmp_path / "g.svg"
    assert_has_labels(out.read_text(encoding="utf-8"))


def test_in_process_render_svg_accepts_dot_source(no_dot: None, graph: graphviz.Digraph) -> None:
    assert_has_labels(render_svg(graph.source))


def test_save_creates_parent_folders(no_dot: None, graph: graphviz.Digraph, tmp_path: Path) -> None:
    out = save(graph, tmp_path / "a" / "b" / "g.svg")
    assert out.is_file()


def test_png_without_dot_is_a_clear_error(
    no_dot: None, graph: graphviz.Digraph, tmp_path: Path
) -> None:
    target = tmp_path / "out" / "g.png"
    with pytest.raises(GraphvizNotFound) as info:
        save(graph, target)
    message = str(info.value)
    for hint in ("PNG", "apt-get install graphviz", "brew install graphviz", "conda install"):
        assert hint in message
    assert "SVG" in message
    assert isinstance(info.value, RuntimeError)
    assert not target.parent.exists()
    # The in-process renderer is untouched by the refused request.
    assert_has_labels(render_svg(graph))


def test_pdf_without_dot_is_a_clear_error(
    no_dot: None, graph: graphviz.Digraph, tmp_path: Path
) -> None:
    with pytest.raises(GraphvizNotFound):
        save(graph, tmp_path / "g.pdf")
    assert not (tmp_path / "g.pdf").exists()


def test_unknown_suffix_names_it_and_the_supported_ones(
    graph: graphviz.Digraph, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"\.jpg.*\.svg.*\.png.*\.pdf.*\.dot"):
        save(graph, tmp_path / "g.jpg")
    assert not (tmp_path / "g.jpg").exists()


@pytest.mark.parametrize("name", ["g.dot", "g.gv"])
def test_dot_suffix_writes_the_source(graph: graphviz.Digraph, tmp_path: Path, name: str) -> None:
    out = save(graph, tmp_path / name)
    assert out.read_text(encoding="utf-8") == graph.source


def test_format_argument_overrides_suffix(
    no_dot: None, graph: graphviz.Digraph, tmp_path: Path
) -> None:
    out = save(graph, tmp_path / "g.txt", format="svg")
    assert_has_labels(out.read_text(encoding="utf-8"))


def test_unwritable_folder_names_the_path(graph: graphviz.Digraph, tmp_path: Path) -> None:
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    with pytest.raises(OSError, match="not_a_folder"):
        save(graph, blocker / "g.dot")


def test_bad_dot_source_in_process(no_dot: None) -> None:
    with pytest.raises(RenderError):
        render_svg("digraph { a -> ")


def test_300_node_graph_renders_in_process(no_dot: None, tmp_path: Path) -> None:
    g = graphviz.Digraph()
    for i in range(300):
        g.node(f"n{i}", f"{{ v{i} | grad {i / 10:.1f} }}", shape="record")
        if i:
            g.edge(f"n{(i - 1) // 2}", f"n{i}")
    svg = save(g, tmp_path / "big.svg").read_text(encoding="utf-8")
    assert svg.count('class="node"') == 300


@needs_dot
def test_system_dot_svg(graph: graphviz.Digraph, tmp_path: Path) -> None:
    assert which_renderer() == "dot"
    assert_has_labels(save(graph, tmp_path / "g.svg").read_text(encoding="utf-8"))


@needs_dot
@pytest.mark.parametrize(("name", "magic"), [("g.png", b"\x89PNG"), ("g.pdf", b"%PDF")])
def test_system_dot_binary_formats(
    graph: graphviz.Digraph, tmp_path: Path, name: str, magic: bytes
) -> None:
    assert save(graph, tmp_path / name).read_bytes().startswith(magic)


@needs_dot
def test_bad_dot_source_with_system_dot() -> None:
    with pytest.raises(RenderError, match="syntax error"):
        render_svg("digraph { a -> ")


def test_a_picture_too_deep_for_the_in_process_renderer_is_minigrads_own_error(no_dot) -> None:
    """A 500-neuron-deep graph drawn whole used to end in a raw wasmtime Trap."""
    from minigrad import Value
    from minigrad.viz import draw_graph

    x = Value(0.5, label="x")
    y = x
    for _ in range(500):
        y = y * 0.999 + 0.001
    y.backward()
    with pytest.raises(RenderError, match=r"max_nodes=150\) collapses the graph"):
        render_svg(draw_graph(y, max_nodes=10**9, legend=False, compact=False))
    assert "<svg" in render_svg(draw_graph(y))  # collapsed by default; the renderer still works


LABELS = ["a&b", "&amp;", "&lt;x&gt;", 'q"uote', "back\\slash", "ctl\x01\x07x", "tab\tx",
          "two\nlines", "{rec|ord}", "<b>x</b>", "end\\", "del\x7f", "σ′ ½ ‖·‖"]


@pytest.mark.parametrize("label", LABELS, ids=[repr(label) for label in LABELS])
def test_labels_are_text_never_markup(label: str, no_dot) -> None:
    """Every picture shows a label as typed (control characters as their escapes) in
    well-formed SVG: Graphviz used to read &amp; as '&' and &lt;x&gt; as '<x>'."""
    import html
    import re
    import xml.dom.minidom

    from minigrad import Value
    from minigrad.trace import trace
    from minigrad.viz import draw_chain, draw_graph

    expected = "".join(f"\\x{ord(ch):02x}" if ord(ch) < 32 and ch not in "\t\n" or
                       ord(ch) == 127 else " " if ch in "\t\n" else ch for ch in label)
    a = Value(1.0, label=label)
    c = a * 2.0
    c.label = label
    record = trace(c)
    for graph in (draw_graph(c, legend=False, title=label), draw_chain(record.path(a))):
        svg = render_svg(graph)
        xml.dom.minidom.parseString(svg.encode("utf-8"))  # well-formed
        texts = [html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg)]
        lines = expected.split(" ") if "\n" in label else [expected]
        assert any(lines[0] in t for t in texts), (expected, texts)


class _Kernel:
    """Stands in for IPython's kernel shell: ``show`` displays through IPython.display."""

    kernel = object()


@pytest.fixture
def shown(monkeypatch) -> list[dict]:
    """The mime bundles ``show`` displays, as if it ran in a Jupyter kernel."""
    return _pretend_kernel(monkeypatch)


def _pretend_kernel(monkeypatch) -> list[dict]:
    pytest.importorskip("IPython")
    import IPython
    import IPython.display

    bundles: list[dict] = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: _Kernel())
    monkeypatch.setattr(IPython.display, "display",
                        lambda bundle, raw=False: bundles.append(bundle) if raw else None)
    return bundles


def test_show_in_a_script_writes_the_file_and_displays_nothing(
        no_dot: None, graph: graphviz.Digraph, tmp_path: Path) -> None:
    assert not in_notebook()  # pytest is no Jupyter kernel
    out = show(graph, tmp_path / "g.svg")
    assert out == tmp_path / "g.svg"
    assert_has_labels(out.read_text(encoding="utf-8"))


def test_show_in_a_notebook_displays_the_svg_it_wrote(
        no_dot: None, graph: graphviz.Digraph, tmp_path: Path, shown: list[dict]) -> None:
    assert in_notebook()
    out = show(graph, tmp_path / "g.svg")
    assert [list(bundle) for bundle in shown] == [["image/svg+xml"]]
    svg = shown[0]["image/svg+xml"]
    assert svg == fit_width(out.read_text(encoding="utf-8"))  # the file, scaled to the cell
    assert_has_labels(svg)


def test_show_a_plot_in_a_notebook_displays_its_png_and_closes_it(
        tmp_path: Path, monkeypatch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()  # before the pretend kernel: pyplot would hook into a real one
    ax.plot([1, 2, 3])
    shown = _pretend_kernel(monkeypatch)
    out = show(ax, tmp_path / "plot.png", dpi=50)
    assert [list(bundle) for bundle in shown] == [["image/png"]]
    assert shown[0]["image/png"] == out.read_bytes()
    assert out.read_bytes().startswith(b"\x89PNG")
    assert not plt.fignum_exists(fig.number), "show should close the figure it showed"


def test_a_picture_displays_scaled_to_the_cell(no_dot: None, graph: graphviz.Digraph) -> None:
    from minigrad.viz import Picture

    picture = Picture("p")
    picture.node("a", "a big picture")
    svg = picture._repr_mimebundle_()["image/svg+xml"]
    assert 'style="max-width:100%;height:auto"' in svg and "viewBox" in svg


def test_fit_width_changes_only_the_root_tag() -> None:
    svg = '<?xml version="1.0"?>\n<svg width="900pt" viewBox="0 0 900 40"><g><svg x="1"/></g></svg>'
    fitted = fit_width(svg)
    assert fitted == ('<?xml version="1.0"?>\n<svg style="max-width:100%;height:auto" '
                      'width="900pt" viewBox="0 0 900 40"><g><svg x="1"/></g></svg>')
    assert fit_width(fitted) == fitted
    assert fit_width('<svg style="color:red">') == (
        '<svg style="max-width:100%;height:auto;color:red">')
    assert fit_width("no picture") == "no picture"


# ---- the compiled renderer kept on disk -------------------------------------------------------
RENDER_ONCE = """
import sys
from minigrad.viz import render
svg = render._render_in_process('digraph { a -> b [label="x0.2"] }')
assert "x0.2" in svg, svg[:200]
print(render._loaded_from[0])
"""


def _render_in_a_new_process(cache: str) -> str:
    """How a fresh process loaded the in-process renderer: 'cache', 'compiled' or 'plain'."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "MINIGRAD_CACHE_DIR": cache}
    result = subprocess.run([sys.executable, "-c", RENDER_ONCE], env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip()


@pytest.mark.slow
def test_the_compiled_renderer_is_cached_on_disk_and_survives_a_bad_cache(tmp_path) -> None:
    cache = tmp_path / "cache"
    assert _render_in_a_new_process(str(cache)) == "compiled"
    files = list(cache.iterdir())
    assert [f.suffix for f in files] == [".cwasm"] and files[0].stat().st_size > 100_000
    good = files[0].read_bytes()
    assert _render_in_a_new_process(str(cache)) == "cache"  # the next process reads it
    files[0].write_bytes(b"not a compiled module")  # damaged (or from elsewhere): recompiled
    assert _render_in_a_new_process(str(cache)) == "compiled"
    assert files[0].read_bytes()[:64] == good[:64] and len(files[0].read_bytes()) == len(good)
    blocked = tmp_path / "a file"
    blocked.write_text("")
    assert _render_in_a_new_process(str(blocked / "cache")) == "compiled"  # unwritable: skipped


def test_the_cache_folder_is_the_users_or_the_one_chosen(monkeypatch, tmp_path) -> None:
    import sys

    from minigrad.viz.render import CACHE_ENV, _cache_folder

    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "mine"))
    assert _cache_folder() == tmp_path / "mine"
    monkeypatch.setenv(CACHE_ENV, "off")
    assert _cache_folder() is None
    monkeypatch.delenv(CACHE_ENV)
    if sys.platform not in ("win32", "darwin"):
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
        assert _cache_folder() == tmp_path / "xdg" / "minigrad"
        monkeypatch.delenv("XDG_CACHE_HOME")
        assert _cache_folder() == Path.home() / ".cache" / "minigrad"
