"""Tests of the music_generation demo's metric and conversion functions, on hand-made cases."""

import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions

ns = demo_functions("music_generation")

C_MAJOR_SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def test_histogram_distance_of_disjoint_pitch_classes_is_two():
    all_c = ns.pitch_class_histogram([48, 60, 72, 60])
    all_g = ns.pitch_class_histogram([55, 67, 67])
    assert all_c[0] == 1.0 and all_g[7] == 1.0
    assert ns.histogram_l1(all_c, all_g) == pytest.approx(2.0)


def test_histogram_ignores_octaves_and_distance_is_zero_for_same_shares():
    low = ns.pitch_class_histogram([48, 52, 55])
    high = ns.pitch_class_histogram([72, 76, 79, 60, 64, 67])
    assert low.sum() == pytest.approx(1.0)
    assert ns.histogram_l1(low, high) == pytest.approx(0.0)


def test_histogram_distance_of_half_overlap():
    # {C: 1/2, G: 1/2} against {C: 1}: the G half has to move, L1 = 1/2 + 1/2.
    assert ns.histogram_l1(ns.pitch_class_histogram([60, 67]),
                           ns.pitch_class_histogram([60])) == pytest.approx(1.0)


def test_in_key_share_of_scales():
    assert ns.in_key_share(C_MAJOR_SCALE, 0, "major") == 1.0
    assert ns.in_key_share(range(60, 72), 0, "major") == pytest.approx(7 / 12)
    assert ns.in_key_share([61, 63, 66], 0, "major") == 0.0
    # G major: F# is in the key, F is not.
    assert ns.in_key_share([66, 65], 7, "major") == pytest.approx(0.5)


def test_in_key_share_in_minor_counts_the_raised_sixth_and_seventh():
    a_harmonic_minor = [57, 59, 60, 62, 64, 65, 68, 69]  # G# leading tone
    a_melodic_minor = [57, 59, 60, 62, 64, 66, 68, 69]   # F# and G#
    assert ns.in_key_share(a_harmonic_minor, 9, "minor") == 1.0
    assert ns.in_key_share(a_melodic_minor, 9, "minor") == 1.0
    assert ns.in_key_share([58, 63], 9, "minor") == 0.0   # Bb and Eb are foreign to A minor


def test_consonant_share():
    c_major_chord = [72, 64, 55, 48]
    cluster = [62, 61, 60, -1]
    seventh = [65, 59, 55, 43]                             # G7: not a triad
    lone_voice = [72, -1, -1, -1]                          # ignored: fewer than two voices
    assert ns.consonant_share(np.array([c_major_chord])) == 1.0
    assert ns.consonant_share(np.array([cluster])) == 0.0
    assert ns.consonant_share(np.array([c_major_chord, cluster, seventh, lone_voice])) == \
        pytest.approx(1 / 3)
    assert ns.consonant_share(np.array([[60, 60, 48, 36]])) == 1.0  # octaves fit any C triad


def test_encode_decode_round_trip_and_notes():
    pitch = np.array([[72, 64, 55, 48],
                      [72, 64, 55, 48],
                      [74, 64, -1, 47]], dtype=np.int8)
    struck = np.array([[1, 1, 1, 1],
                       [0, 1, 0, 0],
                       [1, 0, 0, 1]], dtype=bool)
    tokens = ns.encode(pitch, struck)
    assert tokens.min() >= 0 and tokens.max() < ns.VOCAB and tokens[2, 2] == ns.REST
    back_pitch, back_struck = ns.decode(tokens)
    assert (back_pitch == pitch).all() and (back_struck == struck).all()
    notes = sorted(ns.notes_of(pitch, struck))
    # soprano: C5 for 2 steps, D5; alto: E4 struck twice (two notes), the second held.
    assert (0, 0, 2, 72) in notes and (0, 2, 1, 74) in notes
    assert (1, 0, 1, 64) in notes and (1, 1, 2, 64) in notes
    assert (2, 0, 2, 55) in notes and (3, 0, 2, 48) in notes and (3, 2, 1, 47) in notes
    assert len(notes) == 7


def test_decode_reads_a_held_pitch_that_is_not_sounding_as_struck():
    held_e = ns.encode(np.array([[64]]), np.array([[False]]))
    tokens = np.array([[ns.encode(np.array([[60]]), np.array([[True]]))[0, 0]], [held_e[0, 0]]])
    pitch, struck = ns.decode(tokens)
    assert pitch[:, 0].tolist() == [60, 64] and struck[:, 0].tolist() == [True, True]


def test_wav_writer(tmp_path):
    notes = [(0, 0, 2, 60), (1, 1, 1, 67)]
    audio = ns.synthesize(notes, 0.25, 8000)
    assert np.abs(audio).max() <= 0.81
    path = tmp_path / "x.wav"
    ns.write_wav(path, audio, 8000)
    with wave.open(str(path)) as w:
        assert w.getframerate() == 8000 and w.getnframes() == len(audio)


def test_midi_written_by_music21_reads_back():
    pitch = np.array([[72, 64, 55, 48]] * 4 + [[71, 62, 55, 43]] * 4, dtype=np.int8)
    struck = np.zeros_like(pitch, dtype=bool)
    struck[0] = struck[4] = True
    parse_share, exact_share = ns.roundtrip([(pitch, struck)])
    assert parse_share == 1.0 and exact_share == 1.0


def check_outputs(out: Path) -> None:
    """Demo-specific checks of a finished run's output folder."""
    from music21 import converter

    for name in ("piano_rolls.png", "comparison.png", "training.png"):
        assert (out / name).stat().st_size > 1000, name
    score = converter.parse(out / "piece.mid", forceSource=True, storePickle=False)
    assert len(score.parts) == 4
    assert len(score.flatten().notes) > 20
    with wave.open(str(out / "piece.wav")) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        assert 8000 <= w.getframerate() <= 48000
        assert w.getnframes() > 0
        assert 10 <= w.getnframes() / w.getframerate() <= 40  # seconds
    assert (out / "piece.wav").stat().st_size <= 1_000_000
    with np.load(out / "samples.npz") as z:
        tokens = z["network_tokens"]
        assert tokens.ndim == 3 and tokens.shape[1:] == (ns.PIECE_STEPS, 4)
        assert tokens.min() >= 0 and tokens.max() < ns.VOCAB
        assert z["markov_tokens"].shape == tokens.shape
