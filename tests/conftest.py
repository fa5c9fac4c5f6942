"""Shared test fixtures and helpers."""

import ast
import sys
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"
sys.path.insert(0, str(DEMOS))
sys.path.insert(0, str(ROOT / "scripts"))


def demo_functions(name: str) -> types.SimpleNamespace:
    """The imports, constants and top-level functions and classes of demos/<name>.py, without
    running the demo itself, so its metric functions can be tested on hand-made cases.

    A demo is a script that trains when run; here only its definitions are executed. Metric
    functions must therefore depend on their arguments and imports only.
    """
    path = DEMOS / f"{name}.py"
    tree = ast.parse(path.read_text(), filename=str(path))
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    body = [node for node in tree.body
            if isinstance(node, keep)
            or (isinstance(node, ast.Assign) and _is_constant(node))]
    namespace: dict = {"__name__": f"demo_{name}", "__file__": str(path)}
    exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
    return types.SimpleNamespace(**namespace)


def _is_constant(node: ast.Assign) -> bool:
    """UPPER_CASE assignments (constants such as PROFILES) are kept."""
    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
    return bool(names) and all(n.isupper() for n in names)


# --- a quick build of the whole site, shared by the demo and site tests ------------------------

import os
import shutil
import subprocess

import pytest

COPIED = ("demos", "scripts", "docs", "mkdocs.yml", "pyproject.toml", "package.json",
          "package-lock.json")


def copy_project(dest: Path) -> Path:
    """The project's sources, without generated files, in a fresh folder."""
    ignore = shutil.ignore_patterns("generated", "__pycache__", ".cache", "site")
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=ignore)
        else:
            shutil.copy2(src, dest / name)
    # The browser-side packages that `npm ci` installed: shared, not copied (75 MB).
    (dest / "node_modules").symlink_to(ROOT / "node_modules", target_is_directory=True)
    return dest


def offline_prefix() -> list[str]:
    """A command prefix that runs its command with no network but loopback, if the system can."""
    prefix = ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$0" "$@"']
    try:
        ok = subprocess.run(prefix + ["true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return prefix if ok else []


def run_build(project: Path, *args: str, prefix=(), timeout: float = 1800):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([*prefix, sys.executable, str(project / "scripts" / "build.py"), *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


# Fixtures that need the quick build (directly or through `request.getfixturevalue`).
SITE_FIXTURES = {"quick_site", "site_dir", "live_site", "built"}


def needs_quick_build(item) -> bool:
    return bool(SITE_FIXTURES & set(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(session, config, items):
    """The tests that need the quick build run last, so that the build can run in the background
    while the others do (see `_quick_build_in_background`); the order is kept otherwise."""
    items[:] = [i for i in items if not needs_quick_build(i)] + \
               [i for i in items if needs_quick_build(i)]


@pytest.fixture(scope="session", autouse=True)
def _quick_build_in_background(request, tmp_path_factory):
    """Start the quick build at once when a selected test will need it. Most other tests run one
    process at a time and leave a core idle, which the build's demos fill (on 2 cores the suite
    took 687 s this way against 850 s one after the other). Not started when $SITE_DIR or
    $LIVE_SITE_DIR names a site built already."""
    build = None
    if any(needs_quick_build(i) for i in request.session.items) and \
            not (os.environ.get("SITE_DIR") or os.environ.get("LIVE_SITE_DIR")):
        build = start_quick_build(tmp_path_factory.mktemp("quick-site"))
    yield build
    if build is not None and build.process.poll() is None:
        build.process.kill()
        build.process.wait()


def start_quick_build(project: Path) -> types.SimpleNamespace:
    copy_project(project)
    prefix = offline_prefix()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", TF_CPP_MIN_LOG_LEVEL="3")
    out, err = (project.with_name(f"{project.name}.{stream}") for stream in ("stdout", "stderr"))
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen(
            [*prefix, sys.executable, str(project / "scripts" / "build.py"), "--profile", "quick",
             "--jobs", "2"], cwd=project, env=env, stdout=stdout, stderr=stderr, text=True)
    return types.SimpleNamespace(root=project, process=process, stdout=out, stderr=err,
                                 offline=bool(prefix))


@pytest.fixture(scope="session")
def quick_site(_quick_build_in_background, tmp_path_factory):
    """Every demo run in the quick profile with the network cut off, then the site built strictly.

    Returns the project folder; its build result is in `.result` of the returned namespace.
    """
    build = _quick_build_in_background or start_quick_build(tmp_path_factory.mktemp("quick-site"))
    try:
        returncode = build.process.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        build.process.kill()
        returncode = build.process.wait()
    result = subprocess.CompletedProcess(build.process.args, returncode,
                                         build.stdout.read_text(), build.stderr.read_text())
    project = build.root
    return types.SimpleNamespace(root=project, result=result, offline=build.offline,
                                 site=project / "site", generated=project / "docs" / "generated")


# --- the suite's one headless Chromium --------------------------------------------------------

@pytest.fixture(scope="session")
def chromium():
    """One browser for the whole session: Playwright's sync API allows one running instance per
    thread, so the site tests (`browser`) and the widget tests (`live_browser`) share it."""
    from playwright.sync_api import sync_playwright

    from live_support import launch   # Debian's chromium, the flags that keep it offline

    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()
