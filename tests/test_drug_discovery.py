"""Unit tests of the drug_discovery demo's metric functions, and checks of its outputs."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions
from rdkit import RDLogger

RDLogger.DisableLog("rdApp.*")
ns = demo_functions("drug_discovery")


def test_canonical_and_validity():
    assert ns.canonical("OCC") == ns.canonical("CCO") == "CCO"
    for bad in ("C1CC", "C((", "", "Xx"):
        assert ns.canonical(bad) is None
    assert ns.validity(["CCO"]) == 1.0
    assert ns.validity(["C1CC"]) == 0.0
    assert ns.validity(["CCO", "C((", "c1ccccc1", "C1CC"]) == 0.5
    assert ns.validity([]) == 0.0


def test_uniqueness_counts_canonical_forms():
    # "OCC" and "CCO" are the same molecule written two ways; the invalid one is ignored.
    assert ns.uniqueness(["CCO", "OCC", "c1ccccc1", "C(("]) == pytest.approx(2 / 3)
    assert ns.uniqueness(["CCO", "CCN"]) == 1.0
    assert ns.uniqueness(["C(("]) == 0.0


def test_novelty_against_canonical_training_set():
    training = {"CCO", "c1ccccc1"}
    assert ns.novelty(["OCC", "CCN", "CCN", "C(("], training) == 0.5
    assert ns.novelty(["CCO"], training) == 0.0
    assert ns.novelty(["CCCl"], training) == 1.0
    assert ns.novelty(["C(("], training) == 0.0


def test_internal_diversity():
    assert ns.internal_diversity(["CCO", "OCC", "CCO"]) == 0.0  # one distinct molecule
    assert ns.internal_diversity(["c1ccccc1", "c1ccccc1"]) == 0.0
    two = ns.internal_diversity(["CCO", "c1ccc2ccccc2c1"])
    assert two == 1.0  # no shared Morgan bits between ethanol and naphthalene
    mixed = ns.internal_diversity(["CCO", "CCCO", "c1ccccc1O"])
    assert 0.0 < mixed < 1.0
    # Subsampling keeps the value in range and is repeatable for a seed.
    many = [f"C{'C' * k}O" for k in range(30)]
    assert ns.internal_diversity(many, max_molecules=10, seed=1) == ns.internal_diversity(
        many, max_molecules=10, seed=1)


def test_moses_metrics_keys():
    m = ns.moses_metrics(["CCO", "C1CC"], {"CCO"})
    assert m == {"validity": 0.5, "uniqueness": 1.0, "novelty": 0.0, "internal_diversity": 0.0}


def test_tokenize_keeps_multi_character_tokens():
    assert ns.tokenize("ClC(Br)c1cc[nH]c1[N+](=O)[O-]") == [
        "Cl", "C", "(", "Br", ")", "c", "1", "c", "c", "[nH]", "c", "1", "[N+]", "(", "=", "O",
        ")", "[O-]"]


def test_ngram_probabilities_are_normalised_and_backoff_works():
    # vocabulary: 0 pad, 1 start, 2 end, 3 "C", 4 "O"
    model = ns.CharNgram(3, 5, bos=1, eos=2, banned=(0, 1)).fit([[3, 3, 4, 2], [3, 4, 2]])
    for context in ([1, 1], [1, 3], [3, 4], [4, 4], [2, 2]):
        p = model.distribution(context)
        assert p.sum() == pytest.approx(1.0)
        assert p[0] == 0.0 and p[1] == 0.0
    # after "C O" the training data always ended the molecule
    assert model.distribution([3, 4]).argmax() == 2
    samples = model.sample(50, 10, np.random.default_rng(0))
    assert samples.shape[0] == 50 and not np.isin(samples, [1]).any()
    assert np.isfinite(model.token_nll([[3, 4, 2]]))


def test_softmax_sample_follows_the_probabilities():
    rng = np.random.default_rng(0)
    logits = np.log(np.array([[0.0, 0.2, 0.8]] * 20000) + 1e-300)
    draws = ns.softmax_sample(logits, rng)
    assert not (draws == 0).any()
    assert (draws == 2).mean() == pytest.approx(0.8, abs=0.02)


def test_mean_or_zero():
    assert ns.mean_or_zero([]) == 0.0
    assert ns.mean_or_zero(np.array([0.2, 0.4])) == pytest.approx(0.3)


def check_outputs(out: Path):
    """Called by the lead's suite after the quick build of this demo."""
    metrics = json.loads((out / "metrics.json").read_text())
    for name in ("generated.smi", "generated_steered.smi", "generated_ngram.smi"):
        lines = (out / name).read_text().split("\n")
        assert lines[-1] == ""  # newline-terminated
        lines = lines[:-1]
        assert len(lines) == metrics["n_samples"]
        assert all(isinstance(s, str) and "\n" not in s for s in lines)
    # validity recomputed from the raw file matches the reported metric
    raw = (out / "generated.smi").read_text().split("\n")[:-1]
    assert ns.validity(raw) == pytest.approx(metrics["validity"])
    for name in ("molecules.png", "temperature.png", "molecules_steered.png", "properties.png"):
        assert (out / name).stat().st_size > 1000
    for key in ("validity", "uniqueness", "novelty", "internal_diversity"):
        for suffix in ("", "_ngram", "_steered"):
            assert 0.0 <= metrics[key + suffix] <= 1.0


def test_check_outputs_on_last_quick_run():
    """Only when a quick run's outputs are lying around (set DRUG_DISCOVERY_OUT to point at them)."""
    import os

    out = os.environ.get("DRUG_DISCOVERY_OUT")
    if not out:
        pytest.skip("no output folder given")
    check_outputs(Path(out))
