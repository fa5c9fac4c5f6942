"""Fault injection: what the build does when ordinary accidents happen (issue 11).

Each test breaks something in a throwaway project made inside the test (tiny demos without
TensorFlow, the real scripts/build.py), never in the real outputs, so the list of situations
tried reads off the test names. docs/how-this-site-is-built.md lists the same situations.
"""

import fcntl
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import build as build_module
from conftest import DEMOS, run_build
from test_pipeline import build, project, runs, write_demo  # noqa: F401  (project is a fixture)

MANIFEST = "docs/generated/manifest.json"


def manifest(project: Path) -> dict:
    return json.loads((project / MANIFEST).read_text())


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    assert len(lines) == 1, text
    return lines[0]


# --- corrupt or foreign state is repaired, not fatal -----------------------------------------

def test_a_truncated_manifest_is_reported_in_one_line_and_its_demos_rebuilt(project):
    assert build(project).returncode == 0
    runs(project)
    text = (project / MANIFEST).read_text()
    (project / MANIFEST).write_text(text[: len(text) // 2])       # an interrupted write

    listing = run_build(project, "--list", "--profile", "quick")
    assert listing.returncode == 0
    assert "manifest.json is unreadable" in one_line(listing.stderr)
    assert listing.stdout.count("unknown") == 2

    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(runs(project)) == ["alpha", "beta"]
    assert set(manifest(project)["demos"]) == {"alpha", "beta"}   # rewritten, valid


@pytest.mark.parametrize("content, problem", [
    ('["a list"]', "unreadable"), ('{"demos": 3}', "unreadable"),
    ('{"demos": {"alpha": 5}}', "the entry for alpha is not an object")])
def test_a_manifest_of_the_wrong_shape_is_treated_as_stale(tmp_path, monkeypatch, capsys,
                                                          content, problem):
    (tmp_path / "manifest.json").write_text(content)
    monkeypatch.setattr(build_module, "MANIFEST", tmp_path / "manifest.json")
    assert build_module.load_manifest() == {"demos": {}}
    assert problem in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("content", ['{"value": 1.0', '{"value": "high"}', "[1, 2]",
                                     '{"value": NaN}'])
def test_a_metrics_json_that_is_not_finite_numbers_is_named(tmp_path, content):
    (tmp_path / "metrics.json").write_text(content)
    assert "metrics.json" in build_module.metrics_problem(tmp_path / "metrics.json")


def test_a_corrupt_metrics_json_makes_its_demo_stale_and_unknown_in_list(project):
    assert build(project).returncode == 0
    runs(project)
    (project / "docs/generated/beta/metrics.json").write_text('{"value": 1.0')
    listing = run_build(project, "--list", "--profile", "quick")
    assert "beta" in listing.stdout and "unknown" in listing.stdout
    assert "docs/generated/beta/metrics.json does not parse" in one_line(listing.stderr)
    result = build(project)
    assert result.returncode == 0
    assert runs(project) == ["beta"]
    assert json.loads((project / "docs/generated/beta/metrics.json").read_text()) == {"value": 1.0}


def test_the_manifest_is_replaced_atomically_and_never_half_written(tmp_path, monkeypatch):
    target = tmp_path / "generated"
    target.mkdir()
    monkeypatch.setattr(build_module, "GENERATED", target)
    monkeypatch.setattr(build_module, "MANIFEST", target / "manifest.json")
    build_module.save_manifest({"demos": {"alpha": {"status": "ok"}}})
    with pytest.raises(TypeError):                       # fails while serialising
        build_module.save_manifest({"demos": {"alpha": {"status": {1, 2}}}})
    assert json.loads((target / "manifest.json").read_text()) == {"demos": {"alpha": {"status": "ok"}}}
    assert [p.name for p in target.iterdir()] == ["manifest.json"]   # no temporary file left


# --- one broken demo breaks only itself ----------------------------------------------------------

GOOD_HEADER = {
    "title": "Area: a throwaway demo",
    "description": "It writes one file.",
    "Data": "none.",
    "Run time": "quick ~1 s.",
    "Outputs": "out.txt, metrics.json",
    "Headline": "out.txt",
    "Page": "index.md",
}


def header(**changes) -> str:
    fields = {**GOOD_HEADER, **changes}
    lines = [fields.pop("title"), "", fields.pop("description"), ""]
    lines += [f"{k}: {v}" for k, v in fields.items() if v is not None]
    return '"""' + "\n".join(lines) + '\n"""\n'


@pytest.mark.parametrize("source, message", [
    (header(Outputs=None), "header field `Outputs:` missing"),
    (header(Data=None), "header field `Data:` missing"),
    (header(**{"Run time": None}), "header field `Run time:` missing"),
    (header(Headline=None), "header field `Headline:` missing"),
    (header(Page=None), "header field `Page:` missing"),
    (header(Headline="plot.png"), "line 8: header field `Headline:` names plot.png, which "
                                  "`Outputs:` does not list"),
    (header(Samples="raw.npz: numbers"), "header field `Samples:` names raw.npz, which "
                                         "`Outputs:` does not list"),
    (header(description=""), "header has no description paragraph"),
    ('"""\n\nOutputs: out.txt\n"""\n', "header has no title line"),
    ("import os\n", "line 1: no header docstring"),
    (header() + "x = (\n", "line 11: '(' was never closed (SyntaxError)"),
    (header() + "import not_a_package_anywhere\n",
     "line 11: imports not_a_package_anywhere, which is not installed (ModuleNotFoundError)"),
    (header() + "from _helper import NOPE\n",
     "line 11: imports NOPE from _helper, which demos/_helper.py does not define (ImportError)"),
], ids=["no-outputs", "no-data", "no-run-time", "no-headline", "no-page",
        "headline-not-an-output", "sample-not-an-output", "no-description", "no-title",
        "no-docstring", "syntax-error", "uninstalled-import", "missing-name-import"])
def test_each_kind_of_header_or_source_mistake_is_named_with_file_and_line(tmp_path, source, message):
    demos = tmp_path / "demos"
    demos.mkdir()
    (demos / "_helper.py").write_text("GREETING = 'hello'\n")
    (demos / "good.py").write_text(header() + "import os\nfrom _helper import GREETING\n")
    (demos / "bad.py").write_text(source)
    problems = {}
    found = build_module.discover(demos, problems)
    assert list(found) == ["good"]
    assert "bad.py" in problems["bad"]
    assert message in problems["bad"].replace(str(demos), "demos")


def test_a_syntax_error_in_one_demo_names_its_file_and_the_others_still_build(project):
    assert build(project).returncode == 0
    runs(project)
    path = project / "demos/beta.py"
    line = len(path.read_text().splitlines()) + 1
    path.write_text(path.read_text() + "def broken(:\n")
    write_demo(project, "alpha", text="new")

    listing = run_build(project, "--list", "--profile", "quick")
    assert listing.returncode == 0
    assert "beta" in listing.stdout and "broken" in listing.stdout
    assert f"demos/beta.py line {line}: invalid syntax (SyntaxError)" in one_line(listing.stderr)

    result = build(project, "--force")
    assert result.returncode == 1
    assert runs(project) == ["alpha"]
    assert f"demos/beta.py line {line}" in result.stderr and "Failed: beta" in result.stderr
    assert (project / "docs/generated/alpha/out.txt").read_text() == "new"
    assert (project / "docs/generated/beta/out.txt").read_text() == "good"   # last good kept


def test_a_demo_without_a_header_docstring_is_rejected_not_renamed(project):
    path = project / "demos/beta.py"
    path.write_text(path.read_text().split('"""', 2)[2])       # the docstring removed
    result = build(project)
    assert result.returncode == 1
    assert "demos/beta.py line 1: no header docstring" in result.stderr
    assert runs(project) == ["alpha"]
    assert not (project / "docs/generated/beta").exists()


# --- interrupts clean up -------------------------------------------------------------------------

SLOW = """
import time
Path(os.environ["PID_FILE"]).write_text(str(os.getpid()))       # the kernel's pid
if Path(os.environ["SLOW_FLAG"]).exists():
    time.sleep(120)
"""


def start_slow_build(project: Path, tmp_path: Path, monkeypatch, *args: str):
    flag, pid_file = tmp_path / "slow.flag", tmp_path / "kernel.pid"
    flag.touch()
    monkeypatch.setenv("SLOW_FLAG", str(flag))
    monkeypatch.setenv("PID_FILE", str(pid_file))
    write_demo(project, "beta", extra=SLOW)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, str(project / "scripts/build.py"), "--assets-only",
                             "--profile", "quick", *args], cwd=project, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not pid_file.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow demo never started"
        time.sleep(0.2)
    return proc, int(pid_file.read_text()), flag


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"          # dead, waiting for init to collect it


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["SIGTERM", "SIGINT"])
def test_an_interrupt_stops_the_runner_and_kernel_removes_staging_and_keeps_the_manifest(
        project, tmp_path, monkeypatch, signum, code):
    proc, kernel, flag = start_slow_build(project, tmp_path, monkeypatch, "--jobs", "2")
    deadline = time.monotonic() + 240
    while "alpha" not in published(project):           # alpha finishes; beta is still running
        assert time.monotonic() < deadline, "alpha never finished"
        time.sleep(0.2)
    tree = build_module.process_tree(proc.pid)
    assert kernel in tree
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, out + err
    assert f"Interrupted by {signum.name}: beta did not finish" in err
    assert all(gone(pid) for pid in tree), [p for p in tree if not gone(p)]
    assert not (project / ".cache/build/staging").exists()
    entries = manifest(project)["demos"]
    assert entries["alpha"]["status"] == "ok"
    assert entries["beta"]["last_attempt"]["result"] == "interrupted"
    assert entries["beta"]["status"] != "ok"
    assert not (project / "docs/generated/beta").exists()

    flag.unlink()                                        # the next build redoes only beta
    runs(project)
    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert runs(project) == ["beta"]


def published(project: Path) -> list[str]:
    """The demos the manifest records as built (it is always replaced whole, so readable)."""
    path = project / MANIFEST
    entries = json.loads(path.read_text())["demos"] if path.exists() else {}
    return [name for name, entry in entries.items() if entry.get("status") == "ok"]


def runs_so_far(project: Path) -> list[str]:
    path = project / "runs.txt"
    return path.read_text().split() if path.exists() else []


# --- one build at a time per checkout ----------------------------------------------------------

def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns
            for p in folder.rglob("*")} if folder.exists() else {}


def test_a_second_build_in_the_same_checkout_is_refused_in_one_line_and_touches_nothing(
        project, tmp_path, monkeypatch):
    proc, _, flag = start_slow_build(project, tmp_path, monkeypatch, "--only", "beta")
    before = snapshot(project / "docs") | snapshot(project / ".cache/build/logs")
    second = build(project)
    after = snapshot(project / "docs") | snapshot(project / ".cache/build/logs")
    flag.unlink()
    proc.send_signal(signal.SIGTERM)                     # the first build, still in beta
    proc.communicate(timeout=60)
    assert second.returncode == 1
    line = one_line(second.stderr)
    assert f"another build is running in this checkout (pid {proc.pid}, started 20" in line
    assert "alpha" not in runs_so_far(project)
    assert before == after


def test_a_stale_lock_left_by_a_killed_build_is_taken_over_with_a_warning(project):
    dead = subprocess.Popen(["true"])
    dead.wait()
    lock = project / ".cache/build/build.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": dead.pid, "since": "2026-01-01T00:00:00+00:00"}))
    result = build(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (f"taking over .cache/build/build.lock from build pid {dead.pid} (started "
            "2026-01-01T00:00:00+00:00), which is no longer running") in result.stderr
    assert lock.read_text() == ""                        # released at the end


def test_a_lock_held_by_a_live_process_is_respected(project):
    lock = project / ".cache/build/build.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as handle:                     # what a running build holds
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        handle.write(json.dumps({"pid": os.getpid(), "since": "2026-12-03T15:00:00+00:00"}))
        handle.flush()
        result = build(project)
    assert result.returncode == 1
    assert f"(pid {os.getpid()}, started 2026-12-03T15:00:00+00:00)" in one_line(result.stderr)
    assert not (project / "docs/generated").exists()


# --- output problems are clear -----------------------------------------------------------------

def test_an_unwritable_docs_generated_is_named_in_one_line_and_nothing_runs(project):
    # Tests may run as root, for whom permission bits do not stop a write: a file where the
    # folder should be is refused by every user.
    (project / "docs").mkdir()
    (project / "docs/generated").write_text("not a folder")
    result = build(project)
    assert result.returncode == 1
    assert "cannot write to docs/generated:" in one_line(result.stderr)
    assert runs(project) == []


def test_a_full_disk_while_a_demo_writes_is_named_in_one_line_and_nothing_is_published(project):
    assert build(project).returncode == 0
    # What open() raises when the disk is full and a demo creates a file.
    write_demo(project, "beta", text="half", extra=(
        "import errno\nstage = Path(os.environ['DEMO_OUT'])\n"
        "(stage / 'partial.bin').write_bytes(b'0' * 1000)\n"
        "raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(stage / 'samples.npz'))"))
    result = build(project)
    assert result.returncode == 1
    lines = [line for line in result.stdout.splitlines() if "no space left" in line]
    assert len(lines) == 1 and "samples.npz" in lines[0], result.stdout
    published = project / "docs/generated/beta"
    assert (published / "out.txt").read_text() == "good"
    assert not (published / "partial.bin").exists()


def test_a_manifest_that_cannot_be_written_is_named_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "generated").write_text("a file where the folder should be")
    monkeypatch.setattr(build_module, "GENERATED", tmp_path / "generated")
    monkeypatch.setattr(build_module, "MANIFEST", tmp_path / "generated" / "manifest.json")
    with pytest.raises(build_module.BuildError, match="cannot write .*manifest.json: "):
        build_module.save_manifest({"demos": {}})


# --- same seed, same result --------------------------------------------------------------------

def test_one_quick_demo_twice_with_one_seed_agrees_and_with_two_seeds_differs(tmp_path):
    """data_augmentation, one of the quickest real demos, run as a script three times at
    once. Tolerance: metrics equal to 1e-9 relative (TensorFlow runs with op determinism on
    CPU, so they are in fact bit-identical); PNG files byte-identical. It is also the test that
    a reader can run a demo as a plain script, without the pipeline."""
    name = "data_augmentation"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    runs_ = {label: subprocess.Popen(
        ["nice", "-n", "5", sys.executable, str(DEMOS / f"{name}.py"), "--profile", "quick",
         "--seed", str(seed), "--out", str(tmp_path / label)], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for label, seed in (("a", 42), ("b", 42), ("c", 7))}
    for label, proc in runs_.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    metrics = {label: json.loads((tmp_path / label / "metrics.json").read_text()) for label in runs_}
    assert metrics["a"].keys() == metrics["b"].keys()
    assert all(math.isclose(metrics["a"][k], metrics["b"][k], rel_tol=1e-9, abs_tol=1e-12)
               for k in metrics["a"])
    pngs = sorted(p.name for p in (tmp_path / "a").glob("*.png"))
    assert "accuracy_by_arm.png" in pngs
    for png in pngs:
        assert (tmp_path / "a" / png).read_bytes() == (tmp_path / "b" / png).read_bytes(), png
    assert metrics["a"] != metrics["c"]
    assert any((tmp_path / "a" / p).read_bytes() != (tmp_path / "c" / p).read_bytes() for p in pngs)
