"""Run the demos that changed, then build the site.

    python scripts/build.py                     # every stale demo (default profile), then mkdocs
    python scripts/build.py --profile quick     # seconds-long runs, marked "quick preview"
    python scripts/build.py --only image_synthesis --force --assets-only
    python scripts/build.py --list              # the demos, their status and last run time

Each demo (`demos/<name>.py`, cells in jupytext's percent format) is executed as a notebook in its
own Jupyter kernel, in its own process group, with a time limit. It writes into a staging folder
that replaces `docs/generated/<name>/` only when the run succeeded and every output its header
declares exists, so a crash or a timeout never destroys the last good outputs.

A demo is skipped when its cache key is unchanged: the key covers its source, every project
module it imports (followed recursively inside demos/), the profile, the seed, and the installed
versions of TensorFlow, Keras and NumPy. Checking the key never imports TensorFlow, so a build
where nothing changed takes seconds.

This module knows nothing about any particular demo.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"
GENERATED = ROOT / "docs" / "generated"
MANIFEST = GENERATED / "manifest.json"
WORK = ROOT / ".cache" / "build"          # staging folders and logs, outside docs/
PROFILES = ("quick", "default")
DEFAULT_SEED = 42
# Hard limits per demo run, in seconds. The targets are much lower (20 s quick, 3 min default);
# these only stop a run that has gone wrong.
TIME_LIMITS = {"quick": 120, "default": 600}
# Installed packages whose version changes what a demo computes.
VERSIONED = ("tensorflow", "keras", "numpy")
HEADER_FIELDS = ("Data", "Run time", "Outputs", "Headline", "Page")
# TensorFlow's native code logs info and warning lines to stderr at start-up that no environment
# variable silences; they are dropped from the published notebook. Errors are kept.
NATIVE_LOG_LINE = re.compile(r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*|"
                             r"WARNING: All log messages before absl::InitializeLog\(\) .*)\n?",
                             re.MULTILINE)


class UsageError(Exception):
    """Bad input: reported in one line, exit code 2."""


# --- demos and their headers -------------------------------------------------------------

@dataclass
class Demo:
    name: str
    path: Path
    title: str
    description: str
    fields: dict[str, str]

    @property
    def outputs(self) -> list[str]:
        declared = [s.strip() for s in self.fields.get("Outputs", "").split(",") if s.strip()]
        return declared + [f"{self.name}.ipynb"]

    @property
    def folder(self) -> Path:
        return GENERATED / self.name


def discover(demos_dir: Path = DEMOS) -> dict[str, Demo]:
    """Every demos/<name>.py whose name does not start with an underscore."""
    found = {}
    for path in sorted(demos_dir.glob("*.py")):
        if not path.stem.startswith("_"):
            found[path.stem] = parse_header(path)
    return found


def parse_header(path: Path) -> Demo:
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraphs = doc.split("\n\n")
    title = paragraphs[0].strip() or path.stem
    fields, prose, last = {}, [], None
    for para in paragraphs[1:]:
        for line in para.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip() in HEADER_FIELDS:
                last = key.strip()
                fields[last] = value.strip()
            elif last:  # a field's value continued on the next line
                fields[last] += " " + line.strip()
            else:
                prose.append(line.strip())
    return Demo(path.stem, path, title, " ".join(prose), fields)


# --- cache keys ---------------------------------------------------------------------------

def local_imports(path: Path, seen: set[Path] | None = None) -> set[Path]:
    """Project modules (files in the demo's folder) that a file imports, recursively."""
    seen = set() if seen is None else seen
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module]
        for name in names:
            candidate = path.parent / (name.split(".")[0] + ".py")
            if candidate.exists() and candidate not in seen:
                seen.add(candidate)
                local_imports(candidate, seen)
    return seen


def versions() -> dict[str, str]:
    """Installed versions, read from package metadata (no import, so no TensorFlow start-up)."""
    found = {"python": sys.version.split()[0]}
    for package in VERSIONED:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "absent"
    return found


def source_hash(demo: Demo) -> str:
    digest = hashlib.sha256()
    for path in [demo.path, *sorted(local_imports(demo.path))]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def cache_key(demo: Demo, profile: str, seed: int) -> str:
    payload = json.dumps([source_hash(demo), profile, seed, versions()], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_manifest() -> dict:
    if MANIFEST.exists():
        return json.loads(MANIFEST.read_text())
    return {"demos": {}}


def save_manifest(manifest: dict) -> None:
    GENERATED.mkdir(parents=True, exist_ok=True)
    tmp = MANIFEST.with_suffix(".tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    tmp.replace(MANIFEST)


def is_fresh(demo: Demo, entry: dict | None, key: str) -> bool:
    return bool(entry) and entry.get("status") == "ok" and entry.get("cache_key") == key \
        and all((demo.folder / name).exists() for name in demo.outputs)


# --- running one demo ---------------------------------------------------------------------

@dataclass
class Result:
    name: str
    state: str            # ran | cached | failed | timeout
    seconds: float = 0.0
    message: str = ""


def run_demo(demo: Demo, profile: str, seed: int, timeout: float, expected: float | None,
             report) -> tuple[Result, dict]:
    """Execute one demo as a notebook in a child process; swap in its outputs on success."""
    import jupytext  # imported here so `--list` and cache checks stay instant

    stage = WORK / "staging" / demo.name
    log_path = WORK / "logs" / f"{demo.name}.log"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)

    notebook = jupytext.read(demo.path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook_path = stage / f"{demo.name}.ipynb"
    jupytext.write(notebook, notebook_path)

    env = dict(os.environ, DEMO_NAME=demo.name, DEMO_PROFILE=profile, DEMO_SEED=str(seed),
               DEMO_OUT=str(stage), PYTHONPATH=os.pathsep.join(
                   [str(demo.path.parent), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    command = [sys.executable, "-m", "jupyter", "execute", "--inplace", "--timeout=-1",
               str(notebook_path)]
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=stage, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        state, usage, next_note = None, None, 30.0
        while state is None:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            elapsed = time.monotonic() - t0
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                state = "ran" if proc.returncode == 0 else "failed"
            elif elapsed > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                state = "timeout"
            else:
                if elapsed >= next_note:
                    report(f"  … {demo.name:<28} {elapsed:5.0f} s" +
                           (f" (last run took {expected:.0f} s)" if expected else ""))
                    next_note += 30.0
                time.sleep(0.2)
    seconds = time.monotonic() - t0

    missing = [n for n in demo.outputs if not (stage / n).exists()]
    if state == "ran" and missing:
        state = "failed"
        with open(log_path, "a") as log:
            log.write(f"\nThe demo finished but did not write its declared outputs: {', '.join(missing)}\n")
    if state != "ran":
        why = f"timed out after {timeout:.0f} s" if state == "timeout" else "failed"
        message = f"{demo.name} {why}; last good outputs kept. Log tail ({log_path}):\n" + \
            _tail(log_path)
        return Result(demo.name, state, seconds, message), {
            "result": state, "started": started, "duration_s": round(seconds, 1),
            "log": str(log_path.relative_to(ROOT))}

    strip_native_logs(notebook_path)
    # Swap the new outputs in; the old folder goes only after the new one is in place.
    old = WORK / "old" / demo.name
    shutil.rmtree(old, ignore_errors=True)
    old.parent.mkdir(parents=True, exist_ok=True)
    GENERATED.mkdir(parents=True, exist_ok=True)
    if demo.folder.exists():
        demo.folder.rename(old)
    stage.rename(demo.folder)
    shutil.rmtree(old, ignore_errors=True)

    metrics_file = demo.folder / "metrics.json"
    entry = {
        "status": "ok", "title": demo.title, "profile": profile, "seed": seed,
        "cache_key": cache_key(demo, profile, seed), "source_hash": source_hash(demo),
        "started": started, "duration_s": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "versions": versions(), "outputs": demo.outputs,
        "metrics": json.loads(metrics_file.read_text()) if metrics_file.exists() else {},
    }
    return Result(demo.name, "ran", seconds), entry


def strip_native_logs(notebook_path: Path) -> None:
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["text"] = NATIVE_LOG_LINE.sub("", output["text"])
                if not output["text"].strip():
                    continue
            outputs.append(output)
        if "outputs" in cell:
            cell["outputs"] = outputs
    nbformat.write(notebook, notebook_path)


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(errors="replace").splitlines()
    return "\n".join("    " + line for line in text[-lines:])


# --- the command line ---------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2
        raise UsageError(message)


def parse_args(argv: list[str] | None, known: dict[str, Demo]) -> argparse.Namespace:
    parser = Parser(description="Run the demos that changed, then build the site with mkdocs.")
    parser.add_argument("--profile", default="default",
                        help="quick (seconds, for tests) or default (what the site publishes)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these demos")
    parser.add_argument("--force", action="store_true", help="run even when the cache is fresh")
    parser.add_argument("--jobs", type=int, default=1, help="demos to run at once (default 1)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for every demo")
    parser.add_argument("--timeout", type=float, help="seconds per demo (default: by profile)")
    parser.add_argument("--list", action="store_true", help="list the demos and their status")
    parser.add_argument("--assets-only", action="store_true", help="run demos, skip mkdocs")
    args = parser.parse_args(argv)
    if args.profile not in PROFILES:
        raise UsageError(f"unknown profile {args.profile!r}: use one of {', '.join(PROFILES)}")
    if args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError(f"--timeout must be positive, got {args.timeout:g}")
    unknown = [n for n in args.only or [] if n not in known]
    if unknown:
        raise UsageError(f"unknown demo {', '.join(map(repr, unknown))}: known demos are "
                         f"{', '.join(known) or '(none)'}")
    return args


def list_demos(demos: dict[str, Demo], manifest: dict, profile: str, seed: int) -> None:
    print(f"{'demo':<30} {'status':<9} {'last run':>9}  title")
    for name, demo in demos.items():
        entry = manifest["demos"].get(name)
        state = "fresh" if is_fresh(demo, entry, cache_key(demo, profile, seed)) else \
            ("stale" if entry else "never run")
        took = f"{entry['duration_s']:.0f} s" if entry and "duration_s" in entry else "-"
        print(f"{name:<30} {state:<9} {took:>9}  {demo.title}")


def main(argv: list[str] | None = None) -> int:
    demos = discover()
    try:
        args = parse_args(argv, demos)
    except UsageError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 2
    manifest = load_manifest()
    if args.list:
        list_demos(demos, manifest, args.profile, args.seed)
        return 0

    selected = [demos[n] for n in (args.only or demos)]
    timeout = args.timeout or TIME_LIMITS[args.profile]
    lock = threading.Lock()

    def report(line: str) -> None:
        with lock:
            print(line, flush=True)

    def one(demo: Demo) -> Result:
        entry = manifest["demos"].get(demo.name)
        key = cache_key(demo, args.profile, args.seed)
        if not args.force and is_fresh(demo, entry, key):
            return Result(demo.name, "cached")
        expected = entry.get("duration_s") if entry else None
        report(f"▶ {demo.name:<30} running ({args.profile})" +
               (f", last run took {expected:.0f} s" if expected else ""))
        result, record = run_demo(demo, args.profile, args.seed, timeout, expected, report)
        with lock:
            if result.state == "ran":
                manifest["demos"][demo.name] = record
            else:
                manifest["demos"].setdefault(demo.name, {"status": "failed"})["last_attempt"] = record
            save_manifest(manifest)
        mark = "✓" if result.state == "ran" else "✗"
        report(f"{mark} {demo.name:<30} {result.state} in {result.seconds:.1f} s")
        if result.message:
            report(result.message)
        return result

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(one, selected))
    shutil.rmtree(WORK / "staging", ignore_errors=True)

    print(f"\n{'demo':<30} {'result':<8} {'seconds':>8}")
    for r in results:
        print(f"{r.name:<30} {r.state:<8} {r.seconds:8.1f}")
    counts = {s: sum(r.state == s for r in results) for s in ("ran", "cached", "failed", "timeout")}
    print(f"{counts['ran']} ran, {counts['cached']} cached, "
          f"{counts['failed'] + counts['timeout']} failed, in {time.monotonic() - t0:.1f} s")
    failed = [r.name for r in results if r.state in ("failed", "timeout")]

    if not args.assets_only:
        print("Building the site with mkdocs …", flush=True)
        built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
                               cwd=ROOT).returncode == 0
        if built:
            print(f"Site built in {ROOT / 'site'}. Preview it with `make serve` "
                  "(http://127.0.0.1:8000).")
        else:
            print("mkdocs build failed (see above).", file=sys.stderr)
            return 1
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
