"""The demos' shared helpers: the quick mark, the budgets, the evaluators' formulas."""

import json
import types

import numpy as np
import pytest
from PIL import Image

import _shared


def make_run(tmp_path, profile):
    return _shared.Run(name="t", profile=profile, seed=0, out=tmp_path, hp=types.SimpleNamespace())


def test_quick_profile_images_carry_the_red_preview_band(tmp_path):
    white = np.full((64, 200, 3), 255, dtype="uint8")
    make_run(tmp_path, "quick").save_image(white, "quick.png")
    make_run(tmp_path, "default").save_image(white, "default.png")
    quick = np.asarray(Image.open(tmp_path / "quick.png").convert("RGB"))
    default = np.asarray(Image.open(tmp_path / "default.png").convert("RGB"))
    assert (default == 255).all()
    bottom = quick[-3]
    assert (bottom[:, 0] > 150).mean() > 0.5 and (bottom[:, 1] < 100).mean() > 0.5  # red


def test_quick_profile_gif_frames_are_marked(tmp_path):
    frames = [np.full((48, 160), v, dtype="uint8") for v in (0, 255)]
    path = make_run(tmp_path, "quick").save_gif(frames, "a.gif")
    gif = Image.open(path)
    assert gif.n_frames == 2
    rgb = np.asarray(gif.convert("RGB"))
    assert (rgb[-3, :, 0] > 150).mean() > 0.5


def test_a_gif_over_the_page_budget_is_refused(tmp_path):
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, (400, 400, 3), dtype="uint8") for _ in range(12)]
    with pytest.raises(ValueError, match="over the 1 MB page budget"):
        make_run(tmp_path, "default").save_gif(frames, "big.gif")


def test_metrics_must_be_finite(tmp_path):
    run = make_run(tmp_path, "default")
    with pytest.raises(ValueError, match="finite"):
        run.save_metrics({"loss": float("nan")})
    run.save_metrics({"accuracy": np.float32(0.5), "count": 3})
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"accuracy": 0.5, "count": 3.0}


def test_frechet_distance_is_zero_for_identical_sets_and_grows_with_a_shift():
    x = np.random.default_rng(0).standard_normal((500, 4))
    assert _shared.frechet_distance(x, x) == pytest.approx(0, abs=1e-6)
    # Same covariance, means 2 apart in one coordinate: distance = 2^2.
    assert _shared.frechet_distance(x, x + [2, 0, 0, 0]) == pytest.approx(4, rel=1e-6)


def test_class_evenness():
    assert _shared.class_evenness(np.arange(10).repeat(5)) == pytest.approx(1.0)
    assert _shared.class_evenness(np.zeros(50)) == pytest.approx(0.0)


def test_image_grid_shape_and_colours():
    grid = _shared.image_grid(np.zeros((6, 8, 8)), ncols=3, pad=1, scale=2)
    assert grid.shape == (2 * (2 * 9 + 1), 2 * (3 * 9 + 1))
    assert grid.max() == 255  # blank images render white


def test_start_rejects_profiles_other_than_quick_and_default():
    with pytest.raises(ValueError, match="PROFILES must define"):
        _shared.start({"quick": {}, "fast": {}})
