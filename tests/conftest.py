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


@pytest.fixture(scope="session")
def quick_site(tmp_path_factory):
    """Every demo run in the quick profile with the network cut off, then the site built strictly.

    Returns the project folder; its build result is in `.result` of the returned namespace.
    """
    project = copy_project(tmp_path_factory.mktemp("quick-site"))
    prefix = offline_prefix()
    result = run_build(project, "--profile", "quick", "--jobs", "2", prefix=prefix)
    return types.SimpleNamespace(root=project, result=result, offline=bool(prefix),
                                 site=project / "site", generated=project / "docs" / "generated")
