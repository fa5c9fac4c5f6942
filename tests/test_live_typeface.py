"""The typeface explorer on the creative-tasks page (docs/assets/live/typeface.js), driven in
headless Chromium from file:// with every network request blocked: parity with the Keras decoder
that demos/design_creativity.py exported, the controls as a person uses them (selects, sliders
by keyboard, the seed, the text field), the text alternative, the PNG download, a missing weights
file, and the axe audit of the widget."""

from __future__ import annotations

import importlib.resources
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import _live
from live_support import keras_model, live_browser, live_site, open_file_page, open_page, wait_ready, widget_errors  # noqa: F401

pytestmark = pytest.mark.browser

PAGE = "introduction/creative-tasks.html"
WIDGET = ".live-widget[data-widget=typeface]"
MODEL = "../generated/design_creativity/decoder.js"
FLOAT32_TOLERANCE = 1e-4
# The export keeps float16 weights only if no ink value of its probe glyphs moves by more than
# half a grey level of an 8-bit image (the `tolerance` in design_creativity.py); the page and the
# .keras file then hold the same rounded weights, so they still agree to FLOAT32_TOLERANCE.
FLOAT16_TOLERANCE = 1 / 512


@pytest.fixture
def typeface(open_file_page):
    page = open_file_page(PAGE)
    page.locator(WIDGET).scroll_into_view_if_needed()
    assert wait_ready(page, WIDGET) == "ready", page.inner_text(f"{WIDGET} .live-status")
    return page


def state(page) -> dict:
    return page.evaluate("""sel => { const s = document.querySelector(sel).liveTypeface.state;
        return {code: Array.from(s.code), glyphs: Array.from(s.glyphs), renders: s.renders,
                fresh: Array.from(s.fresh), seed: s.seed, origin: s.origin}; }""", WIDGET)


def settle(page):
    page.evaluate("sel => document.querySelector(sel).liveTypeface.idle()", WIDGET)


def picture(page) -> np.ndarray:
    data = page.evaluate("""sel => { const c = document.querySelector(sel + ' canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return {w: c.width, h: c.height, red: Array.from(d.filter((_, i) => i % 4 === 0))}; }""",
                         WIDGET)
    return np.array(data["red"], dtype=np.uint8).reshape(data["h"], data["w"])


def alt_text(page) -> str:
    return page.get_attribute(f"{WIDGET} canvas", "aria-label")


def meta(live_site) -> dict:
    return _live.load_description(live_site / "generated" / "design_creativity" / "decoder.js")["meta"]


def keras_ink(model, code, letters: int) -> np.ndarray:
    codes = np.repeat(np.asarray(code, "float32")[None], letters, axis=0)
    return np.asarray(model([codes, np.eye(letters, dtype="float32")]))[..., 0]


# --- parity ----------------------------------------------------------------------------------------

def test_page_decoder_matches_keras(typeface, keras_model, live_site):
    model = keras_model("design_creativity", "decoder")
    n, d = model.inputs[1].shape[-1], model.inputs[0].shape[-1]
    rng = np.random.default_rng(0)
    codes = rng.standard_normal((n, d)).astype("float32")
    onehot = np.eye(n, dtype="float32")[rng.permutation(n)]
    got = np.array(typeface.evaluate("""async ([url, z, y]) => {
        const m = await Live.loadModel(url);
        const out = m.predict([z, y]); const v = await out.array(); out.dispose(); return v; }""",
        [MODEL, codes.tolist(), onehot.tolist()]))
    expected = np.asarray(model([codes, onehot]))
    assert got.shape == expected.shape == (n, 32, 32, 1)
    assert np.abs(got - expected).max() <= FLOAT32_TOLERANCE
    metrics = json.loads((live_site / "generated" / "design_creativity" / "metrics.json").read_text())
    assert metrics["live_decoder_max_abs_diff"] <= FLOAT16_TOLERANCE


def test_widget_starts_from_the_first_morph_font_as_python_decodes_it(typeface, keras_model,
                                                                      live_site):
    info, model = meta(live_site), keras_model("design_creativity", "decoder")
    font = next(f for f in info["fonts"] if f["name"] == info["morph"][0])
    now = state(typeface)
    np.testing.assert_allclose(now["code"], font["code"], atol=1e-6)
    assert all(now["fresh"])
    glyphs = np.array(now["glyphs"]).reshape(len(info["letters"]), 32, 32)
    assert np.abs(glyphs - keras_ink(model, font["code"], len(info["letters"]))).max() <= FLOAT32_TOLERANCE
    assert alt_text(typeface).startswith("\u201cHamburgefonstiv\u201d and the alphabet, drawn by the "
                                         f"model in the style of {font['name']}; style code (")


def test_seeded_style_is_the_pythons_draw_and_comes_back(typeface, keras_model, live_site):
    info, model = meta(live_site), keras_model("design_creativity", "decoder")
    seed = typeface.locator(WIDGET).get_by_label("Seed", exact=True)
    seed.fill("7")
    seed.press("Enter")
    settle(typeface)
    now = state(typeface)
    assert now["seed"] == 7 and "seed 7" in alt_text(typeface)
    np.testing.assert_allclose(now["code"], _live.normals(7, info["latent_dim"]), atol=1e-6)
    glyphs = np.array(now["glyphs"]).reshape(-1, 32, 32)
    code = _live.normals(7, info["latent_dim"])
    assert np.abs(glyphs - keras_ink(model, code, len(info["letters"]))).max() <= FLOAT32_TOLERANCE
    once = picture(typeface)
    seed.fill("8")
    typeface.locator(WIDGET).get_by_role("button", name="Random style from this seed").click()
    settle(typeface)
    assert not np.array_equal(picture(typeface), once)
    seed.fill("7")
    typeface.locator(WIDGET).get_by_role("button", name="Random style from this seed").click()
    settle(typeface)
    np.testing.assert_array_equal(picture(typeface), once)


# --- driven as a person does ------------------------------------------------------------------------

def test_blend_slider_by_keyboard_mixes_the_two_fonts(typeface, live_site):
    info = meta(live_site)
    fonts = {f["name"]: np.array(f["code"]) for f in info["fonts"]}
    a, b = (fonts[name] for name in info["morph"])
    before, renders = picture(typeface), state(typeface)["renders"]
    blend = typeface.locator(WIDGET).get_by_label("Blend: 0 is the first typeface, 1 the second")
    blend.focus()
    for _ in range(6):
        blend.press("ArrowRight")
    settle(typeface)
    now = state(typeface)
    np.testing.assert_allclose(now["code"], 0.7 * a + 0.3 * b, atol=1e-5)
    assert now["renders"] > renders and all(now["fresh"])
    assert not np.array_equal(picture(typeface), before)
    assert f"a blend of 70% {info['morph'][0]} and 30% {info['morph'][1]}" in alt_text(typeface)
    # The style sliders show the blended code.
    shown = typeface.locator(f"{WIDGET} .live-slider output").nth(1).inner_text()
    assert float(shown) == pytest.approx(now["code"][0], abs=0.03)


def test_choosing_typefaces_changes_the_letters(typeface, live_site):
    info = meta(live_site)
    before = picture(typeface)
    other = next(f["name"] for f in info["fonts"] if f["name"] not in info["morph"])
    index = [f["name"] for f in info["fonts"]].index(other)
    typeface.locator(WIDGET).get_by_label("First typeface", exact=True).select_option(str(index))
    settle(typeface)
    assert f"the style of {other};" in alt_text(typeface)
    assert not np.array_equal(picture(typeface), before)


def test_style_slider_arrows_redraw_the_line_then_everything(typeface):
    start = state(typeface)
    slider = typeface.locator(WIDGET).get_by_label("Style number 1", exact=True)
    slider.focus()
    for _ in range(5):
        slider.press("ArrowRight")
    settle(typeface)
    now = state(typeface)
    assert now["code"][0] == pytest.approx(min(3, round(start["code"][0] / 0.05) * 0.05 + 0.25), abs=1e-6)
    assert now["code"][1:] == pytest.approx(start["code"][1:])
    # Key presses fire "change" too, so the whole alphabet ends up drawn with the new code.
    assert all(now["fresh"]) and now["renders"] > start["renders"]
    assert "a style set by hand" in alt_text(typeface)


def test_dragging_redraws_the_reader_s_line_and_fades_the_rest(typeface):
    # An "input" event without "change" is a slider in mid-drag.
    typeface.evaluate("""sel => { const s = document.querySelector(sel + ' input[type=range]');
        s.value = '0.6'; s.dispatchEvent(new Event('input', {bubbles: true})); }""", WIDGET)
    settle(typeface)
    now = state(typeface)
    letters = "Hamburgefonstiv"
    meta_letters = typeface.evaluate("sel => document.querySelector(sel).liveTypeface.meta.letters", WIDGET)
    fresh = {meta_letters[k] for k, f in enumerate(now["fresh"]) if f}
    assert fresh == set(letters)


def test_typed_text_is_text_not_html(typeface):
    field = typeface.locator(WIDGET).get_by_label("Text to set (A-Z and a-z)")
    field.fill("<img src=x onerror=alert(1)>")
    field.press("Enter")
    settle(typeface)
    assert typeface.locator(f"{WIDGET} img[src=x]").count() == 0
    caption = typeface.locator(f"{WIDGET} .live-caption").inner_text()
    assert caption.startswith("\u201c<img src=x onerror=alert(1)>\u201d and the alphabet")
    notes = typeface.locator(f"{WIDGET} .live-note").filter(has_text="Skipped").inner_text()
    assert notes == ("Skipped \u201c<\u201d, \u201c=\u201d, \u201c(\u201d, \u201c1\u201d, \u201c)\u201d, "
                     "\u201c>\u201d: the model knows only A-Z and a-z.")
    field.fill("x" * 70)
    settle(typeface)
    assert "Only the first 40 characters are set." in typeface.inner_text(WIDGET)


def test_tab_order_follows_the_controls(typeface):
    typeface.locator(WIDGET).get_by_label("First typeface", exact=True).focus()
    order = []
    for _ in range(16):
        order.append(typeface.evaluate("""() => { const e = document.activeElement;
            return e.labels && e.labels.length ? e.labels[0].textContent : e.textContent; }"""))
        typeface.keyboard.press("Tab")
    assert order == (["First typeface", "Second typeface", "Blend: 0 is the first typeface, 1 the second"]
                     + [f"Style number {i}" for i in range(1, 9)]
                     + ["Seed", "Random style from this seed", "Text to set (A-Z and a-z)",
                        "Download PNG", "How good is this model? Its metrics"])


def test_every_control_has_a_visible_label(typeface):
    for name in ["First typeface", "Second typeface", "Blend", "Seed", "Text to set"] + \
            [f"Style number {i}" for i in range(1, 9)]:
        assert typeface.locator(f"{WIDGET} label", has_text=name).first.is_visible(), name


def test_download_keeps_the_letters_as_png(typeface):
    seed = typeface.locator(WIDGET).get_by_label("Seed", exact=True)
    seed.fill("5")
    seed.press("Enter")
    settle(typeface)
    with typeface.expect_download() as info:
        typeface.locator(WIDGET).get_by_role("button", name="Download PNG").click()
    download = info.value
    assert download.suggested_filename == "typeface-seed-5.png"
    image = Image.open(io.BytesIO(Path(download.path()).read_bytes()))
    size = typeface.evaluate("sel => { const c = document.querySelector(sel + ' canvas'); "
                             "return [c.width, c.height]; }", WIDGET)
    assert image.format == "PNG" and list(image.size) == size


def test_offline_from_file_with_no_console_error(typeface):
    assert typeface.url.startswith("file://")
    typeface.locator(WIDGET).get_by_role("button", name="Random style from this seed").click()
    settle(typeface)
    assert typeface.blocked_requests == []
    assert widget_errors(typeface) == []
    assert typeface.locator(f"{WIDGET} figure img").first.is_visible()
    link = typeface.locator(f"{WIDGET} a", has_text="metrics")
    assert link.count() == 1 and link.get_attribute("href").endswith("design_creativity.html#metrics")
    # No tensor is left behind by the decodes.
    before = typeface.evaluate("() => tf.memory().numTensors")
    typeface.locator(WIDGET).get_by_role("button", name="Random style from this seed").click()
    settle(typeface)
    assert typeface.evaluate("() => tf.memory().numTensors") == before


def test_axe_finds_nothing_in_the_widget(typeface):
    source = (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text()
    typeface.add_script_tag(content=source)
    violations = typeface.evaluate("""sel => axe.run(document.querySelector(sel))
        .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | ')))""", WIDGET)
    assert violations == []


# --- failure: the figure stays, one line says why ----------------------------------------------------

def test_missing_weights_file_says_so_in_one_line(live_site, live_browser, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(live_site, site)
    (site / "generated" / "design_creativity" / "decoder.js").unlink()
    page = open_page(live_browser, site, PAGE)
    try:
        page.locator(WIDGET).scroll_into_view_if_needed()
        assert wait_ready(page, WIDGET) == "failed"
        status = page.inner_text(f"{WIDGET} .live-status")
        assert status.startswith("Live demo unavailable: ") and "\n" not in status
        assert "decoder" in status
        assert page.locator(f"{WIDGET} figure img").first.is_visible()
        assert page.locator(f"{WIDGET} canvas").count() == 0
        assert page.get_by_role("heading", name="Summary").first.is_visible()
        assert page.blocked_requests == []
    finally:
        page.context.close()
