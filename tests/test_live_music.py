"""The "Chorale" widget (docs/assets/live/music.js, rnn.js) on the built site, opened from
file:// with the network blocked, against the music_generation demo's exported model.

Parity: the page's network and the exported .keras model (the weights the page receives) agree
to 1e-4 on the logits in float32 arithmetic; float16 storage, when chosen, moved the logits of
the trained network by at most the demo's LIVE_FLOAT16_TOLERANCE (5e-3, reported as
`live_model_max_abs_diff`). Given the same uniform draws, the page composes and harmonises
exactly the tokens of the demo's Python sampler, compose_with_draws.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import _live
from conftest import demo_functions
from live_support import keras_model, live_browser, live_site, open_file_page, wait_ready  # noqa: F401

pytestmark = pytest.mark.browser

mg = demo_functions("music_generation")
PAGE = "introduction/overview.html"
WIDGET = '.live-widget[data-widget="music"]'
PARITY_TOLERANCE = 1e-4


def meta_of(site):
    return _live.load_description(site / "generated" / "music_generation" / "model.js")["meta"]


def page_errors(page):
    """Console errors, except the site search index that cannot load from file:// (issue 9 §0,
    the site's own work, checked by its tests): every failed request must be that file."""
    failed = [u for u in page.failed_requests if "search/search_index" not in u]
    assert failed == [], f"requests that failed: {failed}"
    return [e for e in page.console_errors
            if "search/search_index" not in e and "Failed to load resource" not in e]


@pytest.fixture
def music_page(open_file_page):
    def opener(emulate_reduced_motion=False, page_path=PAGE):
        page = open_file_page(page_path)
        page.failed_requests = []
        page.on("requestfailed", lambda r: page.failed_requests.append(r.url))
        if emulate_reduced_motion:
            page.emulate_media(reduced_motion="reduce")
        page.evaluate(f"document.querySelector('{WIDGET}').liveStart()")
        assert wait_ready(page, WIDGET) == "ready", page.inner_text(WIDGET)
        return page
    return opener


def widget(page):
    return page.locator(WIDGET)


def status(page):
    return widget(page).locator(".live-music .live-status").inner_text()


def compose(page):
    page.evaluate(f"document.querySelector('{WIDGET}').dataset.composeSeconds = ''")
    widget(page).get_by_role("button", name="Compose").click()
    page.wait_for_function(
        "s => document.querySelector(s).dataset.composeSeconds || "
        "!/^Composing/.test(document.querySelector(s + ' .live-music .live-status').textContent)",
        arg=WIDGET, timeout=60_000)
    return status(page)


def page_piece(page):
    return page.evaluate(f"document.querySelector('{WIDGET}').liveMusic.piece()")


def phase_from_draw(counts, u):
    """The page's choice of starting bar position from one draw (music.js phaseFromDraw)."""
    cumulative = np.cumsum(counts)
    return int(np.flatnonzero(cumulative > u * cumulative[-1])[0])


def python_piece(model, meta, seed, temperature, melody=None, phase=None):
    draw = _live.rng(seed)
    if melody is None:
        phase = phase_from_draw(meta["start_phase_counts"], draw())
    steps = meta["piece_steps"] if melody is None else len(melody)
    draws = (draw() for _ in iter(int, 1))   # endless: as many as the sampler takes
    tokens = mg.compose_with_draws(mg.chorale_step(model), model.get_layer("gru").units, steps,
                                   phase, draws, temperature, melody=melody)
    return tokens, phase


# --- parity ----------------------------------------------------------------------------------

def test_page_logits_match_keras(music_page, keras_model, live_site):
    page = music_page()
    meta = meta_of(live_site)
    melody = meta["melodies"][0]["tokens"][:24]
    tokens = [mg.BOS] + [t for t in melody for _ in range(4)][:95]
    voices = [i % 4 for i in range(96)]
    phases = [(i // 4) % 8 for i in range(96)]
    expected = keras_model("music_generation", "model").predict(
        [np.array([tokens]), np.array([voices]), np.array([phases])], verbose=0)[0]
    stepped, whole = page.evaluate("""([tok, voice, phase, names]) => {
        const desc = window.LIVE_MODELS['music_generation/model'];
        const m = LiveRNN.fromDescription(desc, names);
        let s = m.zeroState(); const out = [];
        for (let i = 0; i < tok.length; i++) {
            const r = m.step([tok[i], voice[i], phase[i]], s); s = r.state; out.push(Array.from(r.logits));
        }
        const t = Live.models['music_generation/model'].predict([[tok], [voice], [phase]]);
        const whole = t.arraySync()[0]; t.dispose();
        return [out, whole];
    }""", [tokens, voices, phases, meta["embeddings"]])
    assert np.max(np.abs(np.array(stepped) - expected)) <= PARITY_TOLERANCE
    assert np.max(np.abs(np.array(whole) - expected)) <= PARITY_TOLERANCE


def test_export_reports_its_size(live_site):
    metrics = json.loads((live_site / "generated" / "music_generation" / "metrics.json").read_text())
    size = (live_site / "generated" / "music_generation" / "model.js").stat().st_size
    assert metrics["live_model_bytes"] == size
    if metrics["live_model_float16"]:
        assert 0 < metrics["live_model_max_abs_diff"] <= mg.LIVE_FLOAT16_TOLERANCE


def test_new_chorale_matches_python_and_repeats(music_page, keras_model, live_site):
    page = music_page()
    meta = meta_of(live_site)
    w = widget(page)
    w.get_by_label("Seed").fill("9")
    text = compose(page)
    assert text.startswith("Composed 8 bars") and "seed 9" in text
    piece = page_piece(page)
    tokens, phase = python_piece(keras_model("music_generation", "model"), meta, 9,
                                 float(meta["temperature"]))
    assert piece["phase"] == phase
    assert piece["tokens"] == tokens.tolist()
    # The same seed again gives the same piece; another seed another one.
    compose(page)
    assert page_piece(page)["tokens"] == tokens.tolist()
    w.get_by_label("Seed").fill("10")
    compose(page)
    assert page_piece(page)["tokens"] != tokens.tolist()
    assert page_errors(page) == [] and page.blocked_requests == []


def test_harmonising_a_held_out_tune_keeps_it_and_matches_python(music_page, keras_model, live_site):
    page = music_page()
    meta = meta_of(live_site)
    w = widget(page)
    tune = meta["melodies"][1]
    w.get_by_label("What to write").select_option(label=f"Harmonise the tune of chorale {tune['name']} (held out from training)")
    w.get_by_label("Seed").fill("4")
    assert compose(page).startswith("Composed")
    piece = page_piece(page)
    soprano = [row[0] for row in piece["tokens"]]
    expected, _ = python_piece(keras_model("music_generation", "model"), meta, 4,
                               float(meta["temperature"]), melody=soprano, phase=piece["phase"])
    assert piece["tokens"] == expected.tolist()
    # The tune as written into the melody field reads back to the same notes.
    pitch = lambda t: -1 if t < 2 else meta["pitch_lo"] + (t - 2) // 2
    assert [pitch(t) for t in soprano] == [pitch(t) for t in tune["tokens"]]
    assert piece["phase"] == tune["phase"]


def test_typed_melody_is_the_soprano(music_page):
    page = music_page()
    w = widget(page)
    w.get_by_label("What to write").select_option(label="Harmonise the melody typed below")
    w.get_by_label("Melody (soprano)").fill("G4 A4 B4:2 | C5 B4 A4:2 | G4:4")
    assert compose(page).startswith("Composed 3 bars")
    piece = page_piece(page)
    soprano = [n for n in piece["notes"] if n["voice"] == 0]
    assert [(n["begin"], n["length"], n["midi"]) for n in soprano] == [
        (0, 2, 67), (2, 2, 69), (4, 4, 71), (8, 2, 72), (10, 2, 71), (12, 4, 69), (16, 8, 67)]
    # The notes are listed as text, voice by voice.
    w.locator("summary").click()
    listing = w.locator("details pre").inner_text()
    assert listing.splitlines()[0].startswith("Soprano: G4 (1 beat), A4 (1 beat), B4 (2 beats)")
    assert [line.split(":")[0] for line in listing.splitlines()] == ["Soprano", "Alto", "Tenor", "Bass"]
    label = w.locator("canvas").get_attribute("aria-label")
    assert f"{len(piece['notes'])} notes" in label


@pytest.mark.parametrize("melody, message", [
    ("", "Type a melody first"),
    ("G4 H4", '"H4" is not a note'),
    ("C8", "outside the range"),
    ("G4:0.3", "multiples of"),
    ("G4:4 " * 9, "at most 32"),
    ("<img src=x onerror=alert(1)>", '"<img" is not a note'),
])
def test_bad_melodies_get_one_line(music_page, melody, message):
    page = music_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    w = widget(page)
    w.get_by_label("What to write").select_option(label="Harmonise the melody typed below")
    w.get_by_label("Melody (soprano)").fill(melody)
    text = compose(page)
    assert message in text and "\n" not in text
    assert dialogs == [] and w.locator("img").count() == 0
    assert page_errors(page) == []


def test_play_follows_with_the_piano_roll_and_stops(music_page):
    page = music_page()
    w = widget(page)
    compose(page)
    w.get_by_role("button", name="Play").click()
    page.wait_for_function("s => Number(document.querySelector(s).dataset.playStep) >= 2",
                           arg=WIDGET, timeout=20_000)
    assert page.evaluate(f"document.querySelector('{WIDGET}').dataset.playing") == "true"
    w.get_by_role("button", name="Stop").click()
    assert page.evaluate(f"document.querySelector('{WIDGET}').dataset.playing") == "false"
    assert w.get_by_role("button", name="Play").is_enabled()
    assert page_errors(page) == []


def test_reduced_motion_playhead_moves_by_whole_bars(music_page):
    page = music_page(emulate_reduced_motion=True)
    w = widget(page)
    compose(page)
    # Nothing plays or moves until asked.
    page.wait_for_timeout(500)
    assert page.evaluate(f"document.querySelector('{WIDGET}').dataset.playStep") is None
    w.get_by_role("button", name="Play").click()
    page.wait_for_function("s => Number(document.querySelector(s).dataset.playStep) >= 8",
                           arg=WIDGET, timeout=20_000)
    assert int(page.evaluate(f"document.querySelector('{WIDGET}').dataset.playStep")) % 8 == 0
    w.get_by_role("button", name="Stop").click()


def test_midi_download_holds_the_notes(music_page, tmp_path):
    from music21 import converter

    page = music_page()
    w = widget(page)
    w.get_by_label("Seed").fill("21")
    compose(page)
    piece = page_piece(page)
    with page.expect_download() as info:
        w.get_by_role("button", name="Download MIDI").click()
    assert info.value.suggested_filename == "chorale-seed-21.mid"
    path = tmp_path / "chorale.mid"
    info.value.save_as(path)
    score = converter.parse(path, forceSource=True, storePickle=False).stripTies()
    got = sorted((float(n.offset), p.midi) for n in score.flatten().notes for p in n.pitches)
    want = sorted((n["begin"] * meta_step(), n["midi"]) for n in piece["notes"])
    assert got == want
    assert len(score.parts) == 4


def meta_step():
    return 0.5


def test_keyboard_only(music_page):
    page = music_page()
    w = widget(page)
    w.get_by_label("What to write").focus()
    labels = []
    for _ in range(8):
        labels.append(page.evaluate(
            "() => { const a = document.activeElement; return (a.labels && a.labels[0] ? a.labels[0].textContent : a.textContent).trim(); }"))
        page.keyboard.press("Tab")
    assert labels == ["What to write", "Melody (soprano)", "Temperature", "Seed", "New seed",
                      "Compose", "The notes, voice by voice", "its training, scores and metrics"]
    slider = w.get_by_label("Temperature")
    slider.focus()
    before = float(slider.input_value())
    page.keyboard.press("ArrowLeft")
    assert float(slider.input_value()) == pytest.approx(before - 0.05)
    w.get_by_role("button", name="Compose").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("s => document.querySelector(s).dataset.composeSeconds", arg=WIDGET,
                           timeout=60_000)
    assert w.get_by_role("button", name="Play").is_enabled()


def test_metrics_link_and_static_figure(music_page):
    """The link to the metrics, and the build's piano roll and recording stay on the page."""
    page = music_page()
    w = widget(page)
    href = w.get_by_role("link", name="its training, scores and metrics").get_attribute("href")
    assert href.startswith("../generated/music_generation/music_generation.html")
    assert page.locator('img[src$="music_generation/piano_rolls.png"]').count() == 1
    assert page.locator('audio[src$="music_generation/piece.wav"]').count() == 1
    assert not w.locator(".live-fallback").is_visible()


def test_seconds_to_a_playable_chorale_is_recorded(music_page):
    page = music_page()
    compose(page)
    seconds = float(page.evaluate(f"document.querySelector('{WIDGET}').dataset.composeSeconds"))
    assert 0 < seconds < 60
    print(f"composed a playable chorale in {seconds:.2f} s")


def test_corrupt_weights_leave_the_page_working(open_file_page, live_site):
    path = live_site / "generated" / "music_generation" / "model.js"
    text = path.read_text()
    desc = _live.load_description(path)
    desc["weights"]["gru"][1]["data"] = desc["weights"]["gru"][1]["data"][:-400]
    corrupt = text[:text.index("] = ") + 4] + json.dumps(desc) + ";\n"
    page = open_file_page("introduction/creative-tasks.html")
    page.route("**/music_generation/model.js", lambda r: r.fulfill(
        status=200, content_type="application/javascript", body=corrupt))
    # Load the page again with the route in place: a widget in view may have started already.
    page.reload(wait_until="load")
    page.evaluate(f"document.querySelector('{WIDGET}').liveStart()")
    assert wait_ready(page, WIDGET) == "failed"
    line = widget(page).locator(".live-status").first.inner_text()
    assert line.startswith("Live demo unavailable") and "\n" not in line
    assert page.locator('img[src$="music_generation/piano_rolls.png"]').count() == 1
    assert widget(page).locator("canvas").count() == 0
    assert widget(page).locator(".live-fallback").is_visible()


def test_axe_finds_nothing_in_the_widget(music_page):
    import importlib.resources

    page = music_page()
    compose(page)
    widget(page).locator("summary").click()
    source = (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text()
    page.add_script_tag(content=source)
    violations = page.evaluate("""sel => axe.run(document.querySelector(sel))
        .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | ')))""", WIDGET)
    assert violations == []
