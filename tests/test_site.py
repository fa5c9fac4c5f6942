"""The site built strictly over the quick assets: pages, references, no other hosts."""

import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

OUTLINE = {
    "introduction/index.html": ["Introduction to generative AI"],
    "introduction/overview/index.html": [
        "Image synthesis", "Text generation", "Music and audio generation",
        "Video and animation generation", "Data augmentation", "Design and creativity",
        "Drug discovery", "Virtual worlds and game design"],
    "introduction/generative-vs-discriminative/index.html": [
        "Objective", "What they learn", "Typical uses", "Example algorithms", "In short"],
    "introduction/creative-tasks/index.html": [
        "Idea generation", "Content creation and synthesis", "Style transfer and remixing",
        "Personalization and customization", "Automation and assistance",
        "Collaboration and co-creation", "Exploration of new aesthetics"],
    "how-this-site-is-built/index.html": ["Add a demo"],
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
def site(quick_site):
    assert quick_site.result.returncode == 0, quick_site.result.stdout[-3000:]
    return quick_site.site


@pytest.mark.parametrize("path", OUTLINE)
def test_every_outline_entry_has_its_page(site, path):
    text = (site / path).read_text(encoding="utf-8")
    for heading in OUTLINE[path]:
        assert heading in text, f"{path} lacks '{heading}'"


def test_every_demo_has_a_notebook_page_with_code_and_outputs(site, quick_site):
    for folder in sorted(p for p in quick_site.generated.iterdir() if p.is_dir()):
        page = site / "generated" / folder.name / folder.name / "index.html"
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
    text = (site / "introduction/generative-vs-discriminative/index.html").read_text()
    assert "<math" in text and "$p(" not in text


def test_metrics_on_pages_come_from_the_demos(site, quick_site):
    import json

    metrics = json.loads((quick_site.generated / "generative_vs_discriminative/metrics.json").read_text())
    text = (site / "introduction/generative-vs-discriminative/index.html").read_text()
    assert f"{metrics['heldout_accuracy_generative']:.1%}".replace("%", "") in text
    assert "{{" not in text


def test_a_page_referencing_a_missing_generated_file_fails_the_build(quick_site, tmp_path):
    project = tmp_path / "project"
    shutil.copytree(quick_site.root, project, ignore=shutil.ignore_patterns("site"))
    (project / "docs" / "broken.md").write_text(
        "# Broken\n\n![a figure](generated/image_synthesis/not_made.png)\n")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict"], cwd=project,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "generated/image_synthesis/not_made.png" in result.stderr
    assert "python scripts/build.py --only image_synthesis" in result.stderr
