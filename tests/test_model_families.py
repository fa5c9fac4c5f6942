"""Unit tests of the model_families demo's functions (baselines, table), and its outputs."""

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

ns = demo_functions("model_families")


def test_dequantize_stays_inside_each_levels_cell_and_round_trips():
    levels = np.arange(17).repeat(4).reshape(17, 4)
    values = ns.dequantize(levels, np.random.default_rng(0))
    assert np.all(np.floor(values * 17) == levels.reshape(17, -1))
    # Back on the image scale, each value is within half a grey level of level / 16.
    images = ns.to_images(np.tile((levels.reshape(-1)[:64] + 0.5) / 17, (1, 1)))
    np.testing.assert_allclose(images.reshape(-1), levels.reshape(-1)[:64] / 16, atol=1e-6)


def test_class_gaussians_fit_sample_and_density():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(10), 50)
    x = rng.standard_normal((500, 3)) * 0.1 + y[:, None]
    model = ns.ClassGaussians().fit(x, y, ridge=1e-6)
    np.testing.assert_allclose(model.weights, 0.1)
    np.testing.assert_allclose(model.means[:, 0], np.arange(10), atol=0.05)
    samples = model.sample(2000, rng)
    assert samples.shape == (2000, 3)
    # The density integrates to one: a Monte Carlo estimate of E_p[1/p] over a box would be
    # slow, so check instead that real points are far likelier than points between classes.
    assert model.log_density(x[:5]).min() > model.log_density(x[:5] + 0.5).max()
    assert model.parameters() == 10 * (3 + 6) + 10


def test_class_gaussian_density_matches_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(2)
    y = np.arange(200) % 10
    x = rng.standard_normal((200, 2)) + y[:, None]
    model = ns.ClassGaussians().fit(x, y, ridge=0.0)
    expected = np.log(sum(0.1 * multivariate_normal(model.means[k], model.covs[k]).pdf(x[:4])
                          for k in range(10)))
    np.testing.assert_allclose(model.log_density(x[:4]), expected, rtol=1e-9)


def test_pick_by_validation_chooses_the_best_score():
    def make(width, data):
        return lambda v: -((v - data.mean()) ** 2).sum(-1) / width - math.log(width) * 0.1

    data = np.zeros((5, 1))
    value, scores = ns.pick_by_validation(make, [0.5, 1.0, 2.0], data, np.ones((3, 1)))
    assert value == [0.5, 1.0, 2.0][int(np.argmax(scores))]
    assert len(scores) == 3


def test_comparison_rows_blank_where_a_model_gives_no_number():
    rows = ns.comparison_rows({"gan": {"frechet": 2.0}, "vae": {"frechet": 1.0,
                                                                "bits_per_pixel": 1.5}},
                              ["vae", "gan"])
    assert [r["model"] for r in rows] == ["vae", "gan"]
    assert rows[0]["bits_per_pixel"] == 1.5 and rows[1]["bits_per_pixel"] == ""
    assert list(rows[0]) == ["model", *ns.COLUMNS]


def test_every_family_is_needed_by_the_header():
    from build import parse_header
    from conftest import DEMOS

    needs = parse_header(DEMOS / "model_families.py").fields["Needs"]
    assert [n.strip() for n in needs.split(",")] == list(ns.FAMILIES)


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    with open(out / "comparison.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["real", *ns.FAMILIES, "gaussian", "kde"]
    metrics = json.loads((out / "metrics.json").read_text())
    for row in rows:
        assert float(row["frechet"]) == pytest.approx(metrics[f"{row['model']}_frechet"])
    assert metrics["rescore_max_frechet_difference"] < 1e-6
    assert "gan_bits_per_pixel" not in metrics
