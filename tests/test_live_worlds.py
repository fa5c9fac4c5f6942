"""The world generator on the overview page (docs/assets/live/worlds.js), driven in headless
Chromium from file:// with every network request blocked: parity with the Keras generator that
demos/virtual_worlds.py exported (including the ops at its end), the page's hill shading against
the demo's render_relief, the seed and the buttons as a person uses them, the text alternative,
the PNG download, a corrupt weights file, and the axe audit of the widget."""

from __future__ import annotations

import importlib.resources
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import demo_functions
from PIL import Image

import _live
from live_support import keras_model, live_browser, live_site, open_file_page, open_page, wait_ready, widget_errors  # noqa: F401

pytestmark = pytest.mark.browser

PAGE = "introduction/overview.html"
WIDGET = ".live-widget[data-widget=worlds]"
MODEL = "../generated/virtual_worlds/generator.js"
FLOAT32_TOLERANCE = 1e-4
# The export keeps float16 weights only if no height of its probe maps moves by more than half a
# step of the 256-colour table (the `tolerance` in virtual_worlds.py); the page and the .keras
# file then hold the same rounded weights, so they still agree to FLOAT32_TOLERANCE.
FLOAT16_TOLERANCE = 1 / 512


@pytest.fixture
def worlds(open_file_page):
    page = open_file_page(PAGE)
    page.locator(WIDGET).scroll_into_view_if_needed()
    assert wait_ready(page, WIDGET) == "ready", page.inner_text(f"{WIDGET} .live-status")
    return page


def state(page) -> dict:
    return page.evaluate("""sel => { const s = document.querySelector(sel).liveWorlds.state;
        return {seed: s.seed, height: Array.from(s.height), draws: s.draws}; }""", WIDGET)


def picture(page) -> np.ndarray:
    data = page.evaluate("""sel => { const c = document.querySelector(sel + ' canvas');
        return {w: c.width, h: c.height,
                px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)}; }""",
                         WIDGET)
    return np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)


def alt_text(page) -> str:
    return page.get_attribute(f"{WIDGET} canvas", "aria-label")


def seed_field(page):
    return page.locator(WIDGET).get_by_label("Seed (the same seed always gives the same world)")


def set_seed(page, seed):
    field = seed_field(page)
    field.fill(str(seed))
    field.press("Enter")
    page.wait_for_function("([sel, s]) => document.querySelector(sel).liveWorlds.state.seed === s "
                           "&& !document.querySelector(sel).liveWorlds.state.busy", arg=[WIDGET, seed])


# --- parity ----------------------------------------------------------------------------------------

def test_page_generator_matches_keras(worlds, keras_model, live_site):
    model = keras_model("virtual_worlds", "generator")
    z = np.random.default_rng(0).standard_normal((8, model.inputs[0].shape[-1])).astype("float32")
    got = np.array(worlds.evaluate("""async ([url, z]) => {
        const m = await Live.loadModel(url);
        const out = m.predict(z); const v = await out.array(); out.dispose(); return v; }""",
        [MODEL, z.tolist()]))
    expected = np.asarray(model(z))
    assert got.shape == expected.shape == (8, 32, 32)
    assert np.abs(got - expected).max() <= FLOAT32_TOLERANCE
    metrics = json.loads((live_site / "generated" / "virtual_worlds" / "metrics.json").read_text())
    assert metrics["live_generator_max_abs_diff"] <= FLOAT16_TOLERANCE


def test_a_seed_gives_the_world_python_makes_for_it(worlds, keras_model):
    model = keras_model("virtual_worlds", "generator")
    set_seed(worlds, 1234)
    height = np.array(state(worlds)["height"]).reshape(32, 32)
    expected = np.asarray(model(_live.normals(1234, model.inputs[0].shape[-1])[None]))[0]
    assert np.abs(height - expected).max() <= FLOAT32_TOLERANCE
    assert alt_text(worlds).startswith("Shaded relief map. World 1234: ")


def test_page_shading_matches_render_relief(worlds, live_site):
    """At the heightmap's own resolution the page's colours and light are the demo's."""
    vw = demo_functions("virtual_worlds")
    height = np.array(state(worlds)["height"], dtype="float64").reshape(32, 32)
    got = np.array(worlds.evaluate("([sel, h]) => document.querySelector(sel).liveWorlds.render(h, 1)",
                                   [WIDGET, height.ravel().tolist()]), dtype=float).reshape(32, 32, 4)
    expected = vw.render_relief(height, upsample=1) * 255
    # The page indexes the exported 8-bit colour table; matplotlib uses its float colours.
    assert np.abs(got[..., :3] - expected).max() <= 2.0
    meta = worlds.evaluate("sel => document.querySelector(sel).liveWorlds.meta", WIDGET)
    assert meta["sea_level"] == vw.SEA_LEVEL and meta["snow_line"] == vw.SNOW_LINE


# --- driven as a person does ------------------------------------------------------------------------

def test_next_world_changes_the_map_and_the_seed(worlds):
    first, first_alt = picture(worlds), alt_text(worlds)
    assert seed_field(worlds).input_value() == "1" and "World 1:" in first_alt
    worlds.locator(WIDGET).get_by_role("button", name="Next world (seed + 1)").click()
    worlds.wait_for_function("sel => document.querySelector(sel).liveWorlds.state.seed === 2 && "
                             "!document.querySelector(sel).liveWorlds.state.busy", arg=WIDGET)
    assert seed_field(worlds).input_value() == "2"
    assert "World 2:" in alt_text(worlds)
    assert worlds.locator(f"{WIDGET} .live-caption").inner_text() == alt_text(worlds)[len("Shaded relief map. "):]
    assert not np.array_equal(picture(worlds), first)


def test_fixed_seed_gives_the_same_world_twice(worlds):
    set_seed(worlds, 77)
    once = picture(worlds)
    set_seed(worlds, 78)
    assert not np.array_equal(picture(worlds), once)
    set_seed(worlds, 77)
    np.testing.assert_array_equal(picture(worlds), once)
    # The button draws the seed in the field, as Enter does.
    seed_field(worlds).fill("78")
    worlds.locator(WIDGET).get_by_role("button", name="Draw this world").click()
    worlds.wait_for_function("sel => document.querySelector(sel).liveWorlds.state.seed === 78 && "
                             "!document.querySelector(sel).liveWorlds.state.busy", arg=WIDGET)
    assert not np.array_equal(picture(worlds), once)


def test_a_bad_seed_is_named_and_the_map_stays(worlds):
    before = picture(worlds)
    seed_field(worlds).fill("-3")
    worlds.locator(WIDGET).get_by_role("button", name="Draw this world").click()
    status = worlds.inner_text(f"{WIDGET} .live-status")
    assert status == "A seed is a whole number from 0 to 4294967295. Showing world 1."
    np.testing.assert_array_equal(picture(worlds), before)


def test_tab_order_follows_the_controls(worlds):
    seed_field(worlds).focus()
    order = []
    for _ in range(5):
        order.append(worlds.evaluate("""() => { const e = document.activeElement;
            return e.labels && e.labels.length ? e.labels[0].textContent : e.textContent; }"""))
        worlds.keyboard.press("Tab")
    assert order == ["Seed (the same seed always gives the same world)", "Draw this world",
                     "Next world (seed + 1)", "Download PNG", "How good is this model? Its metrics"]


def test_keyboard_alone_makes_a_new_world(worlds):
    worlds.locator(WIDGET).get_by_role("button", name="Next world (seed + 1)").focus()
    worlds.keyboard.press("Enter")
    worlds.wait_for_function("sel => document.querySelector(sel).liveWorlds.state.seed === 2 && "
                             "!document.querySelector(sel).liveWorlds.state.busy", arg=WIDGET)
    assert "World 2:" in alt_text(worlds)


def test_download_keeps_the_world_as_png(worlds):
    set_seed(worlds, 5)
    with worlds.expect_download() as info:
        worlds.locator(WIDGET).get_by_role("button", name="Download PNG").click()
    download = info.value
    assert download.suggested_filename == "world-5.png"
    image = Image.open(io.BytesIO(Path(download.path()).read_bytes()))
    assert image.format == "PNG" and image.size == (256, 256)
    np.testing.assert_array_equal(np.asarray(image.convert("RGBA")), picture(worlds))


def test_offline_from_file_with_no_console_error(worlds):
    assert worlds.url.startswith("file://")
    worlds.locator(WIDGET).get_by_role("button", name="Next world (seed + 1)").click()
    assert worlds.blocked_requests == []
    assert widget_errors(worlds) == []
    assert worlds.locator(f"{WIDGET} figure img").first.is_visible()
    link = worlds.locator(f"{WIDGET} a", has_text="metrics")
    assert link.count() == 1 and link.get_attribute("href").endswith("virtual_worlds.html#metrics")
    # No tensor is left behind by a new world.
    worlds.wait_for_function("sel => !document.querySelector(sel).liveWorlds.state.busy", arg=WIDGET)
    before = worlds.evaluate("() => tf.memory().numTensors")
    worlds.evaluate("sel => document.querySelector(sel).liveWorlds.draw()", WIDGET)
    assert worlds.evaluate("() => tf.memory().numTensors") == before


def test_axe_finds_nothing_in_the_widget(worlds):
    source = (importlib.resources.files("axe_playwright_python") / "axe.min.js").read_text()
    worlds.add_script_tag(content=source)
    violations = worlds.evaluate("""sel => axe.run(document.querySelector(sel))
        .then(r => r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.html).join(' | ')))""", WIDGET)
    assert violations == []


# --- failure: the figure stays, one line says why ----------------------------------------------------

def test_corrupt_weights_file_says_so_in_one_line(live_site, live_browser, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(live_site, site)
    target = site / "generated" / "virtual_worlds" / "generator.js"
    target.write_bytes(target.read_bytes()[:5000])
    page = open_page(live_browser, site, PAGE)
    try:
        page.locator(WIDGET).scroll_into_view_if_needed()
        assert wait_ready(page, WIDGET) == "failed"
        status = page.inner_text(f"{WIDGET} .live-status")
        assert status.startswith("Live demo unavailable: ") and "\n" not in status
        assert "generator" in status
        assert page.locator(f"{WIDGET} figure img").first.is_visible()
        assert page.locator(f"{WIDGET} canvas").count() == 0
        assert page.get_by_role("heading", name="Where next").first.is_visible()
        assert page.blocked_requests == []
    finally:
        page.context.close()
