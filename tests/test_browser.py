"""The built site in a real browser: headless Chromium (Debian's package) driven by Playwright.

The site is served from a thread on 127.0.0.1, the way a static host serves it (text gzipped,
byte ranges for media). Every page is loaded at a desktop width and at a 375 px phone width;
each load records console errors, failed requests and any request to another host and saves a
full-page screenshot in tests/artifacts/screenshots/. The desktop load also checks images,
audio and video, headings and page weight, and runs the axe-core audit (from the installed
axe-playwright-python package) in the light palette and its colour-contrast rule in the dark
one; two pages are audited at a time. Page weight is measured after the load and before any
scroll: scrolling starts the live widgets, which load their models only when the reader
reaches them. Separate tests drive search, the palette toggle and the navigation, over http
and again from file:// with every other request aborted, and check every internal link and
anchor without a browser. Reports for reviewers:
tests/artifacts/page-weights.txt and tests/artifacts/external-links.txt.

Run only these with `make test-browser`. `SITE_DIR=path/to/site` tests an already built site
instead of building the quick site first.
"""

from __future__ import annotations

import gzip
import html
import importlib.resources
import io
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"

DESKTOP = {"width": 1280, "height": 900}   # wide enough for both sidebars of the theme
MOBILE = {"width": 375, "height": 812}

MB = 1_000_000
PAGE_BUDGET = 1_500_000   # a page with everything it loads before the reader scrolls
SCRIPT_BUDGET = 1_000_000  # script loaded before any interaction (live widgets load later)
FILE_BUDGET = 1_000_000   # each image, GIF and audio file (the demos' MAX_ASSET_BYTES)
MEDIA_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".wav", ".mp3",
                  ".ogg", ".oga", ".opus", ".flac", ".m4a", ".mp4", ".webm"}

# The outline of the course, in the order the navigation test clicks through it.
OUTLINE = [
    ("Introduction", "introduction/index.html"),
    ("Overview", "introduction/overview.html"),
    ("Generative vs discriminative", "introduction/generative-vs-discriminative.html"),
    ("Creative tasks", "introduction/creative-tasks.html"),
    ("How this site is built", "how-this-site-is-built.html"),
    ("Demo notebooks", "demos/index.html"),
]
SEARCH_PAGE = "generated/generative_vs_discriminative/generative_vs_discriminative.html"

SERIOUS = ("serious", "critical")
# Named exceptions to the accessibility audit, each with its reason: (axe rule id, a string the
# failing element's HTML must contain, why it is accepted). Nothing else is excluded.
AXE_EXCEPTIONS: list[tuple[str, str, str]] = []  # (rule, element HTML, reason): none needed


# --- the site, its server and the browser ------------------------------------------------------

@pytest.fixture(scope="session")
def site_dir(request) -> Path:
    """$SITE_DIR if set (fast iteration on a site built already), else the quick build."""
    if os.environ.get("SITE_DIR"):
        site = Path(os.environ["SITE_DIR"]).resolve()
    else:
        quick_site = request.getfixturevalue("quick_site")
        result = quick_site.result
        assert result.returncode == 0, \
            f"the quick build failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        site = quick_site.site
    assert (site / "index.html").is_file(), f"no built site in {site}"
    return site


class _StaticHandler(SimpleHTTPRequestHandler):
    """Serves the site as a static host does: text gzipped when the browser accepts it (so the
    page weight is what a visitor downloads), byte ranges for media (so audio loads only what
    its `preload` asks for), and no request log."""

    COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"}
    _gzip_cache: dict = {}

    def log_message(self, format, *args):   # noqa: A002 - the base class's signature
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir() and urlparse(self.path).path.endswith("/"):
            path = path / "index.html"
        if not path.is_file():
            return super().send_head()   # redirects folders without '/', answers 404
        data, headers, status = path.read_bytes(), {}, 200
        if path.suffix in self.COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", ""):
            key = (path, path.stat().st_mtime_ns)
            if key not in self._gzip_cache:
                self._gzip_cache[key] = gzip.compress(data, compresslevel=6)
            data = self._gzip_cache[key]
            headers = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        else:
            headers = {"Accept-Ranges": "bytes"}
            wanted = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", "").strip())
            if wanted and (wanted[1] or wanted[2]):
                size = len(data)
                start = int(wanted[1]) if wanted[1] else max(0, size - int(wanted[2]))
                end = min(int(wanted[2]), size - 1) if wanted[1] and wanted[2] else size - 1
                if start > end:
                    self.send_error(416)
                    return None
                data, status = data[start:end + 1], 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self.send_response(status)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        return io.BytesIO(data)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass   # the browser dropping a connection (media, prefetch) is not the site's fault


@pytest.fixture(scope="session")
def base_url(site_dir):
    server = _QuietServer(("127.0.0.1", 0), partial(_StaticHandler, directory=str(site_dir)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(chromium):
    return chromium


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core as bundled by the axe-playwright-python package (the test extra): no network."""
    try:
        return (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text()
    except ModuleNotFoundError:
        pytest.fail("axe-playwright-python is missing: install the test extra, "
                    "`pip install -e '.[test]'`")


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, as a path relative to it ('index.html', 'demos/index.html')."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))


def page_url(base_url: str, path: str) -> str:
    """Pages have flat URLs (introduction/overview.html), as the site links them."""
    return base_url + path


def shot_name(path: str) -> str:
    """'introduction/overview.html' -> 'introduction__overview'; 'index.html' -> 'index'."""
    return path.removesuffix(".html").replace("/", "__") or "index"


# --- one visit of a page -----------------------------------------------------------------------

@dataclass
class Recorder:
    """What a page did on the network and in its console while it was open."""

    origin: str
    name_pages: bool = False   # add the page's path to each message (tests that move around)
    errors: list[str] = field(default_factory=list)    # console errors, exceptions, failures
    foreign: list[str] = field(default_factory=list)   # requests to another host
    responses: list = field(default_factory=list)

    def attach(self, page):
        self.page = page
        page.on("console", self._console)
        page.on("pageerror", lambda error: self._note(f"uncaught exception: {error}"))
        page.on("request", self._request)
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _note(self, message: str):
        if self.name_pages:
            message = f"on {urlparse(self.page.url).path}: {message}"
        self.errors.append(message)

    def _failed(self, request):
        # Named exception: Chromium cancels a media download itself once it holds what the
        # element's `preload` asks for, and cancels a lazy image still loading when the page is
        # left (seen in CI: a notebook figure aborted as the walk clicked on). A missing or
        # broken file still fails, through its HTTP status in _response and the fetch in MEDIA.
        if request.resource_type in ("media", "image") and request.failure == "net::ERR_ABORTED":
            return
        self._note(f"request failed: {request.url} ({request.failure})")

    def _console(self, message):
        if message.type == "error":
            where = message.location or {}
            self._note(f"console error: {message.text} "
                       f"(at {where.get('url', '?')}:{where.get('lineNumber', '?')})")

    def _request(self, request):
        parsed = urlparse(request.url)
        if parsed.scheme in ("http", "https", "ws", "wss", "ftp") and \
                f"{parsed.scheme}://{parsed.netloc}" != self.origin:
            self.foreign.append(request.url)
            if self.name_pages:
                self._note(f"request to another host: {request.url}")

    def _response(self, response):
        self.responses.append(response)
        if response.status >= 400:
            self._note(f"HTTP {response.status} for {response.url}")

    def bytes_received(self, kind: str | None = None) -> tuple[int, list[tuple[int, str]]]:
        """Body bytes received so far as transferred (gzipped text counts compressed), in total
        and per URL (each URL once, its largest response), largest first; `kind` keeps one
        resource type ("script", "image", ...)."""
        sizes: dict[str, int] = {}
        for response in list(self.responses):
            if not response.url.startswith(("http:", "https:")):
                continue
            if kind and response.request.resource_type != kind:
                continue
            try:
                size = response.request.sizes()["responseBodySize"]
            except Exception:   # a request still running or cancelled has no final sizes
                size = int(response.headers.get("content-length", 0) or 0)
            sizes[response.url] = max(size, sizes.get(response.url, 0))
        ranked = sorted(((size, url) for url, size in sizes.items()), reverse=True)
        return sum(sizes.values()), ranked


@dataclass
class Visit:
    path: str
    errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    images: list[dict] = field(default_factory=list)
    media: list[dict] = field(default_factory=list)
    headings: list[dict] = field(default_factory=list)
    weight: int = 0           # bytes loaded before any scroll or input
    script_weight: int = 0    # of which scripts
    scrolled_weight: int = 0  # bytes loaded once scrolled to the bottom (lazy images, widgets)
    heaviest: list[tuple[int, str]] = field(default_factory=list)
    overflow: dict | None = None
    axe_light: list[dict] = field(default_factory=list)
    axe_dark: list[dict] = field(default_factory=list)
    screenshots: list[Path] = field(default_factory=list)


SCROLL_THROUGH = """async () => {
  const step = Math.max(200, window.innerHeight - 100);
  for (let y = 0; y < document.documentElement.scrollHeight; y += step) {
    window.scrollTo(0, y);
    await new Promise(r => setTimeout(r, 30));
  }
  window.scrollTo(0, document.documentElement.scrollHeight);
}"""

# Lazy images load as they come into view; every image is scrolled into view and decoded.
IMAGES = """async () => {
  const images = [...document.images];
  for (const img of images) img.loading = "eager";
  const timeout = ms => new Promise(r => setTimeout(r, ms));
  for (const img of images) {
    img.scrollIntoView({block: "center"});
    await Promise.race([img.decode().catch(() => null), timeout(10000)]);
  }
  window.scrollTo(0, 0);
  return images.map(img => ({
    src: img.getAttribute("src") || "", url: img.currentSrc || img.src,
    alt: img.getAttribute("alt"), naturalWidth: img.naturalWidth,
    html: img.outerHTML.replace(/src="data:[^"]{40,}"/, 'src="data:…"').slice(0, 200)}));
}"""

MEDIA = """async () => {
  const byExtension = {wav: "audio/wav", mp3: "audio/mpeg", ogg: "audio/ogg", oga: "audio/ogg",
    opus: "audio/ogg; codecs=opus", flac: "audio/flac", m4a: "audio/mp4", aac: "audio/aac",
    webm: "video/webm", mp4: "video/mp4", ogv: "video/ogg"};
  const out = [];
  for (const el of document.querySelectorAll("audio, video")) {
    const html = el.outerHTML.replace(/src="data:[^"]{40,}"/g, 'src="data:…"').slice(0, 200);
    const sources = [];
    if (el.getAttribute("src")) sources.push({url: el.src, type: ""});
    for (const s of el.querySelectorAll("source"))
      sources.push({url: s.src, type: s.getAttribute("type") || ""});
    if (!sources.length) out.push({html, url: "", problem: "no source"});
    for (const s of sources) {
      const ext = s.url.startsWith("data:") ? "" : s.url.split(/[?#]/)[0].split(".").pop().toLowerCase();
      const dataType = s.url.startsWith("data:") ? s.url.slice(5).split(/[;,]/)[0] : "";
      const type = s.type || dataType || byExtension[ext] || "";
      let fetched;
      try {
        const r = await fetch(s.url);
        fetched = r.ok ? "ok" : `HTTP ${r.status}`;
        if (r.ok) await r.arrayBuffer();
      } catch (e) { fetched = String(e); }
      const playable = type ? el.canPlayType(type) : "";
      let problem = null;
      if (fetched !== "ok") problem = `source not fetched: ${fetched}`;
      else if (!type) problem = "no type and no known extension";
      else if (!playable) problem = `canPlayType("${type}") is empty`;
      out.push({html, url: s.url.startsWith("data:") ? "data:" + type : s.url, type, playable, problem});
    }
  }
  return out;
}"""

HEADINGS = """() => [...document.querySelectorAll("h1, h2, h3, h4, h5, h6")].map(h => ({
  level: Number(h.tagName[1]), id: h.id, text: h.textContent.trim().slice(0, 80)}))"""

# When the page scrolls sideways, name the element reaching furthest right (outermost first)
# that is not inside a box which clips or scrolls its own overflow.
OVERFLOW = """() => {
  const root = document.documentElement;
  const width = root.clientWidth;
  if (root.scrollWidth <= width + 1) return null;
  const describe = el => {
    const parts = [];
    for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement) {
      let part = e.tagName.toLowerCase();
      if (e.id) part += "#" + e.id;
      const classes = [...e.classList].slice(0, 2);
      if (classes.length) part += "." + classes.join(".");
      parts.unshift(part);
    }
    return parts.join(" > ");
  };
  let worst = null;
  for (const el of document.body.querySelectorAll("*")) {
    const r = el.getBoundingClientRect();
    if (r.right <= width + 1 || (r.width === 0 && r.height === 0)) continue;
    let clipped = false;
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement)
      if (getComputedStyle(a).overflowX !== "visible") { clipped = true; break; }
    if (clipped) continue;
    if (!worst || r.right > worst.right + 0.5)
      worst = {right: r.right, width: r.width, element: describe(el),
               html: el.outerHTML.replace(/src="data:[^"]{40,}"/g, 'src="data:…"').slice(0, 160)};
  }
  return {scrollWidth: root.scrollWidth, clientWidth: width, offender: worst};
}"""

AXE_RUN = """options => axe.run(document, options).then(results => results.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.map(n => ({target: (n.target || []).join(" "), impact: n.impact,
                            html: n.html.slice(0, 200),
                            summary: (n.failureSummary || "").replace(/\\s+/g, " ").slice(0, 300)}))})))"""

PALETTE_TOGGLE = "form[data-md-component=palette] label:not([hidden])"


def settle(page):
    """Wait until no CSS transition or animation is running (the palette switch fades)."""
    page.wait_for_function("() => document.getAnimations().every(a => a.playState !== 'running')",
                           timeout=5000)


def switch_palette(page, scheme: str):
    page.locator(PALETTE_TOGGLE).click()
    page.wait_for_function(f"() => document.body.dataset.mdColorScheme === '{scheme}'",
                           timeout=5000)
    settle(page)


# Without CSS selectors for the elements an audit runs several times faster on a notebook page;
# an audit that finds something is run again with them, to name the elements.
AXE_LIGHT = {"resultTypes": ["violations"], "selectors": False}
AXE_DARK = {"runOnly": {"type": "rule", "values": ["color-contrast"]}, "resultTypes": ["violations"],
            "selectors": False}


AUDIT_DONE = "axe audit done"


def start_axe(page, axe_source: str, options: dict):
    """Start an audit in the page and return at once. axe works synchronously for seconds, so
    it starts from a timer and says on the console when it is done: meanwhile this process
    drives other pages, which audit in parallel in their own renderer processes."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source)
    page.evaluate("options => { window.__audit = null; setTimeout(() => (" + AXE_RUN + ")(options)"
                  ".then(v => { window.__audit = {violations: v}; },"
                  "      e => { window.__audit = {error: String(e)}; })"
                  f".finally(() => console.debug({AUDIT_DONE!r})), 0); }}", options)


def audit(page, axe_source: str, options: dict, path: str, palette: str):
    """Run an audit, yielding until it is done (never touching the busy page meanwhile); if it
    found something not excepted, run it again with selectors to name the elements."""
    done = []
    page.on("console", lambda message: message.text == AUDIT_DONE and done.append(True))
    for attempt in (options, {**options, "selectors": True}):
        done.clear()
        started = time.monotonic()
        start_axe(page, axe_source, attempt)
        while not done:
            assert time.monotonic() - started < 300, f"{path}: the axe audit did not finish"
            yield
        result = page.evaluate("() => window.__audit")
        assert "error" not in result, f"{path}: axe failed: {result['error']}"
        if not _axe_problems(path, result["violations"], palette) or attempt.get("selectors", True):
            return result["violations"]


def new_page(browser, base_url: str, viewport: dict, name_pages: bool = True):
    context = browser.new_context(viewport=viewport, color_scheme="light",
                                  service_workers="block")
    page = context.new_page()
    recorder = Recorder(origin=base_url.rstrip("/"), name_pages=name_pages)
    recorder.attach(page)
    return context, page, recorder


def visit(browser, base_url: str, path: str, axe_source: str, result: Visit):
    """The checks of one page, as a generator that yields while an audit runs in the page."""
    url = page_url(base_url, path)
    name = shot_name(path)

    context, page, recorder = new_page(browser, base_url, DESKTOP, name_pages=False)
    try:
        # Desktop, light palette: load and weigh before any scroll (scrolling starts the live
        # widgets, which load their models only when the reader reaches them), then scroll to
        # the bottom with every image loaded.
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
        result.weight, result.heaviest = recorder.bytes_received()
        result.script_weight = recorder.bytes_received("script")[0]
        page.evaluate(SCROLL_THROUGH)
        result.images = page.evaluate(IMAGES)
        page.wait_for_load_state("networkidle")
        result.scrolled_weight = recorder.bytes_received()[0]
        result.media = page.evaluate(MEDIA)
        result.headings = page.evaluate(HEADINGS)
        page.evaluate("() => window.scrollTo(0, 0)")
        shot = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        result.screenshots.append(shot)
        light = audit(page, axe_source, AXE_LIGHT, path, "light")
        next(light)   # started: it runs while the phone-width visit goes on

        # Meanwhile, at phone width: nothing may scroll sideways.
        phone, small, phone_recorder = new_page(browser, base_url, MOBILE, name_pages=False)
        try:
            small.goto(url, wait_until="load")
            small.evaluate(SCROLL_THROUGH)
            small.wait_for_load_state("networkidle")
            small.evaluate("() => window.scrollTo(0, 0)")
            result.overflow = small.evaluate(OVERFLOW)
            shot = SCREENSHOTS / f"{name}.mobile.png"
            small.screenshot(path=str(shot), full_page=True)
            result.screenshots.append(shot)
        finally:
            phone.close()
        result.errors += [f"[375px] {e}" for e in phone_recorder.errors]
        result.foreign += phone_recorder.foreign

        result.axe_light = yield from light

        # Dark palette: colour contrast again.
        switch_palette(page, "slate")
        result.axe_dark = yield from audit(page, axe_source, AXE_DARK, path, "dark")
    finally:
        context.close()
    result.errors += [f"[desktop] {e}" for e in recorder.errors]
    result.foreign += recorder.foreign


PARALLEL_PAGES = 2   # pages whose audits run at once (the renderers share the machine's cores)


@pytest.fixture(scope="session")
def visits(site_dir, base_url, browser, axe_source) -> dict[str, Visit]:
    """Every page of the site, visited at both widths (the slow part, shared by the tests)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob("*.png"):   # no stale pictures of pages that are gone
        old.unlink()
    results = {path: Visit(path) for path in site_pages(site_dir)}
    waiting, running = list(results), {}
    idle = browser.new_context()
    pump = idle.new_page()   # a page that is never busy, to wait on
    try:
        while waiting or running:
            while waiting and len(running) < PARALLEL_PAGES:
                path = waiting.pop(0)
                running[path] = visit(browser, base_url, path, axe_source, results[path])
            for path, steps in list(running.items()):
                try:
                    next(steps)
                except StopIteration:
                    del running[path]
                except Exception as error:
                    raise RuntimeError(f"visiting {path} failed: {error}") from error
            if running:
                pump.wait_for_timeout(50)   # Playwright delivers the pages' console messages
    finally:
        for steps in running.values():
            steps.close()   # closes their browser contexts
        idle.close()
    return results


def report(problems: list[str], what: str) -> str:
    shown = "\n".join(f"  {p}" for p in problems[:40])
    more = f"\n  … and {len(problems) - 40} more" if len(problems) > 40 else ""
    return f"{len(problems)} {what}:\n{shown}{more}"


# --- every page --------------------------------------------------------------------------------

def test_pages_load_without_errors_or_other_hosts(visits):
    problems = [f"{path}: {error}" for path, v in visits.items() for error in v.errors]
    problems += [f"{path}: request to another host: {url}"
                 for path, v in visits.items() for url in v.foreign]
    assert not problems, report(problems, "console errors, failed requests or foreign requests")


def test_every_image_decodes_and_has_alt_text(visits):
    problems = []
    for path, v in visits.items():
        for img in v.images:
            if img["naturalWidth"] <= 0:
                problems.append(f"{path}: image {img['src']!r} did not decode: {img['html']}")
            if not (img["alt"] or "").strip():
                problems.append(f"{path}: image {img['src']!r} has no alt text: {img['html']}")
    assert not problems, report(problems, "image problems")


def test_every_audio_and_video_source_exists_and_plays(visits):
    problems = [f"{path}: {m['url'] or 'media element'}: {m['problem']} ({m['html']})"
                for path, v in visits.items() for m in v.media if m["problem"]]
    assert not problems, report(problems, "audio/video problems")


def test_no_horizontal_scrolling_on_a_phone(visits):
    problems = []
    for path, v in visits.items():
        if v.overflow:
            o, off = v.overflow, v.overflow["offender"]
            what = (f"widest element {off['element']} reaches {off['right']:.0f}px: {off['html']}"
                    if off else "no single element found")
            problems.append(f"{path}: page is {o['scrollWidth']}px wide in a "
                            f"{o['clientWidth']}px viewport; {what}")
    assert not problems, report(problems, "pages scroll sideways at 375 px")


def test_a_screenshot_of_every_page(visits):
    missing = [f"{path}: {shot}" for path, v in visits.items() for shot in v.screenshots
               if not shot.is_file() or shot.stat().st_size == 0]
    assert not missing, report(missing, "screenshots missing")
    assert all(len(v.screenshots) == 2 for v in visits.values())


def test_headings_in_order_with_one_h1(visits):
    problems = []
    for path, v in visits.items():
        levels = [h["level"] for h in v.headings]
        if levels.count(1) != 1:
            h1s = [h["text"] for h in v.headings if h["level"] == 1]
            problems.append(f"{path}: {levels.count(1)} h1 elements {h1s}")
        previous = 0
        for h in v.headings:
            if h["level"] > previous + 1:
                where = f" (#{h['id']})" if h["id"] else ""
                problems.append(f"{path}: h{h['level']} '{h['text']}'{where} follows "
                                f"h{previous or ' nothing'}, skipping a level")
            previous = h["level"]
    assert not problems, report(problems, "heading problems")


def _axe_problems(path: str, violations: list[dict], palette: str) -> list[str]:
    problems = []
    for violation in violations:
        for node in violation["nodes"]:
            if (node["impact"] or violation["impact"]) not in SERIOUS:
                continue
            if any(rule == violation["id"] and where in node["html"]
                   for rule, where, _reason in AXE_EXCEPTIONS):
                continue
            problems.append(f"{path} [{palette}]: {violation['id']} ({node['impact']}): "
                            f"{violation['help']} at {node['target']}: {node['html']} "
                            f"— {node['summary']}")
    return problems


def test_accessibility_audit_light_palette(visits):
    problems = [p for path, v in visits.items() for p in _axe_problems(path, v.axe_light, "light")]
    assert not problems, report(problems, "serious or critical axe violations")


def test_colour_contrast_dark_palette(visits):
    problems = [p for path, v in visits.items() for p in _axe_problems(path, v.axe_dark, "dark")]
    assert not problems, report(problems, "colour-contrast violations in the dark palette")


def test_page_weight_within_budget(visits):
    ranked = sorted(visits.items(), key=lambda item: -item[1].weight)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = [f"# Bytes each page loads in the browser before any scroll (budget "
             f"{PAGE_BUDGET / MB} MB; script {SCRIPT_BUDGET / MB} MB), heaviest first, with its "
             "largest responses; in brackets, the total once scrolled to the bottom", ""]
    for path, v in ranked:
        lines.append(f"{v.weight / MB:6.2f} MB  {path}  (script {v.script_weight / MB:.2f} MB; "
                     f"scrolled {v.scrolled_weight / MB:.2f} MB)")
        lines += [f"           {s / MB:6.3f} MB  {urlparse(u).path}" for s, u in v.heaviest[:5]]
    (ARTIFACTS / "page-weights.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    problems = []
    for path, v in ranked:
        if v.weight > PAGE_BUDGET:
            top = ", ".join(f"{urlparse(u).path} {s / MB:.2f} MB" for s, u in v.heaviest[:4])
            problems.append(f"{path}: {v.weight / MB:.2f} MB loaded, over {PAGE_BUDGET / MB} MB "
                            f"(largest: {top})")
        if v.script_weight > SCRIPT_BUDGET:
            problems.append(f"{path}: {v.script_weight / MB:.2f} MB of script before any "
                            f"interaction, over {SCRIPT_BUDGET / MB} MB")
    assert not problems, report(problems, "pages over the weight budget")


def test_every_image_gif_and_audio_file_within_budget(site_dir):
    problems = [f"{p.relative_to(site_dir)}: {p.stat().st_size / MB:.2f} MB, over "
                f"{FILE_BUDGET / MB} MB"
                for p in sorted(site_dir.rglob("*"))
                if p.suffix.lower() in MEDIA_SUFFIXES and p.stat().st_size > FILE_BUDGET]
    assert not problems, report(problems, "files over the budget")


# --- behaviour ---------------------------------------------------------------------------------

def _distinctive_word(site: Path, location: str) -> str:
    """A word in the search index's text of `location` and in no other page's text."""
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))

    def plain(text: str) -> str:
        return html.unescape(re.sub(r"<[^>]+>", " ", text))

    own, others = {}, []
    for doc in index["docs"]:
        text = plain(doc.get("title", "") + " " + doc.get("text", ""))
        if doc["location"].split("#")[0] == location:
            for token in re.split(r"[\s\-]+", text):
                if re.fullmatch(r"[A-Za-z]{8,}", token):
                    own[token.lower()] = own.get(token.lower(), 0) + 1
        else:
            others.append(text.lower())
    elsewhere = " ".join(others)
    candidates = sorted((w for w in own if w not in elsewhere), key=lambda w: (-own[w], w))
    assert candidates, f"no word of {location} is absent from every other page"
    return candidates[0]


def search_for_a_notebook(page, site_dir: Path, root: str):
    """From the home page, search for a word that only the notebook SEARCH_PAGE contains and
    open the result. `root` is the site's address (http://.../ or file:///.../site/)."""
    location = SEARCH_PAGE
    if not (site_dir / location).exists():   # a site built with other demos
        location = next(p for p in site_pages(site_dir) if p.startswith("generated/"))
    word = _distinctive_word(site_dir, location)
    page.goto(root + "index.html", wait_until="load")
    query = page.locator("input.md-search__input")
    page.keyboard.press("/")   # the theme's shortcut for the search box
    if not query.evaluate("el => el === document.activeElement"):
        query.click()
    page.keyboard.type(word, delay=20)   # the theme searches on key presses
    target = root + location
    try:
        page.wait_for_function(
            """target => [...document.querySelectorAll("a.md-search-result__link")]
                 .some(a => a.href.startsWith(target))""", arg=target, timeout=15000)
    except PlaywrightTimeout:
        found = page.eval_on_selector_all("a.md-search-result__link", "as => as.map(a => a.href)")
        pytest.fail(f"searching index.html for '{word}' gave no link to {location}; "
                    f"results: {found}")
    page.locator(f'a.md-search-result__link[href*="{location}"]').first.click()
    page.wait_for_url(target + "**", timeout=10000)


def test_search_finds_a_demo_notebook_by_a_word_from_its_text(site_dir, base_url, browser):
    context, page, recorder = new_page(browser, base_url, DESKTOP)
    try:
        search_for_a_notebook(page, site_dir, base_url)
    finally:
        context.close()
    assert not recorder.errors, report(recorder.errors, "errors while searching")


def test_palette_toggle_switches_and_persists_across_pages(base_url, browser):
    context, page, recorder = new_page(browser, base_url, DESKTOP)
    scheme = "() => document.body.dataset.mdColorScheme"
    try:
        page.goto(base_url, wait_until="load")
        assert page.evaluate(scheme) == "default", "index.html does not start in the light palette"
        switch_palette(page, "slate")
        page.goto(page_url(base_url, "introduction/overview.html"), wait_until="load")
        assert page.evaluate(scheme) == "slate", \
            "introduction/overview.html: the dark palette chosen on index.html did not persist"
        switch_palette(page, "default")
        page.goto(page_url(base_url, "how-this-site-is-built.html"), wait_until="load")
        assert page.evaluate(scheme) == "default", \
            "how-this-site-is-built.html: switching back to the light palette did not persist"
    finally:
        context.close()
    assert not recorder.errors, report(recorder.errors, "errors while switching palettes")


NAV_LINK = "nav.md-nav--primary a.md-nav__link[href]"

# The nested sections (their toggle ids) that contain the navigation link to `target`, outermost
# first, and the sections open now.
NAV_STATE = """target => {
  const link = [...document.querySelectorAll("nav.md-nav--primary a.md-nav__link[href]")]
    .find(a => a.href.split("#")[0] === target);
  const ancestors = [];
  for (let li = link && link.closest("li.md-nav__item--nested"); li;
       li = li.parentElement.closest("li.md-nav__item--nested")) {
    const toggle = li.querySelector(":scope > input.md-nav__toggle");
    if (toggle && !link.closest(".md-nav__container")?.parentElement.isSameNode(li))
      ancestors.unshift(toggle.id);
  }
  const open = [...document.querySelectorAll("nav.md-nav--primary input.md-nav__toggle:checked")]
    .map(t => t.id).filter(id => id.startsWith("__nav_"));
  return {found: !!link, ancestors, open};
}"""


def click_nav_link(page, target: str, label: str):
    """Open the drawer and reach the link to `target` as a phone user would: back out of open
    sections that do not contain it, open those that do, then click it."""
    here = page.url
    page.locator("label.md-header__button[for=__drawer]").click()
    settle(page)
    for _ in range(8):
        text = page.evaluate(
            """([target, selector]) => {
                 document.querySelector("[data-test-next]")?.removeAttribute("data-test-next");
                 const onTop = a => {   // on screen and not covered by another nav level
                   let r = a.getBoundingClientRect();
                   if (r.width === 0 || r.left < 0 || r.right > innerWidth + 1) return false;
                   a.scrollIntoView({block: "nearest"});   // a long drawer scrolls
                   r = a.getBoundingClientRect();
                   const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                   return !!hit && a.contains(hit);
                 };
                 const link = [...document.querySelectorAll(selector)].find(a =>
                   a.href.split("#")[0] === target && onTop(a));
                 if (!link) return null;
                 link.setAttribute("data-test-next", "");
                 return link.textContent.trim();
               }""", [target, NAV_LINK])
        if text is not None:
            page.locator("[data-test-next]").click()
            page.wait_for_url(target + "**", timeout=10000)
            assert page.url.split("#")[0] == target, \
                f"{here}: the navigation link '{text}' led to {page.url}, not {target}"
            return
        state = page.evaluate(NAV_STATE, target)
        assert state["found"], f"{here}: no navigation link to {label} ({target})"
        away = [t for t in state["open"] if t not in state["ancestors"]]
        if away:      # a section that does not hold the link is open: go back out of it
            page.locator(f"label.md-nav__title[for={away[-1]}]").click()
        else:         # open the next section on the way to the link
            closed = [t for t in state["ancestors"] if t not in state["open"]]
            assert closed, f"{here}: the navigation link to {label} ({target}) stays hidden"
            page.locator(f"label.md-nav__link[for={closed[0]}]").click()
        settle(page)
    pytest.fail(f"{here}: could not reach the navigation link to {label} ({target})")


def walk_the_navigation(page, site_dir: Path, root: str):
    """At phone width, through the drawer: each outline page from the one before, starting on
    the home page, then every other page in the navigation, then home again."""
    home = root + "index.html"
    page.goto(home, wait_until="load")
    nav = {a.split("#")[0] for a in page.eval_on_selector_all(
        NAV_LINK, "links => links.map(a => a.href)")}
    orphans = [p for p in site_pages(site_dir) if p != "404.html" and root + p not in nav]
    assert not orphans, f"pages missing from the navigation of index.html: {orphans}"
    outline = [(label, root + path) for label, path in OUTLINE]
    others = [(url, url) for url in sorted(nav - {url for _, url in outline} - {home})]
    for label, target in outline + others + [("Home", home)]:
        click_nav_link(page, target, label)


def test_navigation_reaches_every_outline_page_from_home(site_dir, base_url, browser):
    context, page, recorder = new_page(browser, base_url, MOBILE)
    try:
        walk_the_navigation(page, site_dir, base_url)
    finally:
        context.close()
    assert not recorder.errors, report(recorder.errors, "errors while navigating")


def test_the_search_index_loads_when_the_reader_turns_to_search(site_dir, base_url, browser):
    """Every page used to load the whole search index as it opened; assets/search-on-demand.js
    holds it back until the reader reaches the search box, over http and from file://."""
    for root in (base_url, site_dir.resolve().as_uri() + "/"):
        context, page, recorder = new_page(browser, root, DESKTOP)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "search_index" in r.url else None)
        try:
            page.goto(root + "introduction/overview.html", wait_until="load")
            page.wait_for_timeout(1500)
            assert not asked, f"{root}: the search index loaded on open: {asked}"
            page.keyboard.press("/")   # the theme's shortcut: focuses the search box
            deadline = time.monotonic() + 10
            while not asked and time.monotonic() < deadline:
                page.wait_for_timeout(100)
            assert asked, f"{root}: focusing the search box did not load the search index"
        finally:
            context.close()


def test_the_site_works_from_a_folder_with_the_network_cut_off(site_dir, browser):
    """Opened as site/index.html (file://), with every request that is not to a file aborted:
    the navigation reaches every page and search finds a notebook."""
    root = site_dir.resolve().as_uri() + "/"
    blocked: list[str] = []

    def cut_off(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    for viewport, walk in ((MOBILE, walk_the_navigation), (DESKTOP, search_for_a_notebook)):
        context, page, recorder = new_page(browser, root, viewport)
        context.route("**/*", cut_off)
        try:
            walk(page, site_dir, root)
        finally:
            context.close()
        assert not recorder.errors, report(recorder.errors, f"errors from file:// ({walk.__name__})")
    assert not blocked, report(blocked, "requests that left the folder")


# --- links -------------------------------------------------------------------------------------

class _Anchors(HTMLParser):
    """The ids a page defines and the links (a href) it makes."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag in ("a", "area") and attrs.get("href") is not None:
            self.links.append(attrs["href"])


def test_every_internal_link_and_anchor_resolves(site_dir):
    parsed: dict[Path, _Anchors] = {}

    def anchors(path: Path) -> _Anchors:
        if path not in parsed:
            parser = _Anchors()
            parser.feed(path.read_text(encoding="utf-8"))
            parsed[path] = parser
        return parsed[path]

    problems, external = [], {}
    for name in site_pages(site_dir):
        page = site_dir / name
        for href in anchors(page).links:
            url = urlparse(href.strip())
            if url.scheme in ("mailto", "tel", "javascript", "data"):
                continue
            if url.scheme or url.netloc:
                external.setdefault(href.strip(), set()).add(name)
                continue
            path = unquote(url.path)
            if not path:
                target = page
            elif path.startswith("/"):
                target = site_dir / path.lstrip("/")
            else:
                target = page.parent / path
            target = Path(os.path.normpath(target))
            if target.is_dir():
                target = target / "index.html"
            if site_dir.resolve() not in target.resolve().parents:
                problems.append(f"{name}: link {href!r} leaves the site")
            elif not target.is_file():
                problems.append(f"{name}: link {href!r} -> {target.relative_to(site_dir)} "
                                "does not exist")
            elif url.fragment and target.suffix == ".html":
                fragment = unquote(url.fragment)
                if fragment not in anchors(target).ids and fragment != "top":
                    problems.append(f"{name}: link {href!r} -> no element with id "
                                    f"'{fragment}' in {target.relative_to(site_dir)}")

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    lines = ["# External links found in the built site (listed, not fetched): URL <- pages", ""]
    lines += [f"{url} <- {', '.join(sorted(pages))}" for url, pages in sorted(external.items())]
    (ARTIFACTS / "external-links.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert not problems, report(problems, "broken internal links or anchors")
