"""The build pipeline on throwaway demos: caching, isolation, time limits and bad input.

These demos are tiny scripts made inside each test (no TensorFlow), so the tests check the
pipeline's behaviour, not any model.
"""

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import ROOT, run_build

COUNTING_DEMO = '''"""{title}: a throwaway demo

Counts its runs.

Data: none.
Run time: quick ~1 s, default ~1 s.
Outputs: out.txt, metrics.json
Headline: out.txt
Page: index.md
{needs}
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
    shutil.copy2(ROOT / "demos" / "_shared.py", demos / "_shared.py")
    (demos / "_helper.py").write_text("GREETING = 'hello'\n")
    write_demo(tmp_path, "alpha", extra="from _helper import GREETING")
    write_demo(tmp_path, "beta")
    monkeypatch.setenv("RUN_COUNTER", str(tmp_path / "runs.txt"))
    return tmp_path


def write_demo(project: Path, name: str, extra: str = "", text: str = "good",
               needs: str = "") -> None:
    source = COUNTING_DEMO.format(title=name.title(), extra=extra, text=text, name=name,
                                  needs=f"Needs: {needs}" if needs else "")
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


# --- Needs: demos that read other demos' outputs ------------------------------------------------

# A demo that copies what the demo it needs wrote, through run.inputs() (no TensorFlow: the
# settings are read without seeding).
READS_ALPHA = """from _shared import read_settings
run = read_settings({"quick": {}, "default": {}})
text = (run.inputs("alpha") / "out.txt").read_text() + "+read"
"""


def write_reader(project: Path, name: str = "gamma", needs: str = "alpha") -> None:
    write_demo(project, name, needs=needs, extra=READS_ALPHA, text="{text}")
    path = project / "demos" / f"{name}.py"
    path.write_text(path.read_text().replace('write_text("{text}")', "write_text(text)"))


def test_a_demo_runs_after_the_demos_it_needs_and_reads_their_outputs(project):
    write_reader(project)
    result = build(project, "--jobs", "3")
    assert result.returncode == 0, result.stdout + result.stderr
    order = runs(project)
    assert order.index("alpha") < order.index("gamma")
    assert (project / "docs/generated/gamma/out.txt").read_text() == "good+read"
    manifest = json.loads((project / "docs/generated/manifest.json").read_text())
    assert manifest["demos"]["gamma"]["needs"] == {"alpha": manifest["demos"]["alpha"]["cache_key"]}


def test_with_several_jobs_the_longest_expected_demo_starts_first_and_needs_still_hold(project):
    import build as build_module
    write_demo(project, "gamma", needs="alpha")
    path = project / "demos" / "gamma.py"
    path.write_text(path.read_text().replace("quick ~1 s, default ~1 s", "quick ~30 s, default ~2 min"))
    demos = build_module.discover(project / "demos")
    # No manifest entry: the header's estimate for the profile; an entry of the same profile wins.
    assert build_module.expected_seconds(demos["gamma"], "default", None) == 120
    assert build_module.expected_seconds(demos["gamma"], "quick", {"profile": "quick",
                                                                    "duration_s": 4.0}) == 4.0
    assert build_module.expected_seconds(demos["gamma"], "quick", {"profile": "default",
                                                                    "duration_s": 99.0}) == 30
    expected = {name: build_module.expected_seconds(d, "quick", None) for name, d in demos.items()}
    order = build_module.longest_first(list(demos.values()), expected)
    assert [d.name for d in order] == ["gamma", "alpha", "beta"]
    started = []
    done = build_module.run_selected(order, 2, lambda d: started.append(d.name) or
                                     build_module.Result(d.name, "ran"), report=lambda line: None)
    assert started.index("alpha") < started.index("gamma") and len(done) == 3


def test_a_change_in_a_need_reruns_the_demos_that_need_it(project):
    write_reader(project)
    assert build(project).returncode == 0
    runs(project)
    write_demo(project, "alpha", extra="from _helper import GREETING", text="better")
    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(project) == ["alpha", "gamma"]
    assert (project / "docs/generated/gamma/out.txt").read_text() == "better+read"


def test_only_also_builds_the_stale_demos_it_needs(project):
    write_reader(project)
    result = build(project, "--only", "gamma")
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(project) == ["alpha", "gamma"]
    again = build(project, "--only", "gamma")
    assert runs(project) == [] and "0 ran, 2 cached" in again.stdout


def test_a_failed_need_fails_its_dependent_without_running_it(project):
    write_reader(project)
    write_demo(project, "alpha", extra="raise RuntimeError('alpha broke')")
    result = build(project)
    assert result.returncode == 1
    assert "gamma not run: it needs alpha, which did not build" in result.stdout
    assert sorted(runs(project)) == ["beta"]
    assert "Failed: alpha, gamma" in result.stderr


@pytest.mark.parametrize("needs, reason", [
    ("nope", "names 'nope' (no such demo)"),
    ("gamma", "names 'gamma' (itself)"),
])
def test_a_need_that_is_not_a_demo_is_reported_at_discovery(project, needs, reason):
    write_reader(project, needs=needs)
    listing = run_build(project, "--list")
    assert "gamma" in listing.stdout and "broken" in listing.stdout
    assert f"demos/gamma.py line 10: header field `Needs:` {reason}" in listing.stderr
    result = build(project)
    assert result.returncode == 1
    assert sorted(runs(project)) == ["alpha", "beta"]      # the others still build


def test_needs_in_a_cycle_are_reported_at_discovery(project):
    write_demo(project, "alpha", needs="beta")
    write_demo(project, "beta", needs="alpha")
    listing = run_build(project, "--list")
    assert "header field `Needs:` makes a cycle" in listing.stderr
    assert listing.stdout.count("broken") == 2


def test_reading_an_undeclared_demo_fails_in_one_line(project):
    write_reader(project, needs="beta")          # reads alpha but declares beta
    result = build(project)
    assert result.returncode == 1
    assert "gamma failed" in result.stdout
    assert "add `Needs: beta, alpha` to its header" in result.stdout


def test_run_inputs_checks_the_declaration_and_the_folder(tmp_path):
    import _shared

    (tmp_path / "vae").mkdir()
    run = _shared.Run(name="gan", profile="quick", seed=0, out=tmp_path, hp=None,
                      needs=("vae", "flow"), inputs_root=tmp_path)
    assert run.inputs("vae") == tmp_path / "vae"
    with pytest.raises(_shared.NeedsError, match="without declaring it: add `Needs: vae, flow, "
                       "diffusion`"):
        run.inputs("diffusion")
    with pytest.raises(_shared.NeedsError, match="build it first"):
        run.inputs("flow")


# --- BENCHMARKS.md: bench.py keeps the sections other scripts write ------------------------------

def test_bench_rewrites_only_its_own_section_of_benchmarks():
    import bench

    audit = "<!-- audit:start -->\n## Audit\n\n| page | score |\n<!-- audit:end -->"
    live = "<!-- live:start -->\n## Live widgets\nfast\n<!-- live:end -->"
    unmarked = f"# Benchmarks\n\nold numbers\n\n{audit}\n\nmore old numbers\n\n{live}\n"
    first = bench.merge_sections(unmarked, "# Benchmarks\n\nnew numbers")
    assert "old numbers" not in first and "new numbers" in first
    assert audit in first and live in first
    assert first.index(audit) < first.index(live)
    second = bench.merge_sections(first.replace(live, live.replace("fast", "faster")),
                                  "# Benchmarks\n\nnewer numbers")
    assert "newer numbers" in second and "new numbers" not in second
    assert audit in second and "faster" in second
    assert second.count("<!-- bench:start -->") == 1
    # Another script's section that the file does not have yet is added at the end, keeping all.
    third = bench.merge_sections(unmarked, "## CI run\n\n12 min", "ci")
    assert third.startswith(unmarked.rstrip()) and third.rstrip().endswith("<!-- ci:end -->")


# --- the published notebook: prose first, facts, provenance, folded output -----------------------

def test_the_published_notebook_opens_with_prose_facts_and_provenance_and_folds_long_output(project):
    write_demo(project, "beta", extra="print('short line')\nfor i in range(40): print('epoch', i)")
    path = project / "demos/beta.py"
    path.write_text(path.read_text().replace(
        "Headline: out.txt", "Samples: out.txt: the text it wrote; read it with open()\nHeadline: out.txt"))
    result = build(project, "--only", "beta")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = project / "docs/generated/beta"
    assert (folder / "beta.zip").exists()
    cells = json.loads((folder / "beta.ipynb").read_text())["cells"]
    intro = "".join(cells[0]["source"])
    assert cells[0]["cell_type"] == "markdown"
    assert intro.startswith("# Beta: a throwaway demo\n\nCounts its runs.")
    for expected in ('make assets ARGS="--only beta"', 'href="beta.zip"', 'href="out.txt"',
                     "the text it wrote; read it with open()", "<strong>Data:</strong> none.",
                     "in the <strong>quick</strong> profile with seed 42", "Python 3.",
                     "the run took", "Quick preview"):
        assert expected in intro, expected
    code = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    for field in ("Outputs:", "Headline:", "Page:", "Samples:"):
        assert field not in code
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    folded = [o for o in outputs if "folded-output" in "".join(o.get("data", {}).get("text/html", ""))]
    assert len(folded) == 1
    html_text = "".join(folded[0]["data"]["text/html"])
    assert html_text.startswith('<details class="folded-output"><summary>Printed output, 41 lines')
    assert "epoch 39" in html_text


def test_cold_build_bench_needs_a_number_of_jobs(capsys, monkeypatch):
    import bench

    monkeypatch.setattr(sys, "argv", ["bench.py", "--cold-build", "two"])
    assert bench.main() == 2
    assert "--cold-build takes the number of demos to run at once" in capsys.readouterr().err
    monkeypatch.setattr(sys, "argv", ["bench.py", "--ci", "now"])
    assert bench.main() == 2
    assert "unknown arguments '--ci now'" in capsys.readouterr().err


def test_the_bench_writes_the_families_table_from_a_builds_own_outputs(tmp_path):
    import bench

    assert bench.families_section(tmp_path, "nothing") is None
    (tmp_path / "model_families").mkdir()
    (tmp_path / "model_families" / "comparison.csv").write_text(
        "model,frechet,precision,recall,class_coverage,memorised,bits_per_pixel,train_seconds,"
        "sample_seconds_per_1000,parameters\n"
        "real,0.78,0.92,0.91,0.98,0.051,,,,\n"
        "flow,9.03,0.47,0.83,0.8,0.0,2.093,228.4,0.27,83984\n")
    (tmp_path / "flow").mkdir()
    (tmp_path / "flow" / "metrics.json").write_text('{"training_steps": 1600}')
    table = bench.families_section(tmp_path, "a test")
    assert "| real held-out digits (floor) |  |  |  |  | 0.78 | 0.92 / 0.91 | 0.98 | 5.1% |  |" in table
    assert "| normalizing flow (RealNVP) | 1,600 | 228 | 0.27 | 83,984 | 9.03 | 0.47 / 0.83 | 0.80 | 0.0% | 2.093 |" in table
    assert "Diffusion" not in table and "Autoregressive text" not in table
