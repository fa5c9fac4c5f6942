"""Unit tests of the gan demo's functions, and checks of its outputs."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

import _shared

ns = demo_functions("gan")


def test_minibatch_stddev_is_zero_for_identical_images_and_positive_otherwise():
    layer = ns.MinibatchStddev()
    same = np.ones((4, 8, 8, 3), dtype="float32")
    out = np.asarray(layer(same))
    assert out.shape == (4, 8, 8, 4)
    np.testing.assert_allclose(out[..., :3], same)
    assert out[..., 3].max() < 1e-3
    varied = np.random.default_rng(0).standard_normal((4, 8, 8, 3)).astype("float32")
    assert np.asarray(layer(varied))[..., 3].min() > 0.5


def test_networks_have_the_shapes_the_game_needs():
    generator = ns.build_generator(latent_dim=16, width=8)
    images = np.asarray(generator(np.zeros((3, 16), "float32"), training=False))
    assert images.shape == (3, 8, 8, 1) and images.min() >= 0 and images.max() <= 1
    for tricks in (True, False):
        discriminator = ns.build_discriminator(width=8, minibatch_stddev=tricks)
        assert np.asarray(discriminator(images, training=False)).shape == (3, 1)


def test_ema_decay_warms_up_to_target():
    assert ns.ema_decay_at(0, 0.995) == pytest.approx(0.1)
    assert ns.ema_decay_at(10**6, 0.995) == 0.995


def test_checkpoint_steps_are_dense_early_and_end_at_total():
    steps = ns.checkpoint_steps(7000, 24)
    assert steps[-1] == 7000 and np.diff(steps)[0] < np.diff(steps)[-1]


def test_sigmoid():
    np.testing.assert_allclose(ns.sigmoid([0.0, 100.0, -100.0]), [0.5, 1.0, 0.0], atol=1e-12)


def test_profiles_share_the_architecture():
    quick, default = ns.PROFILES["quick"], ns.PROFILES["default"]
    for key in ("width", "latent_dim", "batch", "learning_rate"):
        assert quick[key] == default[key], key


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    from PIL import Image

    images, labels = _shared.load_digit_samples(out / "samples.npz")
    assert images.shape == (_shared.BENCH_SAMPLES, 8, 8) and labels.shape == (len(images),)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(_shared.BENCH_METRIC_KEYS) - {"bits_per_pixel"} <= set(metrics)
    assert "bits_per_pixel" not in metrics  # a GAN gives no likelihood
    for key in ("precision", "recall", "class_coverage", "memorised", "plain_class_coverage"):
        assert 0.0 <= metrics[key] <= 1.0, key
    with Image.open(out / "training.gif") as gif:
        assert gif.n_frames >= 4
