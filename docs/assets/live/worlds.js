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

  Live.widget("worlds", function (el, models, ui) {
    var model = models[0] || models, meta = model.meta;
    var state = { seed: 1, height: null, busy: false, pending: false, ms: 0 };
    var controls = ui.row ? ui.row(el) : el;
    var seedInput = ui.seedField(controls, { label: "Seed", value: state.seed });
    var go = ui.button(controls, { label: "Draw this world" });
    var next = ui.button(controls, { label: "Next world (seed + 1)" });
    var canvas = ui.canvas(el, { width: meta.size * UPSAMPLE, height: meta.size * UPSAMPLE,
                                 label: "Generated terrain" });
    var caption = ui.status(el);
    var save = ui.button(controls, { label: "Download PNG" });
    var status = ui.status(el);

    async function generate(seed) {
      var z = latentFor(seed, meta.latent);
      var out = await model.predict([z], { shape: [1, meta.latent] });
      return out;
    }

    async function draw() {
      var seed = parseSeed(seedInput.value);
      if (seed === null) {
        status.textContent = "The seed must be a whole number from 0 to " + MAX_SEED +
          "; showing world " + state.seed + ".";
        return;
      }
      if (state.busy) { state.pending = true; return; }
      state.busy = true;
      var began = performance.now();
      try {
        var height = await generate(seed);
        state.seed = seed;
        state.height = height;
        var pixels = render(height, meta.size, meta, UPSAMPLE);
        ui.drawRGBA(canvas, pixels, meta.size * UPSAMPLE, meta.size * UPSAMPLE);
        var text = describe(seed, height, meta);
        canvas.setAttribute("aria-label", "Shaded relief map. " + text);
        caption.textContent = text;
        state.ms = performance.now() - began;
        status.textContent = "Made in " + Math.round(state.ms) + " ms.";
        el.dataset.seed = String(seed);
        el.dataset.ms = String(state.ms);
      } finally {
        state.busy = false;
        if (state.pending) { state.pending = false; draw(); }
      }
    }

    go.addEventListener("click", draw);
    seedInput.addEventListener("keydown", function (e) { if (e.key === "Enter") draw(); });
    next.addEventListener("click", function () {
      var seed = parseSeed(seedInput.value);
      seedInput.value = String(seed === null || seed >= MAX_SEED ? 0 : seed + 1);
      draw();
    });
    save.addEventListener("click", function () {
      ui.download(canvas, "world-" + state.seed + ".png");
    });
    el.liveWorlds = { generate: generate, draw: draw, state: state, meta: meta };
    return draw();
  });
})();
