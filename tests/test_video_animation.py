"""Tests of the video_animation demo's metric functions, and checks of its outputs."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions
from PIL import Image

ns = demo_functions("video_animation")


def one_hot_rows(label_rows, confidence=0.9):
    """Judge probabilities that put `confidence` on the given label, the rest spread evenly."""
    rows = np.asarray(label_rows)
    proba = np.full(rows.shape + (10,), (1 - confidence) / 9)
    np.put_along_axis(proba, rows[..., None], confidence, axis=-1)
    return proba


def test_count_label_changes():
    assert ns.count_label_changes([3, 3, 5, 5]) == 1
    assert ns.count_label_changes([3, 5, 3, 5]) == 3
    assert ns.count_label_changes([7, 7, 7]) == 0
    assert ns.count_label_changes([4]) == 0


def test_clean_transition_needs_right_ends_and_one_change():
    assert ns.is_clean_transition([3, 3, 5, 5], 3, 5)
    assert not ns.is_clean_transition([3, 5, 3, 5], 3, 5)   # flicker
    assert not ns.is_clean_transition([3, 3, 8, 8], 3, 5)   # one change, wrong digit
    assert not ns.is_clean_transition([3, 3, 3, 3], 3, 5)   # never arrives


def test_transition_metrics_on_hand_made_paths():
    pairs = [(0, 1), (1, 2)]
    proba = one_hot_rows([[0, 0, 1, 1], [1, 8, 1, 2]])
    proba[0, 1] = one_hot_rows([0], confidence=0.5)[0]       # one unsure frame
    m = ns.transition_metrics(proba, pairs)
    assert m["mean_label_changes"] == pytest.approx((1 + 3) / 2)
    assert m["share_one_change"] == pytest.approx(0.5)
    assert m["share_clean"] == pytest.approx(0.5)
    assert m["share_third_digit_frames"] == pytest.approx((0 + 1 / 4) / 2)
    assert m["share_confident_frames"] == pytest.approx(7 / 8)
    assert m["mean_confidence"] == pytest.approx((7 * 0.9 + 0.5) / 8)


def test_cross_fade_blends_linearly():
    a, b = np.zeros((8, 8)), np.ones((8, 8))
    frames = ns.cross_fade(a, b, [0.0, 0.25, 1.0])
    assert frames.shape == (3, 8, 8)
    np.testing.assert_allclose(frames[:, 0, 0], [0.0, 0.25, 1.0])


def test_eased_starts_at_zero_and_rises_slowly_at_both_ends():
    t = ns.eased(6)
    assert t[0] == 0 and np.all(np.diff(t) > 0) and t[-1] < 1
    steps = np.diff(np.append(t, 1.0))
    assert steps[0] < steps[2] and steps[-1] < steps[2]


def test_nearest_to_centroid_picks_the_most_typical_example():
    mu_ref = np.array([[0.0, 0.0], [2.0, 0.0], [10.0, 10.0], [12.0, 10.0]])
    y_ref = np.array([0, 0, 1, 1])
    mu_pool = np.array([[5.0, 5.0], [1.1, 0.0], [11.0, 10.5], [20.0, 20.0]])
    y_pool = np.array([0, 0, 1, 1])
    assert ns.nearest_to_centroid(mu_ref, y_ref, mu_pool, y_pool, [0, 1]) == [1, 2]


def test_reconstruction_and_per_step_mse():
    assert ns.reconstruction_mse(np.zeros((2, 4)), np.full((2, 4), 0.5)) == pytest.approx(0.25)
    truth = np.zeros((2, 3, 4, 4))
    pred = truth.copy()
    pred[:, 1] = 1.0
    pred[0, 2, 0, 0] = 1.0
    np.testing.assert_allclose(ns.per_step_mse(pred, truth), [0.0, 1.0, 1 / 32])


def test_bouncing_clip_keeps_the_digit_whole_and_moving():
    digit = np.random.default_rng(0).random((8, 8)).astype("float32")
    clip = ns.bouncing_clip(digit, 40, 16, np.random.default_rng(1))
    assert clip.shape == (40, 16, 16)
    np.testing.assert_allclose(clip.sum(axis=(1, 2)), digit.sum(), rtol=1e-5)  # never clipped
    assert all(not np.array_equal(clip[t], clip[t + 1]) for t in range(39))     # never stops


def test_windows_pairs_context_with_following_frames():
    clips = np.arange(2 * 6 * 4 * 4, dtype="float32").reshape(2, 6, 4, 4)
    x, y = ns.windows(clips, 2, 3)
    assert x.shape == (4, 4, 4, 2) and y.shape == (4, 4, 4, 3)   # 2 start times x 2 clips
    np.testing.assert_array_equal(x[0, ..., 1], clips[0, 1])
    np.testing.assert_array_equal(y[0, ..., 0], clips[0, 2])
    np.testing.assert_array_equal(y[0, ..., 2], clips[0, 4])
    np.testing.assert_array_equal(y[-1, ..., 2], clips[1, 5])


def check_outputs(out: Path):
    """Demo-specific checks after a quick run: light, many-frame GIFs, stills, raw frames."""
    for gif, min_frames in (("latent_walk.gif", 40), ("next_frame.gif", 8)):
        path = out / gif
        assert path.stat().st_size <= 1_000_000
        with Image.open(path) as im:
            assert im.n_frames >= min_frames
    for png in ("latent_walk_strip.png", "judge_along_walk.png", "next_frame.png"):
        assert (out / png).stat().st_size > 0
    with np.load(out / "frames.npz") as raw:
        for key in ("walk", "cross_fade", "walk_gif", "next_frame_predicted"):
            assert raw[key].size > 0
            assert raw[key].min() >= 0 and raw[key].max() <= 1
        assert raw["walk"].shape[0] == len(raw["segments"])
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("walk_share_one_change", "crossfade_share_one_change",
                "walk_share_confident_frames", "crossfade_share_confident_frames"):
        assert 0 <= metrics[key] <= 1
    assert metrics["vae_heldout_mse"] > 0 and metrics["pca_heldout_mse"] > 0

