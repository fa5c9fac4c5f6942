"""Run the demos that changed, then build the site.

    python scripts/build.py                     # every stale demo (default profile), then mkdocs
    python scripts/build.py --profile quick     # seconds-long runs, marked "quick preview"
    python scripts/build.py --only image_synthesis --force --assets-only
    python scripts/build.py --list              # the demos, their status and last run time

Each demo (`demos/<name>.py`, cells in jupytext's percent format) is executed as a notebook in its
own Jupyter kernel, in its own process group, with a time limit. It writes into a staging folder
that replaces `docs/generated/<name>/` only when the run succeeded and every output its header
declares exists, so a crash or a timeout never destroys the last good outputs. A demo whose
header says `Needs: other, ...` runs after those demos and reads their published folders.

A demo is skipped when its cache key is unchanged: the key covers its source, every project
module it imports (followed recursively inside demos/), the profile, the seed, the installed
versions of TensorFlow, Keras and NumPy, and the cache keys of the demos it needs. Checking the
key never imports TensorFlow, so a build where nothing changed takes seconds.

Faults are contained: a demo file that does not parse or lacks a header field is reported with
its file and line and skipped; a manifest or metrics.json that does not parse is reported and
its demos treated as stale; SIGINT/SIGTERM stop every running demo's process tree and clean up;
a second build in the same checkout is refused while the first holds the lock.

This module knows nothing about any particular demo.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import html
import importlib.util
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEMOS = ROOT / "demos"
GENERATED = ROOT / "docs" / "generated"
MANIFEST = GENERATED / "manifest.json"
WORK = ROOT / ".cache" / "build"          # staging folders, logs and the lock, outside docs/
LOCK = WORK / "build.lock"
PROFILES = ("quick", "default")
DEFAULT_SEED = 42
# Hard limits per demo run, in seconds. The targets are much lower (20 s quick, 3 min default);
# these only stop a run that has gone wrong. The quick limit is generous because the machines
# that run the tests are often shared: under load a 20 s demo has been seen to take over 120 s.
TIME_LIMITS = {"quick": 300, "default": 600}
# Installed packages whose version changes what a demo computes.
VERSIONED = ("tensorflow", "keras", "numpy")
REQUIRED_FIELDS = ("Data", "Run time", "Outputs", "Headline", "Page")
HEADER_FIELDS = REQUIRED_FIELDS + ("Needs", "Samples")
LIBRARY_NAMES = {"python": "Python", "tensorflow": "TensorFlow", "keras": "Keras", "numpy": "NumPy"}
FOLD_LINES = 12          # printed output longer than this is folded on the page
# TensorFlow's native code logs info and warning lines to stderr at start-up that no environment
# variable silences; they are dropped from the published notebook. Errors are kept.
NATIVE_LOG_LINE = re.compile(r"^(?:[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] .*|"
                             r"WARNING: All log messages before absl::InitializeLog\(\) .*)\n?",
                             re.MULTILINE)
SAMPLE_ENTRY = re.compile(r";\s*(?=[\w.-]+\.\w+:)")   # "; file.ext:" starts the next raw sample
ANSI = re.compile(r"\x1b\[[0-9;]*m")          # colours in tracebacks from the notebook runner
DISK_FULL = re.compile(r"\[Errno 28\] No space left on device(?:: '([^']*)')?")


class UsageError(Exception):
    """Bad input: reported in one line, exit code 2."""


class BuildError(Exception):
    """The build cannot go on (lock held, output folder not writable): one line, exit code 1."""


def rel(path: Path) -> str:
    try:
        return str(Path(path).relative_to(ROOT))
    except ValueError:
        return str(path)


def warn(line: str) -> None:
    print(f"build.py: warning: {line}", file=sys.stderr, flush=True)


# --- demos and their headers -------------------------------------------------------------

class HeaderError(Exception):
    """A demo file that cannot be used, with its file and line in the message."""


@dataclass
class Demo:
    name: str
    path: Path
    title: str
    description: str
    fields: dict[str, str]
    needs: list[Demo] = field(default_factory=list)   # resolved by discover()

    @property
    def declared(self) -> list[str]:
        return [s.strip() for s in self.fields.get("Outputs", "").split(",") if s.strip()]

    @property
    def outputs(self) -> list[str]:
        """What the demo writes plus what the build adds: the executed notebook, the download."""
        return self.declared + [f"{self.name}.ipynb", f"{self.name}.zip"]

    @property
    def need_names(self) -> list[str]:
        return [s.strip() for s in self.fields.get("Needs", "").split(",") if s.strip()]

    @property
    def samples(self) -> list[tuple[str, str]]:
        """`Samples: file: what it holds and how to load it; file: ...` as (file, text) pairs."""
        pairs = []
        for part in SAMPLE_ENTRY.split(self.fields.get("Samples", "")):
            name, _, text = part.partition(":")
            if name.strip():
                pairs.append((name.strip(), text.strip()))
        return pairs

    @property
    def folder(self) -> Path:
        return GENERATED / self.name


def discover(demos_dir: Path = DEMOS, problems: dict[str, str] | None = None) -> dict[str, Demo]:
    """Every usable demos/<name>.py whose name does not start with an underscore.

    A file that cannot be used (syntax error, bad header, unknown import, a need that is not a
    usable demo) is left out; its one-line reason goes into `problems`, if given.
    """
    problems = {} if problems is None else problems
    found = {}
    for path in sorted(demos_dir.glob("*.py")):
        if path.stem.startswith("_"):
            continue
        try:
            found[path.stem] = parse_header(path)
        except HeaderError as error:
            problems[path.stem] = str(error)
    # Needs must name usable demos, without cycles; a demo whose need is unusable is unusable.
    changed = True
    while changed:
        changed = False
        for name, demo in list(found.items()):
            bad = [n for n in demo.need_names if n not in found or n == name]
            if bad:
                what = ", ".join(f"'{n}'" + (" (broken: see its error)" if n in problems else
                                              " (itself)" if n == name else " (no such demo)")
                                 for n in bad)
                problems[name] = (f"{rel(demo.path)} line {_field_line(demo.path, 'Needs')}: "
                                  f"header field `Needs:` names {what}")
                del found[name]
                changed = True
    for demo in found.values():
        demo.needs = [found[n] for n in demo.need_names]
    for name in _in_cycles(found):
        demo = found.pop(name)
        problems[name] = (f"{rel(demo.path)} line {_field_line(demo.path, 'Needs')}: header field "
                          f"`Needs:` makes a cycle ({name} needs itself through "
                          f"{', '.join(demo.need_names)})")
    return found


def parse_header(path: Path) -> Demo:
    """The demo's title, description and header fields; HeaderError if any is missing."""
    where = rel(path)
    try:
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source, filename=where)
    except SyntaxError as error:
        raise HeaderError(f"{where} line {error.lineno}: {error.msg} (SyntaxError)") from None
    except (OSError, UnicodeDecodeError) as error:
        raise HeaderError(f"{where}: cannot be read ({error})") from None
    doc = ast.get_docstring(tree)
    if not doc:
        raise HeaderError(f"{where} line 1: no header docstring (the file must open with a "
                          f"docstring: title line, description, then {_field_list()})")
    paragraphs = doc.split("\n\n")
    title = paragraphs[0].strip()
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
    demo = Demo(path.stem, path, title, " ".join(prose), fields)
    if not title or title.partition(":")[0].strip() in HEADER_FIELDS:
        raise HeaderError(f"{where} line 1: header has no title line (first line: "
                          "'Area: short title')")
    if not demo.description:
        raise HeaderError(f"{where} line 1: header has no description paragraph after the title")
    for name in REQUIRED_FIELDS:
        if not fields.get(name):
            raise HeaderError(f"{where}: header field `{name}:` missing (the header needs "
                              f"{_field_list()})")
    if fields["Headline"] not in demo.declared:
        raise HeaderError(f"{where} line {_field_line(path, 'Headline')}: header field "
                          f"`Headline:` names {fields['Headline']}, which `Outputs:` does not list")
    for name, _ in demo.samples:
        if name not in demo.declared:
            raise HeaderError(f"{where} line {_field_line(path, 'Samples')}: header field "
                              f"`Samples:` names {name}, which `Outputs:` does not list")
    problem = _import_problem(path, tree)
    if problem:
        raise HeaderError(f"{where} {problem}")
    return demo


def _field_list() -> str:
    return ", ".join(f"{f}:" for f in REQUIRED_FIELDS)


def _field_line(path: Path, name: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(f"{name}:"):
            return number
    return 1


def _import_problem(path: Path, tree: ast.Module) -> str | None:
    """The first top-level import that would fail: an uninstalled package or a missing name."""
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules = [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [(node.module, [a.name for a in node.names])]
        else:
            continue
        for module, names in modules:
            top = module.split(".")[0]
            local = path.parent / f"{top}.py"
            if local.exists():
                defined = _top_level_names(local)
                missing = [n for n in names if defined is not None and n != "*" and n not in defined]
                if missing and "." not in module:
                    return (f"line {node.lineno}: imports {', '.join(missing)} from {top}, "
                            f"which {rel(local)} does not define (ImportError)")
            elif importlib.util.find_spec(top) is None:
                return (f"line {node.lineno}: imports {top}, which is not installed "
                        "(ModuleNotFoundError): install it or fix the name")
    return None


def _top_level_names(path: Path) -> set[str] | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return None
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any(a.name == "*" for a in node.names):
                return None          # a star import: names cannot be known without running it
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, (ast.If, ast.Try)):
            return None              # names defined conditionally: do not guess
    return names


def _in_cycles(demos: dict[str, Demo]) -> list[str]:
    def reaches(start: Demo, target: str, seen: set) -> bool:
        for need in start.needs:
            if need.name == target or (need.name not in seen and
                                       (seen.add(need.name) or reaches(need, target, seen))):
                return True
        return False
    return [name for name, demo in demos.items() if reaches(demo, name, set())]


def with_needs(selected: list[Demo]) -> list[Demo]:
    """The demos and, transitively, the demos they need, each after what it needs."""
    ordered: list[Demo] = []

    def visit(demo: Demo) -> None:
        if demo in ordered:
            return
        for need in demo.needs:
            visit(need)
        ordered.append(demo)

    for demo in selected:
        visit(demo)
    return ordered


# --- cache keys and the manifest ------------------------------------------------------------

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
    needs = {need.name: cache_key(need, profile, seed) for need in demo.needs}
    payload = json.dumps([source_hash(demo), profile, seed, versions(), needs], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def load_manifest() -> dict:
    """The manifest; one that does not parse or has the wrong shape is reported and ignored."""
    if not MANIFEST.exists():
        return {"demos": {}}
    try:
        data = json.loads(MANIFEST.read_text())
        if not isinstance(data, dict) or not isinstance(data.get("demos"), dict):
            raise ValueError("expected an object with a \"demos\" object")
    except (ValueError, OSError) as error:
        warn(f"{rel(MANIFEST)} is unreadable ({str(error).splitlines()[0]}); every demo it "
             "described is treated as stale and the file is rewritten")
        return {"demos": {}}
    for name, entry in list(data["demos"].items()):
        if not isinstance(entry, dict):
            warn(f"{rel(MANIFEST)}: the entry for {name} is not an object; treated as stale")
            del data["demos"][name]
    return data


def save_manifest(manifest: dict) -> None:
    """Written to a temporary file, then renamed over the old one: never half-written."""
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    tmp = MANIFEST.with_name(f".manifest.{os.getpid()}.tmp")
    try:
        GENERATED.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(MANIFEST)
    except OSError as error:
        raise BuildError(f"cannot write {rel(MANIFEST)}: {error.strerror}; the previous "
                         "manifest is kept") from None
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


def metrics_problem(path: Path) -> str | None:
    """Why a metrics.json is unusable (does not parse, not an object of finite numbers)."""
    try:
        metrics = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        return f"{rel(path)} does not parse ({str(error).splitlines()[0]})"
    if not isinstance(metrics, dict) or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in metrics.values()):
        return f"{rel(path)} is not an object of finite numbers"
    return None


def status(demo: Demo, entry: dict | None, key: str) -> str:
    """fresh, stale, never run, or unknown (outputs on disk that nothing trustworthy describes)."""
    if not entry or entry.get("status") != "ok":
        return "unknown" if demo.folder.exists() and not entry else "stale" if entry else \
            "never run"
    metrics = demo.folder / "metrics.json"
    problem = metrics_problem(metrics) if metrics.exists() else None
    if problem:
        warn(f"{problem}; {demo.name} is treated as stale")
        return "unknown"
    fresh = entry.get("cache_key") == key and all((demo.folder / n).exists() for n in demo.outputs)
    return "fresh" if fresh else "stale"


# --- running one demo ---------------------------------------------------------------------

@dataclass
class Result:
    name: str
    state: str            # ran | cached | failed | timeout | interrupted
    seconds: float = 0.0
    message: str = ""


STOP = threading.Event()      # set by SIGINT/SIGTERM: every running demo is stopped


def process_tree(pid: int) -> list[int]:
    """The process and all its descendants (the notebook runner and its kernel live in
    different sessions, so one process group does not cover them)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def kill_tree(pid: int) -> None:
    for target in process_tree(pid):
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def supervise(proc: subprocess.Popen, timeout: float | None, tick=None):
    """Wait for a child; kill its whole tree on timeout or on STOP. Returns (state, rusage)."""
    t0 = time.monotonic()
    while True:
        pid, status_, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status_)
            return ("ran" if proc.returncode == 0 else "failed"), usage
        elapsed = time.monotonic() - t0
        if STOP.is_set() or (timeout is not None and elapsed > timeout):
            kill_tree(proc.pid)
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            return ("interrupted" if STOP.is_set() else "timeout"), usage
        if tick:
            tick(elapsed)
        time.sleep(0.2)


def run_demo(demo: Demo, profile: str, seed: int, timeout: float, expected: float | None,
             report) -> tuple[Result, dict]:
    """Execute one demo as a notebook in a child process; swap in its outputs on success."""
    import jupytext  # imported here so `--list` and cache checks stay instant

    stage = WORK / "staging" / demo.name
    log_path = WORK / "logs" / f"{demo.name}.log"
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def failure(state: str, seconds: float, message: str) -> tuple[Result, dict]:
        shutil.rmtree(stage, ignore_errors=True)
        return Result(demo.name, state, seconds, message), {
            "result": state, "started": started, "duration_s": round(seconds, 1),
            "log": rel(log_path)}

    try:
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir(parents=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        notebook = jupytext.read(demo.path)
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        notebook_path = stage / f"{demo.name}.ipynb"
        jupytext.write(notebook, notebook_path)
        log = open(log_path, "w")
    except OSError as error:
        return failure("failed", 0.0, f"{demo.name} failed before it ran: cannot write "
                       f"{error.filename or rel(stage)}: {error.strerror}; last good outputs kept")

    env = dict(os.environ, DEMO_NAME=demo.name, DEMO_PROFILE=profile, DEMO_SEED=str(seed),
               DEMO_OUT=str(stage), DEMO_NEEDS=",".join(demo.need_names),
               DEMO_INPUTS=str(GENERATED), PYTHONPATH=os.pathsep.join(
                   [str(demo.path.parent), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
               TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    command = [sys.executable, "-m", "jupyter", "execute", "--inplace", "--timeout=-1",
               str(notebook_path)]
    next_note = [30.0]

    def tick(elapsed: float) -> None:
        if elapsed >= next_note[0]:
            report(f"  … {demo.name:<28} {elapsed:5.0f} s" +
                   (f" (last run took {expected:.0f} s)" if expected else ""))
            next_note[0] += 30.0

    t0 = time.monotonic()
    with log:
        proc = subprocess.Popen(command, cwd=stage, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        state, usage = supervise(proc, timeout, tick)
    seconds = time.monotonic() - t0

    if state == "interrupted":
        return failure(state, seconds, f"{demo.name} interrupted after {seconds:.0f} s; last "
                       "good outputs kept")
    if state == "timeout":
        return failure(state, seconds, f"{demo.name} timed out after {timeout:.0f} s; last good "
                       f"outputs kept. Log tail ({rel(log_path)}):\n" + _tail(log_path))
    full = DISK_FULL.search(ANSI.sub("", log_path.read_text(errors="replace")))
    if state == "failed" and full:
        return failure(state, seconds, f"{demo.name} failed: no space left on device while "
                       f"writing {full.group(1) or 'its outputs'}; last good outputs kept "
                       f"(log: {rel(log_path)})")
    missing = [n for n in demo.declared if not (stage / n).exists()]
    problem = metrics_problem(stage / "metrics.json") if (stage / "metrics.json").exists() else None
    if state == "ran" and (missing or problem):
        state = "failed"
        with open(log_path, "a") as log:
            log.write(f"\nThe demo finished but did not write its declared outputs: "
                      f"{', '.join(missing)}\n" if missing else
                      f"\nThe demo wrote a bad metrics file: {problem}\n")
    if state != "ran":
        return failure(state, seconds, f"{demo.name} failed; last good outputs kept. Log tail "
                       f"({rel(log_path)}):\n" + _tail(log_path))

    entry = {
        "status": "ok", "title": demo.title, "profile": profile, "seed": seed,
        "cache_key": cache_key(demo, profile, seed), "source_hash": source_hash(demo),
        "needs": {n.name: cache_key(n, profile, seed) for n in demo.needs},
        "started": started, "duration_s": round(seconds, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "versions": versions(), "outputs": demo.outputs,
        "metrics": json.loads((stage / "metrics.json").read_text())
        if (stage / "metrics.json").exists() else {},
    }
    try:
        rewrite_notebook(demo, notebook_path, entry)
        make_download(demo, stage, entry)
        publish(demo, stage)
    except OSError as error:
        return failure("failed", seconds, f"{demo.name} ran but could not be published: "
                       f"{error.filename or rel(demo.folder)}: {error.strerror}; last good "
                       "outputs kept")
    return Result(demo.name, "ran", seconds), entry


def publish(demo: Demo, stage: Path) -> None:
    """Swap the new outputs in; the old folder goes only after the new one is in place."""
    old = WORK / "old" / demo.name
    shutil.rmtree(old, ignore_errors=True)
    old.parent.mkdir(parents=True, exist_ok=True)
    GENERATED.mkdir(parents=True, exist_ok=True)
    if demo.folder.exists():
        demo.folder.rename(old)
    try:
        stage.rename(demo.folder)
    except OSError:
        if old.exists():
            old.rename(demo.folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _tail(path: Path, lines: int = 25) -> str:
    text = ANSI.sub("", path.read_text(errors="replace")).splitlines()
    return "\n".join("    " + line for line in text[-lines:])


# --- the published notebook: prose first, provenance, folded output ----------------------------

def rewrite_notebook(demo: Demo, notebook_path: Path, entry: dict) -> None:
    """The executed notebook as a reader's page: the header as prose and a box of facts, not
    as code; TensorFlow's start-up noise dropped; long printed output folded."""
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    for cell in notebook.cells:
        if "outputs" in cell:
            cell["outputs"] = [fold(o) for o in _merge_streams(_drop_native_logs(cell["outputs"]))]
    code = [c for c in notebook.cells if c.cell_type == "code"]
    if code:
        code[0].source = _without_docstring(code[0].source)
        if not code[0].source.strip() and not code[0].get("outputs"):
            notebook.cells.remove(code[0])
    notebook.cells.insert(0, nbformat.v4.new_markdown_cell(intro_markdown(demo, entry)))
    nbformat.write(notebook, notebook_path)


def _drop_native_logs(outputs: list) -> list:
    kept = []
    for output in outputs:
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            output["text"] = NATIVE_LOG_LINE.sub("", output["text"])
            if not output["text"].strip():
                continue
        kept.append(output)
    return kept


def _merge_streams(outputs: list) -> list:
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream"
                and previous.get("name") == output.get("name")):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def fold(output):
    """A stream output longer than FOLD_LINES becomes a closed <details> block."""
    import nbformat

    if output.get("output_type") != "stream":
        return output
    lines = output["text"].rstrip("\n").splitlines()
    if len(lines) <= FOLD_LINES:
        return output
    first = lines[0].strip()
    first = first if len(first) <= 60 else first[:57] + "…"
    summary = f"Printed output, {len(lines)} lines: {html.escape(first)}"
    body = (f'<details class="folded-output"><summary>{summary}</summary>'
            f'<pre>{html.escape(output["text"])}</pre></details>')
    return nbformat.v4.new_output("display_data", data={"text/html": body,
                                                        "text/plain": output["text"]})


def _without_docstring(source: str) -> str:
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return source
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None),
                                                             ast.Constant) \
            and isinstance(body[0].value.value, str):
        return "\n".join(source.splitlines()[body[0].end_lineno:]).lstrip("\n")
    return source


def intro_markdown(demo: Demo, entry: dict) -> str:
    """Title, description, the facts box and the provenance line. Links are relative to the
    page, which mkdocs writes beside the demo's files (generated/NAME/NAME.html)."""
    e = html.escape
    facts = [
        f"<li><strong>Data:</strong> {e(demo.fields['Data'])}</li>",
        f"<li><strong>Run time:</strong> {e(demo.fields['Run time'])} This build took "
        f"{entry['duration_s']:.0f} s in the {e(entry['profile'])} profile.</li>",
        f'<li><strong>Re-run it in the project:</strong> <code>make assets ARGS="--only '
        f'{demo.name}"</code></li>',
        f'<li><strong>Run it on your computer:</strong> <a href="{demo.name}.zip" download>'
        f"{demo.name}.zip</a>, the notebook and script with the project modules they import "
        "and a pinned <code>requirements.txt</code>; it runs in the quick profile until you "
        "change one line (see its README.txt)</li>",
    ]
    if demo.needs:
        # Named, not linked: the sibling page's .html does not exist in docs/ for the hook's
        # reference check, and a link to its .ipynb would download the notebook.
        facts.append("<li><strong>Reads the outputs of:</strong> " + ", ".join(
            f"<code>{e(n.name)}</code>" for n in demo.needs) + " (built before this demo; the "
            "download bundles them)</li>")
    if demo.samples:
        facts.append("<li><strong>Raw samples:</strong><ul>" + "".join(
            f'<li><a href="{e(name)}" download><code>{e(name)}</code></a>: {e(text)}</li>'
            for name, text in demo.samples) + "</ul></li>")
    built = entry["started"].replace("T", " ").replace("+00:00", " UTC")
    libraries = ", ".join(f"{LIBRARY_NAMES.get(k, k)} {v}" for k, v in entry["versions"].items())
    provenance = (f"Built {built} in the <strong>{e(entry['profile'])}</strong> profile with "
                  f"seed {entry['seed']}, {e(libraries)}; the run took "
                  f"{entry['duration_s']:.1f} s.")
    if entry["profile"] == "quick":
        provenance += (" <strong>Quick preview:</strong> the figures and numbers on this page "
                       "come from seconds-long runs, not the published quality.")
    return "\n".join([
        f"# {demo.title}", "", demo.description, "",
        '<div class="admonition info demo-facts"><p class="admonition-title">About this demo</p>',
        "<ul>", *facts, "</ul>",
        f'<p class="demo-provenance">{provenance}</p>', "</div>"])


# --- the download: the demo, its project modules, pinned requirements ------------------------

SETTINGS_CELL = '''\
# Run settings. "quick" finishes in seconds with small settings and marks its figures as
# previews; change it to "default" to make what the site shows (see README.txt for how long).
PROFILE = "quick"

import os
os.environ.update(DEMO_NAME={name!r}, DEMO_PROFILE=PROFILE{needs})'''


def requirements(paths: list[Path]) -> list[str]:
    """`package==version` for every installed distribution the files import."""
    local = {p.stem for p in paths}
    distributions = metadata.packages_distributions()
    pins = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in local or top in sys.stdlib_module_names:
                    continue
                for dist in distributions.get(top, []):
                    pins.add(f"{dist}=={metadata.version(dist)}")
    pins.add(f"ipykernel=={metadata.version('ipykernel')}")
    return sorted(pins, key=str.lower)


def make_download(demo: Demo, stage: Path, entry: dict) -> Path:
    """stage/NAME.zip: a folder NAME/ that runs on its own in a fresh Python environment."""
    import jupytext
    import nbformat

    modules = sorted(local_imports(demo.path))
    notebook = jupytext.read(demo.path)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.metadata.pop("jupytext", None)
    needs = f", DEMO_NEEDS={','.join(demo.need_names)!r}" if demo.needs else ""
    settings = SETTINGS_CELL.format(name=demo.name, needs=needs)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(settings))
    script = jupytext.writes(notebook, fmt="py:percent")
    readme = download_readme(demo, entry)
    target = stage / f"{demo.name}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        top = demo.name
        archive.writestr(f"{top}/{demo.name}.ipynb", nbformat.writes(notebook))
        archive.writestr(f"{top}/{demo.name}.py", script)
        for module in modules:
            archive.write(module, f"{top}/{module.name}")
        archive.writestr(f"{top}/requirements.txt",
                         "\n".join(requirements([demo.path, *modules])) + "\n")
        archive.writestr(f"{top}/README.txt", readme)
        for need in demo.needs:   # the needed demos' published outputs, as this build used them
            for path in sorted(need.folder.rglob("*")):
                if path.is_file() and path.suffix not in (".ipynb", ".zip"):
                    archive.write(path, f"{top}/inputs/{need.name}/{path.relative_to(need.folder)}")
    return target


def download_readme(demo: Demo, entry: dict) -> str:
    lines = [
        demo.title, "", demo.description, "",
        "Run it in a fresh folder (Python 3.10 or later, no GPU needed):", "",
        "    python -m venv .venv && . .venv/bin/activate",
        "    pip install -r requirements.txt",
        f"    python {demo.name}.py                    # the quick profile: seconds",
        f"    python {demo.name}.py --profile default  # what the site shows",
        "",
        f"or open {demo.name}.ipynb in Jupyter (pip install jupyterlab) and run every cell. The",
        'quick profile is the default; to switch, change the line PROFILE = "quick" in the first',
        'cell (or at the top of the script) to PROFILE = "default".',
        "",
        f"Run time on 2 CPU cores: {demo.fields['Run time']}",
        f"Data: {demo.fields['Data']}",
        f"Outputs go to outputs/{demo.name}/: {', '.join(demo.declared)}.",
    ]
    if demo.needs:
        names = ", ".join(n.name for n in demo.needs)
        lines += ["", f"This demo reads the outputs of {names}: they are bundled in inputs/, as "
                  f"this build made them ({entry['profile']} profile). To remake them, download "
                  f"that demo too, run it, and copy its outputs/<name>/ folder into inputs/."]
    lines += ["", f"Made by the site's build on {entry['started']} ({entry['profile']} profile, "
              f"seed {entry['seed']}) from demos/{demo.name}.py; requirements.txt pins the "
              "versions the site was built with."]
    return "\n".join(lines) + "\n"


# --- one build at a time -------------------------------------------------------------------

def take_lock():
    """Hold an exclusive lock on .cache/build/build.lock for the whole build.

    The kernel drops the lock when its holder dies, so a lock file whose holder is gone is
    simply taken over; its content says who held it, for the messages."""
    try:
        WORK.mkdir(parents=True, exist_ok=True)
        handle = open(LOCK, "a+")
    except OSError as error:
        raise BuildError(f"cannot create {rel(LOCK)}: {error.strerror}") from None
    handle.seek(0)
    try:
        holder = json.loads(handle.read() or "null")
    except ValueError:
        holder = None
    holder = holder if isinstance(holder, dict) else None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        who = (f"pid {holder.get('pid')}, started {holder.get('since')}" if holder
               else "a process that is starting")
        raise BuildError(f"another build is running in this checkout ({who}); wait for it to "
                         f"finish or stop it (kill {holder.get('pid') if holder else 'it'}), then "
                         "run again") from None
    if holder:
        warn(f"taking over {rel(LOCK)} from build pid {holder.get('pid')} (started "
             f"{holder.get('since')}), which is no longer running")
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "since": datetime.now(timezone.utc)
                             .isoformat(timespec="seconds"), "command": sys.argv}))
    handle.flush()
    return handle


def release_lock(handle) -> None:
    handle.seek(0)
    handle.truncate()     # an empty lock file means nobody held it last
    handle.close()


def check_writable() -> None:
    probe = GENERATED / f".writable.{os.getpid()}"
    try:
        GENERATED.mkdir(parents=True, exist_ok=True)
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise BuildError(f"cannot write to {rel(GENERATED)}: {error.strerror}; make it a "
                         "writable folder (or free disk space) and run again") from None


# --- the command line ---------------------------------------------------------------------

class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit code 2
        raise UsageError(message)


def parse_args(argv: list[str] | None, known: dict[str, Demo],
               broken: dict[str, str]) -> argparse.Namespace:
    parser = Parser(description="Run the demos that changed, then build the site with mkdocs.")
    parser.add_argument("--profile", default="default",
                        help="quick (seconds, for tests) or default (what the site publishes)")
    parser.add_argument("--only", nargs="+", metavar="NAME",
                        help="run only these demos (and the stale demos they need)")
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
    unknown = [n for n in args.only or [] if n not in known and n not in broken]
    if unknown:
        names = sorted([*known, *broken])
        raise UsageError(f"unknown demo {', '.join(map(repr, unknown))}: known demos are "
                         f"{', '.join(names) or '(none)'}")
    return args


def list_demos(demos: dict[str, Demo], broken: dict[str, str], manifest: dict, profile: str,
               seed: int) -> None:
    print(f"{'demo':<30} {'status':<9} {'last run':>9}  title")
    for name in sorted([*demos, *broken]):
        if name in broken:
            print(f"{name:<30} {'broken':<9} {'-':>9}  {broken[name]}")
            continue
        demo, entry = demos[name], manifest["demos"].get(name)
        state = status(demo, entry, cache_key(demo, profile, seed))
        took = f"{entry['duration_s']:.0f} s" if entry and "duration_s" in entry else "-"
        print(f"{name:<30} {state:<9} {took:>9}  {demo.title}")


ESTIMATE = re.compile(r"(\w+) ~(\d+(?:\.\d+)?) ?(s|min)\b")   # "quick ~20 s, default ~3 min"


def expected_seconds(demo: Demo, profile: str, entry: dict | None) -> float:
    """How long a run should take: the last run in this profile, else the header's estimate."""
    if entry and entry.get("profile") == profile and "duration_s" in entry:
        return float(entry["duration_s"])
    for name, number, unit in ESTIMATE.findall(demo.fields.get("Run time", "")):
        if name == profile:
            return float(number) * (60 if unit == "min" else 1)
    return 0.0


def longest_first(selected: list[Demo], expected: dict[str, float]) -> list[Demo]:
    """The demos, longest expected run first (stable), so that with several jobs the build does
    not end with one long demo running alone while the other cores idle. Needs still hold:
    `run_selected` starts a demo only after what it needs."""
    return sorted(selected, key=lambda d: -expected.get(d.name, 0.0))


def run_selected(selected: list[Demo], jobs: int, one, report=print) -> dict[str, Result]:
    """Run the demos, at most `jobs` at once, each only after the demos it needs succeeded."""
    results: dict[str, Result] = {}
    pending, running = list(selected), {}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while pending or running:
            for demo in list(pending):
                if STOP.is_set() or len(running) >= jobs:
                    break
                waiting = [n.name for n in demo.needs if n.name not in results]
                if waiting:
                    continue
                pending.remove(demo)
                failed = [n.name for n in demo.needs if results[n.name].state not in
                          ("ran", "cached")]
                if failed:
                    results[demo.name] = Result(demo.name, "failed")
                    report(f"✗ {demo.name} not run: it needs {', '.join(failed)}, which did not "
                           "build in this run; last good outputs kept")
                    continue
                running[pool.submit(one, demo)] = demo
            if not running:
                if STOP.is_set() or not pending:
                    break
                continue      # every pending demo was just failed for a failed need
            done, _ = wait(running, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                results[running.pop(future).name] = future.result()
    for demo in pending:
        results[demo.name] = Result(demo.name, "interrupted", message=f"{demo.name} not started")
    return results


def main(argv: list[str] | None = None) -> int:
    broken: dict[str, str] = {}
    demos = discover(problems=broken)
    try:
        args = parse_args(argv, demos, broken)
    except UsageError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 2
    for message in broken.values():
        print(f"build.py: error: {message}", file=sys.stderr)
    if args.list:
        list_demos(demos, broken, load_manifest(), args.profile, args.seed)
        return 0
    try:
        lock = take_lock()
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    caught: list[int] = []

    def on_signal(signum, frame):
        caught.append(signum)
        STOP.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return build(args, demos, broken, caught)
    except BuildError as error:
        print(f"build.py: error: {error}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(WORK / "staging", ignore_errors=True)
        release_lock(lock)
        for s, handler in previous.items():
            signal.signal(s, handler)


def build(args, demos: dict[str, Demo], broken: dict[str, str], caught: list[int]) -> int:
    check_writable()
    manifest = load_manifest()
    asked = [n for n in (args.only or [*demos, *broken])]
    selected = with_needs([demos[n] for n in asked if n in demos])
    timeout = args.timeout or TIME_LIMITS[args.profile]
    lock = threading.Lock()

    def report(line: str) -> None:
        with lock:
            print(line, flush=True)

    def one(demo: Demo) -> Result:
        entry = manifest["demos"].get(demo.name)
        key = cache_key(demo, args.profile, args.seed)
        if not args.force and status(demo, entry, key) == "fresh":
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
    order = selected if args.jobs == 1 else longest_first(selected, {d.name: expected_seconds(
        d, args.profile, manifest["demos"].get(d.name)) for d in selected})
    done = run_selected(order, args.jobs, one, report)
    save_manifest(manifest)
    results = [done[d.name] for d in selected]

    print(f"\n{'demo':<30} {'result':<11} {'seconds':>8}")
    for r in results:
        print(f"{r.name:<30} {r.state:<11} {r.seconds:8.1f}")
    for name in asked:
        if name in broken:
            print(f"{name:<30} {'broken':<11} {0:8.1f}")
    count = lambda *states: sum(r.state in states for r in results)  # noqa: E731
    print(f"{count('ran')} ran, {count('cached')} cached, {count('failed', 'timeout')} failed, "
          f"in {time.monotonic() - t0:.1f} s")
    if caught:
        stopped = [r.name for r in results if r.state == "interrupted"]
        name = signal.Signals(caught[0]).name
        print(f"Interrupted by {name}: {', '.join(stopped) or 'nothing'} did not finish (the "
              "next build redoes only those); last good outputs and the manifest are intact.",
              file=sys.stderr)
        return 128 + caught[0]
    failed = [r.name for r in results if r.state in ("failed", "timeout")]
    failed += [n for n in asked if n in broken]

    if not args.assets_only:
        print("Building the site with mkdocs …", flush=True)
        proc = subprocess.Popen([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet"],
                                cwd=ROOT)
        state, _ = supervise(proc, None)
        if caught:
            print(f"Interrupted by {signal.Signals(caught[0]).name} while mkdocs ran.",
                  file=sys.stderr)
            return 128 + caught[0]
        if state == "ran":
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
