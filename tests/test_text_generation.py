"""Unit tests of the text_generation demo's metric and baseline functions, plus output checks."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

tg = demo_functions("text_generation")


def test_uniform_model_costs_log2_k_bits():
    for k in (2, 7, 104):
        assert tg.bits_per_char(np.full(50, 1.0 / k)) == pytest.approx(math.log2(k))


def test_certain_and_coin_flip_predictions():
    assert tg.bits_per_char([1.0, 1.0]) == pytest.approx(0.0)
    assert tg.bits_per_char([0.5, 1.0]) == pytest.approx(0.5)


def test_split_holds_out_the_alphabetical_tail():
    pages = {"b": "BB", "a": "A", "d": "DDDD", "c": "CCC"}
    train, held_out, names = tg.split_topics(pages, "c")
    assert (train, held_out, names) == ("ABB", "CCCDDDD", ["c", "d"])


def test_unseen_characters_get_the_spare_id():
    chars = tg.build_vocabulary("abca")
    assert chars == ["a", "b", "c"]
    assert tg.encode("cab?", chars).tolist() == [2, 0, 1, 3]


@pytest.mark.parametrize("order", [1, 2, 3, 5])
def test_ngram_probabilities_sum_to_one(order):
    rng = np.random.default_rng(0)
    vocab = 6
    # Skewed text so that counts, discounts and unseen contexts all differ.
    ids = rng.choice(vocab - 1, size=3000, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    model = tg.KneserNeyCharModel(ids, order, vocab)
    contexts = [ids[100: 100 + order - 1], ids[7: 7 + order - 1],   # seen contexts
                np.full(order - 1, vocab - 1)]                       # never-seen symbol
    for context in contexts:
        p = model.prob(np.repeat(np.asarray(context)[None], vocab, 0), np.arange(vocab))
        assert np.all(p > 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)


def test_deterministic_text_is_nearly_free_for_a_high_order_model():
    ids = np.tile([0, 1, 2, 3, 1, 2], 500)        # the next id is fixed by the two before it
    model = tg.KneserNeyCharModel(ids, 5, 6)
    assert tg.bits_per_char(model.score(ids, 4)) < 0.01
    # A unigram model cannot use the pattern: it pays about the entropy of the id frequencies.
    unigram = tg.KneserNeyCharModel(ids, 1, 6)
    freq = np.array([1, 2, 2, 1]) / 6
    assert tg.bits_per_char(unigram.score(ids, 0)) == pytest.approx(-(freq * np.log2(freq)).sum(),
                                                                   abs=0.02)


def test_higher_order_ngram_helps_on_structured_text():
    text = "the cat sat on the mat. the dog sat on the log. " * 40
    chars = tg.build_vocabulary(text)
    ids = tg.encode(text, chars)
    cut = len(ids) * 3 // 4
    bpc = {n: tg.bits_per_char(tg.KneserNeyCharModel(ids[:cut], n, len(chars) + 1).score(ids, cut))
           for n in (1, 3, 5)}
    assert bpc[5] < bpc[3] < bpc[1]


def test_heldout_chunks_score_each_character_once_with_context():
    ids = np.arange(1, 101, dtype="int32")
    x, y, mask = tg.heldout_chunks(ids, start=60, n_chunks=3, warm=5)
    # In order, so the scored probabilities line up with the held-out text.
    assert y[mask].tolist() == list(range(61, 101))
    # Inputs are the targets shifted by one: each target is predicted from what precedes it.
    assert np.all(y[y > 0] - x[y > 0] == 1)
    # Every row starts `warm` characters before its first scored one.
    for r in range(3):
        assert np.argmax(mask[r]) == 5


def test_true_char_probs_uniform_logits():
    logits = np.zeros((2, 4, 9))
    targets = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    mask = np.array([[True, True, False, False], [True] * 4])
    p = tg.true_char_probs(logits, targets, mask)
    assert p.shape == (6,)
    assert tg.bits_per_char(p) == pytest.approx(math.log2(9))


def test_training_windows_are_shifted_pairs():
    ids = np.arange(1000, dtype="int32")
    x, y = tg.training_windows(ids, seq_len=10, batch=8, rng=np.random.default_rng(1))
    assert x.shape == y.shape and x.shape[1] == 10 and len(x) % 8 == 0
    assert np.all(y - x == 1)


def test_temperature_reshapes_probabilities():
    p = np.array([0.6, 0.3, 0.1])
    assert np.allclose(tg.apply_temperature(p, 1.0), p)
    cold, hot = tg.apply_temperature(p, 0.5), tg.apply_temperature(p, 2.0)
    assert np.allclose(cold, p**2 / (p**2).sum())
    assert np.allclose(hot, np.sqrt(p) / np.sqrt(p).sum())
    assert tg.apply_temperature(p, 0.05)[0] > 0.999            # nearly always the favourite
    assert np.ptp(tg.apply_temperature(p, 100.0)) < 0.01       # nearly uniform


def test_copied_share():
    assert tg.copied_share("abcdef", "xxabcdefyy", n=3) == 1.0
    assert tg.copied_share("abcXYZ", "abc", n=3) == pytest.approx(0.25)
    assert tg.copied_share("ab", "ab", n=3) == 0.0


def test_layout_wraps_and_breaks_lines():
    places = tg.layout("abcde\nfg", width=3)
    assert places == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (2, 0), (2, 1)]
    # A word that would overflow moves to the next line whole.
    assert tg.layout("ab cd", width=4) == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1)]
    # A space at the edge does not start the next line.
    assert tg.layout("abc def", width=3)[3:5] == [(0, 3), (1, 0)]


def test_word_position_masks():
    start, inside = tg.word_position_masks("an x_y 2b (cd)")
    assert "".join(c for c, m in zip("an x_y 2b (cd)", start) if m) == "axc"
    assert "".join(c for c, m in zip("an x_y 2b (cd)", inside) if m) == "nybd"


def test_bits_per_char_known_case():
    # -log2(1/4) = 2 bits and -log2(1/2) = 1 bit: 1.5 bits on average.
    assert tg.bits_per_char([0.25, 0.5]) == pytest.approx(1.5)


@pytest.mark.parametrize("context", [4, 8, 9])
def test_heldout_windows_score_each_character_once_with_half_a_context(context):
    ids = np.arange(1, 104, dtype="int32")
    start = 40
    x, y, mask = tg.heldout_windows(ids, start, context)
    assert x.shape[1] == context
    # Every held-out target exactly once, in order.
    assert y[mask].tolist() == ids[start:].tolist()
    # Inputs are the targets shifted by one.
    assert np.all(y[y > 0] - x[y > 0] == 1)
    # A scored target sees at least context // 2 real characters before it in its window.
    for r, c in zip(*np.nonzero(mask)):
        assert c + 1 >= context // 2 and np.all(x[r, : c + 1] > 0)


def test_heldout_windows_need_room_for_context():
    with pytest.raises(ValueError, match="at least 8 characters"):
        tg.heldout_windows(np.arange(20), 5, 8)


def small_transformer(seed=0, **kwargs):
    import keras

    keras.utils.set_random_seed(seed)
    settings = dict(vocab_size=11, context=16, width=16, depth=2, heads=2) | kwargs
    model = tg.CharTransformer(**settings)
    model(np.zeros((1, settings["context"]), dtype="int32"))
    return model


def test_transformer_is_causal():
    model = small_transformer()
    rng = np.random.default_rng(3)
    ids = rng.integers(0, 11, size=(2, 16)).astype("int32")
    later = ids.copy()
    k = 9
    later[:, k:] = (later[:, k:] + 1 + rng.integers(0, 9, size=(2, 16 - k))) % 11
    before, after = np.asarray(model(ids)), np.asarray(model(later))
    # Changing characters from position k on leaves every earlier prediction untouched...
    np.testing.assert_allclose(before[:, :k], after[:, :k], atol=1e-6)
    # ...and does change the prediction made at position k itself.
    assert np.abs(before[:, k] - after[:, k]).max() > 1e-4


def test_attention_maps_are_causal_distributions():
    model = small_transformer(heads=4, depth=3)
    maps = model.attention_maps(np.arange(12, dtype="int32")[None] % 11)
    assert len(maps) == 3
    for scores in maps:
        assert scores.shape == (1, 4, 12, 12)
        np.testing.assert_allclose(scores.sum(-1), 1.0, atol=1e-5)
        assert np.all(np.triu(scores[0, 0], k=1) == 0)


def test_training_clock_excludes_evaluation():
    import time

    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(5, 4),
                              keras.layers.Dense(5)])
    tg.compile_for_steps(model, 1e-2, 6)
    ids = np.tile(np.arange(5, dtype="int32"), 60)
    pause = 0.4

    def evaluate(_):
        time.sleep(pause)
        return 1.0

    t0 = time.perf_counter()
    log = tg.train_with_checkpoints(model, ids, steps=6, seq_len=8, batch=4, every=2,
                                    rng=np.random.default_rng(0), evaluate=evaluate)
    wall = time.perf_counter() - t0
    assert log["step"] == [2, 4, 6]
    assert log["heldout_bpc"] == [1.0] * 3
    assert np.all(np.diff(log["seconds"]) > 0)
    assert log["seconds"][-1] <= wall - 3 * pause + 0.05


def check_outputs(out: Path):
    """Demo-specific checks on a finished run's folder."""
    from PIL import Image

    samples = (out / "samples.txt").read_text(encoding="utf-8")
    sections = re.findall(r"^=== temperature ([0-9.]+) \((low|medium|high)\) ===$", samples,
                          flags=re.MULTILINE)
    assert [name for _, name in sections] == ["low", "medium", "high"]
    temperatures = [float(t) for t, _ in sections]
    assert temperatures == sorted(temperatures)
    bodies = re.split(r"^=== temperature .* ===$", samples, flags=re.MULTILINE)[1:]
    assert all(len(body.strip()) > 100 for body in bodies)

    with Image.open(out / "typing.gif") as gif:
        assert gif.n_frames >= 15
        assert gif.n_frames <= 80
    assert (out / "typing.gif").stat().st_size <= 1_000_000
    for figure in ("loss.png", "learning_curve.png", "attention.png"):
        assert (out / figure).stat().st_size > 1000

    import json

    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("bpc_val_gru", "bpc_val_transformer", "bpc_best_ngram", "bpc_best_neural",
                "train_seconds_gru", "train_seconds_transformer", "params_transformer"):
        assert key in metrics
    assert metrics["bpc_best_neural"] == min(metrics["bpc_val_gru"], metrics["bpc_val_transformer"])
    assert metrics["bpc_best_ngram"] == min(metrics[f"bpc_val_ngram{n}"] for n in (3, 5, 7))
