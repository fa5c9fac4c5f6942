"""Unit tests for the diffusion demo's functions (paths, sampler, ODE likelihood), and checks of
its outputs."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

import _shared

ns = demo_functions("diffusion")


def linear_velocity(rate=None, constant=None):
    """A Keras model [x, t] -> rate * x (or a constant velocity), ignoring t."""
    import keras
    from keras import layers

    x = keras.Input((64,))
    t = keras.Input(())
    if rate is not None:
        v = layers.Dense(64, use_bias=False, kernel_initializer=keras.initializers.Identity(rate))(x)
    else:
        v = layers.Dense(64, kernel_initializer="zeros",
                         bias_initializer=keras.initializers.Constant(constant))(x)
    v = layers.Lambda(lambda pair: pair[0] + 0.0 * pair[1][:, None])([v, t])
    return keras.Model([x, t], v)


def test_the_path_runs_from_noise_to_data():
    x0, x1 = np.zeros((2, 64), "float32"), np.ones((2, 64), "float32")
    np.testing.assert_allclose(ns.blend(x0, x1, np.array([0.0, 1.0], "float32")), [x0[0], x1[0]])
    np.testing.assert_allclose(ns.blend(x0, x1, np.array([0.25, 0.25], "float32")), 0.25)


def test_signal_values_fall_back_into_their_own_level():
    levels = np.arange(17, dtype="float32").repeat(4)[None]
    for u in (0.0, 0.5, 0.999):
        x = ns.to_signal(levels, u)
        assert (-1 <= x).all() and (x < 1).all()
        np.testing.assert_array_equal(ns.to_levels(x), levels)


def test_euler_steps_follow_a_constant_velocity_exactly():
    import tensorflow as tf

    euler = ns.make_sampler(linear_velocity(constant=0.5))
    x0 = np.random.default_rng(0).standard_normal((3, 64)).astype("float32")
    for n in (1, 7):
        np.testing.assert_allclose(euler(tf.constant(x0), tf.constant(n)), x0 + 0.5, atol=1e-5)


def test_ode_log_density_of_a_linear_field_matches_the_gaussian_it_makes():
    """dx/dt = a x carries N(0, I) to N(0, e^{2a} I); the divergence is 64 a exactly."""
    import tensorflow as tf

    a = 0.3
    log_density = ns.make_log_density(linear_velocity(rate=a))
    x1 = np.random.default_rng(1).standard_normal((4, 64)).astype("float32")
    estimate = log_density(tf.constant(x1), tf.constant(400)).numpy()
    exact = (-0.5 * (x1**2).sum(1) * math.exp(-2 * a) - 64 * a - 32 * math.log(2 * math.pi))
    np.testing.assert_allclose(estimate, exact, rtol=2e-3)


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    from PIL import Image

    images, labels = _shared.load_digit_samples(out / "samples.npz")
    assert images.shape == (_shared.BENCH_SAMPLES, 8, 8) and labels.shape == (len(images),)
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(_shared.BENCH_METRIC_KEYS) <= set(metrics)
    assert np.isfinite(metrics["bits_per_pixel"]) and metrics["bits_per_pixel"] > 0
    sweep = sorted(int(k.split("_")[1]) for k in metrics if k.startswith("sweep_")
                   and k.endswith("_frechet"))
    assert len(sweep) >= 3
    # One step cannot beat the default number of steps by much: it draws blurred averages.
    assert metrics[f"sweep_{sweep[0]}_frechet"] >= metrics["frechet"] - 1.0
    for key in ("precision", "recall", "class_coverage", "memorised"):
        assert 0.0 <= metrics[key] <= 1.0, key
    with Image.open(out / "denoising.gif") as gif:
        assert gif.n_frames == metrics["sample_steps"] + 1 or gif.n_frames > 3
    assert len((out / "judge.sha256").read_text().strip()) == 64
