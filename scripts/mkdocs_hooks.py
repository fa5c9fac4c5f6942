"""mkdocs hooks: connect the pages to what the demos generated.

- `{{ metrics.DEMO.KEY | FORMAT }}` in a page becomes the number from
  docs/generated/DEMO/metrics.json, formatted with a Python format spec (`.2f`, `.0%`), so no
  measured number is ever typed into prose. Write `\\{{ ... }}` to show the syntax literally.
- `{{ gallery }}` becomes a grid of every demo's headline figure; `{{ demo_table }}` a table of
  the demos with their last run.
- A page or nav entry that references a generated file which does not exist fails the build
  with the name of the demo and the command that makes it.
- TeX math (`$...$`, `$$...$$`, `\\(...\\)`) is rendered to MathML here, at build time, and
  notebook pages lose the MathJax/Mermaid scripts that nbconvert would load from a CDN: the
  built site makes no request to any other host.
"""

from __future__ import annotations

import json
import posixpath
import re
import sys
from pathlib import Path

from latex2mathml.converter import convert as tex_to_mathml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402  (the pipeline: demo discovery and the manifest)

PLACEHOLDER = re.compile(r"(\\?)\{\{\s*(metrics\.(\w+)\.(\w+)(?:\s*\|\s*([^}\s]+))?|gallery|demo_table)\s*\}\}")
REFERENCE = re.compile(r'\b(?:src|href)="([^"#?]+)')
REMOTE_SCRIPT = re.compile(r"<script\b[^>]*>(?:(?!</script>).)*?https?://(?:(?!</script>).)*</script>",
                           re.DOTALL | re.IGNORECASE)
# Math is only looked for in text: never in code, scripts, styles, or inside a tag's attributes.
PROTECTED = re.compile(r"(<(pre|code|script|style|textarea)\b.*?</\2>|<[^>]*>)", re.DOTALL | re.IGNORECASE)
MATH = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]|(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])|\\\((.+?)\\\)",
                  re.DOTALL)


def _remedy(demo: str) -> str:
    return (f"run `python scripts/build.py --only {demo}` (add `--profile quick` for a fast "
            "preview), or `make site`")


def _missing(what: str, where: str, demo: str) -> PluginError:
    return PluginError(f"{where} references {what}, which the '{demo}' demo has not generated: "
                       f"{_remedy(demo)}")


# --- configuration --------------------------------------------------------------------------

def _nav_paths(nav):
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_paths(value)
    elif isinstance(nav, list):
        for item in nav:
            yield from _nav_paths(item)


def on_config(config):
    docs = Path(config["docs_dir"])
    for path in _nav_paths(config["nav"] or []):
        if path.startswith("generated/") and not (docs / path).exists():
            raise _missing(path, "The nav in mkdocs.yml", path.split("/")[1])
    return config


# --- browser-side packages: copied from node_modules (pinned by package-lock.json) ---------------

# Site path: file in node_modules. Never a CDN: the site works from a folder, offline.
VENDOR = {
    "assets/vendor/tf-core.min.js": "@tensorflow/tfjs-core/dist/tf-core.es2017.min.js",
    "assets/vendor/tf-backend-cpu.min.js": "@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.es2017.min.js",
    "assets/vendor/tf-backend-webgl.min.js": "@tensorflow/tfjs-backend-webgl/dist/tf-backend-webgl.es2017.min.js",
    "assets/vendor/iframe-worker-shim.js": "iframe-worker/shim/index.js",
}


def on_files(files, config):
    modules = Path(config["config_file_path"]).parent / "node_modules"
    for site_path, package_file in VENDOR.items():
        source = modules / package_file
        if not source.exists():
            raise PluginError(f"{source} is missing: run `npm ci` (or `make site`) to install the "
                              "browser-side packages pinned in package-lock.json")
        files.append(File.generated(config, site_path, abs_src_path=str(source)))
    return files


# --- Markdown: metrics, gallery, demo table ------------------------------------------------

def _metric(docs: Path, page: str, demo: str, key: str, spec: str | None) -> str:
    path = docs / "generated" / demo / "metrics.json"
    if not path.exists():
        raise _missing(f"metrics of {demo}", page, demo)
    metrics = json.loads(path.read_text())
    if key not in metrics:
        raise PluginError(f"{page} asks for metric '{key}' of '{demo}', which it does not report "
                          f"(it reports: {', '.join(metrics)})")
    return format(metrics[key], spec or ".3g")


def _relative(page_src: str, target: str) -> str:
    return posixpath.relpath(target, posixpath.dirname(page_src) or ".")


def _gallery(page_src: str) -> str:
    cards = []
    for name, demo in build.discover().items():
        headline = demo.fields.get("Headline")
        section = demo.fields.get("Page", "")
        if not headline:
            continue
        image = _relative(page_src, f"generated/{name}/{headline}")
        section_link = _relative(page_src, section.split("#")[0]) + \
            ("#" + section.split("#")[1] if "#" in section else "")
        notebook = _relative(page_src, f"generated/{name}/{name}.ipynb")
        area, _, what = demo.title.partition(":")
        cards.append(
            f"-   [![{demo.title}. {demo.description}]({image}){{ loading=lazy }}]({section_link})\n\n"
            f"    **[{area.strip()}]({section_link})**: {what.strip() or demo.description}"
            f" · [code and outputs]({notebook})\n")
    return '<div class="grid cards gallery" markdown>\n\n' + "\n".join(cards) + "\n</div>\n"


def _demo_table(page_src: str) -> str:
    manifest = build.load_manifest()["demos"]
    rows = ["| Demo | What it shows | Profile | Last run | Run time |", "|---|---|---|---|---|"]
    for name, demo in build.discover().items():
        entry = manifest.get(name, {})
        notebook = _relative(page_src, f"generated/{name}/{name}.ipynb")
        when = entry.get("started", "never")[:10]
        took = f"{entry['duration_s']:.0f} s" if "duration_s" in entry else "–"
        rows.append(f"| [{demo.title.partition(':')[0]}]({notebook}) | {demo.description} | "
                    f"{entry.get('profile', '–')} | {when} | {took} |")
    return "\n".join(rows) + "\n"


def on_page_markdown(markdown, page, config, files):
    docs = Path(config["docs_dir"])
    src = page.file.src_uri

    def fill(match):
        escaped, body, demo, key, spec = match.groups()
        if escaped:
            return match.group(0)[1:]
        if body == "gallery":
            return _gallery(src)
        if body == "demo_table":
            return _demo_table(src)
        return _metric(docs, src, demo, key, spec)

    return PLACEHOLDER.sub(fill, markdown)


# --- HTML: generated files exist, math, no remote scripts -------------------------------------

def _render_math(html: str) -> str:
    def mathml(match):
        block_tex = match.group(1) or match.group(2)
        tex = block_tex or match.group(3) or match.group(4)
        tex = tex.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
        try:
            return tex_to_mathml(tex.strip(), display="block" if block_tex else "inline")
        except Exception:  # two dollar signs in prose that were never math: leave the text alone
            return match.group(0)

    # split() with two groups yields text, whole protected match, inner tag name, text, ...
    parts = PROTECTED.split(html)
    return "".join(MATH.sub(mathml, p) if i % 3 == 0 else p
                   for i, p in enumerate(parts) if i % 3 != 2)


def on_page_content(html, page, config, files):
    docs = Path(config["docs_dir"])
    html = REMOTE_SCRIPT.sub("", html)
    base = posixpath.dirname(page.url.rstrip("/")) if not page.url.endswith("/") else page.url
    src_dir = posixpath.dirname(page.file.src_uri)
    for ref in REFERENCE.findall(html):
        if re.match(r"^[a-z]+:|^//", ref) or "." not in posixpath.basename(ref):
            continue
        # mkdocs rewrites Markdown links to files that exist relative to the page's URL, and
        # leaves links to missing files as written, relative to the Markdown file.
        targets = {posixpath.normpath(posixpath.join(base, ref)),
                   posixpath.normpath(posixpath.join(src_dir, ref))}
        generated = [t for t in targets if t.startswith("generated/")]
        if generated and not any((docs / t).exists() for t in generated):
            raise _missing(generated[0], page.file.src_uri, generated[0].split("/")[1])
    return _render_math(html)


# --- accessibility ------------------------------------------------------------------------------

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'


def on_post_page(output, page, config):
    # The theme's search dialog has no accessible name (axe: aria-dialog-name); give it one.
    return output.replace(SEARCH_DIALOG, SEARCH_DIALOG[:-1] + ' aria-label="Search">')


def on_post_template(output_content, template_name, config):
    # 404.html is rendered from a template, not a page, so it needs the same fix.
    return on_post_page(output_content, None, config)
