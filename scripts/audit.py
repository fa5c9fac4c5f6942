"""`make audit`: Lighthouse over every page of the built site; the scores go into BENCHMARKS.md.

The site in site/ (or --site) is served on loopback the way a static host serves it (text
gzipped), and Lighthouse 12 (npm, installed in scripts/lighthouse/ by `make audit`) audits each
page in turn with Debian's chromium ($CHROME_PATH, default /usr/bin/chromium), in its default
mobile emulation with simulated throttling. The four category scores and the main timings of
every page, with the machine's load before and after, replace the text between
`<!-- audit:start -->` and `<!-- audit:end -->` in BENCHMARKS.md (the section is added if it is
missing). Scores move with the load of the machine, so this is a benchmark, not a test.

    python scripts/audit.py [--site site] [--only index.html ...] [--no-write] [--reports DIR]
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIGHTHOUSE = ROOT / "scripts" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
BENCHMARKS = ROOT / "BENCHMARKS.md"
START, END = "<!-- audit:start -->", "<!-- audit:end -->"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
GOALS = {"performance": 90, "accessibility": 100, "best-practices": 100, "seo": 100}
CHROME_FLAGS = ("--headless=new --no-sandbox --disable-gpu --no-first-run "
                "--disable-background-networking --disable-component-update --disable-sync")


class Handler(SimpleHTTPRequestHandler):
    """Static files, text gzipped when the browser asks (as hosts do), no request log."""

    COMPRESSED = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt"}

    def log_message(self, format, *args):   # noqa: A002 - the base class's signature
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or path.suffix not in self.COMPRESSED or \
                "gzip" not in self.headers.get("Accept-Encoding", ""):
            return super().send_head()
        data = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=3600")
        self.end_headers()
        return io.BytesIO(data)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass


def pages(site: Path) -> list[str]:
    """Every page but 404.html (a host shows it only for addresses that do not exist)."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if p.relative_to(site).as_posix() != "404.html")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def audit_page(url: str, chrome: str, out: Path) -> dict:
    env = dict(os.environ, CHROME_PATH=chrome)
    command = [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={out}",
               f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={CHROME_FLAGS}"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if result.returncode != 0 or not out.is_file():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"lighthouse failed on {url}: {last}")
    report = json.loads(out.read_text())
    scores = {c: report["categories"][c]["score"] for c in CATEGORIES}
    audits = report["audits"]

    def value(name: str) -> float | None:
        return audits.get(name, {}).get("numericValue")

    failing = sorted(a["id"] for a in audits.values()
                     if a.get("score") is not None and a["score"] < 0.9
                     and a.get("scoreDisplayMode") in ("binary", "metricSavings", "numeric"))
    return {"scores": {c: None if s is None else round(s * 100) for c, s in scores.items()},
            "lcp_ms": value("largest-contentful-paint"), "tbt_ms": value("total-blocking-time"),
            "cls": value("cumulative-layout-shift"), "fcp_ms": value("first-contentful-paint"),
            "failing": failing, "warnings": report.get("runWarnings", [])}


def table(results: dict[str, dict], before: str, after: str, site: Path, seconds: float,
          note: str) -> str:
    versions = json.loads((LIGHTHOUSE.parents[1] / "lighthouse" / "package.json").read_text())["version"]
    chrome = subprocess.run([os.environ.get("CHROME_PATH", "/usr/bin/chromium"), "--version"],
                            capture_output=True, text=True).stdout.strip()
    lines = [
        f"Written by `make audit` (`scripts/audit.py`) on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: "
        f"Lighthouse {versions}, {chrome}, default mobile emulation and simulated throttling, "
        f"the site in `{site.relative_to(ROOT) if site.is_relative_to(ROOT) else site}` served "
        f"on loopback (text gzipped), one page at a time, {seconds / 60:.0f} min in all.",
        "",
        f"- Machine: {os.cpu_count()} cores ({platform.processor() or platform.machine()}); load "
        f"average (1 / 5 / 15 min) {before} before the run, {after} after it. Performance "
        "scores fall when other work shares the cores; compare runs at similar load.",
    ]
    if note:
        lines.append(f"- {note}")
    lines += [
        f"- Goals: performance ≥ {GOALS['performance']}, accessibility, best practices and SEO "
        "100. Timings are Lighthouse's simulated mobile values.",
        "",
        "| Page | Performance | Accessibility | Best practices | SEO | FCP (s) | LCP (s) | TBT (ms) | CLS |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    below = []
    for path, r in results.items():
        s = r["scores"]
        cells = [("–" if s[c] is None else str(s[c])) for c in CATEGORIES]
        for c in CATEGORIES:
            if s[c] is not None and s[c] < GOALS[c]:
                below.append(f"{path}: {c} {s[c]}" + (
                    f" (LCP {r['lcp_ms'] / 1000:.1f} s, TBT {r['tbt_ms']:.0f} ms)"
                    if c == "performance" else f" (audits under 0.9: {', '.join(r['failing'])})"))
        lines.append(f"| {path} | " + " | ".join(cells) +
                     f" | {r['fcp_ms'] / 1000:.1f} | {r['lcp_ms'] / 1000:.1f} | {r['tbt_ms']:.0f} |"
                     f" {r['cls']:.3f} |")
    lines.append("")
    lines.append("Below a goal:" + (" none." if not below else "\n"))
    lines += [f"- {b}" for b in below]
    return "\n".join(lines)


def write(section: str) -> None:
    text = BENCHMARKS.read_text(encoding="utf-8") if BENCHMARKS.exists() else "# Benchmarks\n"
    block = f"{START}\n{section}\n{END}"
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END), lambda _: block, text,
                      flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n## Page audit (Lighthouse)\n\n" + block + "\n"
    BENCHMARKS.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=ROOT / "site", help="the built site")
    parser.add_argument("--only", nargs="+", metavar="PAGE", help="audit only these pages")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch BENCHMARKS.md")
    parser.add_argument("--note", default="", help="a line added to the report (e.g. the profile)")
    parser.add_argument("--reports", type=Path, metavar="DIR",
                        help="keep Lighthouse's JSON report of each page in DIR (for diagnosis)")
    args = parser.parse_args(argv)

    site = args.site.resolve()
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    if not (site / "index.html").is_file():
        print(f"audit.py: error: no built site in {site}: run `make site` first", file=sys.stderr)
        return 2
    if not LIGHTHOUSE.exists():
        print(f"audit.py: error: {LIGHTHOUSE} is missing: run `make audit` (it installs "
              "scripts/lighthouse/ with npm ci)", file=sys.stderr)
        return 2
    if not Path(chrome).exists():
        print(f"audit.py: error: {chrome} is missing: install Debian's chromium or set "
              "CHROME_PATH", file=sys.stderr)
        return 2
    wanted = pages(site)
    if args.only:
        unknown = [p for p in args.only if p not in wanted]
        if unknown:
            print(f"audit.py: error: no page {', '.join(unknown)} in {site}", file=sys.stderr)
            return 2
        wanted = args.only

    server = QuietServer(("127.0.0.1", 0), partial(Handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    before, started, results = load(), time.monotonic(), {}
    failed = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.reports.resolve() if args.reports else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for i, path in enumerate(wanted, 1):
                out = folder / (path.replace("/", "__").removesuffix(".html") + ".json")
                try:
                    r = audit_page(base + path, chrome, out)
                except (RuntimeError, subprocess.TimeoutExpired) as error:
                    # Unattended runs: one retry (a Chromium that did not start in time on a
                    # loaded machine), then the page is reported as not measured.
                    print(f"[{i}/{len(wanted)}] {path}: {error}; trying once more", flush=True)
                    try:
                        r = audit_page(base + path, chrome, out)
                    except (RuntimeError, subprocess.TimeoutExpired) as again:
                        failed.append(f"{path}: {again}")
                        continue
                results[path] = r
                s = r["scores"]
                print(f"[{i}/{len(wanted)}] {path:<70} " +
                      " ".join(f"{c[:4]} {s[c]}" for c in CATEGORIES) +
                      f"  LCP {r['lcp_ms'] / 1000:.1f} s TBT {r['tbt_ms']:.0f} ms", flush=True)
    finally:
        server.shutdown()
    if not results:
        print("audit.py: error: no page could be audited:\n" + "\n".join(failed), file=sys.stderr)
        return 1
    section = table(results, before, load(), site, time.monotonic() - started, args.note)
    if failed:
        section += "\n\nNot measured (Lighthouse failed twice):\n\n" + "\n".join(f"- {f}" for f in failed)
    if args.no_write:
        print(section)
    else:
        write(section)
        print(f"Wrote the scores of {len(results)} pages into {BENCHMARKS.relative_to(ROOT)}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
