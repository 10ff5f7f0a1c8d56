"""Tests for minigrad.viz.page: report.html, one self-contained page per run.

The page is checked as text (everything inline, nothing to fetch, every part in its order) and
in a real browser: headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs) loads
``minigrad demo``'s page with no console errors, every picture has a non-zero size, and the
screenshot is not blank. Without a browser those tests skip and say why.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad import nn
from minigrad.flow import gradient_flow
from minigrad.viz import draw_layers, write_report
from minigrad.viz.page import MEANINGS, report_html

ROOT = Path(__file__).resolve().parent.parent
BROWSER_SECONDS = 120
CHROMIUM = next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no headless Chromium on PATH (apt-get install chromium; .ci/run "
    "installs it where apt is available): report.html is not rendered in a browser here")

# Where a page could reach outside itself: a src/href that is not a data URI or an anchor,
# a CSS url() or @import, a stylesheet link, a script.
OUTSIDE = re.compile(r"""(?:\b(?:src|href)\s*=\s*["'](?!data:|#)|url\(\s*["']?(?!data:|#)"""
                     r"""|@import|<link\b|<script\b)""", re.I)


@pytest.fixture(scope="module")
def report():
    rng = np.random.default_rng(0)
    model = nn.mlp([12, 6, 6, 3], seed=0)
    return gradient_flow(model, rng.normal(size=(40, 12)), rng.integers(0, 3, size=40))


def a_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 4])
    return ax


def test_the_page_reads_top_to_bottom_and_fetches_nothing(report, tmp_path: Path) -> None:
    from minigrad.viz import save_figure

    png = save_figure(a_plot(), tmp_path / "plot.png")
    page = report_html(title="a <small> run", settings={"sizes": "12,6,6,3", "seed": 0},
                       notes=["a note & more"], reports=[("At initialisation", report)],
                       pictures=[("The layers", draw_layers(report)), ("A plot", a_plot()),
                                 ("A file", png)])
    assert page.startswith("<!DOCTYPE html>") and "<title>a &lt;small&gt; run</title>" in page
    assert not OUTSIDE.search(page), OUTSIDE.search(page).group(0)
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page  # inline SVG needs neither
    order = ["<h2>Settings</h2>", "a note &amp; more", "<h2>At initialisation</h2>",
             "<h2>The layers</h2>", "<h2>A plot</h2>", "<h2>A file</h2>",
             "<h2>What each number means</h2>"]
    positions = [page.index(text) for text in order]
    assert positions == sorted(positions), list(zip(order, positions))
    assert page.count("<svg") == 1 and 'style="max-width:100%;height:auto"' in page
    assert page.count('src="data:image/png;base64,') == 2
    for row in report.layers:  # one table row and one verdict per layer
        assert f"<td class=\"text\">{row.role}</td>" in page
        assert f"<b>{row.role}</b>: {html.escape(row.verdict)}" in page
    assert html.escape(report.summary()) in page
    for word, _ in MEANINGS:
        assert f"<dt>{html.escape(word)}</dt>" in page
    assert "update:data</th>" not in page, "an empty update:data column should be dropped"


def test_the_table_fills_update_data_with_a_learning_rate_and_colours_gains(tmp_path) -> None:
    rng = np.random.default_rng(1)
    model = nn.mlp([12, 6, 6, 3], seed=1)
    report = gradient_flow(model, rng.normal(size=(40, 12)), rng.integers(0, 3, size=40),
                           lr=0.1)
    page = report_html(title="t", settings={}, reports=[("r", report)], meanings=False)
    assert "update:data</th>" in page and "<dt>" not in page
    for row in report.layers:
        assert f"{row.update_data:.2f}</td>" in page
    shrinking = [row for row in report.layers if row.gain is not None and row.gain < 1]
    assert shrinking and page.count('class="num shrinks"') == len(shrinking)


def test_write_report_is_whole_or_not_at_all(report, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    with pytest.raises(TypeError, match="give a graph, a matplotlib Axes"):
        write_report(path, title="t", settings={}, pictures=[("bad", 42)])
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(ValueError, match=r"give an \.svg or \.png"):
        write_report(path, title="t", settings={}, pictures=[("bad", tmp_path / "x.pdf")])
    assert write_report(path, title="t", settings={"a": 1}, reports=[("r", report)]) == path
    assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")


# ---- in a browser ---------------------------------------------------------------------------
PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(
  e.message || ('failed to load ' + (e.target.src || e.target.tagName)).slice(0, 120)), true);
for (const level of ['error', 'warn']) {
  const original = console[level];
  console[level] = (...parts) => { window.__errors.push(parts.join(' ')); original(...parts); };
}
window.addEventListener('load', () => {
  const pictures = Array.from(document.querySelectorAll('figure > svg, figure > img')).map(
    el => { const box = el.getBoundingClientRect();
            return {tag: el.tagName.toLowerCase(), width: box.width, height: box.height,
                    decoded: el.tagName !== 'IMG' || el.naturalWidth > 0}; });
  const probe = document.createElement('pre');
  probe.id = 'minigrad-probe';
  probe.textContent = JSON.stringify({pictures, errors: window.__errors,
                                      headings: document.querySelectorAll('h2').length});
  document.body.appendChild(probe);
});
</script>"""


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=BROWSER_SECONDS,
                          check=False)


@pytest.fixture(scope="module")
def demo_page(tmp_path_factory) -> Path:
    """The page ``minigrad demo --out D`` writes: D/report.html."""
    out = tmp_path_factory.mktemp("demo")
    result = subprocess.run([sys.executable, "-m", "minigrad", "demo", "--epochs", "1",
                             "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    page = out / "report.html"
    assert page.is_file(), f"minigrad demo --out {out} wrote no report.html:\n{result.stdout}"
    assert f"open {page} in a browser" in result.stdout
    return page


@pytest.mark.slow
def test_the_demo_page_is_self_contained(demo_page: Path) -> None:
    page = demo_page.read_text(encoding="utf-8")
    assert not OUTSIDE.search(page), OUTSIDE.search(page).group(0)
    for heading in ("Settings", "The per-layer table at initialisation",
                    "The per-layer table after 1 epoch of training",
                    "The layer picture at initialisation",
                    "The layer picture after 1 epoch of training",
                    "The chain of the first hidden layer's gradient",
                    "The speed of learning of each hidden layer during training",
                    "What each number means"):
        assert f"<h2>{html.escape(heading)}" in page, heading
    assert "guessing gets 10%" in page


@pytest.mark.slow
@needs_chromium
def test_the_demo_page_renders_in_chromium(demo_page: Path, tmp_path: Path) -> None:
    page = demo_page.read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"  # the page itself has no script; a copy gets the probe
    probed.write_text(page.replace("<head>", "<head>\n" + PROBE, 1), encoding="utf-8")
    result = _chromium(tmp_path, "--enable-logging=stderr", "--v=0", "--dump-dom",
                       "--virtual-time-budget=10000", probed.as_uri())
    found = re.search(r'<pre id="minigrad-probe">(.*?)</pre>', result.stdout, re.S)
    assert found, (f"Chromium did not finish loading the page (exit {result.returncode}):\n"
                   f"{result.stderr[-3000:]}")
    probe = json.loads(html.unescape(found.group(1)))
    assert probe["errors"] == [], probe["errors"]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console
    pictures = probe["pictures"]
    assert len(pictures) == page.count("<figure>") == 4, pictures
    for picture in pictures:
        assert picture["width"] > 50 and picture["height"] > 50 and picture["decoded"], picture
    assert probe["headings"] == page.count("<h2>") == 8  # settings, 2 tables, 4 pictures, words

    shot = tmp_path / "report.png"
    result = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1100,2400",
                       demo_page.as_uri())
    assert shot.is_file(), f"no screenshot (exit {result.returncode}):\n{result.stderr[-3000:]}"
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (2400, 1100)
    ink = np.any(pixels < 0.9, axis=-1)  # anything darker than near-white
    assert 0.01 < ink.mean() < 0.6, f"the screenshot is {ink.mean():.1%} ink: blank or black?"
    colours = np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 50, f"only {len(colours)} colours in the screenshot"
