"""The build pipeline on throwaway demos: caching, isolation, time limits and bad input.

These demos are tiny scripts made inside each test (no TensorFlow), so the tests check the
pipeline's behaviour, not any model.
"""

import json
import shutil
from pathlib import Path

import pytest

from conftest import ROOT, run_build

COUNTING_DEMO = '''"""{title}: a throwaway demo

Counts its runs.

Outputs: out.txt, metrics.json
"""
import os, json
from pathlib import Path
{extra}
out = Path(os.environ["DEMO_OUT"])
(out / "out.txt").write_text("{text}")
(out / "metrics.json").write_text(json.dumps({{"value": 1.0}}))
runs = Path(os.environ["RUN_COUNTER"])
runs.write_text(runs.read_text() + "{name}\\n" if runs.exists() else "{name}\\n")
'''


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "build.py", tmp_path / "scripts" / "build.py")
    demos = tmp_path / "demos"
    demos.mkdir()
    (demos / "_helper.py").write_text("GREETING = 'hello'\n")
    write_demo(tmp_path, "alpha", extra="from _helper import GREETING")
    write_demo(tmp_path, "beta")
    monkeypatch.setenv("RUN_COUNTER", str(tmp_path / "runs.txt"))
    return tmp_path


def write_demo(project: Path, name: str, extra: str = "", text: str = "good") -> None:
    source = COUNTING_DEMO.format(title=name.title(), extra=extra, text=text, name=name)
    (project / "demos" / f"{name}.py").write_text(source)


def runs(project: Path) -> list[str]:
    path = project / "runs.txt"
    lines = path.read_text().split() if path.exists() else []
    path.unlink(missing_ok=True)
    return lines


def build(project: Path, *args: str):
    return run_build(project, "--assets-only", "--profile", "quick", *args, timeout=300)


def test_second_run_is_a_cache_hit_that_executes_nothing(project):
    first = build(project)
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(runs(project)) == ["alpha", "beta"]
    manifest = json.loads((project / "docs/generated/manifest.json").read_text())
    entry = manifest["demos"]["alpha"]
    for field in ("status", "profile", "seed", "source_hash", "started", "duration_s",
                  "versions", "metrics"):
        assert field in entry
    assert entry["metrics"] == {"value": 1.0}

    second = build(project)
    assert second.returncode == 0
    assert runs(project) == []
    assert "0 ran, 2 cached" in second.stdout


def test_editing_an_imported_helper_makes_only_its_demo_stale(project):
    assert build(project).returncode == 0
    runs(project)
    (project / "demos" / "_helper.py").write_text("GREETING = 'bonjour'\n")
    result = build(project)
    assert result.returncode == 0
    assert runs(project) == ["alpha"]
    assert "1 ran, 1 cached" in result.stdout


def test_profile_and_seed_are_part_of_the_cache_key(project):
    assert build(project).returncode == 0
    runs(project)
    assert build(project, "--seed", "7").returncode == 0
    assert sorted(runs(project)) == ["alpha", "beta"]


def test_a_crashing_demo_is_reported_and_keeps_its_last_good_outputs(project):
    assert build(project).returncode == 0
    write_demo(project, "beta", extra="raise RuntimeError('the model diverged')", text="bad")
    result = build(project)
    assert result.returncode == 1
    assert "beta failed" in result.stdout
    assert "the model diverged" in result.stdout          # the tail of its log
    assert (project / "docs/generated/beta/out.txt").read_text() == "good"
    assert "Failed: beta" in result.stderr
    manifest = json.loads((project / "docs/generated/manifest.json").read_text())
    assert manifest["demos"]["beta"]["status"] == "ok"     # the assets on disk are still good
    assert manifest["demos"]["beta"]["last_attempt"]["result"] == "failed"


def test_a_demo_over_its_time_limit_is_stopped_and_others_still_run(project):
    assert build(project).returncode == 0
    write_demo(project, "alpha", extra="import time; time.sleep(120)", text="late")
    write_demo(project, "beta", text="new")
    result = build(project, "--timeout", "8")
    assert result.returncode == 1
    assert "alpha timed out after 8 s" in result.stdout
    assert (project / "docs/generated/alpha/out.txt").read_text() == "good"
    assert (project / "docs/generated/beta/out.txt").read_text() == "new"


def test_a_demo_that_skips_a_declared_output_fails(project):
    write_demo(project, "beta", extra="", text="x")
    source = (project / "demos/beta.py").read_text().replace("Outputs: out.txt", "Outputs: out.txt, plot.png")
    (project / "demos/beta.py").write_text(source)
    result = build(project)
    assert result.returncode == 1
    assert "plot.png" in result.stdout


@pytest.mark.parametrize("args, message", [
    (["--only", "gamma"], "unknown demo 'gamma': known demos are alpha, beta"),
    (["--profile", "fast"], "unknown profile 'fast'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
    (["--jobs", "many"], "invalid int value"),
])
def test_bad_input_gets_a_one_line_error_and_exit_code_2(project, args, message):
    result = run_build(project, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (project / "docs/generated").exists()


def test_list_shows_every_demo_and_whether_it_is_fresh(project):
    assert build(project, "--only", "alpha").returncode == 0
    listing = run_build(project, "--list", "--profile", "quick").stdout
    assert "alpha" in listing and "fresh" in listing
    assert "beta" in listing and "never run" in listing
