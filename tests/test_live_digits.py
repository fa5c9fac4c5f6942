"""The digit generator on the overview page (docs/assets/live/digits.js), driven in headless
Chromium from file:// with every network request blocked: parity with the Keras generator the
demo exported, the controls as a person uses them, the text alternative, the PNG download,
failure with a missing or corrupt weights file, and the axe audit of the widget."""

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

PAGE = "introduction/overview.html"
WIDGET = ".live-widget[data-widget=digits]"
FLOAT32_TOLERANCE = 1e-4
# float16 storage: demos/image_synthesis.py keeps float16 only if no pixel moves by more than
# half a grey level of the 8-bit canvas (its export `tolerance`). The page and the .keras file
# then hold the same rounded weights, so the page still matches the .keras model to
# FLOAT32_TOLERANCE; this bounds the change against the trained float32 generator.
FLOAT16_TOLERANCE = 0.5 / 255


@pytest.fixture
def digits(open_file_page):
    page = open_file_page(PAGE)
    page.locator(WIDGET).scroll_into_view_if_needed()
    assert wait_ready(page, WIDGET) == "ready", page.inner_text(f"{WIDGET} .live-status")
    return page


def pixels(page) -> np.ndarray:
    """The 8x8 picture on the widget's canvas, read at the centre of each enlarged pixel."""
    values = page.evaluate("""sel => {
        const c = document.querySelector(sel + ' canvas'), ctx = c.getContext('2d');
        const step = c.width / 8, out = [];
        for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++)
            out.push(ctx.getImageData(Math.floor((x + 0.5) * step), Math.floor((y + 0.5) * step), 1, 1).data[0]);
        return out;
    }""", WIDGET)
    return np.array(values, dtype=int).reshape(8, 8)


def alt_text(page) -> str:
    return page.get_attribute(f"{WIDGET} canvas", "aria-label")


def set_seed(page, seed: int):
    field = page.get_by_label("Seed", exact=True)
    field.fill(str(seed))
    field.press("Enter")


def keras_image(model, seed: int, digit: int) -> np.ndarray:
    noise = _live.normals(seed, model.inputs[0].shape[-1])[None]
    return np.asarray(model([noise, np.array([digit], "int32")]))[0, ..., 0]


# --- parity ----------------------------------------------------------------------------------------

def test_page_model_matches_keras(digits, keras_model, live_site):
    model = keras_model("image_synthesis", "generator")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((20, model.inputs[0].shape[-1])).astype("float32")
    labels = (np.arange(20) % 10).astype("int32")
    got = np.array(digits.evaluate("""async ([z, y]) => {
        const m = await Live.loadModel('../generated/image_synthesis/generator.js');
        const out = m.predict([z, y]); const v = await out.array(); out.dispose(); return v; }""",
        [noise.tolist(), labels.tolist()]))
    expected = np.asarray(model([noise, labels]))
    assert got.shape == expected.shape == (20, 8, 8, 1)
    assert np.abs(got - expected).max() <= FLOAT32_TOLERANCE
    metrics = json.loads((live_site / "generated" / "image_synthesis" / "metrics.json").read_text())
    if metrics["live_generator_float16"]:
        # What float16 storage cost against the trained float32 generator, measured at export.
        assert metrics["live_generator_max_abs_diff"] <= FLOAT16_TOLERANCE


def test_widget_draws_what_python_draws_for_a_seed(digits, keras_model):
    model = keras_model("image_synthesis", "generator")
    digits.get_by_label("Digit to draw").select_option("3")
    set_seed(digits, 1234)
    state = digits.evaluate("sel => { const s = document.querySelector(sel).liveDigits; "
                            "return {seed: s.seed, digit: s.digit, z: Array.from(s.z)}; }", WIDGET)
    assert state["seed"] == 1234 and state["digit"] == 3
    np.testing.assert_allclose(state["z"], _live.normals(1234, len(state["z"])), atol=1e-6)
    # The canvas draws ink dark on white, like the static figures: 255 is paper.
    expected = np.round((1 - np.clip(keras_image(model, 1234, 3), 0, 1)) * 255)
    assert np.abs(pixels(digits) - expected).max() <= 1
    assert alt_text(digits).startswith("Generated digit 3, sample ")
    assert "(seed 1234)" in alt_text(digits)


# --- driven as a person does ------------------------------------------------------------------------

def test_new_sample_changes_the_picture_and_the_seed(digits):
    first, first_alt = pixels(digits), alt_text(digits)
    assert first_alt == "Generated digit 7, sample 1 (seed 1)"
    digits.get_by_role("button", name="New sample").click()
    assert digits.get_by_label("Seed", exact=True).input_value() == "2"
    assert alt_text(digits) == "Generated digit 7, sample 2 (seed 2)"
    assert not np.array_equal(pixels(digits), first)
    digits.get_by_label("Digit to draw").select_option("0")
    assert alt_text(digits) == "Generated digit 0, sample 2 (seed 2)"


def test_fixed_seed_gives_the_same_image_twice(digits):
    set_seed(digits, 99)
    once = pixels(digits)
    digits.get_by_role("button", name="New sample").click()
    assert not np.array_equal(pixels(digits), once)
    set_seed(digits, 99)
    np.testing.assert_array_equal(pixels(digits), once)


def test_keyboard_arrows_move_a_slider_and_the_picture_follows(digits):
    slider = digits.get_by_label("Noise 1", exact=True)
    shown = digits.locator(f"{WIDGET} .live-slider output").first
    before_value, before = shown.inner_text(), pixels(digits)
    renders = digits.evaluate("sel => document.querySelector(sel).liveRenders", WIDGET)
    slider.focus()
    for _ in range(10):
        slider.press("ArrowRight")
    assert shown.inner_text() != before_value
    # One new picture per key press: it follows the slider while it moves.
    assert digits.evaluate("sel => document.querySelector(sel).liveRenders", WIDGET) == renders + 10
    assert not np.array_equal(pixels(digits), before)
    assert alt_text(digits).endswith("noise sliders moved)")
    digits.get_by_role("button", name="Back to the seed's noise").click()
    np.testing.assert_array_equal(pixels(digits), before)


def test_tab_order_follows_the_controls(digits):
    digits.get_by_label("Digit to draw").focus()
    order = []
    for _ in range(11):
        order.append(digits.evaluate("""() => { const e = document.activeElement;
            return e.labels && e.labels.length ? e.labels[0].textContent : e.textContent; }"""))
        digits.keyboard.press("Tab")
    assert order == ["Digit to draw", "New sample", "Seed"] + [f"Noise {i}" for i in range(1, 7)] + \
        ["Back to the seed's noise", "Download PNG"]


def test_every_control_has_a_visible_label(digits):
    for name in ["Digit to draw", "Seed"] + [f"Noise {i}" for i in range(1, 7)]:
        label = digits.locator(f"{WIDGET} label", has_text=name).first
        assert label.is_visible(), name


def test_download_keeps_the_digit_as_png(digits):
    set_seed(digits, 5)
    with digits.expect_download() as info:
        digits.get_by_role("button", name="Download PNG").click()
    download = info.value
    assert download.suggested_filename == "digit-7-seed-5.png"
    image = Image.open(io.BytesIO(Path(download.path()).read_bytes()))
    assert image.format == "PNG" and image.size == (192, 192)


def test_offline_from_file_with_no_console_error(digits):
    assert digits.url.startswith("file://")
    digits.get_by_role("button", name="New sample").click()
    assert digits.blocked_requests == []
    assert widget_errors(digits) == []
    # The static figure stays beside the live one.
    assert digits.locator(f"{WIDGET} figure img").first.is_visible()
    assert digits.locator(f"{WIDGET} a", has_text="metrics").count() == 1


def test_axe_finds_nothing_in_the_widget(digits):
    source = (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text()
    digits.add_script_tag(content=source)
    violations = digits.evaluate("""sel => axe.run(document.querySelector(sel))
        .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | ')))""", WIDGET)
    assert violations == []


# --- failure: the figure stays, one line says why ----------------------------------------------------

def site_with(site: Path, dest: Path, replace: dict[str, bytes | None]) -> Path:
    """A copy of the built site (17 MB) with some files removed (None) or replaced."""
    shutil.copytree(site, dest)
    for rel, content in replace.items():
        if content is None:
            (dest / rel).unlink()
        else:
            (dest / rel).write_bytes(content)
    return dest


WEIGHTS = "generated/image_synthesis/generator.js"
BROKEN = {   # what is wrong -> (file, its replacement: None removes it, words the line must hold)
    "missing weights": (WEIGHTS, None, "generator"),
    "corrupt weights": (WEIGHTS, "first 5000 bytes", "generator"),
    "missing runtime": ("assets/vendor/tf-core.min.js", None, "runtime"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_file_is_said_in_one_line_and_the_figure_stays(case, live_site, live_browser,
                                                                tmp_path):
    target, content, words = BROKEN[case]
    if content is not None:
        content = (live_site / target).read_bytes()[:5000]
    site = site_with(live_site, tmp_path / "site", {target: content})
    page = open_page(live_browser, site, PAGE)
    try:
        page.locator(WIDGET).scroll_into_view_if_needed()
        assert wait_ready(page, WIDGET) == "failed"
        status = page.inner_text(f"{WIDGET} .live-status")
        assert status.startswith("Live demo unavailable: ") and "\n" not in status
        assert words in status
        assert page.locator(f"{WIDGET} figure img").first.is_visible()
        assert page.locator(f"{WIDGET} canvas").count() == 0
        # Nothing else on the page broke: the next section is still there.
        assert page.get_by_role("heading", name="Text generation").first.is_visible()
        assert page.blocked_requests == []
    finally:
        page.context.close()
