"""Every demo, run in the quick profile by the session's offline build."""

import importlib.util
import json
import math
import subprocess
import sys

import pytest

from conftest import DEMOS, ROOT, run_build

sys.path.insert(0, str(ROOT / "scripts"))
import build  # noqa: E402

DEMO_NAMES = list(build.discover(DEMOS))


def test_the_quick_build_succeeds(quick_site):
    result = quick_site.result
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_demo_writes_its_declared_outputs_and_finite_metrics(quick_site, name):
    demo = build.parse_header(DEMOS / f"{name}.py")
    folder = quick_site.generated / name
    missing = [o for o in demo.outputs if not (folder / o).exists()]
    assert not missing, f"{name} did not write {missing}"
    assert {"Data", "Run time", "Outputs", "Headline", "Page"} <= set(demo.fields), \
        f"{name}'s header lacks fields"
    assert demo.fields["Headline"] in demo.outputs
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics, f"{name} reports no metrics"
    assert all(isinstance(v, (int, float)) and math.isfinite(v) for v in metrics.values())
    entry = json.loads((quick_site.generated / "manifest.json").read_text())["demos"][name]
    assert entry["status"] == "ok" and entry["profile"] == "quick"


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_demo_specific_outputs(quick_site, name):
    """Each demo's own test module may define check_outputs(folder) for what only it makes."""
    path = ROOT / "tests" / f"test_{name}.py"
    if not path.exists():
        pytest.skip(f"no tests/test_{name}.py")
    spec = importlib.util.spec_from_file_location(f"checks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "check_outputs"):
        pytest.skip(f"tests/test_{name}.py defines no check_outputs")
    module.check_outputs(quick_site.generated / name)


def test_demos_ran_with_the_network_cut_off(quick_site):
    if not quick_site.offline:
        pytest.skip("this system cannot make a network namespace (`unshare -rn`)")
    # The whole quick build, kernels included, ran in a namespace with loopback only; a demo
    # that reached for the network would have failed the build.
    assert quick_site.result.returncode == 0


def test_a_warm_rebuild_runs_nothing_and_never_imports_tensorflow(quick_site):
    command = [sys.executable, "-X", "importtime", str(quick_site.root / "scripts" / "build.py"),
               "--profile", "quick", "--assets-only"]
    result = subprocess.run(command, cwd=quick_site.root, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert f"0 ran, {len(DEMO_NAMES)} cached" in result.stdout
    assert "tensorflow" not in result.stderr and "keras" not in result.stderr


def test_a_demo_given_a_bad_profile_says_so_in_one_line(tmp_path):
    result = subprocess.run([sys.executable, str(DEMOS / "generative_vs_discriminative.py"),
                             "--profile", "fast", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "invalid choice: 'fast'" in result.stderr
