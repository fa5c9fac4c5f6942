/* The digit generator (image synthesis): the class-conditional GAN that demos/image_synthesis.py
 * trains, run in the page. The reader picks a digit, draws new samples, and moves sliders over
 * the first few of the generator's noise numbers; the picture follows while a slider moves.
 *
 * Markup: <div class="live-widget" data-widget="digits"
 *              data-model="../generated/image_synthesis/generator.js"
 *              data-metrics="page-relative link to the demo's metrics"> static figure </div>
 * Optional data-digit and data-seed set the first picture.
 *
 * The noise of seed s is Live.normals(s, latent_dim): the first latent_dim normal numbers of
 * Live.rng(s). demos/_live.py's normals(s, n) replays it, so a digit seen here can be redrawn
 * in Python exactly.
 */
(function () {
  "use strict";
  if (!window.Live) { return; }   // live.js did not load: the static figure stays as it is
  var SLIDERS = 6, SCALE = 24, RANGE = 4;

  window.LiveDigits = {
    sliders: SLIDERS,
    latent: function (seed, dim) { return Live.normals(seed, dim); }
  };

  Live.widget("digits", function (el, models, ui) {
    var model = models.generator, meta = model.meta, dim = meta.latent_dim;
    var classes = meta.classes || ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
    var shape = meta.image_shape || [8, 8];
    var state = {
      digit: Math.min(classes.length - 1, Math.max(0, Number(el.dataset.digit || 7))),
      seed: Number(el.dataset.seed || 1) >>> 0,
      sample: 1,
      z: null,
      edited: false
    };

    var controls = ui.el("div", "live-controls"), output = ui.el("div", "live-output");
    ui.panel.appendChild(controls);
    ui.panel.appendChild(output);

    var digit = ui.select("Digit to draw", classes.map(function (c, i) { return { value: String(i), label: c }; }),
      function (v) { state.digit = Number(v); render(); }, { parent: controls, value: String(state.digit) });

    var row = ui.row({ parent: controls });
    ui.button("New sample", function () {
      setSeed((state.seed + 1) >>> 0);
      seed.value = state.seed;
    }, { parent: row, primary: true });
    var seed = ui.seedField("Seed", {
      parent: row, value: state.seed,
      onChange: function (v) { setSeed(v); },
      onInvalid: function (message) { ui.say(message); }
    });

    var box = ui.fieldset("Noise sliders", { parent: controls });
    ui.paragraph("The first " + SLIDERS + " of the " + dim + " random numbers the generator turns into a digit; the seed sets all " + dim + ".",
      { parent: box });
    var sliders = [];
    for (var i = 0; i < Math.min(SLIDERS, dim); i++) {
      sliders.push(ui.slider("Noise " + (i + 1), {
        parent: box, min: -RANGE, max: RANGE, step: 0.1, value: 0,
        format: function (v) { return v.toFixed(2); },
        onInput: (function (k) { return function (v) { state.z[k] = v; state.edited = true; render(); }; })(i)
      }));
    }
    ui.button("Back to the seed's noise", function () { setSeed(state.seed, true); }, { parent: box });

    // Dark ink on white paper, as in the site's figures of the same digits.
    var canvas = ui.canvas({ parent: output, width: shape[1], height: shape[0], scale: SCALE, invert: true });
    var caption = ui.el("p", "live-caption");
    caption.setAttribute("aria-hidden", "true");   // the canvas carries the same text
    output.appendChild(caption);
    ui.button("Download PNG", function () {
      canvas.toBlob().then(function (blob) {
        ui.download("digit-" + classes[state.digit] + "-seed-" + state.seed + (state.edited ? "-edited" : "") + ".png", blob);
      });
    }, { parent: output });
    if (el.dataset.metrics) {
      ui.link("How good is this generator? Its metrics", el.dataset.metrics, { parent: output });
    }

    function setSeed(s, keepCount) {
      state.seed = s >>> 0;
      if (!keepCount) { state.sample += 1; }
      state.z = window.LiveDigits.latent(state.seed, dim);
      state.edited = false;
      sliders.forEach(function (sl, k) { sl.value = state.z[k]; });
      render();
    }

    function render() {
      var t0 = performance.now();
      var out = model.predict([tf.tensor2d(state.z, [1, dim]), tf.tensor1d([state.digit], "int32")]);
      var pixels = out.dataSync();
      out.dispose();
      canvas.draw(pixels, shape[1], shape[0], 1);
      var text = "digit " + classes[state.digit] + ", sample " + state.sample + " (seed " + state.seed +
        (state.edited ? ", noise sliders moved" : "") + ")";
      canvas.describe("Generated " + text);
      caption.textContent = "Generated " + text;
      el.liveLastMs = performance.now() - t0;   // read by scripts/bench_live.py
      el.liveRenders = (el.liveRenders || 0) + 1;
    }

    el.liveDigits = state;   // for tests: the digit, seed and noise on screen
    state.sample = 0;
    setSeed(state.seed);
  }, { startLabel: "Start the digit generator" });
})();
