"""The site built strictly over the quick assets: pages, references, no other hosts."""

import json
import os
import re
import subprocess
import sys
import types
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[1]

OUTLINE = {
    "introduction/index.html": ["Introduction to generative AI"],
    "introduction/overview.html": [
        "Image synthesis", "Text generation", "Music and audio generation",
        "Video and animation generation", "Data augmentation", "Design and creativity",
        "Drug discovery", "Virtual worlds and game design"],
    "introduction/generative-vs-discriminative.html": [
        "Objective", "What they learn", "Typical uses", "Example algorithms", "In short"],
    "introduction/creative-tasks.html": [
        "Idea generation", "Content creation and synthesis", "Style transfer and remixing",
        "Personalization and customization", "Automation and assistance",
        "Collaboration and co-creation", "Exploration of new aesthetics"],
    "how-this-site-is-built.html": ["Add a demo"],
    "index.html": ["Gallery"],
}


class References(HTMLParser):
    """Every URL a page loads (src, stylesheet/icon href) and every link it makes (a href)."""

    def __init__(self):
        super().__init__()
        self.loads, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("src"):
            self.loads.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.loads.append(attrs["href"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


def pages(site: Path):
    """Every page; 404.html is left out: hosts serve it at any depth, so it links from the root."""
    return sorted(p for p in site.rglob("*.html") if p.relative_to(site) != Path("404.html"))


def parse(page: Path) -> References:
    refs = References()
    refs.feed(page.read_text(encoding="utf-8"))
    return refs


def local_target(site: Path, page: Path, url: str) -> Path | None:
    parsed = urlparse(url)
    if parsed.scheme or parsed.netloc or url.startswith(("#", "mailto:", "data:")):
        return None
    target = (page.parent / unquote(parsed.path)).resolve()
    return target / "index.html" if target.is_dir() or url.endswith("/") else target


@pytest.fixture(scope="module")
def built(request):
    """The site and the generated folder it was built from: $SITE_DIR (a site built already,
    e.g. `SITE_DIR=site`, its outputs in the docs/generated/ beside it) or the quick build."""
    if os.environ.get("SITE_DIR"):
        site = Path(os.environ["SITE_DIR"]).resolve()
        generated = site.parent / "docs" / "generated"
        if not generated.is_dir():   # a site built elsewhere (`mkdocs build -d DIR`) from here
            generated = ROOT / "docs" / "generated"
        return types.SimpleNamespace(site=site, generated=generated)
    quick_site = request.getfixturevalue("quick_site")
    assert quick_site.result.returncode == 0, quick_site.result.stdout[-3000:]
    return quick_site


@pytest.fixture(scope="module")
def site(built):
    return built.site


@pytest.mark.parametrize("path", OUTLINE)
def test_every_outline_entry_has_its_page(site, path):
    text = (site / path).read_text(encoding="utf-8")
    for heading in OUTLINE[path]:
        assert heading in text, f"{path} lacks '{heading}'"


def test_every_demo_has_a_notebook_page_with_code_and_outputs(site, built):
    for folder in sorted(p for p in built.generated.iterdir() if p.is_dir()):
        page = site / "generated" / folder.name / f"{folder.name}.html"
        assert page.exists(), f"no page for the {folder.name} notebook"
        text = page.read_text(encoding="utf-8")
        assert "jp-CodeCell" in text and "jp-OutputArea" in text


def test_every_referenced_file_exists(site):
    problems = []
    for page in pages(site):
        refs = parse(page)
        for url in refs.loads + refs.links:
            target = local_target(site, page, url)
            if target is not None and not target.exists():
                problems.append(f"{page.relative_to(site)} -> {url}")
    assert not problems, "missing targets:\n" + "\n".join(problems[:30])


def test_no_page_loads_anything_from_another_host(site):
    problems = []
    for page in pages(site):
        for url in parse(page).loads:
            if urlparse(url).scheme in ("http", "https") or url.startswith("//"):
                problems.append(f"{page.relative_to(site)} loads {url}")
        text = page.read_text(encoding="utf-8")
        for match in re.findall(r"(?:import|url\()\s*['\"(]?(https?://[^'\")\s]+)", text):
            problems.append(f"{page.relative_to(site)} imports {match}")
    for sheet in site.rglob("*.css"):
        for match in re.findall(r"url\(\s*['\"]?(https?://[^'\")]+)", sheet.read_text(errors="replace")):
            problems.append(f"{sheet.relative_to(site)} loads {match}")
    assert not problems, "\n".join(problems[:30])


def test_math_is_rendered_at_build_time(site):
    text = (site / "introduction/generative-vs-discriminative.html").read_text()
    assert "<math" in text and "$p(" not in text


def test_metrics_on_pages_come_from_the_demos(site, built):
    metrics = json.loads((built.generated / "generative_vs_discriminative/metrics.json").read_text())
    text = (site / "introduction/generative-vs-discriminative.html").read_text()
    assert f"{metrics['heldout_accuracy_generative']:.1%}".replace("%", "") in text
    assert "{{" not in text



def test_the_site_works_from_a_folder(site):
    """The offline plugin's pieces: the search index as a script (no fetch from file://) and
    the iframe-worker shim from assets/vendor/, never from unpkg."""
    assert (site / "search" / "search_index.js").read_text(encoding="utf-8").startswith("var __index")
    for page in pages(site):
        text = page.read_text(encoding="utf-8")
        assert "unpkg.com" not in text, f"{page.relative_to(site)} still names unpkg"
        shim = re.findall(r'<script src="([^"]*iframe-worker-shim\.js)"', text)
        assert shim, f"{page.relative_to(site)} lacks the iframe-worker shim"
        assert (page.parent / shim[0]).resolve() == (site / "assets/vendor/iframe-worker-shim.js").resolve()
        # The search index waits for the reader: the on-demand script runs before the theme's.
        order = re.findall(r'<script src="[^"]*(search-on-demand\.js|bundle\.[0-9a-f]+\.min\.js)"', text)
        assert order[:1] == ["search-on-demand.js"] and len(order) == 2, \
            f"{page.relative_to(site)}: search-on-demand.js must come just before the theme's script"


class Images(HTMLParser):
    """Every <img> with its attributes and the <picture> sources before it."""

    def __init__(self):
        super().__init__()
        self.images, self.sources, self.picture, self.widget_depth, self.divs = [], [], 0, 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div":
            widget = "live-widget" in (attrs.get("class") or "").split()
            self.divs.append(widget)
        elif tag == "picture":
            self.picture += 1
            self.sources = []
        elif tag == "source" and self.picture:
            self.sources.append(attrs)
        elif tag == "img":
            self.images.append({**attrs, "_sources": list(self.sources) if self.picture else [],
                                "_widget": any(self.divs)})

    def handle_endtag(self, tag):
        if tag == "div" and self.divs:
            self.divs.pop()
        elif tag == "picture":
            self.picture -= 1


def test_every_image_is_sized_and_served_as_webp(site):
    problems = []
    for page in pages(site):
        parser = Images()
        parser.feed(page.read_text(encoding="utf-8"))
        name = page.relative_to(site)
        for i, img in enumerate(parser.images):
            src = img.get("src", "")
            if src.startswith("data:") or not src.lower().endswith((".png", ".gif", ".jpg")):
                continue
            if not (img.get("width") and img.get("height")):
                problems.append(f"{name}: {src} has no width and height")
            wanted = "eager" if i == 0 else "lazy"
            if img.get("loading") != wanted:
                problems.append(f"{name}: {src} loads {img.get('loading')!r}, not {wanted!r}")
            if img["_widget"]:
                continue
            webp = [s for s in img["_sources"] if s.get("type") == "image/webp"]
            if not webp:
                problems.append(f"{name}: {src} has no WebP source")
            for source in webp:
                for candidate in source["srcset"].split(","):
                    url = candidate.split()[0]
                    if not (page.parent / url).is_file():
                        problems.append(f"{name}: {src}: {url} is missing")
            if src.lower().endswith(".gif") and not any(
                    "prefers-reduced-motion" in (s.get("media") or "") for s in webp):
                problems.append(f"{name}: {src} has no still for reduced motion")
    assert not problems, "\n".join(problems[:30])


# --- a tiny throwaway project: the hook's checks and rewrites, without running any demo -------

HOOK = ROOT / "scripts" / "mkdocs_hooks.py"
TINY_CONFIG = f"""\
site_name: Tiny
use_directory_urls: false
theme:
  name: material
  font: false
plugins:
  - search
  - offline
hooks:
  - {HOOK}
markdown_extensions:
  - attr_list
  - md_in_html
"""


@pytest.fixture
def tiny(tmp_path):
    """docs/ with one page and a toy demo's outputs (metrics, a PNG, a GIF), and demos/toy.py."""
    from PIL import Image

    docs = tmp_path / "docs"
    out = docs / "generated" / "toy"
    out.mkdir(parents=True)
    (out / "metrics.json").write_text(json.dumps({"accuracy": 0.9123}))
    Image.new("RGB", (1200, 600), "steelblue").save(out / "figure.png")
    frames = [Image.new("RGB", (60, 40), (i * 60, 90, 200 - i * 40)) for i in range(4)]
    frames[0].save(out / "moving.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    (tmp_path / "demos").mkdir()
    (tmp_path / "demos" / "toy.py").write_text('"""Toy: a demo for tests."""\n')
    (tmp_path / "mkdocs.yml").write_text(TINY_CONFIG)
    (tmp_path / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return tmp_path


def tiny_page(project: Path, text: str, name: str = "index.md"):
    path = project / "docs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def mkdocs_build(project: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300)


def test_a_metric_fills_the_page(tiny):
    tiny_page(tiny, "# Tiny\n\nAccuracy {{ metrics.toy.accuracy | .1% }}, shown as \\{{ metrics.toy.accuracy }}.\n")
    result = mkdocs_build(tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    text = (tiny / "site" / "index.html").read_text()
    assert "Accuracy 91.2%" in text and "shown as {{ metrics.toy.accuracy }}" in text


def test_a_metric_the_demo_does_not_write_fails_naming_page_demo_and_key(tiny):
    tiny_page(tiny, "# Tiny\n\nAccuracy {{ metrics.toy.nope }}.\n", "section/page.md")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "section/page.md asks for metric 'nope' of demo 'toy', which it does not write " \
           "(it writes: accuracy)" in result.stderr


def test_a_demo_that_does_not_exist_fails_naming_page_demo_and_key(tiny):
    tiny_page(tiny, "# Tiny\n\nAccuracy {{ metrics.ghost.accuracy }}.\n")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "index.md asks for metric 'accuracy' of demo 'ghost', which does not exist " \
           "(demos: toy)" in result.stderr


def test_a_placeholder_that_cannot_be_read_fails(tiny):
    tiny_page(tiny, "# Tiny\n\nAccuracy {{ metrics.toy }}.\n")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "index.md: cannot read the placeholder '{{ metrics.toy }}'" in result.stderr


def test_a_metrics_file_that_does_not_parse_fails_in_one_line(tiny):
    (tiny / "docs/generated/toy/metrics.json").write_text('{"accuracy": 0.9')
    tiny_page(tiny, "# Tiny\n\n{{ metrics.toy.accuracy }}\n")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "metrics.json does not parse" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_page_referencing_a_missing_generated_file_fails_the_build(tiny):
    tiny_page(tiny, "# Broken\n\n![a figure](generated/toy/not_made.png)\n")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "generated/toy/not_made.png" in result.stderr
    assert "python scripts/build.py --only toy" in result.stderr


def test_images_become_sized_webp_pictures_and_widgets_keep_their_markup(tiny):
    tiny_page(tiny, """# Tiny

![A blue figure](../generated/toy/figure.png)

![Four grey frames](../generated/toy/moving.gif)

<div class="live-widget" data-widget="toy">
<img src="../generated/toy/figure.png" alt="The static figure">
</div>
<script src="../assets/live/toy.js"></script>

<div class="live-widget" data-widget="toy"></div>
<script src="../assets/live/toy.js"></script>
""", "section/page.md")
    result = mkdocs_build(tiny)
    assert result.returncode == 0, result.stderr[-2000:]
    page = tiny / "site" / "section" / "page.html"
    parser = Images()
    parser.feed(page.read_text())
    figure, moving, widget = [i for i in parser.images if "generated/toy" in i["src"]]

    assert (figure["width"], figure["height"], figure["loading"]) == ("800", "400", "eager")
    srcset = figure["_sources"][0]["srcset"]
    assert figure["_sources"][0]["type"] == "image/webp"
    for candidate in srcset.split(","):   # relative to the page, one folder down
        url, width = candidate.split()
        assert url.startswith("../generated/toy/figure.") and (page.parent / url).is_file()
    assert "1200w" in srcset   # never enlarged: the largest is the figure's own width

    assert (moving["width"], moving["height"], moving["loading"]) == ("60", "40", "lazy")
    still, animated = moving["_sources"]
    assert "prefers-reduced-motion: reduce" in still["media"]
    from PIL import Image
    with Image.open(page.parent / animated["srcset"].split()[0]) as webp:
        assert webp.format == "WEBP" and webp.n_frames == 4
    assert moving["src"].endswith("moving.gif")   # the GIF stays, as the fallback

    assert not widget["_sources"] and widget["loading"] == "lazy" and widget["width"] == "800"
    # A widget's script: once per page however many widgets name it, deferred.
    assert page.read_text().count("assets/live/toy.js") == 1
    assert '<script defer src="../assets/live/toy.js"></script>' in page.read_text()


def test_a_figure_that_is_not_an_image_fails_in_one_line(tiny):
    (tiny / "docs/generated/toy/figure.png").write_bytes(b"not a png")
    tiny_page(tiny, "# Tiny\n\n![A blue figure](generated/toy/figure.png)\n")
    result = mkdocs_build(tiny)
    assert result.returncode != 0
    assert "generated/toy/figure.png cannot be read as an image" in result.stderr
    assert "Traceback" not in result.stderr


def test_derived_images_are_cached_by_content(tiny):
    import mkdocs_hooks

    tiny_page(tiny, "# Tiny\n\n![A blue figure](generated/toy/figure.png)\n")
    assert mkdocs_build(tiny).returncode == 0
    folders = {p: p.stat().st_mtime_ns for p in mkdocs_hooks.IMAGE_CACHE.iterdir()}
    assert mkdocs_build(tiny).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in mkdocs_hooks.IMAGE_CACHE.iterdir()} == folders


def test_notebook_css_keeps_only_rules_for_what_the_page_has():
    import mkdocs_hooks

    html = """<style>
      .jupyter-wrapper .jp-Cell { color: red }
      .jupyter-wrapper .jp-Dialog { color: blue }
      .jupyter-wrapper :root { --jp-unused: 1px }
      .jupyter-wrapper .jp-Cell:not(.jp-mod-active) { opacity: 1 }
      @media (max-width: 10em) { .jp-Menu { x: y } .jp-Cell { x: z } }
      .jp-Toolbar, .jp-OutputArea { margin: 0 }
      [data-md-color-scheme=slate] .jupyter-wrapper { --jp-layout-color0: black }
    </style><div class="jupyter-wrapper"><div class="jp-Cell jp-OutputArea">x</div></div>"""
    css = mkdocs_hooks.STYLE.search(mkdocs_hooks._trim_notebook_css(html)).group(2)
    assert "jp-Dialog" not in css and "jp-unused" not in css and "jp-Menu" not in css
    for kept in (".jp-Cell{color:red}", ":not(.jp-mod-active)", "@media (max-width: 10em){",
                 ".jp-Toolbar, .jp-OutputArea", "--jp-layout-color0"):
        assert kept.replace(" ", "") in css.replace(" ", ""), kept


def test_notebook_pages_are_trimmed(site, built):
    """nbconvert's stylesheet (about 570 KB per page) trimmed to the rules the page can use,
    and the unstyled name spans of the code gone."""
    for folder in sorted(p for p in built.generated.iterdir() if p.is_dir()):
        text = (site / "generated" / folder.name / f"{folder.name}.html").read_text(encoding="utf-8")
        css = sum(len(m) for m in re.findall(r"<style[^>]*>(.*?)</style>", text, re.DOTALL))
        assert css < 100_000, f"{folder.name}: {css} bytes of inline CSS"
        assert '<span class="n">' not in text, f"{folder.name}: name spans left in the code"


CODE_LINE = re.compile(r"^\s*(import \w|from [\w.]+ import |def \w|class \w|print\(|[\w.]+ = \S)")


def _plain(text: str) -> str:
    import html

    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def test_search_indexes_notebook_prose_but_not_code_or_outputs(site, built):
    """The search index (loaded by every page) holds each notebook page's headings, prose and
    About box, and none of its code or printed output: those were most of its weight."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    for folder in sorted(p for p in built.generated.iterdir() if p.is_dir()):
        notebook = folder / f"{folder.name}.ipynb"
        if not notebook.is_file():
            continue
        location = f"generated/{folder.name}/{folder.name}.html"
        entries = [d for d in index["docs"] if d["location"].split("#")[0] == location]
        assert entries, f"{location} is not in the search index"
        titles = {_plain(d["title"]).rstrip("¶ ") for d in entries}
        text = " ".join(_plain(d["text"]) for d in entries)
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        prose = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
        # Headings written as plain text (math, links and emphasis are rendered differently).
        headings = [h for h in re.findall(r"^#{2,3} (.+)$", prose, re.MULTILINE)
                    if not re.search(r"[$\[*_<\\]", h)]
        for heading in headings:
            assert _plain(heading).replace("`", "") in titles, \
                f"{location}: heading '{heading}' not in the search index"
        assert "About this demo" in text, f"{location}: the About box is not in the search index"
        code = [line.strip() for c in cells if c["cell_type"] == "code"
                for line in "".join(c["source"]).splitlines() if CODE_LINE.match(line)]
        printed = [line.strip() for c in cells for o in c.get("outputs", [])
                   if o["output_type"] == "stream"
                   for line in "".join(o["text"]).splitlines() if len(line.strip()) >= 20]
        assert code and printed, f"{location}: a notebook without code or printed output?"
        leaked = [line for line in code + printed
                  if " ".join(line.split()) in text and line not in prose]
        assert not leaked, f"{location}: code or output in the search index: {leaked[:3]}"
