"""Unit tests of the virtual_worlds demo's metric functions, on hand-made cases (no training)."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

vw = demo_functions("virtual_worlds")


def test_slope_of_flat_plane_is_zero():
    assert np.all(vw.slope(np.full((16, 16), 0.7)) == 0)


def test_slope_of_ramp_is_its_gradient_everywhere():
    rows, cols = np.mgrid[0:12, 0:20]
    ramp = 0.3 * rows - 0.4 * cols + 2.0
    np.testing.assert_allclose(vw.slope(ramp), 0.5)            # |(0.3, -0.4)| = 0.5
    stack = np.stack([ramp, 2 * ramp])
    np.testing.assert_allclose(vw.slope(stack)[1], 1.0)         # per map, not across the stack


def test_histogram_distance_of_identical_samples_is_zero():
    a = np.random.default_rng(0).normal(size=5000)
    assert vw.histogram_distance(a, a.copy()) == 0.0
    assert vw.histogram_distance(np.ones(10), np.ones(7)) == 0.0


def test_histogram_distance_is_symmetric_and_measures_a_shift():
    a = np.random.default_rng(1).uniform(0, 1, 20000)
    b = a + 0.25
    d = vw.histogram_distance(a, b, bins=200)
    assert d == pytest.approx(vw.histogram_distance(b, a, bins=200))
    assert d == pytest.approx(0.25, abs=0.01)   # moving all mass by 0.25 costs 0.25


def test_histogram_distance_between_two_points():
    # All mass in the first bin vs all in the last: it moves across (bins - 1) bin widths.
    assert vw.histogram_distance(np.zeros(5), np.ones(5), bins=10) == pytest.approx(0.9)


def test_normalise_patches_spans_zero_to_one_per_patch():
    patches = np.stack([np.arange(16.0).reshape(4, 4), -3 * np.arange(16.0).reshape(4, 4)])
    out = vw.normalise_patches(patches)
    np.testing.assert_allclose(out.min(axis=(1, 2)), 0)
    np.testing.assert_allclose(out.max(axis=(1, 2)), 1)
    assert np.all(np.isfinite(vw.normalise_patches(np.ones((2, 4, 4)))))   # flat: no division by 0


def test_fractal_noise_has_requested_shape_and_range():
    noise = vw.fractal_noise(5, 32, 2.0, np.random.default_rng(0))
    assert noise.shape == (5, 32, 32)
    np.testing.assert_allclose(noise.min(axis=(1, 2)), 0, atol=1e-6)
    np.testing.assert_allclose(noise.max(axis=(1, 2)), 1, atol=1e-6)


@pytest.mark.parametrize("beta", [1.5, 2.5, 3.0])
def test_spectral_exponent_recovers_the_exponent_of_fractal_noise(beta):
    noise = vw.fractal_noise(200, 32, beta, np.random.default_rng(2))
    assert vw.fit_spectral_exponent(noise) == pytest.approx(beta, abs=0.3)


def test_rougher_noise_is_steeper():
    rng = np.random.default_rng(3)
    smooth, rough = vw.fractal_noise(50, 32, 3.5, rng), vw.fractal_noise(50, 32, 1.5, rng)
    assert vw.slope(rough).mean() > vw.slope(smooth).mean()


def test_random_patches_are_crops_of_the_grid():
    grid = np.arange(40 * 50, dtype="float32").reshape(40, 50)
    patches = vw.random_patches(grid, 20, np.random.default_rng(4), size=8)
    assert patches.shape == (20, 8, 8)
    for p in patches:
        # A rotated or mirrored crop keeps the crop's set of values: a contiguous 8x8 block.
        top_left = p.min()
        r, c = divmod(int(top_left), 50)
        assert np.array_equal(np.sort(p.ravel()), np.sort(grid[r:r + 8, c:c + 8].ravel()))


def test_render_relief_gives_an_rgb_image():
    height = vw.fractal_noise(1, 16, 2.0, np.random.default_rng(5))[0]
    image = vw.render_relief(height, upsample=2)
    assert image.shape == (32, 32, 3)
    assert image.min() >= 0 and image.max() <= 1


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's output folder."""
    gif = out / "terrain_walk.gif"
    assert gif.stat().st_size <= 1_000_000
    with np.load(out / "generated.npz") as data:
        maps = data["heightmaps"]
    assert maps.ndim == 3 and maps.shape[1:] == (32, 32) and len(maps) >= 100
    assert np.all(np.isfinite(maps)) and maps.min() >= 0 and maps.max() <= 1
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("elevation_w1_gan", "slope_w1_gan", "elevation_w1_fractal_baseline",
                "slope_w1_fractal_baseline", "elevation_w1_train_vs_heldout",
                "slope_w1_train_vs_heldout"):
        assert metrics[key] >= 0
