"""Benchmark every demo and rewrite BENCHMARKS.md.

    python scripts/bench.py          # what `make bench` runs

1. Every demo in the quick profile, from scratch, in a scratch copy of the project (so the
   published default-profile outputs are not replaced by previews).
2. Every demo in the default profile, from scratch (`--force`), one at a time, in this tree.
3. A warm rebuild (`python scripts/build.py` with nothing to redo, mkdocs included), three times.

    python scripts/bench.py --cold-build 2   # in a fresh clone: `make site`, timed

times the cold build of everything (default profile, N demos at a time, mkdocs included) and
writes its own section.

    python scripts/bench.py --ci             # `bash .ci/run` in a fresh clone of HEAD, timed

times what CI does (a fresh clone of the last commit, the README's test command with its
install steps) and writes its own section; issue 10 asks for under 15 minutes.

It rewrites only its own section of BENCHMARKS.md: sections that other scripts write between
`<!-- NAME:start -->` and `<!-- NAME:end -->` markers are kept as they are.

Wall time, peak memory (largest resident set of the demo's process tree) and metrics come from
the manifest the build writes. Targets: quick <= 20 s and default <= 180 s per demo, warm
rebuild < 10 s. Numbers depend on the machine and on what else it is doing; the report says
which machine and how loaded it was.
"""

from __future__ import annotations

import csv
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import build

TARGETS = {"quick": 20.0, "default": 180.0, "warm": 10.0, "cold": 1800.0, "ci": 900.0}
COPIED = ("demos", "scripts", "docs", "mkdocs.yml", "pyproject.toml")
ENV = dict(os.environ, NO_MKDOCS_2_WARNING="1")
# A section of BENCHMARKS.md that another script writes and this one must keep.
SECTION = re.compile(r"<!-- (?P<name>[\w-]+):start -->.*?<!-- (?P=name):end -->", re.DOTALL)


def run_all(project: Path, profile: str) -> dict:
    command = [sys.executable, str(project / "scripts" / "build.py"), "--profile", profile,
               "--force", "--assets-only", "--jobs", "1"]
    print(f"$ {' '.join(command[1:])}", flush=True)
    subprocess.run(command, cwd=project, env=ENV, check=False)
    return json.loads((project / "docs" / "generated" / "manifest.json").read_text())["demos"]


def quick_in_scratch_copy() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        for name in COPIED:
            src = build.ROOT / name
            if src.is_dir():
                shutil.copytree(src, Path(tmp) / name,
                                ignore=shutil.ignore_patterns("generated", "__pycache__"))
            else:
                shutil.copy2(src, Path(tmp) / name)
        return run_all(Path(tmp), "quick")


def warm_rebuild_seconds(repeats: int = 3) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.monotonic()
        subprocess.run([sys.executable, str(build.ROOT / "scripts" / "build.py")],
                       cwd=build.ROOT, env=ENV, check=True, capture_output=True)
        times.append(time.monotonic() - t0)
    return times


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_line(load_before, load_after) -> str:
    """The cores, the CPU and the load average before and after a timed run."""
    load = lambda values: " / ".join(f"{x:.1f}" for x in values)  # noqa: E731
    return (f"- Machine: {os.cpu_count()} cores ({cpu_model()}); load average (1 / 5 / 15 min) "
            f"{load(load_before)} before, {load(load_after)} after.")


def write_section(text: str, name: str) -> None:
    """Replace (or add) one section of BENCHMARKS.md, keeping every other."""
    target = build.ROOT / "BENCHMARKS.md"
    target.write_text(merge_sections(target.read_text() if target.exists() else "", text, name))


def verdict(seconds: float | None, target: float) -> str:
    if seconds is None:
        return "failed"
    return "ok" if seconds <= target else f"over ({target:.0f} s)"


def merge_sections(old: str, text: str, name: str = "bench") -> str:
    """BENCHMARKS.md with this script's section replaced and every other script's section
    (`<!-- NAME:start -->` ... `<!-- NAME:end -->`, e.g. audit, live, families) kept as it was.

    A file written before sections were marked has no bench markers: its unmarked text was this
    script's, and is replaced; the marked sections follow it, in their order."""
    block = f"<!-- {name}:start -->\n{text.strip()}\n<!-- {name}:end -->"
    own = re.compile(rf"<!-- {re.escape(name)}:start -->.*?<!-- {re.escape(name)}:end -->", re.DOTALL)
    if own.search(old):
        return own.sub(lambda _: block, old, count=1)
    if name != "bench":   # a section this file does not have yet goes at the end
        return f"{old.rstrip()}\n\n{block}\n" if old.strip() else f"{block}\n"
    others = [m.group(0) for m in SECTION.finditer(old) if m.group("name") != name]
    return "\n\n".join([block, *others]) + "\n"


FAMILY_LABELS = {"real": "real held-out digits (floor)", "vae": "VAE", "gan": "GAN",
                 "autoregressive": "autoregressive (PixelCNN)", "flow": "normalizing flow (RealNVP)",
                 "diffusion": "diffusion (rectified flow)", "gaussian": "per-class Gaussian",
                 "kde": "kernel density"}


def families_section(generated: Path, when: str) -> str | None:
    """The model-families table (issue 10) from a build's outputs: model_families' comparison.csv,
    each family's training steps, diffusion's step sweep and text_generation's bits per character.
    None when that build has no comparison (the demo failed or was not run)."""
    csv_path = generated / "model_families" / "comparison.csv"
    if not csv_path.exists():
        return None
    def metrics(name: str) -> dict:
        path = generated / name / "metrics.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def num(value: str, fmt: str) -> str:
        return format(float(value), fmt) if value not in ("", None) else ""

    lines = [
        "## Model families on one bench (issue 10), default profile",
        "",
        f"From {when}: the comparison `demos/model_families.py` writes into `comparison.csv`, "
        "every family scored by the shared judge of `demos/_shared.py` (one split, one judge; "
        "`judge.sha256` is the same in every run). Training seconds were measured while another "
        "demo may have shared the 2 cores. Bits per pixel: exact for the autoregressive model, a "
        "bound for the VAE (importance-weighted), the flow (dequantization) and the baselines, "
        "an ODE estimate for diffusion.",
        "",
        "| family | steps | train s | sample s / 1,000 | parameters | Fréchet | precision / recall "
        "| class coverage | memorised | bits per pixel |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    with csv_path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            name = row["model"]
            steps = metrics(name).get("training_steps")
            steps = f"{steps:,.0f}" if steps else ("closed form" if name in ("gaussian", "kde") else "")
            lines.append(
                f"| {FAMILY_LABELS.get(name, name)} | {steps} | {num(row['train_seconds'], '.0f')} "
                f"| {num(row['sample_seconds_per_1000'], '.2f')} | {num(row['parameters'], ',.0f')} "
                f"| {num(row['frechet'], '.2f')} | {num(row['precision'], '.2f')} / "
                f"{num(row['recall'], '.2f')} | {num(row['class_coverage'], '.2f')} "
                f"| {num(row['memorised'], '.1%')} | {num(row['bits_per_pixel'], '.3f')} |")
    diffusion = metrics("diffusion")
    sweep = sorted({int(k.split("_")[1]) for k in diffusion if re.fullmatch(r"sweep_\d+_frechet", k)})
    if sweep:
        cell = lambda key, fmt: " | ".join(format(diffusion[f"sweep_{n}_{key}"], fmt) for n in sweep)  # noqa: E731
        lines += [
            "", "Diffusion, number of sampling steps against quality and time (same run):", "",
            "| steps | " + " | ".join(str(n) for n in sweep) + " |",
            "|---|" + "---:|" * len(sweep),
            f"| Fréchet | {cell('frechet', '.2f')} |",
            "| precision / recall | " + " | ".join(
                f"{diffusion[f'sweep_{n}_precision']:.2f} / {diffusion[f'sweep_{n}_recall']:.2f}"
                for n in sweep) + " |",
            f"| s per 1,000 | {cell('seconds', '.2f')} |",
        ]
    text = metrics("text_generation")
    if text:
        orders = sorted(int(k.removeprefix("bpc_val_ngram")) for k in text
                        if re.fullmatch(r"bpc_val_ngram\d+", k))
        lines += [
            "",
            "Autoregressive text (`text_generation`, same build): held-out bits per character "
            + ", ".join(f"{n}-gram {text[f'bpc_val_ngram{n}']:.3f}" for n in orders) + "; "
            + "; ".join(
                f"{label} {text[f'bpc_val_{key}']:.3f} ({text[f'train_steps_{key}']:,.0f} steps, "
                f"{text[f'train_seconds_{key}']:.0f} s, {text[f'params_{key}']:,.0f} parameters)"
                for key, label in (("gru", "GRU"), ("transformer", "transformer")))
            + f". The best network is at {text['bpc_ratio_best_neural_to_best_ngram']:.3f} times "
            "the best n-gram (issue 10 asks for at most 0.95).",
        ]
    return "\n".join(lines)


def cold_build(jobs: int) -> int:
    """`make site` on a fresh clone, timed: every demo in the default profile, then mkdocs.
    Writes the `cold-build` section of BENCHMARKS.md (issue 10 asks for at most 30 minutes)."""
    stale = [p for p in (build.ROOT / "docs" / "generated", build.ROOT / ".cache")
             if p.exists()]
    if stale:
        print(f"bench.py: --cold-build needs a fresh clone, but {stale[0]} exists; "
              "run it in `git clone . /tmp/cold && cd /tmp/cold`", file=sys.stderr)
        return 2
    load_before = os.getloadavg()
    started = datetime.now(timezone.utc)
    t0 = time.monotonic()
    result = subprocess.run([sys.executable, str(build.ROOT / "scripts" / "build.py"),
                             "--profile", "default", "--jobs", str(jobs)],
                            cwd=build.ROOT, env=ENV, check=False)
    wall = time.monotonic() - t0
    load_after = os.getloadavg()
    demos = json.loads((build.ROOT / "docs" / "generated" / "manifest.json").read_text())["demos"]
    ok = {name: entry["duration_s"] for name, entry in demos.items()
          if entry.get("status") == "ok" and "last_attempt" not in entry}
    slowest = sorted(ok.items(), key=lambda item: -item[1])[:5]
    lines = [
        "## Cold build",
        "",
        f"Written by `python scripts/bench.py --cold-build {jobs}` in a fresh clone (what `make site` does there) on "
        f"{started.strftime('%Y-%m-%d %H:%M UTC')}: `scripts/build.py --profile default "
        f"--jobs {jobs}`, every demo from nothing, then mkdocs.",
        "",
        machine_line(load_before, load_after),
        f"- Wall time: {wall / 60:.1f} min ({wall:.0f} s; target at most 30 min: "
        f"{verdict(wall, TARGETS['cold'])}); exit code {result.returncode}; "
        f"{len(ok)} of {len(demos)} demos ok.",
        f"- Demo seconds added up: {sum(ok.values()):.0f} s, so {jobs} at a time saved "
        f"{sum(ok.values()) - wall:.0f} s against running them one after another"
        " (each demo's own time grows when two share the cores).",
        "- Slowest: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in slowest) + ".",
    ]
    write_section("\n".join(lines), "cold-build")
    families = families_section(build.GENERATED, f"the cold build (last section; "
                                f"{started.strftime('%Y-%m-%d %H:%M UTC')}, {jobs} demos at a time)")
    if families:
        write_section(families, "families")
        print(families)
    print("\n".join(lines))
    return result.returncode


def ci_run() -> int:
    """`bash .ci/run` in a fresh clone of HEAD, timed, as CI runs it. Writes the `ci` section."""
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=build.ROOT,
                           capture_output=True, text=True).stdout.strip()
    if dirty:
        print("bench.py: uncommitted changes are not in the clone; CI runs the last commit",
              file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ci-") as tmp:
        clone = Path(tmp) / "clone"
        subprocess.run(["git", "clone", "--quiet", str(build.ROOT), str(clone)], check=True)
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone,
                                capture_output=True, text=True, check=True).stdout.strip()
        load_before = os.getloadavg()
        started = datetime.now(timezone.utc)
        t0 = time.monotonic()
        summary = ""
        with subprocess.Popen(["bash", ".ci/run"], cwd=clone, env=dict(ENV, CI="true"),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
            for line in proc.stdout:
                print(line, end="", flush=True)
                if re.search(r"\b(passed|failed|error)\b.* in [\d.]+s", line):
                    summary = line.strip(" =\n")
        wall = time.monotonic() - t0
        load_after = os.getloadavg()
    lines = [
        "## CI run",
        "",
        f"Written by `python scripts/bench.py --ci` on {started.strftime('%Y-%m-%d %H:%M UTC')}: "
        f"`bash .ci/run` (`make test`: the virtual environment, `npm ci`, then pytest) in a fresh "
        f"clone of commit {commit}.",
        "",
        machine_line(load_before, load_after),
        f"- Wall time: {wall / 60:.1f} min ({wall:.0f} s; target under 15 min: "
        f"{verdict(wall, TARGETS['ci'])}); exit code {proc.returncode}.",
        f"- pytest: {summary or 'no summary line (see the output)'}.",
    ]
    write_section("\n".join(lines), "ci")
    print("\n".join(lines))
    return proc.returncode


def main() -> int:
    if sys.argv[1:] == ["--ci"]:
        return ci_run()
    if sys.argv[1:2] == ["--cold-build"]:
        jobs = sys.argv[2:3]
        if not jobs or not jobs[0].isdigit() or int(jobs[0]) < 1:
            print("bench.py: --cold-build takes the number of demos to run at once, "
                  "e.g. --cold-build 2", file=sys.stderr)
            return 2
        return cold_build(int(jobs[0]))
    if sys.argv[1:]:
        print(f"bench.py: unknown arguments {' '.join(sys.argv[1:])!r}; use no arguments (every "
              "demo, both profiles), --ci, or --cold-build N", file=sys.stderr)
        return 2
    load_before = os.getloadavg()[0]
    quick = quick_in_scratch_copy()
    default = run_all(build.ROOT, "default")
    warm = warm_rebuild_seconds()

    def seconds(entry):
        return entry.get("duration_s") if entry and entry.get("status") == "ok" \
            and "last_attempt" not in entry else None

    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/bench.py`); do not edit by hand.",
        "",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {os.cpu_count()} cores ({cpu_model()}), "
        f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, no GPU used",
        f"- Load average when the run started: {load_before:.1f}",
        f"- Versions: " + ", ".join(f"{k} {v}" for k, v in build.versions().items()),
        "",
        "## Time and memory per demo",
        "",
        "Wall time includes starting a Jupyter kernel and importing TensorFlow (about 5 s). Peak "
        "memory is the largest resident set in the demo's process tree.",
        "",
        "| Demo | Quick (s) | Quick target 20 s | Default (s) | Default target 180 s | Peak memory, default (MB) |",
        "|---|---:|---|---:|---|---:|",
    ]
    for name in build.discover():
        q, d = quick.get(name, {}), default.get(name, {})
        qs, ds = seconds(q), seconds(d)
        lines.append(f"| {name} | {qs if qs is not None else '–'} | {verdict(qs, TARGETS['quick'])} "
                     f"| {ds if ds is not None else '–'} | {verdict(ds, TARGETS['default'])} "
                     f"| {d.get('peak_rss_mb', '–')} |")
    median = statistics.median(warm)
    lines += [
        "",
        "## Warm rebuild",
        "",
        f"`python scripts/build.py` with every demo cached, mkdocs included: "
        f"{', '.join(f'{t:.1f}' for t in warm)} s (median {median:.1f} s; target < 10 s: "
        f"{'ok' if median < TARGETS['warm'] else 'over'}).",
        "",
        "## Metrics, default profile",
        "",
        "Each demo's page explains what its metrics measure and against which baseline.",
        "",
    ]
    for name in build.discover():
        metrics = default.get(name, {}).get("metrics", {})
        lines += [f"### {name}", "", "| Metric | Value |", "|---|---:|"]
        lines += [f"| {k} | {v:.4g} |" for k, v in metrics.items()] or ["| (no metrics: run failed) | |"]
        lines.append("")
    write_section("\n".join(lines), "bench")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
