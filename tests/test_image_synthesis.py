"""Unit tests for the image_synthesis demo's metric functions, and checks of its outputs."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

ns = demo_functions("image_synthesis")


def test_confident_share_counts_rows_at_or_above_threshold():
    proba = np.array([[0.9, 0.1], [0.8, 0.2], [0.5, 0.5], [0.3, 0.7]])
    assert ns.confident_share(proba, 0.8) == pytest.approx(0.5)
    assert ns.confident_share(proba, 0.5) == pytest.approx(1.0)
    assert ns.confident_share(proba, 0.95) == 0.0


def test_classes_present():
    assert ns.classes_present([0, 0, 3, 9], n_classes=10) == 3
    assert ns.classes_present(np.arange(10), n_classes=10) == 10
    assert ns.classes_present([1, 1, 1], n_classes=10) == 1


def test_label_agreement():
    proba = np.eye(4)[[0, 1, 2, 2]]
    assert ns.label_agreement(proba, [0, 1, 2, 3]) == pytest.approx(0.75)


def test_nearest_distances():
    reference = np.zeros((2, 2, 2))
    reference[1] = 1.0
    images = np.stack([np.zeros((2, 2)), np.full((2, 2), 1.0), np.full((2, 2), 0.25)])
    # Distances in the 4-pixel space: 0, 0, and 0.25 * sqrt(4) = 0.5.
    np.testing.assert_allclose(ns.nearest_distances(images, reference), [0.0, 0.0, 0.5], atol=1e-7)


def test_judge_scores_on_hand_made_sets():
    rng = np.random.default_rng(0)
    features = rng.standard_normal((400, 3))
    even = np.eye(10)[np.arange(400) % 10]
    scores = ns.judge_scores(even, features, features, threshold=0.8)
    assert scores["confident_share"] == 1.0
    assert scores["class_evenness"] == pytest.approx(1.0)
    assert scores["classes_present"] == 10
    assert scores["frechet_distance"] == pytest.approx(0.0, abs=1e-6)

    collapsed = np.tile([0.5, 0.5] + [0.0] * 8, (400, 1))
    scores = ns.judge_scores(collapsed, features + 2.0, features, threshold=0.8)
    assert scores["confident_share"] == 0.0
    assert scores["classes_present"] == 1
    assert scores["class_evenness"] == pytest.approx(0.0)
    # A shift of 2 in each of 3 dimensions: squared mean difference 12, same covariance.
    assert scores["frechet_distance"] == pytest.approx(12.0, abs=1e-6)


def test_checkpoint_steps_are_increasing_dense_early_and_end_at_total():
    steps = ns.checkpoint_steps(3000, 30)
    assert steps[-1] == 3000 and steps[0] >= 1
    assert all(b > a for a, b in zip(steps, steps[1:]))
    gaps = np.diff(steps)
    assert gaps[0] < gaps[-1]
    assert ns.checkpoint_steps(5, 30) == [1, 2, 3, 4, 5]


def test_ema_decay_warms_up_to_target():
    assert ns.ema_decay_at(0, 0.995) == pytest.approx(0.1)
    assert ns.ema_decay_at(100, 0.995) < 0.995
    assert ns.ema_decay_at(100_000, 0.995) == 0.995


def test_class_gaussian_sampler_shape_range_and_means():
    rng = np.random.default_rng(0)
    x = np.zeros((20, 2, 2), dtype="float32")
    x[10:] = 0.6
    y = np.repeat([0, 1], 10)
    samples = ns.sample_class_gaussians(x, y, per_class=500, ridge=1e-4, rng=rng, n_classes=2)
    assert samples.shape == (1000, 2, 2) and samples.dtype == np.float32
    assert samples.min() >= 0.0 and samples.max() <= 1.0
    # Class 1 sits well inside [0, 1], so clipping leaves its mean where it was fitted.
    assert samples[500:].mean() == pytest.approx(0.6, abs=0.01)


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder (called by the lead's suite)."""
    from PIL import Image

    with np.load(out / "samples.npz") as data:
        images, labels = data["images"], data["labels"]
    assert images.ndim == 3 and images.shape[1:] == (8, 8) and len(images) >= 500
    assert np.issubdtype(images.dtype, np.floating)
    assert np.isfinite(images).all() and images.min() >= 0.0 and images.max() <= 1.0
    assert labels.shape == (len(images),) and set(np.unique(labels)) == set(range(10))

    with Image.open(out / "training.gif") as gif:
        assert gif.n_frames >= 5
    for name in ["samples.png", "training.gif", "training_curves.png", "baseline.png",
                 "nearest.png"]:
        assert (out / name).stat().st_size < 1_000_000, name

    metrics = json.loads((out / "metrics.json").read_text())
    for key in ["confident_share", "class_evenness", "classes_present", "frechet_distance",
                "agreement", "judge_heldout_accuracy", "real_frechet_distance",
                "gaussian_frechet_distance", "gaussian_confident_share", "novelty_ratio"]:
        assert key in metrics, key
    for key in ["confident_share", "class_evenness", "agreement", "gaussian_confident_share"]:
        assert 0.0 <= metrics[key] <= 1.0, key

