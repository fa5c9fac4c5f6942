"""mkdocs hooks: connect the pages to what the demos generated, and make the pages light.

- `{{ metrics.DEMO.KEY | FORMAT }}` in a page becomes the number from
  docs/generated/DEMO/metrics.json, formatted with a Python format spec (`.2f`, `.0%`), so no
  measured number is ever typed into prose. Write `\\{{ ... }}` to show the syntax literally. A
  demo that does not exist, a metric it does not write, or a placeholder that cannot be read
  fails the build, naming the page, the demo and the key.
- `{{ gallery }}` becomes a grid of every demo's headline figure; `{{ demo_table }}` a table of
  the demos with their last run.
- A page or nav entry that references a generated file which does not exist fails the build
  with the name of the demo and the command that makes it.
- TeX math (`$...$`, `$$...$$`, `\\(...\\)`) is rendered to MathML here, at build time, and
  notebook pages lose the MathJax/Mermaid scripts that nbconvert would load from a CDN: the
  built site makes no request to any other host.
- The site works when opened from a folder (`file://`): the theme's `offline` plugin inlines the
  search index, and the iframe-worker shim it would fetch from unpkg is served from
  assets/vendor/ (copied from node_modules), loaded just before the theme's script.
- Images: every raster image on a page gets WebP versions at the sizes it is shown (and twice
  that for sharp screens) in a <picture>, width and height (no layout shift), and lazy loading
  except for the first one; a GIF becomes an animated WebP with the GIF as fallback and a still
  frame for readers who ask for reduced motion. The derived files are cached in
  .cache/site-images/ by content hash, so a rebuild re-encodes nothing that did not change.
- Notebook pages keep only the part of nbconvert's stylesheet that their own elements use, and
  their code, printed output and prompts are marked `data-search-exclude`: the search index
  (loaded by every page) holds the notebooks' prose and headings, not their code.
- Search loads on demand: assets/search-on-demand.js, put before the theme's script, holds the
  theme's request for the search index back until the reader turns to the search box.
- Live widgets' scripts are written once per page and deferred, so they never hold up the text.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import quote

from latex2mathml.converter import convert as tex_to_mathml
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build  # noqa: E402  (the pipeline: demo discovery and the manifest)

ROOT = Path(__file__).resolve().parents[1]

PLACEHOLDER = re.compile(r"(\\?)\{\{\s*(metrics\.(\w+)\.(\w+)(?:\s*\|\s*([^}\s]+))?|gallery|demo_table)\s*\}\}")
# Anything that starts like a metrics placeholder; what PLACEHOLDER cannot read is an error.
LOOSE_METRIC = re.compile(r"(\\?)\{\{\s*metrics\b[^}]*\}\}")
REFERENCE = re.compile(r'\b(src|href)="([^"#?]+)')
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

# The theme's offline plugin would load this shim from https://unpkg.com/iframe-worker/shim; it
# lets the search worker run from file://. It is copied from node_modules (see VENDOR).
SHIM = "assets/vendor/iframe-worker-shim.js"
# The site's own script that delays the theme's search index until the reader turns to search.
ON_DEMAND = "assets/search-on-demand.js"


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
    # Whether the offline plugin has run already or runs next, it finds the local shim (it only
    # adds its unpkg address when no polyfill names iframe-worker).
    polyfills = [p for p in config.extra.get("polyfills", []) or [] if "iframe-worker" not in str(p)]
    config.extra["polyfills"] = polyfills + [SHIM]
    _IMAGES.clear()
    return config


# --- browser-side packages: copied from node_modules (pinned by package-lock.json) ---------------

# Site path: file in node_modules. Never a CDN: the site works from a folder, offline.
VENDOR = {
    "assets/vendor/tf-core.min.js": "@tensorflow/tfjs-core/dist/tf-core.es2017.min.js",
    "assets/vendor/tf-backend-cpu.min.js": "@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.es2017.min.js",
    "assets/vendor/tf-backend-webgl.min.js": "@tensorflow/tfjs-backend-webgl/dist/tf-backend-webgl.es2017.min.js",
    SHIM: "iframe-worker/shim/index.js",
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

def _known_demos(config) -> set[str]:
    """The demos of this project: demos/*.py beside mkdocs.yml, and every generated folder."""
    project = Path(config["config_file_path"]).parent
    known = set()
    if (project / "demos").is_dir():
        known |= {p.stem for p in (project / "demos").glob("*.py") if not p.stem.startswith("_")}
    generated = Path(config["docs_dir"]) / "generated"
    if generated.is_dir():
        known |= {p.name for p in generated.iterdir() if p.is_dir()}
    return known


def _metric(config, page: str, demo: str, key: str, spec: str | None) -> str:
    known = _known_demos(config)
    if demo not in known:
        raise PluginError(f"{page} asks for metric '{key}' of demo '{demo}', which does not exist "
                          f"(demos: {', '.join(sorted(known)) or 'none'})")
    path = Path(config["docs_dir"]) / "generated" / demo / "metrics.json"
    if not path.exists():
        raise _missing(f"metric '{key}' of {demo} (its metrics.json)", page, demo)
    try:
        metrics = json.loads(path.read_text())
        if not isinstance(metrics, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        raise PluginError(f"{page} asks for metric '{key}' of demo '{demo}', but {path} does not "
                          f"parse ({error}): {_remedy(demo)}") from None
    if key not in metrics:
        raise PluginError(f"{page} asks for metric '{key}' of demo '{demo}', which it does not "
                          f"write (it writes: {', '.join(metrics) or 'nothing'})")
    try:
        return format(metrics[key], spec or ".3g")
    except (ValueError, TypeError) as error:
        raise PluginError(f"{page}: format '{spec}' does not apply to metric '{key}' of demo "
                          f"'{demo}' ({error})") from None


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
    src = page.file.src_uri

    for loose in LOOSE_METRIC.finditer(markdown):
        if not loose.group(1) and not PLACEHOLDER.fullmatch(loose.group(0)):
            raise PluginError(f"{src}: cannot read the placeholder {loose.group(0)!r}; write "
                              "{{ metrics.DEMO.KEY }} or {{ metrics.DEMO.KEY | FORMAT }}")

    def fill(match):
        escaped, body, demo, key, spec = match.groups()
        if escaped:
            return match.group(0)[1:]
        if body == "gallery":
            return _gallery(src)
        if body == "demo_table":
            return _demo_table(src)
        return _metric(config, src, demo, key, spec)

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


def _site_paths(files) -> set[str]:
    return {f.dest_uri for f in files}


def _check_references(html: str, page, docs: Path, files) -> str:
    """Every generated file a page loads or links exists (else: which demo, which command).

    Raw HTML written for directory URLs, where page.md was served as page/ (a notebook's
    `../figure.png`, a page's `../../generated/...`), has one `../` too many with flat URLs:
    it is pointed at the file it meant."""
    here = posixpath.dirname(page.file.dest_uri)
    existing = _site_paths(files)
    legacy = not page.file.dest_uri.endswith("index.html")

    def exists(site_path: str) -> bool:
        return site_path in existing or (docs / site_path).is_file()

    def check(match):
        attr, ref = match.groups()
        if re.match(r"^[a-z][a-z0-9+.-]*:|^//", ref, re.I) or "." not in posixpath.basename(ref):
            return match.group(0)
        target = posixpath.normpath(posixpath.join(here, ref))
        if legacy and ref.startswith("../") and not exists(target) and \
                exists(posixpath.normpath(posixpath.join(here, ref[3:]))):
            return f'{attr}="{ref[3:]}'
        if not exists(target) and (target.startswith("generated/") or target.startswith("../")):
            meant = re.sub(r"^(\.\./)+", "", target)
            if meant.startswith("generated/"):
                raise _missing(meant, page.file.src_uri, meant.split("/")[1])
            raise PluginError(f"{page.file.src_uri} references {ref}, which is outside the site")
        return match.group(0)

    return REFERENCE.sub(check, html)


def on_page_content(html, page, config, files):
    docs = Path(config["docs_dir"])
    html = REMOTE_SCRIPT.sub("", html)
    html = _check_references(html, page, docs, files)
    html = _render_math(html)
    # A long display equation scrolls sideways on a phone; keyboard readers must reach it too.
    html = html.replace('<div class="arithmatex">', '<div class="arithmatex" tabindex="0">')
    html = _rewrite_images(html, page, docs)
    html = _defer_widget_scripts(html)
    if page.file.src_uri.endswith(".ipynb"):
        html = _search_prose_only(_unwrap_plain_tokens(_trim_notebook_css(html)))
    return html


# A page's widgets each bring their <script> tags (live.js, then the widget's own), so a page
# with four widgets named live.js four times, each tag stopping the parser where it stood (the
# text below a widget waited for its scripts, and the first paint with it). Each script is kept
# once, at its first place, and deferred: they run in that order once the page is parsed, which
# is when Live.widget() looks for its elements anyway.
WIDGET_SCRIPT = re.compile(r'<script src="([^"]*assets/live/[^"/]+\.js)"></script>\n?')


def _defer_widget_scripts(html: str) -> str:
    seen: set[str] = set()

    def once(match):
        src = match.group(1)
        if src in seen:
            return ""
        seen.add(src)
        return f'<script defer src="{src}"></script>\n'

    return WIDGET_SCRIPT.sub(once, html)


# --- images: sizes, WebP, animation, lazy loading ----------------------------------------------

from PIL import Image, ImageSequence  # noqa: E402

IMAGE_CACHE = ROOT / ".cache" / "site-images"
RECIPE = "webp-2"            # part of the cache key: change it when the derivation changes
RASTER = (".png", ".gif", ".jpg", ".jpeg")
# Widths written for srcset; the browser takes the smallest that covers the shown size times
# the screen's pixel ratio. The content column is at most COLUMN CSS pixels wide (measured at
# 1280-1920 px windows), so 2 x COLUMN covers sharp screens.
COLUMN = 800
LADDER = (360, 720, 1080, 1600)
# The gallery's cards: one column on phones, then two or three in the content column.
GALLERY_SIZES = "(max-width: 44.98em) 92vw, (max-width: 76.23em) 45vw, 15rem"
LOSSY_QUALITY = 90
# Lossless WebP keeps thin lines and pixel art exact; it is used unless it is this much bigger
# than the lossy encoding.
LOSSLESS_SLACK = 1.3
SMALLER = 0.8   # a smaller width must weigh at most this share of the next larger one

# site path of a derived file -> its cached file; copied into the site after the build.
_IMAGES: dict[str, Path] = {}

TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
ATTR = re.compile(r"([^\s=/>]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
SKIPPED = re.compile(r"<(script|style|textarea|pre|template)\b.*?</\1>", re.DOTALL | re.IGNORECASE)


def _attributes(text: str) -> dict[str, str | None]:
    found = {}
    for name, value in ATTR.findall(text):
        if value[:1] in "\"'":
            value = value[1:-1]
        found[name.lower()] = value if value != "" or "=" in text else None
    return found


def _render_attributes(attrs: dict[str, str | None]) -> str:
    return "".join(f" {k}" if v is None else f' {k}="{v.replace(chr(34), "&quot;")}"'
                   for k, v in attrs.items())


def _encode(image: Image.Image, **options) -> bytes:
    """The smallest faithful WebP: lossless, or lossless of the picture reduced to 256 colours
    (the demos' figures have few; a resized copy gains in-between shades that lossless pays
    for), unless lossy is much smaller than both."""
    def webp(picture, **more) -> bytes:
        buffer = io.BytesIO()
        picture.save(buffer, "WEBP", method=4, **options, **more)
        return buffer.getvalue()

    exact = [webp(image, lossless=True)]
    if "append_images" not in options:
        exact.append(webp(image.quantize(256) if image.mode == "RGB" else
                          image.quantize(256, method=Image.Quantize.FASTOCTREE), lossless=True))
    small = webp(image, quality=LOSSY_QUALITY)
    best = min(exact, key=len)
    return best if len(best) <= LOSSLESS_SLACK * len(small) else small


def _resize(image: Image.Image, width: int) -> Image.Image:
    if width == image.width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.LANCZOS)


def _widths(natural: int) -> list[int]:
    """LADDER steps below the natural width (not within 15 % of it), then the natural width
    (capped at the last step): an image is never enlarged."""
    top = min(natural, LADDER[-1])
    return [w for w in LADDER if w < top * 0.85] + [top]


def _derive(source: Path) -> tuple[dict, Path]:
    """Decode `source` once and write its WebP versions into the cache; return their index."""
    data = source.read_bytes()
    key = hashlib.sha256(RECIPE.encode() + b"\0" + data).hexdigest()[:24]
    folder = IMAGE_CACHE / key
    index_file = folder / "index.json"
    if index_file.is_file():
        return json.loads(index_file.read_text()), folder

    staging = IMAGE_CACHE / f".{key}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        animated = getattr(image, "n_frames", 1) > 1
        index = {"width": width, "height": height, "animated": animated, "stills": {}}
        if animated:
            frames, durations = [], []
            for frame in ImageSequence.Iterator(image):
                frames.append(frame.convert("RGBA"))
                durations.append(frame.info.get("duration", image.info.get("duration", 100)))
            top = _widths(width)[-1]
            frames = [_resize(f, top) for f in frames]
            (staging / "animated.webp").write_bytes(_encode(
                frames[0], save_all=True, append_images=frames[1:], duration=durations,
                loop=image.info.get("loop", 0)))
            index["animated_width"] = top
            # The still for reduced motion: the last frame, where the animation arrives.
            still = frames[-1].copy()
        else:
            alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            still = image.convert("RGBA" if alpha else "RGB")
        # Largest first; a smaller width is kept only if it also weighs clearly less (a figure
        # drawn with few colours can grow when it is shrunk).
        lightest = None
        for w in reversed(_widths(width)):
            data = _encode(_resize(still, w))
            if lightest is not None and len(data) > SMALLER * lightest:
                continue
            lightest = len(data)
            (staging / f"{w}w.webp").write_bytes(data)
            index["stills"][str(w)] = f"{w}w.webp"
        index["stills"] = dict(sorted(index["stills"].items(), key=lambda item: int(item[0])))
    (staging / "index.json").write_text(json.dumps(index))
    try:
        staging.rename(folder)
    except OSError:   # another build made it meanwhile: same content, keep theirs
        shutil.rmtree(staging, ignore_errors=True)
    return index, folder


def _derived(site_path: str, suffix: str, cached: Path) -> str:
    """Register a derived file beside its source (samples.png -> samples.720w.webp)."""
    stem = posixpath.splitext(site_path)[0]
    target = f"{stem}.{suffix}"
    _IMAGES[target] = cached
    return target


def _picture(attrs: dict, site_path: str, here: str, source: Path, first: bool,
             in_gallery: bool, in_widget: bool) -> tuple[str, str]:
    """The <img> with its new attributes, and the <picture> opening that goes before it."""
    try:
        index, folder = _derive(source)
    except (OSError, ValueError, SyntaxError) as error:   # what Pillow raises on a bad file
        fix = (f": {_remedy(site_path.split('/')[1])}" if site_path.startswith("generated/")
               else "")
        raise PluginError(f"{site_path} cannot be read as an image ({error}){fix}") from None
    natural_w, natural_h = index["width"], index["height"]
    shown = min(natural_w, COLUMN)
    attrs.setdefault("width", str(shown))
    if "height" not in attrs and attrs["width"].isdigit():
        attrs["height"] = str(round(natural_h * int(attrs["width"]) / natural_w))
    if first:
        attrs["loading"], attrs["fetchpriority"] = "eager", "high"
    else:
        attrs["loading"] = "lazy"
    attrs.setdefault("decoding", "async")
    if in_widget:   # a live widget's static figure: its script finds it as it was written
        return "", ""

    def url(target: str) -> str:
        return quote(posixpath.relpath(target, here or "."))

    sizes = GALLERY_SIZES if in_gallery else f"(max-width: {shown}px) 100vw, {shown}px"
    stills = ", ".join(f"{url(_derived(site_path, name, folder / name))} {w}w"
                       for w, name in index["stills"].items())
    sources = []
    if index["animated"]:
        moving = url(_derived(site_path, "animated.webp", folder / "animated.webp"))
        sources.append(f'<source type="image/webp" media="(prefers-reduced-motion: reduce)" '
                       f'srcset="{stills}" sizes="{sizes}">')
        sources.append(f'<source type="image/webp" srcset="{moving} {index["animated_width"]}w" '
                       f'sizes="{sizes}">')
    else:
        sources.append(f'<source type="image/webp" srcset="{stills}" sizes="{sizes}">')
    return "<picture>" + "".join(sources), "</picture>"


def _rewrite_images(html: str, page, docs: Path) -> str:
    """Give every local raster <img> its WebP sources, size and loading (see the docstring)."""
    here = posixpath.dirname(page.file.dest_uri)
    protected = [(m.start(), m.end()) for m in SKIPPED.finditer(html)]
    out, last, first = [], 0, True
    divs: list[set[str]] = []   # the classes of each open <div>
    in_picture = 0
    for match in TAG.finditer(html):
        if any(start <= match.start() < end for start, end in protected):
            continue
        closing, name, rest = match.group(1), match.group(2).lower(), match.group(3)
        if name == "div":
            if closing:
                if divs:
                    divs.pop()
            else:
                divs.append(set((_attributes(rest).get("class") or "").split()))
            continue
        if name == "picture":
            in_picture += -1 if closing else 1
            continue
        if name != "img" or closing:
            continue
        attrs = _attributes(rest.rstrip("/"))
        src = attrs.get("src") or ""
        if not src or re.match(r"^[a-z][a-z0-9+.-]*:|^//", src, re.I) or \
                not src.lower().split("?")[0].endswith(RASTER):
            first = False
            continue
        site_path = posixpath.normpath(posixpath.join(here, src.split("?")[0]))
        source = docs / site_path
        if not source.is_file():
            continue
        classes = set().union(*divs) if divs else set()
        opening, closing_tag = _picture(attrs, site_path, here, source, first,
                                        in_gallery="gallery" in classes,
                                        in_widget="live-widget" in classes or in_picture > 0)
        first = False
        out.append(html[last:match.start()])
        out.append(f"{opening}<img{_render_attributes(attrs)}>{closing_tag}")
        last = match.end()
    out.append(html[last:])
    return "".join(out)


def on_post_build(config):
    site = Path(config["site_dir"])
    for site_path, cached in sorted(_IMAGES.items()):
        target = site / site_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cached, target)


# --- notebook pages: only the CSS they use -------------------------------------------------------

import tinycss2  # noqa: E402

STYLE = re.compile(r"(<style\b[^>]*>)(.*?)(</style>)", re.DOTALL | re.IGNORECASE)
CLASS_ATTR = re.compile(r'\bclass\s*=\s*"([^"]*)"|\bclass\s*=\s*\'([^\']*)\'', re.IGNORECASE)
ID_ATTR = re.compile(r'\bid\s*=\s*"([^"]*)"', re.IGNORECASE)
# Pseudo-classes whose arguments do not have to match for the rule to apply (:not(.x)) or that
# list alternatives (:is(.a, .b)): their classes are not required.
FUNCTIONAL = ("not", "is", "where", "has", "matches", "-webkit-any", "-moz-any", "host",
              "host-context", "nth-child", "nth-last-child")


def _required(tokens) -> tuple[set[str], set[str]]:
    """Classes and ids that one compound selector list needs, ignoring functional pseudos."""
    classes, ids = set(), set()
    previous = None
    for token in tokens:
        if token.type == "function" and token.lower_name in FUNCTIONAL:
            previous = token
            continue
        if token.type == "ident" and previous is not None and previous.type == "literal" \
                and previous.value == ".":
            classes.add(token.value)
        elif token.type == "hash":
            ids.add(token.value)
        previous = token
    return classes, ids


def _root_inside(selector: list) -> bool:
    """`.jupyter-wrapper :root` (nbconvert's CSS scoped by mkdocs-jupyter) matches nothing:
    :root is the <html> element, never inside another one."""
    tokens = [t for t in selector if t.type not in ("whitespace", "comment")]
    return any(i > 1 and t.type == "ident" and t.lower_value == "root" and
               tokens[i - 1].type == "literal" and tokens[i - 1].value == ":"
               for i, t in enumerate(tokens))


def _selector_applies(prelude, classes: set[str], ids: set[str]) -> bool:
    """True if any selector of the list could match an element of the page."""
    selector: list = []
    for token in list(prelude) + [None]:
        if token is None or (token.type == "literal" and token.value == ","):
            need_classes, need_ids = _required(selector)
            if need_classes <= classes and need_ids <= ids and not _root_inside(selector):
                return True
            selector = []
        else:
            selector.append(token)
    return False


def _trim_rules(rules, classes: set[str], ids: set[str]) -> str:
    kept = []
    for rule in rules:
        if rule.type == "qualified-rule":
            if _selector_applies(rule.prelude, classes, ids):
                kept.append(rule.serialize())
        elif rule.type == "at-rule" and rule.lower_at_keyword in ("media", "supports", "layer") \
                and rule.content is not None:
            inner = _trim_rules(tinycss2.parse_rule_list(rule.content, skip_comments=True,
                                                         skip_whitespace=True), classes, ids)
            if inner:
                kept.append(f"@{rule.at_keyword}{tinycss2.serialize(rule.prelude)}{{{inner}}}")
        elif rule.type == "at-rule":
            kept.append(rule.serialize())
    return "".join(kept)


_PARSED: dict[str, list] = {}


def _parsed(css: str) -> list:
    """Every notebook page carries the same stylesheet: parse it once per build."""
    key = hashlib.sha256(css.encode()).hexdigest()
    if key not in _PARSED:
        _PARSED[key] = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    return _PARSED[key]


def _trim_notebook_css(html: str) -> str:
    """Keep the rules of the page's <style> blocks whose selectors name only classes and ids
    that occur in the page (nbconvert's JupyterLab theme is mostly rules for widgets,
    dialogs and menus that a static page never has)."""
    body = STYLE.sub("", html)
    classes = {c for pair in CLASS_ATTR.findall(body) for c in " ".join(pair).split()}
    ids = set(ID_ATTR.findall(body))
    # The theme and its scripts add these to the page around the notebook, or at run time.
    classes |= {"jupyter-wrapper", "highlight-ipynb", "focus-visible"}

    def trim(match):
        return match.group(1) + _trim_rules(_parsed(match.group(2)), classes, ids) + match.group(3)

    return STYLE.sub(trim, html)


# Pygments wraps every name in the code in <span class="n">; nbconvert's stylesheet gives names
# no colour of their own (the theme's `.highlight .n` does not reach `.highlight-ipynb`), so the
# spans are a third of a notebook page's elements for nothing. Unwrapped unless a rule uses them.
PLAIN_TOKEN = re.compile(r'<span class="n">([^<]*)</span>')


def _unwrap_plain_tokens(html: str) -> str:
    styles = "".join(m.group(2) for m in STYLE.finditer(html))
    if re.search(r"\.n(?![\w-])", styles):
        return html
    return PLAIN_TOKEN.sub(r"\1", html)


# --- notebook pages: search indexes the prose, not the code and its printed output ------------

# The theme's search plugin indexes page.content in on_page_context (after this hook's
# on_page_content) and skips an element that carries `data-search-exclude`. Its parser tracks a
# skipped element by tag name only: an excluded <div> stops being skipped at the first inner
# </div>, so the attribute has to go on elements with no element of the same tag inside. Code
# and printed output are each one <pre> (in a `highlight-ipynb` or `jp-RenderedText` wrapper),
# the prompts ("In [3]:") and the plain copy of each cell's source that the copy button copies
# (`clipboard-copy-txt`, hidden) are divs with no inner div, the button a <clipboard-copy>, a
# long printed output folded by the build a <details class="folded-output">. The
# markdown cells (headings, prose, the About box) and the figures' captions stay searchable.
NOTEBOOK_PRE = re.compile(r'(<div class="(?:highlight-ipynb|jp-RenderedText)\b[^>]*>\s*)<pre\b')
NOTEBOOK_WRAPPER = re.compile(
    r'<(div|details)(?= class="(?:jp-InputPrompt|jp-OutputPrompt|clipboard-copy-txt|folded-output)\b)')


def _search_prose_only(html: str) -> str:
    html = NOTEBOOK_PRE.sub(r"\1<pre data-search-exclude", html)
    html = NOTEBOOK_WRAPPER.sub(r"<\1 data-search-exclude", html)
    return html.replace("<clipboard-copy ", "<clipboard-copy data-search-exclude ")


# --- accessibility and the whole page ------------------------------------------------------------

SEARCH_DIALOG = '<div class="md-search" data-md-component="search" role="dialog">'
SHIM_TAG = re.compile(r'\s*<script src="([^"]*' + re.escape(SHIM) + r')"></script>')
BUNDLE_TAG = re.compile(r'<script src="[^"]*assets/javascripts/bundle\.[0-9a-f]+\.min\.js"></script>')


def on_post_page(output, page, config):
    # The theme's search dialog has no accessible name (axe: aria-dialog-name); give it one.
    output = output.replace(SEARCH_DIALOG, SEARCH_DIALOG[:-1] + ' aria-label="Search">')
    # The shim is only needed by the theme's script, which comes at the end of the body: loaded
    # just before it, it no longer blocks the first paint from the <head>.
    shim = SHIM_TAG.search(output)
    bundle = BUNDLE_TAG.search(output)
    if shim and bundle and shim.start() < bundle.start():
        tag = shim.group(0).strip()
        # Before the theme's script too: search-on-demand.js holds its search index back until
        # the reader turns to search (the index and its build are most of a page's script work).
        on_demand = f'<script src="{shim.group(1).replace(SHIM, ON_DEMAND)}"></script>'
        output = output[:shim.start()] + output[shim.end():]
        output = BUNDLE_TAG.sub(lambda m: tag + "\n    " + on_demand + "\n    " + m.group(0),
                                output, count=1)
    return output


def on_post_template(output_content, template_name, config):
    # 404.html is rendered from a template, not a page, so it needs the same fix.
    return on_post_page(output_content, None, config)
