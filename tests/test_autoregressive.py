"""Unit tests for the autoregressive demo's functions (masks, causality, likelihoods), and
checks of its outputs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

import _shared

ns = demo_functions("autoregressive")


def test_causal_masks_cover_the_pixels_before_the_centre_in_reading_order():
    np.testing.assert_array_equal(ns.causal_mask(3, include_centre=False),
                                  [[1, 1, 1], [1, 0, 0], [0, 0, 0]])
    np.testing.assert_array_equal(ns.causal_mask(3, include_centre=True),
                                  [[1, 1, 1], [1, 1, 0], [0, 0, 0]])
    # The 15x15 first-layer mask sees 7 full rows above and 7 pixels to the left: 112 pixels.
    assert ns.causal_mask(15, include_centre=False).sum() == 7 * 15 + 7


def test_each_output_depends_on_exactly_the_earlier_pixels():
    """Change one pixel of a digit: outputs at or before it must not move, every later one may."""
    import keras

    keras.utils.set_random_seed(0)
    model = ns.build_pixelcnn(width=8, blocks=2, dropout=0.0)
    rng = np.random.default_rng(0)
    digit = rng.integers(0, 17, size=(1, 8, 8)).astype("int32")
    base = keras.ops.convert_to_numpy(model(digit))
    order = np.arange(64).reshape(8, 8)
    for position in (0, 9, 27, 63):
        changed = digit.copy()
        changed.reshape(-1)[position] = (changed.reshape(-1)[position] + 8) % 17
        moved = np.abs(keras.ops.convert_to_numpy(model(changed)) - base).max(-1)[0] > 1e-7
        assert not moved[order <= position].any(), position
        # The 15x15 first layer reaches every later pixel, so all of them respond.
        assert moved[order > position].all(), position


def test_pixel_log_likelihoods_of_uniform_logits_are_log_one_seventeenth():
    logits = np.zeros((2, 8, 8, 17), "float32")
    levels = np.random.default_rng(1).integers(0, 17, (2, 8, 8))
    values = np.asarray(ns.pixel_log_likelihoods(logits, levels))
    np.testing.assert_allclose(values, -math.log(17), rtol=1e-6)
    # Uniform guessing, in bits per pixel, is log2(17).
    assert _shared.bits_per_pixel(-values.sum(), 2) == pytest.approx(math.log2(17), rel=1e-6)


def test_independent_pixels_baseline_on_a_hand_made_case():
    fit = np.zeros((3, 8, 8), int)           # three blank digits
    blank, inked = np.zeros((1, 8, 8), int), np.full((1, 8, 8), 16)
    # Level 0 was seen 3 times: (3 + 1) / (3 + 17); level 16 never: 1 / 20.
    assert ns.independent_pixels_log_likelihood(fit, blank)[0] == pytest.approx(64 * math.log(4 / 20))
    assert ns.independent_pixels_log_likelihood(fit, inked)[0] == pytest.approx(64 * math.log(1 / 20))


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    from PIL import Image

    images, labels = _shared.load_digit_samples(out / "samples.npz")
    assert images.shape == (_shared.BENCH_SAMPLES, 8, 8) and labels.shape == (len(images),)
    # Every sampled pixel is one of the 17 grey levels.
    np.testing.assert_allclose(images * 16, np.round(images * 16), atol=1e-5)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(_shared.BENCH_METRIC_KEYS) <= set(metrics)
    # Exact likelihood: better than uniform guessing even after a few steps.
    assert 0 < metrics["bits_per_pixel"] < math.log2(17)
    for key in ("precision", "recall", "class_coverage", "memorised"):
        assert 0.0 <= metrics[key] <= 1.0, key
    with Image.open(out / "sampling.gif") as gif:
        assert gif.n_frames == 65  # the empty canvas, then one frame per pixel
    assert len((out / "judge.sha256").read_text().strip()) == 64
