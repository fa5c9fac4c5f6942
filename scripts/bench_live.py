"""Benchmark the live widgets in headless Chromium, from file:// with the network blocked, and
write the results into BENCHMARKS.md between `<!-- live:start -->` and `<!-- live:end -->`.

    python scripts/bench_live.py [--site DIR] [--repeats N] [--no-write]

Without --site the project's site is built first in a temporary folder (tests/live_support.py).
Every page of the site holding a `.live-widget` is measured; for each page and widget:

- script bytes loaded before any interaction: the page opened at its top, nothing clicked or
  scrolled, all resources counted after the page has been quiet for a moment (images, audio
  and video excluded; a widget would count if it started without the reader);
- each widget's runtime plus weights: in a fresh page where no widget starts by itself, the
  script bytes that pressing that widget's Start loads (so the TF.js runtime is counted for
  every widget, as if it were the only one the reader opens);
- time to first live output: from pressing Start to the widget being ready, and from the start
  of navigation when Start is pressed as soon as the page has loaded;
- widget-specific speeds from MEASURES (digits: milliseconds per slider move).

Sizes are the files' sizes on disk (file:// has no transfer encoding). To cover a new widget,
add a function to MEASURES under its data-widget name: it gets the Playwright page (widget
ready) and the widget's CSS selector, and returns {label: (value, unit, goal text)}.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import live_support  # noqa: E402

BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- live:start -->", "<!-- live:end -->"
MEDIA = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".wav", ".mp3", ".ogg",
         ".mp4", ".webm", ".ico", ".woff", ".woff2"}
SCRIPT_BUDGET_BEFORE = 1_000_000   # issue 9, section 7
WIDGET_BUDGET = 2_000_000


# --- widget-specific measures ----------------------------------------------------------------------

def measure_digits(page, selector: str) -> dict:
    """Milliseconds from a slider's input event to the new picture on the canvas (model run and
    drawing, in the event handler), over 60 moves of the first noise slider."""
    times = page.evaluate("""sel => {
        const input = document.querySelector(sel + ' input[type=range]'), out = [];
        for (let i = 0; i < 60; i++) {
            input.value = String(-3 + i * 0.1);
            const t = performance.now();
            input.dispatchEvent(new Event('input', {bubbles: true}));
            out.push(performance.now() - t);
        }
        return out;
    }""", selector)
    times = sorted(times[5:])   # the first moves include one-off warm-up
    return {"ms per slider move (median)": (statistics.median(times), "ms", "goal ≤ 50 ms"),
            "ms per slider move (95th percentile)": (times[int(0.95 * (len(times) - 1))], "ms", "")}


def measure_typeface(page, selector: str) -> dict:
    """Milliseconds from a style slider's event to the redrawn letters (decode and drawing, coalesced
    to one animation frame): while it moves (`input`: the reader's line, 15 letters) and when it
    is let go (`change`: all 52 letters)."""
    times = page.evaluate("""async sel => {
        const el = document.querySelector(sel), w = el.liveTypeface;
        const input = el.querySelectorAll('input[type=range]')[1], drag = [], release = [];
        for (let i = 0; i < 20; i++) {
            input.value = String(-1 + 0.1 * i);
            const t = performance.now();
            input.dispatchEvent(new Event('input', {bubbles: true}));
            await w.idle();
            drag.push(performance.now() - t);
        }
        for (let i = 0; i < 6; i++) {
            input.value = String(1 - 0.2 * i);
            const t = performance.now();
            input.dispatchEvent(new Event('input', {bubbles: true}));
            input.dispatchEvent(new Event('change', {bubbles: true}));
            await w.idle();
            release.push(performance.now() - t);
        }
        return {drag: drag.slice(2), release: release.slice(1)};
    }""", selector)
    return {"ms per slider move, reader's line (median)": (statistics.median(times["drag"]), "ms", "goal ≤ 50 ms"),
            "ms per slider release, all 52 letters (median)": (statistics.median(times["release"]), "ms", "")}


def measure_worlds(page, selector: str) -> dict:
    """Milliseconds for a new world: the generator alone, and generation plus shading and drawing."""
    times = page.evaluate("""async sel => {
        const el = document.querySelector(sel), w = el.liveWorlds, field = el.querySelector('input[type=number]');
        const generate = [], whole = [];
        for (let i = 0; i < 12; i++) {
            let t = performance.now();
            await w.generate(1000 + i);
            generate.push(performance.now() - t);
            field.value = String(2000 + i);
            t = performance.now();
            await w.draw();
            whole.push(performance.now() - t);
        }
        return {generate: generate.slice(2), whole: whole.slice(2)};
    }""", selector)
    return {"ms per new world, generator only (median)": (statistics.median(times["generate"]), "ms", ""),
            "ms per new world, generated, shaded and drawn (median)": (statistics.median(times["whole"]), "ms", "")}


def measure_text(page, selector: str) -> dict:
    """Characters per second written by the text widget (docs/assets/live/text.js): three
    presses of Write at 500 characters each, from the default opening; the widget's own count
    (characters written over the seconds from the press to the last one, reading included)."""
    rates = []
    widget = page.locator(selector)
    widget.get_by_label("Characters per press").select_option("500")
    for _ in range(3):
        widget.get_by_role("button", name="Write", exact=True).click()
        page.wait_for_function(
            "s => /^Wrote/.test(document.querySelector(s + ' .live-text .live-status').textContent)",
            arg=selector, timeout=300_000)
        rates.append(float(page.evaluate("s => document.querySelector(s).dataset.charsPerSecond",
                                         selector)))
    return {"characters per second (median of 3 × 500)": (statistics.median(rates), "chars/s",
                                                           "goal ≥ 50 (CPU backend)")}


def measure_music(page, selector: str) -> dict:
    """Seconds from pressing Compose to a playable eight-bar chorale (docs/assets/live/music.js),
    for seeds 1 to 3: the widget's own timing of the composition."""
    seconds = []
    widget = page.locator(selector)
    for seed in (1, 2, 3):
        widget.get_by_label("Seed").fill(str(seed))
        page.evaluate("s => { document.querySelector(s).dataset.composeSeconds = ''; }", selector)
        widget.get_by_role("button", name="Compose").click()
        page.wait_for_function("s => document.querySelector(s).dataset.composeSeconds",
                               arg=selector, timeout=300_000)
        seconds.append(float(page.evaluate("s => document.querySelector(s).dataset.composeSeconds",
                                           selector)))
    return {"seconds to a playable chorale (median of 3)": (statistics.median(seconds), "s", "")}


MEASURES = {"digits": measure_digits, "typeface": measure_typeface, "worlds": measure_worlds,
            "text": measure_text, "music": measure_music}


# --- measuring ---------------------------------------------------------------------------------------

def loaded_files(page, site: Path) -> dict[str, int]:
    """Files under the site the page has loaded so far (document and resources), with sizes."""
    # Chromium keeps no resource timing for file:// loads; Playwright sees every request.
    urls = list(page.requested)
    files = {}
    for url in urls:
        parsed = urlparse(url)
        if parsed.scheme != "file":
            continue
        path = Path(unquote(parsed.path))
        if path.is_file():
            try:
                files[str(path.relative_to(site))] = path.stat().st_size
            except ValueError:
                files[str(path)] = path.stat().st_size
    return files


def script_bytes(files: dict[str, int]) -> int:
    return sum(size for name, size in files.items() if name.endswith(".js"))


def non_media_bytes(files: dict[str, int]) -> int:
    return sum(size for name, size in files.items() if Path(name).suffix.lower() not in MEDIA)


def widget_pages(site: Path) -> dict[str, list[str]]:
    """Page path -> the data-widget names of its widgets, in page order."""
    pages = {}
    for html in sorted(site.rglob("*.html")):
        text = html.read_text(encoding="utf-8", errors="replace")
        names = re.findall(r'<div[^>]*class="live-widget"[^>]*>', text)
        widgets = [re.search(r'data-widget="([^"]+)"', tag).group(1) for tag in names
                   if 'data-widget="' in tag]
        if widgets:
            pages[str(html.relative_to(site))] = widgets
    return pages


def quiet(page, ms: int = 2500):
    page.wait_for_load_state("load")
    page.wait_for_timeout(ms)


def bench_page(browser, site: Path, page_path: str, widgets: list[str], repeats: int) -> dict:
    result = {"page": page_path, "widgets": []}
    page = live_support.open_page(browser, site, page_path)
    quiet(page)
    files = loaded_files(page, site)
    result["script_before"] = script_bytes(files)
    result["scripts_before"] = {k: v for k, v in files.items() if k.endswith(".js")}
    result["bytes_before"] = non_media_bytes(files)
    result["errors"] = live_support.widget_errors(page) + page.blocked_requests
    page.context.close()

    for index, name in enumerate(widgets):
        starts, from_nav, weights, extra = [], [], None, {}
        for repeat in range(repeats):
            page = open_manual(browser, site, page_path)
            before = loaded_files(page, site)
            page.evaluate("([sel, i]) => document.querySelectorAll(sel)[i].liveStart()",
                          [".live-widget", index])
            nth = f"(document.querySelectorAll('.live-widget')[{index}])"
            page.wait_for_function(f"() => ['ready', 'failed'].includes({nth}.liveState)",
                                   timeout=120_000)
            state = page.evaluate(f"() => ({{s: {nth}.liveState, a: {nth}.liveStartedAt, "
                                  f"b: {nth}.liveReadyAt, line: {nth}.querySelector('.live-status').textContent}})")
            if state["s"] != "ready":
                result["errors"].append(f"{name}: {state['line']}")
                page.context.close()
                break
            after = loaded_files(page, site)
            weights = script_bytes({k: v for k, v in after.items() if k not in before})
            starts.append(state["b"] - state["a"])
            from_nav.append(state["b"])
            if repeat == 0 and name in MEASURES:
                page.evaluate(f"() => {nth}.setAttribute('data-bench', 'measured')")
                extra = MEASURES[name](page, '.live-widget[data-bench="measured"]')
            page.context.close()
        result["widgets"].append({
            "name": name, "runtime_and_weights": weights,
            "start_to_ready_ms": statistics.median(starts) if starts else None,
            "navigation_to_ready_ms": statistics.median(from_nav) if from_nav else None,
            "measures": extra})
    return result


def open_manual(browser, site: Path, page_path: str):
    """The page with no widget starting by itself; Start is pressed as soon as it has loaded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script("window.LIVE_MANUAL = true;")
    context.route("**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort())
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    page.goto((site / page_path).resolve().as_uri(), wait_until="load")
    return page


# --- report -------------------------------------------------------------------------------------------

def kb(n) -> str:
    return "–" if n is None else f"{n / 1000:,.0f} KB"


def ms(n) -> str:
    return "–" if n is None else f"{n:,.0f} ms"


def report(results: list[dict], chromium: str, repeats: int, took: float) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "## Live widgets", "",
        f"Measured by `python scripts/bench_live.py` on {when}: headless Chromium {chromium}, "
        f"pages opened from `file://` with the network blocked, {os.cpu_count()} CPU cores "
        f"(load average {load:.1f} at the end), TF.js CPU backend; times are medians of "
        f"{repeats} fresh page loads ({took:.0f} s in all). Budgets from issue 9: at most "
        f"{SCRIPT_BUDGET_BEFORE / 1e6:.0f} MB of script before any interaction, at most "
        f"{WIDGET_BUDGET / 1e6:.0f} MB of runtime plus weights per widget.", "",
        "| Page | Script before any interaction | Widget | Runtime + weights | Start → first output | Navigation → first output (Start pressed on load) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        first = True
        for w in r["widgets"] or [{"name": "–"}]:
            lines.append(
                f"| {r['page'] if first else ''} | {kb(r['script_before']) if first else ''} | "
                f"{w['name']} | {kb(w.get('runtime_and_weights'))} | "
                f"{ms(w.get('start_to_ready_ms'))} | {ms(w.get('navigation_to_ready_ms'))} |")
            first = False
    extra = [(r["page"], w["name"], label, value)
             for r in results for w in r["widgets"] for label, value in w.get("measures", {}).items()]
    if extra:
        lines += ["", "| Widget | Measure | Value | Goal |", "|---|---|---|---|"]
        for _, name, label, (value, unit, goal) in extra:
            lines.append(f"| {name} | {label} | {value:,.1f} {unit} | {goal} |")
    problems = [(r["page"], e) for r in results for e in r["errors"]]
    lines += ["", "Script before interaction counts every `.js` file the page loaded at its top "
              "without a click or a scroll (no widget starts until the reader scrolls or presses "
              "its Start; the largest files are listed below); runtime + weights is what "
              "pressing one widget's Start loads in a page where nothing had started.", ""]
    for r in results:
        top = sorted(r.get("scripts_before", {}).items(), key=lambda item: -item[1])[:4]
        lines.append(f"- {r['page']}: " + ", ".join(f"`{name}` {kb(size)}" for name, size in top))
    if problems:
        lines += ["", "Problems seen while measuring:"] + [f"- {p}: {e}" for p, e in problems]
    return "\n".join(lines) + "\n"


def write(section: str, path: Path = BENCHMARKS):
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    block = f"{START}\n{section}{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda m: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site (default: build one first)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print, do not edit BENCHMARKS.md")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        site = args.site.resolve() if args.site else live_support.build_site(Path(tmp))
        pages = widget_pages(site)
        if not pages:
            print(f"no page of {site} holds a live widget", file=sys.stderr)
            return 1
        with sync_playwright() as playwright:
            browser = live_support.launch(playwright)
            results = [bench_page(browser, site, p, w, args.repeats) for p, w in pages.items()]
            chromium = browser.version
            browser.close()
    section = report(results, chromium, args.repeats, time.time() - started)
    print(section)
    if not args.no_write:
        write(section)
        print(f"wrote {BENCHMARKS.relative_to(ROOT)} (between {START} and {END})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
