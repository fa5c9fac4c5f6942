"""The path from a Keras model to the page: demos/_live.py's export and random numbers, and
live.js rebuilding exported models in headless Chromium from file:// (no site build needed:
the test assembles a one-page folder with the runtime, live.js and the exported models)."""

from __future__ import annotations

import json
import shutil
import types
from pathlib import Path

import numpy as np
import pytest

import _live
from live_support import ROOT, live_browser, live_site, open_page  # noqa: F401 (fixture)

# The first draws of the reference mulberry32 (the widely copied JavaScript original, run in
# Node 20) for three seeds; both _live.rng and Live.rng must reproduce them.
KNOWN = {
    42: [0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693,
         0.17481389874592423],
    0: [0.26642920868471265, 0.0003297457005828619, 0.2232720274478197, 0.1462021479383111,
        0.46732782293111086],
    4294967295: [0.8964226141106337, 0.189478256739676, 0.7156526781618595, 0.9440599093213677,
                 0.8452364315744489],
}
VENDOR = {"tf-core.min.js": "@tensorflow/tfjs-core/dist/tf-core.es2017.min.js",
          "tf-backend-cpu.min.js": "@tensorflow/tfjs-backend-cpu/dist/tf-backend-cpu.es2017.min.js"}


def fake_run(folder: Path, name: str = "demo"):
    folder.mkdir(parents=True, exist_ok=True)
    return types.SimpleNamespace(name=name, path=lambda f: folder / f)


# --- random numbers ------------------------------------------------------------------------------

def test_rng_matches_the_reference_mulberry32():
    for seed, expected in KNOWN.items():
        draw = _live.rng(seed)
        assert [draw() for _ in expected] == expected


def test_normal_is_box_muller_from_two_draws():
    draw, check = _live.rng(7), _live.rng(7)
    u1, u2 = check(), check()
    assert _live.normal(draw) == pytest.approx(np.sqrt(-2 * np.log(1 - u1)) * np.cos(2 * np.pi * u2))
    z = _live.normals(1, 20_000)
    assert z.dtype == np.float32
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03


# --- the export ------------------------------------------------------------------------------------

def small_generator(seed=0):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    noise = keras.Input((6,), name="noise")
    label = keras.Input((), dtype="int32", name="label")
    h = layers.Concatenate()([noise, layers.Flatten()(layers.Embedding(10, 4)(label))])
    h = layers.Dense(2 * 2 * 8, use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((2, 2, 8))(h)
    h = layers.Conv2DTranspose(6, 4, strides=2, padding="same", use_bias=False)(h)
    h = layers.BatchNormalization()(h)
    h = layers.LeakyReLU(0.2)(h)
    skip = layers.UpSampling2D(2)(layers.Conv2D(4, 3, padding="same", activation="tanh")(h))
    h = layers.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Add()([h, skip])
    h = layers.Multiply()([h, layers.Activation("sigmoid")(h)])
    h = layers.LayerNormalization()(h)
    h = layers.Dropout(0.5)(h)
    image = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
    model = keras.Model([noise, label], image, name="small_generator")
    # Moving statistics that are not the initial 0 and 1, so BatchNormalization is tested.
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.moving_mean.assign(np.linspace(-0.5, 0.5, layer.moving_mean.shape[0]))
            layer.moving_variance.assign(np.linspace(0.5, 2.0, layer.moving_variance.shape[0]))
    return model


def small_classifier(seed=1):
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((8, 8, 1)), layers.Conv2D(4, 3, activation="relu"),
                             layers.MaxPooling2D(2), layers.Flatten(),
                             layers.Dense(5, activation="gelu"), layers.Dense(3, activation="softmax")],
                            name="small_classifier")


def probe_inputs(n=16, seed=3):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((n, 6)).astype("float32"), (np.arange(n) % 10).astype("int32")]


def test_export_round_trip(tmp_path):
    import keras

    model = small_generator()
    probe = probe_inputs()
    result = _live.export_model(fake_run(tmp_path), model, "gen", meta={"latent_dim": 6},
                                probe=probe, dtype="float32")
    assert result["dtype"] == "float32" and result["max_abs_diff"] == 0
    js = tmp_path / "gen.js"
    assert result["bytes"] == js.stat().st_size
    assert js.read_text().splitlines()[1].startswith('(window.LIVE_MODELS = window.LIVE_MODELS || {})["demo/gen"] = {')
    description = _live.load_description(js)
    assert description["format"] == 1 and description["meta"] == {"latent_dim": 6}
    assert [i["name"] for i in description["inputs"]] == ["noise", "label"]
    # The architecture in the file is Keras's own config: Keras rebuilds the same network from it.
    rebuilt = keras.Model.from_config(description["model"]["config"])
    weights = _live.decode_weights(description)
    for layer in rebuilt.layers:
        if layer.weights:
            layer.set_weights(weights[layer.name])
    np.testing.assert_array_equal(np.asarray(rebuilt(probe)), np.asarray(model(probe)))
    saved = keras.saving.load_model(tmp_path / "gen.keras", compile=False)
    np.testing.assert_array_equal(np.asarray(saved(probe)), np.asarray(model(probe)))


def test_float16_only_when_the_outputs_stay_within_tolerance(tmp_path):
    import keras

    model, probe = small_generator(), probe_inputs()
    half = _live.export_model(fake_run(tmp_path / "a"), model, "gen", probe=probe,
                              tolerance=1e-2)
    assert half["dtype"] == "float16" and 0 < half["max_abs_diff"] <= 1e-2
    full = _live.export_model(fake_run(tmp_path / "b"), model, "gen", probe=probe,
                              tolerance=1e-9)
    assert full["dtype"] == "float32" and full["max_abs_diff"] == 0
    def weight_chars(folder):
        description = _live.load_description(folder / "gen.js")
        return sum(len(w["data"]) for ws in description["weights"].values() for w in ws)

    assert weight_chars(tmp_path / "a") < 0.52 * weight_chars(tmp_path / "b")
    assert half["bytes"] < full["bytes"]
    # Without a probe nothing can be checked, so float32 it is.
    unchecked = _live.export_model(fake_run(tmp_path / "c"), model, "gen")
    assert unchecked["dtype"] == "float32"
    # The .keras file holds the weights the page gets: float16 values, stored as float32.
    saved = keras.saving.load_model(tmp_path / "a" / "gen.keras", compile=False)
    for w in saved.weights:
        value = np.asarray(w)
        np.testing.assert_array_equal(value, value.astype("float16").astype("float32"))
    diff = np.abs(np.asarray(saved(probe)) - np.asarray(model(probe))).max()
    assert diff == pytest.approx(half["max_abs_diff"], rel=1e-6, abs=1e-9)


def test_export_refuses_what_the_page_cannot_rebuild(tmp_path):
    import keras

    class Custom(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="subclassed"):
        _live.export_model(fake_run(tmp_path), Custom(), "custom")
    with pytest.raises(ValueError, match="dtype"):
        _live.export_model(fake_run(tmp_path), small_classifier(), "c", dtype="int8")


# --- live.js in the browser ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def mini_site(tmp_path_factory):
    """A one-page folder laid out like the site: assets/live, assets/vendor, generated/demo."""
    site = tmp_path_factory.mktemp("mini-site")
    (site / "assets" / "vendor").mkdir(parents=True)
    shutil.copytree(ROOT / "docs" / "assets" / "live", site / "assets" / "live")
    for name, package_file in VENDOR.items():
        shutil.copy(ROOT / "node_modules" / package_file, site / "assets" / "vendor" / name)
    run = fake_run(site / "generated" / "demo")
    generator, classifier = small_generator(), small_classifier()
    _live.export_model(run, generator, "gen", probe=probe_inputs(), dtype="float32")
    _live.export_model(run, generator, "gen16", probe=probe_inputs(), tolerance=1e-2)
    _live.export_model(run, classifier, "clf", probe=np.zeros((2, 8, 8, 1), "float32"),
                       dtype="float32")
    (site / "generated" / "demo" / "broken.js").write_text("window.LIVE_MODELS = {};\n")
    (site / "page" ).mkdir()
    (site / "page" / "index.html").write_text(
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live test</title></head>'
        '<body><main><div class="live-widget" data-widget="echo" data-model="../generated/demo/clf.js">'
        '<p id="static">static figure</p></div>'
        '<div class="live-widget" data-widget="gone" data-manual data-model="../generated/demo/missing.js">'
        '<p id="static2">static figure</p></div><div style="height: 3000px"></div></main>'
        '<script src="../assets/live/live.js"></script>'
        '<script>Live.widget("echo", function (el, models, ui) {'
        '  ui.slider("Amount", {min: 0, max: 1, step: 0.1, value: 0.5}); el.dataset.keys = Object.keys(models).join(",");'
        '}); Live.widget("gone", function () {});</script></body></html>')
    return types.SimpleNamespace(root=site, generator=generator, classifier=classifier)


def page_predict(page, model_path, inputs):
    return page.evaluate(
        """async ([path, inputs]) => {
            await Live.loadRuntime();
            const model = await Live.loadModel(path);
            const out = model.predict(inputs);
            const values = await out.array();
            out.dispose();
            return values;
        }""", [model_path, inputs])


def test_page_rebuilds_models_with_keras_outputs(live_browser, mini_site):
    page = open_page(live_browser, mini_site.root, "page/index.html")
    try:
        noise, labels = probe_inputs()
        expected = np.asarray(mini_site.generator([noise, labels]))
        got = np.array(page_predict(page, "../generated/demo/gen.js",
                                    [noise.tolist(), labels.tolist()]))
        assert got.shape == expected.shape
        assert np.abs(got - expected).max() <= 1e-4
        # Inputs by name give the same answer.
        by_name = np.array(page_predict(page, "../generated/demo/gen.js",
                                        {"noise": noise.tolist(), "label": labels.tolist()}))
        np.testing.assert_array_equal(by_name, got)
        x = np.random.default_rng(0).random((4, 8, 8, 1)).astype("float32")
        got = np.array(page_predict(page, "../generated/demo/clf.js", x.tolist()))
        assert np.abs(got - np.asarray(mini_site.classifier(x))).max() <= 1e-4
        # float16 weights decode to exactly the values the .keras file holds.
        import keras
        saved = keras.saving.load_model(mini_site.root / "generated/demo/gen16.keras", compile=False)
        got = np.array(page_predict(page, "../generated/demo/gen16.js",
                                    [noise.tolist(), labels.tolist()]))
        assert np.abs(got - np.asarray(saved([noise, labels]))).max() <= 1e-4
        assert page.console_errors == [] and page.blocked_requests == []
    finally:
        page.context.close()


def test_page_rng_matches_python(live_browser, mini_site):
    page = open_page(live_browser, mini_site.root, "page/index.html")
    try:
        for seed, expected in KNOWN.items():
            got = page.evaluate("s => { const r = Live.rng(s); return [r(), r(), r(), r(), r()]; }", seed)
            assert got == expected
        got = page.evaluate("() => Array.from(Live.normals(123, 50))")
        np.testing.assert_allclose(got, _live.normals(123, 50), rtol=0, atol=1e-6)
    finally:
        page.context.close()


def test_widgets_start_and_fail_in_one_line(live_browser, mini_site):
    page = open_page(live_browser, mini_site.root, "page/index.html")
    try:
        # Opening the page starts nothing, not even the widget in view: no runtime, no weights.
        page.wait_for_timeout(500)
        states = "() => [...document.querySelectorAll('.live-widget')].map(e => e.liveState)"
        assert page.evaluate(states) == ["waiting", "waiting"]
        assert not [u for u in page.requested if "/vendor/" in u or "/generated/" in u]
        # The reader scrolls: the widget in view starts; `data-manual` waits for its Start button.
        page.mouse.wheel(0, 60)
        page.wait_for_function("() => document.querySelector('[data-widget=echo]').liveState !== 'waiting'")
        assert page.evaluate("() => document.querySelector('[data-widget=gone]').liveState") == "waiting"
        page.click("[data-widget=gone] button:has-text('Start')")
        page.wait_for_function("() => document.querySelector('[data-widget=echo]').liveState === 'ready'"
                               " && document.querySelector('[data-widget=gone]').liveState === 'failed'",
                               timeout=60_000)
        assert page.get_attribute("[data-widget=echo]", "data-keys") == "clf,demo/clf"
        assert page.is_visible("text=Amount")
        status = page.inner_text("[data-widget=gone] .live-status")
        assert "missing" in status and "\n" not in status
        assert page.is_visible("#static") and page.is_visible("#static2")
        # A model file that runs but holds no model says so.
        message = page.evaluate("() => Live.loadModel('../generated/demo/broken.js').then(() => 'ok', e => e.message)")
        assert "holds no model" in message
    finally:
        page.context.close()


def test_chunked_work_yields_and_stops(live_browser, mini_site):
    page = open_page(live_browser, mini_site.root, "page/index.html")
    try:
        result = page.evaluate("""() => new Promise(resolve => {
            let n = 0, ticks = 0;
            const timer = setInterval(() => ticks++, 0);
            const job = Live.chunked(() => { const t = performance.now(); while (performance.now() - t < 2) {} n++; return true; },
                                     {onDone: r => { clearInterval(timer); resolve({steps: r.steps, stopped: r.stopped, ticks}); }});
            setTimeout(() => job.stop(), 300);
        })""")
        assert result["stopped"] and result["steps"] > 10
        assert result["ticks"] > 3   # other work ran between the slices
    finally:
        page.context.close()


def test_opening_a_page_with_widgets_loads_no_model(live_browser, live_site):
    """Issue 9, section 7: a page loads no runtime and no weights before the reader scrolls to a
    widget or presses its Start, even for a widget on the first screen (phone and desktop)."""
    with_widgets = sorted(p.relative_to(live_site).as_posix() for p in live_site.rglob("*.html")
                          if '<div class="live-widget' in p.read_text(encoding="utf-8"))
    assert with_widgets, "no page of the site holds a live widget"
    for path in with_widgets:
        for viewport in ({"width": 390, "height": 844}, {"width": 1280, "height": 900}):
            page = open_page(live_browser, live_site, path, viewport)
            try:
                page.wait_for_timeout(1500)
                states = page.evaluate(
                    "() => [...document.querySelectorAll('.live-widget')].map(e => e.liveState)")
                models = [u for u in page.requested
                          if "/assets/vendor/tf-" in u or ("/generated/" in u and u.endswith(".js"))]
                assert states and set(states) == {"waiting"}, f"{path} {viewport}: {states}"
                assert not models, f"{path} {viewport}: loaded on open: {models}"
            finally:
                page.context.close()
