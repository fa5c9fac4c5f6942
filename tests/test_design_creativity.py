"""Tests of the design_creativity demo's data, metric functions and outputs (no training)."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

ns = demo_functions("design_creativity")


# --- fonts and glyphs ----------------------------------------------------------------------

def test_latin_fonts_keeps_text_fonts_and_skips_symbol_fonts():
    names = {p.name for p in ns.latin_fonts(ns.FONT_DIR)}
    assert {"DejaVuSans.ttf", "STIXGeneral.ttf", "cmr10.ttf"} <= names
    # Symbol-only fonts, TeX symbol encodings and the placeholder-box font must not pass.
    assert not names & {"cmex10.ttf", "cmsy10.ttf", "LastResortHE-Regular.ttf",
                        "STIXSizOneSymReg.ttf", "STIXNonUni.ttf", "DejaVuSansDisplay.ttf"}


def test_held_out_and_morph_fonts_are_usable():
    names = {p.name for p in ns.latin_fonts(ns.FONT_DIR)}
    assert set(ns.HELD_OUT_FONTS) <= names
    assert set(ns.MORPH) <= names and not set(ns.MORPH) & set(ns.HELD_OUT_FONTS)


@pytest.mark.parametrize("font", ["DejaVuSans.ttf", "STIXGeneralItalic.ttf", "cmtt10.ttf"])
def test_render_glyphs_gives_distinct_non_empty_glyphs(font):
    g = ns.render_glyphs(ns.FONT_DIR / font)
    assert g.shape == (len(ns.LETTERS), ns.GLYPH_SIZE, ns.GLYPH_SIZE)
    assert g.dtype == np.float32 and g.min() >= 0 and g.max() <= 1
    ink = g.reshape(len(g), -1).sum(1)
    assert ink.min() > 5, "every letter must leave ink"
    # No two letters render the same (a placeholder font would).
    flat = g.reshape(len(g), -1)
    d = ((flat[:, None] - flat[None]) ** 2).sum(-1) + np.eye(len(g)) * 1e9
    assert d.min() > 0.5
    # Nothing is cut off at the canvas border.
    border = np.concatenate([g[:, 0], g[:, -1], g[:, :, 0], g[:, :, -1]], axis=1)
    assert border.max() < 0.2


def test_render_glyphs_shares_cap_height_and_baseline():
    g = ns.render_glyphs(ns.FONT_DIR / "DejaVuSans.ttf", letters="Hxg")
    rows = [np.flatnonzero(glyph.max(1) > 0.5) for glyph in g]
    h_top, h_bottom = rows[0].min(), rows[0].max()
    assert abs((h_bottom - h_top + 1) - ns.CAP_HEIGHT) <= 1
    assert abs(h_bottom - (ns.BASELINE - 1)) <= 1
    assert rows[1].min() > h_top + 3              # x is shorter than H
    assert abs(rows[1].max() - h_bottom) <= 1      # ...on the same baseline
    assert rows[2].max() > h_bottom + 3            # g hangs below it


def test_symbol_font_renders_empty_or_is_filtered():
    # cmex10 has no capital H with height: render_glyphs returns blanks rather than garbage.
    g = ns.render_glyphs(ns.FONT_DIR / "STIXSizOneSymReg.ttf", letters="AB")
    assert g.sum() == 0


def test_typeset_crops_to_ink_and_adds_gaps():
    a = np.zeros((4, 10), dtype="float32")
    a[:, 3:6] = 1
    line = ns.typeset(np.stack([a, a]), gap=2)
    assert line.shape == (4, 3 + 2 + 3)
    assert line[:, 3:5].max() == 0


# --- metric functions ----------------------------------------------------------------------

def test_rms_distances_on_known_cases():
    zeros, ones = np.zeros((1, 4, 4)), np.ones((1, 4, 4))
    half = np.zeros((1, 4, 4))
    half[0, :2] = 1
    d = ns.rms_distances(np.concatenate([zeros, ones]), np.concatenate([zeros, ones, half]))
    np.testing.assert_allclose(d, [[0, 1, np.sqrt(0.5)], [1, 0, np.sqrt(0.5)]], atol=1e-6)


def test_nearest_neighbour_of_a_copy_is_zero():
    rng = np.random.default_rng(0)
    refs = rng.random((6, 5, 5))
    labels = np.array([0, 0, 1, 1, 2, 2])
    d, idx = ns.nearest_same_label(refs[[3]], [1], refs, labels)
    assert d[0] == pytest.approx(0, abs=1e-6) and idx[0] == 3


def test_nearest_neighbour_only_searches_the_same_letter():
    refs = np.stack([np.zeros((2, 2)), np.ones((2, 2))])
    d, idx = ns.nearest_same_label(np.zeros((1, 2, 2)), [1], refs, [0, 1])
    assert idx[0] == 1 and d[0] == pytest.approx(1.0)


def test_leave_one_out_skips_self_but_counts_duplicates():
    refs = np.stack([np.zeros((2, 2)), np.zeros((2, 2)), np.full((2, 2), 0.5)])
    d, idx = ns.nearest_same_label(refs, [0, 0, 0], refs, [0, 0, 0], leave_one_out=True)
    assert list(idx[:2]) == [1, 0]
    np.testing.assert_allclose(d, [0, 0, 0.5], atol=1e-6)


def test_per_pixel_errors():
    x = np.array([[0.0, 1.0], [1.0, 0.0]])
    assert ns.per_pixel_mse(x, x) == 0
    assert ns.per_pixel_mse(x, np.full_like(x, 0.5)) == pytest.approx(0.25)
    assert ns.per_pixel_bce(x, np.full_like(x, 0.5)) == pytest.approx(np.log(2))
    assert ns.per_pixel_bce(x, x) < 1e-3
    # Overshooting predictions are clipped, not rewarded or broken.
    assert np.isfinite(ns.per_pixel_bce(x, 2 * x - 0.5))


def test_letter_means_and_conditional_pca_are_exact_on_linear_data():
    rng = np.random.default_rng(1)
    n, h = 40, 3
    y = np.arange(n) % 2
    templates = rng.random((2, h, h))
    direction = rng.standard_normal((h, h))
    x = templates[y] + rng.standard_normal(n)[:, None, None] * direction
    means = ns.letter_means(x, y, 2)
    np.testing.assert_allclose(means, np.stack([x[y == k].mean(0) for k in (0, 1)]))
    model = ns.fit_conditional_pca(x, y, 2, 1)
    np.testing.assert_allclose(ns.conditional_pca_reconstruct(model, x, y), x, atol=1e-8)


def test_baseline_sampler_returns_valid_images_of_each_letter():
    rng = np.random.default_rng(2)
    x = rng.random((20, 4, 4))
    y = np.arange(20) % 4
    model = ns.fit_conditional_pca(x, y, 4, 2)
    s = ns.sample_conditional_pca(model, np.array([0, 1, 2, 3]), rng)
    assert s.shape == (4, 4, 4) and s.min() >= 0 and s.max() <= 1


def test_grey_share_sees_blur():
    crisp = np.zeros((1, 8, 8))
    crisp[0, 2:6, 3:5] = 1
    assert ns.grey_share(crisp) == 0
    assert ns.grey_share(np.full((1, 8, 8), 0.5)) == 1
    blurred = crisp.copy()
    blurred[0, 2:6, 2] = blurred[0, 2:6, 5] = 0.5   # grey edge on both sides of the stroke
    assert ns.grey_share(blurred) == pytest.approx(0.5)
    assert ns.grey_share(np.zeros((1, 4, 4))) == 0  # no ink: nothing to count, no division by 0


def test_accuracy():
    assert ns.accuracy(np.eye(3), [0, 1, 2]) == 1.0
    assert ns.accuracy(np.eye(3), [1, 1, 1]) == pytest.approx(1 / 3)


# --- outputs of a run ---------------------------------------------------------------------

def check_outputs(out: Path):
    out = Path(out)
    for name in ["training_fonts.png", "heldout_reconstructions.png", "new_typefaces.png",
                 "interpolation.png", "interpolation.gif", "nearest_training.png",
                 "novelty.png", "baseline_samples.png", "generated.npz", "metrics.json"]:
        assert (out / name).is_file(), name
        assert (out / name).stat().st_size < 1_000_000, name

    data = np.load(out / "generated.npz")
    images, labels, style = data["images"], data["labels"], data["style"]
    n_letters = len(ns.LETTERS)
    assert images.shape[1:] == (ns.GLYPH_SIZE, ns.GLYPH_SIZE)
    assert images.dtype == np.uint8
    assert len(images) == len(labels) == len(style) == len(data["codes"]) * n_letters
    assert set(np.unique(labels)) == set(range(n_letters))
    # Every style code was asked for every letter: a whole new typeface per code.
    for s in np.unique(style):
        assert sorted(labels[style == s]) == list(range(n_letters))
    assert "".join(data["letters"]) == ns.LETTERS
    assert images.reshape(len(images), -1).max(1).min() > 50, "a generated glyph is blank"

    from PIL import Image
    with Image.open(out / "interpolation.gif") as gif:
        assert gif.n_frames > 2

    m = json.loads((out / "metrics.json").read_text())
    for key in ["heldout_mse_vae", "heldout_mse_cond_pca_baseline",
                "heldout_mse_letter_mean_baseline", "heldout_bce_vae",
                "nn_median_train_vs_train", "nn_median_heldout_vs_train",
                "nn_median_generated_vs_train", "novelty_ratio",
                "judge_accuracy_heldout_fonts", "judge_accuracy_generated"]:
        assert key in m, key
    for key in [k for k in m if k.startswith(("heldout_", "nn_median_"))]:
        assert m[key] > 0, key
    for key in [k for k in m if k.startswith("judge_accuracy")]:
        assert 0 <= m[key] <= 1, key
    assert m["n_fonts_heldout"] == len(ns.HELD_OUT_FONTS)
