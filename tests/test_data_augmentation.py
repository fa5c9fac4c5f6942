"""Unit tests of the data_augmentation demo's helpers, on hand-made cases (no training)."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

ns = demo_functions("data_augmentation")


def blob():
    image = np.zeros((8, 8), dtype="float32")
    image[3:5, 2:5] = [[0.5, 1.0, 0.25], [0.75, 1.0, 0.5]]
    return image


@pytest.mark.parametrize("dy, dx", [(0, 1), (0, -1), (1, 0), (-1, 0), (1, -1), (0, 0)])
def test_shift_moves_an_interior_blob_without_losing_ink(dy, dx):
    image = blob()
    shifted = ns.shift_image(image, dy, dx)
    assert shifted.shape == image.shape
    assert shifted.sum() == pytest.approx(image.sum())
    assert np.array_equal(shifted, np.roll(image, (dy, dx), axis=(0, 1)))


def test_shift_drops_what_leaves_the_frame_instead_of_wrapping():
    image = np.zeros((8, 8), dtype="float32")
    image[:, 7] = 1.0
    shifted = ns.shift_image(image, 0, 1)
    assert shifted.sum() == 0.0
    assert ns.shift_image(image, 0, -1)[:, 6].sum() == 8.0


def test_classic_augment_counts_labels_and_keeps_ink_for_shift_only():
    rng = np.random.default_rng(0)
    images = np.stack([blob(), 2 * blob() / 3])
    out, labels = ns.classic_augment(images, np.array([3, 7]), 5, 0, 1, 0.0, rng)
    assert out.shape == (10, 8, 8) and out.dtype == np.float32
    assert labels.tolist() == [3] * 5 + [7] * 5
    # With no rotation a sideways shift of an interior blob moves ink but never loses it.
    assert np.allclose(out.reshape(10, -1).sum(1), np.repeat(images.reshape(2, -1).sum(1), 5))
    # Never shifted vertically: rows stay where they were.
    assert np.allclose(out.sum(2), np.repeat(images.sum(2), 5, axis=0))


def test_classic_augment_rotation_stays_in_range():
    out, _ = ns.classic_augment(blob()[None], np.array([1]), 20, 1, 1, 10.0,
                                np.random.default_rng(1))
    assert out.min() >= 0.0 and out.max() <= 1.0
    assert not np.allclose(out[0], out[1])


def test_pick_per_class_returns_exactly_k_distinct_indices_per_class():
    labels = np.repeat(np.arange(10), [12, 15, 10, 30, 11, 13, 20, 10, 14, 19])
    picked = ns.pick_per_class(labels, 10, np.random.default_rng(0))
    assert len(picked) == 100 and len(set(picked.tolist())) == 100
    assert np.bincount(labels[picked], minlength=10).tolist() == [10] * 10
    other = ns.pick_per_class(labels, 10, np.random.default_rng(1))
    assert set(other.tolist()) != set(picked.tolist())


def test_edge_ink_shares():
    images = np.zeros((1, 8, 8))
    images[0, 0, 3] = 1.0   # top row
    images[0, 4, 0] = 1.0   # left column
    images[0, 4, 4] = 2.0   # interior
    rows, cols = ns.edge_ink_shares(images)
    assert rows == pytest.approx(0.25) and cols == pytest.approx(0.25)


def test_epoch_indices_cover_every_item_once_per_pass():
    idx = ns.epoch_indices(7, 20, np.random.default_rng(0))
    assert len(idx) == 20
    assert sorted(idx[:7].tolist()) == list(range(7))
    assert sorted(idx[7:14].tolist()) == list(range(7))


def test_mixed_indices_keep_the_real_share_in_every_batch():
    idx = ns.mixed_indices(100, 1000, steps=6, batch=32, real_share=0.5,
                           rng=np.random.default_rng(0)).reshape(6, 32)
    assert ((idx < 100).sum(1) == 16).all()
    assert idx.max() < 1100 and idx.min() >= 0
    only_real = ns.mixed_indices(100, 0, steps=6, batch=32, real_share=0.5,
                                 rng=np.random.default_rng(0))
    assert len(only_real) == 192 and only_real.max() < 100


def test_stack_streams_puts_model_m_in_slice_m():
    pools = [np.arange(5) * 10, np.arange(3) * 100]
    stacked = ns.stack_streams(pools, [np.array([4, 0]), np.array([2, 1])])
    assert stacked.tolist() == [[40, 200], [0, 100]]


def test_share_as_intended():
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    assert ns.share_as_intended(proba, [0, 1, 1, 1]) == pytest.approx(0.75)


def test_within_class_spread():
    same = np.ones((4, 2, 2))
    assert ns.within_class_spread(same, [0, 0, 1, 1]) == 0.0
    images = np.array([np.zeros((2, 2)), np.ones((2, 2)), np.zeros((2, 2)), np.zeros((2, 2))])
    # Class 0 has pixel std 0.5 everywhere, class 1 has 0: the average is 0.25.
    assert ns.within_class_spread(images, [0, 0, 1, 1]) == pytest.approx(0.25)


def test_results_table_paired_change():
    acc = {"real": np.array([0.80, 0.90]), "generated": np.array([0.82, 0.89])}
    table = ns.results_table(acc, "real", {"real": "real only"})
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| real only | 85.0% | 5.0 points |")
    assert "+0.5 ± 1.5 points" in lines[3] and "1 of 2" in lines[3]


def test_vae_loss_matches_a_hand_computed_value():
    x = np.zeros((1, 1, 64), dtype="float32")
    x[..., :32] = 1.0
    # Logits 0 give cross-entropy log 2 per pixel; a code with mean 0 and variance 1 costs no KL.
    output = np.zeros((1, 1, 64 + 2 * 3), dtype="float32")
    loss = np.asarray(ns.vae_loss(x, output))
    assert loss.shape == (1, 1)
    assert loss[0, 0] == pytest.approx(64 * np.log(2), rel=1e-5)
    output[..., 64:67] = 1.0   # mean 1 in each of 3 dimensions adds 3 * 0.5 nats of KL
    assert np.asarray(ns.vae_loss(x, output))[0, 0] == pytest.approx(64 * np.log(2) + 1.5, rel=1e-5)


def test_ensemble_dense_keeps_models_independent():
    import keras

    layer = ns.EnsembleDense(3, 4)
    x = np.random.default_rng(0).standard_normal((5, 3, 2)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    x2 = x.copy()
    x2[:, 1] += 1.0      # changing model 1's input must not change models 0 and 2
    y2 = keras.ops.convert_to_numpy(layer(x2))
    assert y.shape == (5, 3, 4)
    assert np.allclose(y[:, [0, 2]], y2[:, [0, 2]]) and not np.allclose(y[:, 1], y2[:, 1])


def check_outputs(out: Path):
    """Demo-specific checks of a finished run's folder."""
    metrics = json.loads((out / "metrics.json").read_text())
    assert int(metrics["n_seeds"]) >= 2
    for arm in ("real", "classic", "generated", "both"):
        assert 0.0 <= metrics[f"acc_{arm}_mean"] <= 1.0
        assert metrics[f"acc_{arm}_std"] >= 0.0
    for key in ("judge_generated_as_intended", "judge_classic_as_intended",
                "judge_real_subset_as_intended", "judge_heldout_accuracy"):
        assert 0.0 <= metrics[key] <= 1.0
    # The judge must be a competent reader of real digits for its verdicts to mean anything.
    assert metrics["judge_heldout_accuracy"] > 0.8
    with np.load(out / "synthetic.npz") as data:
        images, labels = data["images"], data["labels"]
        assert images.ndim == 3 and images.shape[1:] == (8, 8) and len(images) == len(labels)
        assert images.min() >= 0.0 and images.max() <= 1.0
        assert np.bincount(labels, minlength=10).min() == np.bincount(labels, minlength=10).max()
        assert np.bincount(data["real_labels"], minlength=10).tolist() == \
            [int(metrics["real_per_class"])] * 10
    table = (out / "results.md").read_text()
    assert table.count("\n|") >= 6 and "real + VAE samples" in table
    for name in ("accuracy_by_arm.png", "real_vs_synthetic.png"):
        assert 0 < (out / name).stat().st_size < 1_000_000
