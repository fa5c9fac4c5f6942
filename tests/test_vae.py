"""Unit tests of the vae demo's functions, and checks of its outputs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

import _shared

ns = demo_functions("vae")


def test_gaussian_kl_is_zero_for_the_prior_and_matches_the_formula():
    assert ns.gaussian_kl(np.zeros((3, 4)), np.zeros((3, 4))) == pytest.approx(np.zeros(3))
    # One dimension, mean 1, variance e: 0.5 * (1 + e - 1 - 1).
    value = ns.gaussian_kl(np.array([[1.0]]), np.array([[1.0]]))[0]
    assert value == pytest.approx(0.5 * (1 + math.e - 1 - 1))


def test_level_log_likelihood_of_uniform_logits_is_log_one_seventeenth_per_pixel():
    logits = np.zeros((2, 64, 17))
    levels = np.random.default_rng(0).integers(0, 17, size=(2, 64))
    np.testing.assert_allclose(ns.level_log_likelihood(logits, levels), 64 * -math.log(17))
    # A confident, correct decoder gets a log-likelihood near zero.
    sure = np.full((1, 64, 17), -50.0)
    sure[0, np.arange(64), levels[0]] = 50.0
    assert ns.level_log_likelihood(sure, levels[:1])[0] == pytest.approx(0.0, abs=1e-6)


def test_expected_image_is_the_mean_grey_level_scaled_to_one():
    logits = np.full((1, 64, 17), -50.0)
    logits[0, :, 16] = 50.0  # all ink
    np.testing.assert_allclose(ns.expected_image(logits), np.ones((1, 8, 8)), atol=1e-6)
    uniform = ns.expected_image(np.zeros((1, 64, 17)))
    np.testing.assert_allclose(uniform, 0.5, atol=1e-6)
    assert uniform.shape == (1, 8, 8)


def test_log_mean_exp_is_stable_and_exact():
    values = np.array([[1000.0, 1000.0], [1000.0, 1000.0 + math.log(3)]])
    np.testing.assert_allclose(ns.log_mean_exp(values, axis=0), [1000.0, 1000.0 + math.log(2)])


def test_importance_weighting_bound_is_tighter_than_the_elbo_on_average():
    # log mean exp >= mean (Jensen): the IWAE bound is never looser than the average weight.
    w = np.random.default_rng(1).standard_normal((16, 50))
    assert np.all(ns.log_mean_exp(w, axis=0) >= w.mean(0) - 1e-12)


def test_slerp_ends_and_keeps_the_norm_of_equal_length_vectors():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    np.testing.assert_allclose(ns.slerp(a, b, 0.0), a, atol=1e-12)
    np.testing.assert_allclose(ns.slerp(a, b, 1.0), b, atol=1e-12)
    assert np.linalg.norm(ns.slerp(a, b, 0.5)) == pytest.approx(1.0)
    np.testing.assert_allclose(ns.slerp(a, a, 0.3), a)


def test_draw_pixels_follows_certain_probabilities():
    logits = np.full((2, 64, 17), -50.0)
    logits[0, :, 0] = 50.0
    logits[1, :, 8] = 50.0
    images = ns.draw_pixels(logits, np.random.default_rng(2))
    np.testing.assert_allclose(images[0], 0.0)
    np.testing.assert_allclose(images[1], 0.5)


def test_checkpoint_steps_end_at_total():
    steps = ns.checkpoint_steps(20000, 20)
    assert steps[-1] == 20000 and all(b > a for a, b in zip(steps, steps[1:]))


def test_profiles_share_the_architecture_and_quick_is_small():
    quick, default = ns.PROFILES["quick"], ns.PROFILES["default"]
    assert quick["latent_dim"] == default["latent_dim"] and quick["hidden"] == default["hidden"]
    assert quick["steps"] < default["steps"] / 20


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    from PIL import Image

    images, labels = _shared.load_digit_samples(out / "samples.npz")
    assert images.shape == (_shared.BENCH_SAMPLES, 8, 8) and labels.shape == (len(images),)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(_shared.BENCH_METRIC_KEYS) <= set(metrics)
    # The importance-weighted bound can only be tighter than the ELBO, up to sampling noise.
    assert metrics["bits_per_pixel"] <= metrics["elbo_bits_per_pixel"] + 0.01
    assert 0 < metrics["bits_per_pixel"] < math.log2(17) + 0.5
    for key in ("precision", "recall", "class_coverage", "memorised"):
        assert 0.0 <= metrics[key] <= 1.0, key
    with Image.open(out / "latent_walk.gif") as gif:
        assert gif.n_frames >= 6
    assert len((out / "judge.sha256").read_text().strip()) == 64
    assert 1 <= metrics["best_step"] <= metrics["training_steps"]
