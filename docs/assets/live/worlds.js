/* World generator: the virtual_worlds demo's terrain GAN, run in the page.
 *
 * A seed gives the generator's latent numbers (Live.rng + Live.normal, the same draws that
 * demos/_live.py replays in Python), one forward pass gives a 32x32 heightmap in 0..1, and the
 * page colours and lights it the way the demo's render_relief does: the exported colour table
 * (sea level and snow line are baked into it), flat water, and matplotlib's hill shading
 * (LightSource with a "soft light" blend). Everything the rendering needs comes from the
 * exported meta; nothing about the model is written down here.
 */
(function () {
  "use strict";

  var UPSAMPLE = 8;          // 32x32 heightmap -> 256x256 picture
  var MAX_SEED = 4294967295; // seeds are unsigned 32-bit integers, as Live.rng takes them

  /* The latent numbers for a seed: standard normal draws from the seeded generator. */
  function latentFor(seed, size) {
    var rng = Live.rng(seed);
    var z = new Float32Array(size);
    for (var i = 0; i < size; i++) z[i] = Live.normal(rng);
    return z;
  }

  /* Bilinear enlargement of a (size x size) grid by an integer factor (pixel centres aligned). */
  function enlarge(height, size, factor) {
    if (factor === 1) return Float64Array.from(height);
    var n = size * factor, out = new Float64Array(n * n);
    for (var r = 0; r < n; r++) {
      var y = Math.min(Math.max((r + 0.5) / factor - 0.5, 0), size - 1);
      var y0 = Math.floor(y), y1 = Math.min(y0 + 1, size - 1), fy = y - y0;
      for (var c = 0; c < n; c++) {
        var x = Math.min(Math.max((c + 0.5) / factor - 0.5, 0), size - 1);
        var x0 = Math.floor(x), x1 = Math.min(x0 + 1, size - 1), fx = x - x0;
        var top = height[y0 * size + x0] * (1 - fx) + height[y0 * size + x1] * fx;
        var bottom = height[y1 * size + x0] * (1 - fx) + height[y1 * size + x1] * fx;
        out[r * n + c] = top * (1 - fy) + bottom * fy;
      }
    }
    return out;
  }

  /* numpy.gradient along one axis of an (n x n) grid: central inside, one-sided at the edges. */
  function gradient(grid, n, r, c, alongRows) {
    var at = function (rr, cc) { return grid[rr * n + cc]; };
    var i = alongRows ? r : c;
    var get = alongRows ? function (k) { return at(k, c); } : function (k) { return at(r, k); };
    if (i === 0) return get(1) - get(0);
    if (i === n - 1) return get(n - 1) - get(n - 2);
    return (get(i + 1) - get(i - 1)) / 2;
  }

  /* RGBA bytes (n x n x 4) of a 0..1 heightmap, coloured and hill-shaded like render_relief. */
  function render(height, size, meta, factor) {
    var n = size * factor, h = enlarge(height, size, factor);
    var light = meta.light, exag = light.exaggeration / factor;
    var az = (90 - light.azimuth_deg) * Math.PI / 180, alt = light.altitude_deg * Math.PI / 180;
    var dir = [Math.cos(az) * Math.cos(alt), Math.sin(az) * Math.cos(alt), Math.sin(alt)];
    var surface = new Float64Array(n * n), shade = new Float64Array(n * n);
    for (var k = 0; k < n * n; k++) surface[k] = exag * Math.max(h[k], meta.sea_level);
    var low = Infinity, high = -Infinity;
    for (var r = 0; r < n; r++) {
      for (var c = 0; c < n; c++) {
        // Rows run north to south, so the north-pointing slope is minus the row gradient.
        var nx = -gradient(surface, n, r, c, false), ny = gradient(surface, n, r, c, true);
        var v = (nx * dir[0] + ny * dir[1] + dir[2]) / Math.sqrt(nx * nx + ny * ny + 1);
        shade[r * n + c] = v;
        if (v < low) low = v;
        if (v > high) high = v;
      }
    }
    var span = high - low, colours = meta.colours, out = new Uint8ClampedArray(n * n * 4);
    for (var p = 0; p < n * n; p++) {
      var s = span > 1e-6 ? (shade[p] - low) / span : shade[p];
      s = Math.min(Math.max(s, 0), 1);
      var idx = Math.min(colours.length - 1, Math.max(0, Math.floor(h[p] * colours.length)));
      for (var ch = 0; ch < 3; ch++) {
        var rgb = colours[idx][ch] / 255;
        out[p * 4 + ch] = Math.round(255 * (2 * s * rgb + (1 - 2 * s) * rgb * rgb));
      }
      out[p * 4 + 3] = 255;
    }
    return out;
  }

  /* One line that says what the map shows, for screen readers and as the picture's caption. */
  function describe(seed, height, meta) {
    var n = height.length, water = 0, snow = 0, peak = 0;
    for (var i = 0; i < n; i++) {
      if (height[i] < meta.sea_level) water++;
      if (height[i] > meta.snow_line) snow++;
      if (height[i] > height[peak]) peak = i;
    }
    var size = meta.size, row = Math.floor(peak / size), col = peak % size;
    var ns = row < size / 3 ? "north" : row >= 2 * size / 3 ? "south" : "";
    var ew = col < size / 3 ? "west" : col >= 2 * size / 3 ? "east" : "";
    var where = (ns + ew) || "centre";
    return "World " + seed + ": " + Math.round(100 * water / n) + "% sea, " +
      Math.round(100 * snow / n) + "% snow, highest point in the " + where + " of the map.";
  }

  function parseSeed(text) {
    var t = String(text).trim();
    if (!/^\d+$/.test(t) || Number(t) > MAX_SEED) return null;
    return Number(t);
  }

  window.LiveWorlds = { latentFor: latentFor, render: render, describe: describe,
                        enlarge: enlarge, parseSeed: parseSeed, UPSAMPLE: UPSAMPLE };

  if (!window.Live || !Live.widget) return;

  // --- operations the generator's graph uses besides layers ----------------------------------
  // The generator ends with ops written in the demo (h[..., 0], ops.min, ops.max, -, +, /): Keras
  // records them as operation nodes named after the op. "Add" and "Subtract" are also merge
  // layers' names; those get a list of tensors, the ops get two arguments.

  function asTensor(v) { return v instanceof tf.Tensor ? v : tf.scalar(v); }
  function binary(op, mergeFallback) {
    return function (c, w) {
      var merge = mergeFallback ? mergeFallback(c, w) : null;
      return function (a, b) {
        if (Array.isArray(a) && merge) return merge(a);
        return tf[op](asTensor(a), asTensor(b));
      };
    };
  }
  Live.registerLayer("Add", binary("add", Live.layers.Add));
  Live.registerLayer("Subtract", binary("sub", Live.layers.Subtract));
  Live.registerLayer("Multiply", binary("mul", Live.layers.Multiply));
  Live.registerLayer("TrueDivide", binary("div"));
  Live.registerLayer("Divide", binary("div"));
  function reduce(op) {
    return function (c) {
      if (c.initial !== null && c.initial !== undefined) throw new Error("op " + c.name + ": initial is not supported");
      return function (x) { return tf[op](x, c.axis === null ? undefined : c.axis, !!c.keepdims); };
    };
  }
  Live.registerLayer("Min", reduce("min"));
  Live.registerLayer("Max", reduce("max"));
  /* x[key] for keys made of integers, slices with step 1 and one ellipsis. */
  Live.registerLayer("GetItem", function (c) {
    return function (x, key) {
      key = Array.isArray(key) ? key : [key];
      var full = [], ell = key.findIndex(function (k) { return k && k.class_name === "__ellipsis__"; });
      var rest = key.length - (ell >= 0 ? 1 : 0);
      key.forEach(function (k, i) {
        if (i === ell) { for (var j = 0; j < x.rank - rest; j++) full.push(null); }
        else full.push(k);
      });
      while (full.length < x.rank) full.push(null);
      var begin = [], size = [], squeeze = [];
      full.forEach(function (k, axis) {
        var n = x.shape[axis];
        if (k === null) { begin.push(0); size.push(n); }
        else if (typeof k === "number") { begin.push(k < 0 ? n + k : k); size.push(1); squeeze.push(axis); }
        else if (k && k.class_name === "__slice__") {
          var cfg = k.config || {};
          if (cfg.step !== null && cfg.step !== undefined && cfg.step !== 1) throw new Error("op " + c.name + ": slices with a step are not supported");
          var from = cfg.start === null || cfg.start === undefined ? 0 : (cfg.start < 0 ? n + cfg.start : cfg.start);
          var to = cfg.stop === null || cfg.stop === undefined ? n : (cfg.stop < 0 ? n + cfg.stop : Math.min(cfg.stop, n));
          begin.push(from); size.push(Math.max(0, to - from));
        } else throw new Error("op " + c.name + ": index " + JSON.stringify(k) + " is not supported");
      });
      var y = tf.slice(x, begin, size);
      return squeeze.length ? tf.squeeze(y, squeeze) : y;
    };
  });

  // --- the widget ----------------------------------------------------------------------------

  Live.widget("worlds", function (el, models, ui) {
    var model = models.generator, meta = model.meta, side = meta.size * UPSAMPLE;
    var state = { seed: Number(el.dataset.seed || 1), height: null, busy: false, pending: false,
                  ms: 0, draws: 0 };
    var controls = ui.row();
    var seedField = ui.seedField("Seed (the same seed always gives the same world)", {
      value: state.seed, parent: controls, onChange: function () { draw(); },
      onInvalid: function (msg) { say(msg + " Showing world " + state.seed + "."); } });
    ui.button("Draw this world", function () { draw(); }, { parent: controls, primary: true });
    ui.button("Next world (seed + 1)", function () {
      var seed = parseSeed(seedField.value);
      seedField.value = String(seed === null || seed >= MAX_SEED ? 0 : seed + 1);
      draw();
    }, { parent: controls });
    var canvas = ui.canvas({ width: side, height: side, scale: 1, label: "Generated terrain" });
    var caption = ui.paragraph("");
    caption.classList.add("live-caption");
    var actions = ui.row();
    ui.button("Download PNG", function () {
      canvas.toBlob().then(function (blob) { ui.download("world-" + state.seed + ".png", blob); });
    }, { parent: actions });
    if (el.dataset.metrics) {
      ui.link("How good is this model? Its metrics", el.dataset.metrics, { parent: actions });
    }
    var timing = ui.paragraph("");
    var say = ui.say;

    /* The heightmap (Float32Array, size x size, 0..1) the generator makes for a seed. */
    async function generate(seed) {
      var z = latentFor(seed, meta.latent);
      var input = tf.tensor(z, [1, meta.latent]), out;
      try {
        out = model.predict(input);
        return await out.data();
      } finally {
        input.dispose();
        if (out) out.dispose();
      }
    }

    async function draw() {
      var seed = parseSeed(seedField.value);
      if (seed === null) {
        say("A seed is a whole number from 0 to " + MAX_SEED + ". Showing world " + state.seed + ".");
        return;
      }
      if (state.busy) { state.pending = true; return; }
      state.busy = true;
      var began = performance.now();
      try {
        var height = await generate(seed);
        state.seed = seed;
        state.height = height;
        var rgba = render(height, meta.size, meta, UPSAMPLE), rgb = new Float32Array(side * side * 3);
        for (var i = 0; i < side * side; i++) {
          for (var k = 0; k < 3; k++) rgb[3 * i + k] = rgba[4 * i + k] / 255;
        }
        canvas.draw(rgb, side, side, 3);
        var text = describe(seed, height, meta);
        canvas.describe("Shaded relief map. " + text);
        caption.textContent = text;
        state.ms = performance.now() - began;
        state.draws += 1;
        timing.textContent = "Generated and drawn in " + Math.round(state.ms) + " ms in your browser.";
        el.dataset.seed = String(seed);
        el.dataset.draws = String(state.draws);
        say("World " + seed + " is ready.");
      } catch (e) {
        say("The world could not be generated: " + e.message);
        throw e;
      } finally {
        state.busy = false;
        if (state.pending) { state.pending = false; draw(); }
      }
    }

    el.liveWorlds = { generate: generate, draw: draw, state: state, meta: meta,
                      render: function (height, factor) { return Array.from(render(height, meta.size, meta, factor)); } };
    return draw();
  });
})();
