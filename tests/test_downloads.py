"""The download on each demo page runs on its own (issue 13.1).

Each zip is unpacked into an empty temporary folder outside the repository and run there with
the network cut off (when the system can make a network namespace), in the quick profile that
the download defaults to; then the outputs its header declares must be there. Two demos stand
in for all: a throwaway demo that needs another's outputs, and the quickest real demo.
"""

import os
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

import build as build_module
from conftest import DEMOS, ROOT, offline_prefix
from test_pipeline import build, project  # noqa: F401  (project is a fixture)

READER = '''"""Area: a demo that reads another demo's output

It copies what alpha wrote, with a suffix that depends on the profile.

Data: alpha's out.txt.
Run time: quick ~1 s, default ~1 s.
Outputs: copy.txt, metrics.json
Headline: copy.txt
Page: index.md
Needs: alpha
"""
import json
from _shared import read_settings
run = read_settings({"quick": {"suffix": "!"}, "default": {"suffix": "!!!"}})
text = (run.inputs("alpha") / "out.txt").read_text()
(run.out / "copy.txt").write_text(text + run.hp.suffix)
(run.out / "metrics.json").write_text(json.dumps({"length": len(text)}))
'''


def unpack(archive: Path, into: Path) -> Path:
    into.mkdir()
    with zipfile.ZipFile(archive) as z:
        z.extractall(into)
    (folder,) = into.iterdir()
    return folder


def run_offline(command: list[str], cwd: Path, timeout: float = 600):
    """A reader's shell: no pipeline variables, no project on the path, no network."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEMO_") and k not in ("PYTHONPATH", "RUN_COUNTER")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    return subprocess.run([*offline_prefix(), *command], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_download_of_a_demo_with_needs_bundles_them_and_runs_in_a_fresh_folder(project, tmp_path):
    (project / "demos" / "reader.py").write_text(READER)
    result = build(project, "--only", "reader")
    assert result.returncode == 0, result.stdout + result.stderr
    folder = unpack(project / "docs/generated/reader/reader.zip", tmp_path / "fresh")
    assert folder.name == "reader"
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert names == ["README.txt", "_shared.py", "inputs/alpha/metrics.json",
                     "inputs/alpha/out.txt", "reader.ipynb", "reader.py", "requirements.txt"]
    readme = (folder / "README.txt").read_text()
    assert "reads the outputs of alpha: they are bundled in inputs/" in readme
    assert 'PROFILE = "quick"' in readme and "pip install -r requirements.txt" in readme

    script = run_offline([sys.executable, "reader.py"], folder)
    assert script.returncode == 0, script.stderr
    assert (folder / "outputs/reader/copy.txt").read_text() == "good!"        # quick by default
    switched = run_offline([sys.executable, "reader.py", "--profile", "default"], folder)
    assert switched.returncode == 0, switched.stderr
    assert (folder / "outputs/reader/copy.txt").read_text() == "good!!!"

    (folder / "outputs").rename(folder / "outputs-script")
    notebook = run_offline([sys.executable, "-m", "jupyter", "execute", "reader.ipynb"], folder)
    assert notebook.returncode == 0, notebook.stderr
    assert (folder / "outputs/reader/copy.txt").read_text() == "good!"


def test_the_requirements_pin_the_installed_versions_of_what_the_demo_imports(tmp_path):
    demo = build_module.parse_header(DEMOS / "image_synthesis.py")
    pins = build_module.requirements([demo.path, *build_module.local_imports(demo.path)])
    versions = dict(line.split("==") for line in pins)
    for package in ("tensorflow", "keras", "numpy", "matplotlib", "scikit-learn", "pillow"):
        assert versions[package] == metadata.version(package), package
    assert not any(name.startswith("_") for name in versions)


def test_the_download_of_a_real_demo_runs_offline_in_a_fresh_folder_in_the_quick_profile(tmp_path):
    """data_augmentation, one of the quickest real demos. The zip is made exactly as the
    build makes it (same function), without running the demo in the repository first."""
    name = "data_augmentation"
    demo = build_module.discover()[name]
    stage = tmp_path / "stage"
    stage.mkdir()
    entry = {"started": "2026-12-03T12:00:00+00:00", "profile": "quick", "seed": 42}
    archive = build_module.make_download(demo, stage, entry)
    folder = unpack(archive, tmp_path / "fresh")
    assert not str(folder).startswith(str(ROOT))
    first_code = next(c for c in _cells(folder / f"{name}.ipynb") if c["cell_type"] == "code")
    assert 'PROFILE = "quick"' in "".join(first_code["source"])

    result = run_offline([sys.executable, "-m", "jupyter", "execute", f"{name}.ipynb"], folder)
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = folder / "outputs" / name          # beside the download: its own _shared.py ran
    missing = [o for o in demo.declared if not (outputs / o).exists()]
    assert not missing, f"the download did not write {missing}"
    if not offline_prefix():
        pytest.skip("ran, but with the network on: this system cannot make a network namespace")


def _cells(path: Path) -> list:
    import json

    return json.loads(path.read_text())["cells"]
