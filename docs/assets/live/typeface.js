/* Typeface explorer: the design_creativity demo's font decoder, run in the page.
 *
 * The reader moves the style code (one slider per latent number), blends two real fonts' style
 * vectors, or draws a code from a seed; the page decodes letters with that code and sets a line
 * of the reader's text and the alphabet from them. While a slider moves, the letters of the
 * reader's line are decoded in one call of the model per animation frame (events in between are
 * coalesced, and a move that arrives during a decode waits for it, so no queue builds up); when
 * it is let go, the rest of the alphabet follows in a few calls, with pauses for the page between
 * them. The letters, the size of the code and the fonts' vectors all come from the exported meta.
 */
(function () {
  "use strict";

  var INK = 0.05;        // a column with more ink than this belongs to the letter (as typeset())
  var GAP = 2;           // pixels between letters
  var LINE_GAP = 6;      // pixels between lines
  var SCALE = 2;         // canvas pixels per glyph pixel
  var MAX_TEXT = 40;     // characters of the reader's line
  var SLIDER_RANGE = 3;  // style numbers run from -3 to 3: almost all of a standard normal

  function sigmoid(x) { return 1 / (1 + Math.exp(-x)); }

  /* The decoder's two inputs for one style code: the code once per letter, and the letters. */
  function inputsFor(code, nLetters) {
    var d = code.length, codes = new Float32Array(nLetters * d);
    var onehot = new Float32Array(nLetters * nLetters);
    for (var i = 0; i < nLetters; i++) {
      codes.set(code, i * d);
      onehot[i * nLetters + i] = 1;
    }
    return [codes, onehot];
  }

  /* Columns [first, last] of glyph k that hold ink, or null for an empty glyph. */
  function inkColumns(glyphs, k, size) {
    var first = -1, last = -1, base = k * size * size;
    for (var c = 0; c < size; c++) {
      for (var r = 0; r < size; r++) {
        if (glyphs[base + r * size + c] > INK) {
          if (first < 0) first = c;
          last = c;
          break;
        }
      }
    }
    return first < 0 ? null : [first, last];
  }

  /* One line of glyphs, each cropped to its inked columns (proportional type); -1 is a space. */
  function typeset(glyphs, indices, size) {
    var pieces = [], width = 0;
    indices.forEach(function (k) {
      var cols = k < 0 ? null : inkColumns(glyphs, k, size);
      var piece = k < 0 || !cols ? { k: -1, from: 0, width: Math.floor(size / 3) }
                                 : { k: k, from: cols[0], width: cols[1] - cols[0] + 1 };
      pieces.push(piece);
      width += piece.width + GAP;
    });
    width = Math.max(1, width - GAP);
    var line = new Float32Array(size * width), x = 0;
    pieces.forEach(function (p) {
      if (p.k >= 0) {
        var base = p.k * size * size;
        for (var r = 0; r < size; r++) {
          for (var c = 0; c < p.width; c++) line[r * width + x + c] = glyphs[base + r * size + p.from + c];
        }
      }
      x += p.width + GAP;
    });
    return { width: width, height: size, data: line };
  }

  /* Lines stacked into one greyscale picture, dark ink on white, as RGBA bytes. */
  function compose(lines) {
    var width = Math.max.apply(null, lines.map(function (l) { return l.width; }));
    var height = lines.reduce(function (h, l) { return h + l.height; }, 0) + LINE_GAP * (lines.length - 1);
    var rgba = new Uint8ClampedArray(width * height * 4).fill(255);
    var top = 0;
    lines.forEach(function (l) {
      for (var r = 0; r < l.height; r++) {
        for (var c = 0; c < l.width; c++) {
          var v = Math.round(255 * (1 - Math.min(Math.max(l.data[r * l.width + c], 0), 1)));
          var p = ((top + r) * width + c) * 4;
          rgba[p] = rgba[p + 1] = rgba[p + 2] = v;
        }
      }
      top += l.height + LINE_GAP;
    });
    return { width: width, height: height, rgba: rgba };
  }

  /* The reader's text as glyph indices; characters the model has no glyph for are listed. */
  function parseText(text, letters) {
    var indices = [], skipped = [];
    Array.from(String(text).slice(0, MAX_TEXT)).forEach(function (ch) {
      if (ch === " ") indices.push(-1);
      else if (letters.indexOf(ch) >= 0) indices.push(letters.indexOf(ch));
      else if (skipped.indexOf(ch) < 0) skipped.push(ch);
    });
    return { indices: indices, skipped: skipped, cut: String(text).length > MAX_TEXT };
  }

  /* The blend of two style vectors: (1 - t) a + t b. */
  function blend(a, b, t) {
    return a.map(function (v, i) { return (1 - t) * v + t * b[i]; });
  }

  function formatCode(code) {
    return "(" + Array.from(code).map(function (v) { return v.toFixed(2); }).join(", ") + ")";
  }

  window.LiveTypeface = { inputsFor: inputsFor, typeset: typeset, compose: compose,
                          parseText: parseText, blend: blend, sigmoid: sigmoid };

  if (!window.Live || !Live.widget) return;

  function parseSeed(text) {
    var t = String(text).trim();
    return /^\d+$/.test(t) && Number(t) <= 4294967295 ? Number(t) : null;
  }

  /* WebGL only where a graphics card draws it: a software renderer (SwiftShader, llvmpipe) is
   * no faster than the CPU backend here and needs an extra 370 KB of runtime. */
  function hardwareWebGL() {
    try {
      var gl = document.createElement("canvas").getContext("webgl");
      if (!gl) return false;
      var info = gl.getExtension("WEBGL_debug_renderer_info");
      var renderer = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
      return !/swiftshader|llvmpipe|software|basic render/i.test(renderer);
    } catch (e) {
      return false;
    }
  }

  /* Glyph indices of a line, each once. */
  function uniqueLetters(indices) {
    var seen = [];
    indices.forEach(function (k) { if (k >= 0 && seen.indexOf(k) < 0) seen.push(k); });
    return seen;
  }

  var STALE_INK = 0.3;   // letters not yet redrawn for the current code are shown this faint
  var CHUNK = 13;        // letters per decoder call when the whole alphabet is redrawn

  Live.widget("typeface", function (el, models, ui) {
    var model = models.decoder, meta = model.meta;
    var letters = meta.letters, n = letters.length, size = meta.glyph_size, d = meta.latent_dim;
    var fonts = meta.fonts;
    var options = fonts.map(function (f, i) {
      return { value: String(i), label: f.name + (f.held_out ? " (not seen in training)" : "") };
    });
    var indexOf = function (name) {
      var i = fonts.findIndex(function (f) { return f.name === name; });
      return i < 0 ? 0 : i;
    };
    // glyphs: the latest ink of every letter; fresh[k]: letter k is drawn with the current code.
    var state = { code: new Float32Array(d), glyphs: new Float32Array(n * size * size),
                  fresh: new Uint8Array(n), freshCode: null, busy: false, frame: 0, want: null, renders: 0,
                  lastMs: 0, lastLetters: 0, origin: "", seed: null, log: [] };
    var upper = [], lower = [];
    for (var k = 0; k < n; k++) (letters[k] === letters[k].toUpperCase() ? upper : lower).push(k);

    var blendBox = ui.fieldset("Blend two typefaces");
    var fontA = ui.select("First typeface", options, function () { fromBlend("all"); },
                          { value: String(indexOf(meta.morph[0])), parent: blendBox });
    var fontB = ui.select("Second typeface", options, function () { fromBlend("all"); },
                          { value: String(indexOf(meta.morph[1])), parent: blendBox });
    var mix = ui.slider("Blend: 0 is the first typeface, 1 the second", {
      min: 0, max: 1, step: 0.05, value: 0, parent: blendBox,
      onInput: function () { fromBlend("line"); }, onChange: function () { fromBlend("all"); },
      format: function (v) { return v.toFixed(2); } });
    var styleBox = ui.fieldset("Style code: the " + d + " numbers the decoder reads besides the letter");
    var sliders = [];
    for (var i = 0; i < d; i++) {
      (function (i) {
        function set(v, scope) {
          state.code[i] = v;
          state.origin = "a style set by hand";
          state.seed = null;
          schedule(scope);
        }
        sliders.push(ui.slider("Style number " + (i + 1), {
          min: -SLIDER_RANGE, max: SLIDER_RANGE, step: 0.05, value: 0, parent: styleBox,
          format: function (v) { return v.toFixed(2); },
          onInput: function (v) { set(v, "line"); }, onChange: function (v) { set(v, "all"); } }));
      })(i);
    }
    var randomBox = ui.fieldset("A typeface nobody designed");
    var seedField = ui.seedField("Seed", { value: 1, parent: randomBox, onChange: randomStyle,
                                           onInvalid: function (msg) { ui.say(msg); } });
    ui.button("Random style from this seed", randomStyle, { parent: randomBox });
    var textField = ui.text("Text to set (A-Z and a-z)", {
      value: meta.specimen, maxLength: 2 * MAX_TEXT, onInput: function () { schedule("line"); },
      onChange: function () { schedule("all"); } });
    var canvas = ui.canvas({ width: 400, height: 120, scale: 1, label: "Letters in the chosen style" });
    var caption = ui.paragraph("");
    caption.classList.add("live-caption");
    var notes = ui.paragraph("");
    var actions = ui.row();
    ui.button("Download PNG", function () {
      canvas.toBlob().then(function (blob) { ui.download("typeface-" + fileTag() + ".png", blob); });
    }, { parent: actions });
    if (el.dataset.metrics) {
      ui.link("How good is this model? Its metrics", el.dataset.metrics, { parent: actions });
    }
    var timing = ui.paragraph("");

    function fileTag() { return state.seed === null ? "custom" : "seed-" + state.seed; }

    /* Ink (Float32Array, letters x size x size, 0..1) of the given letters, all drawn with one
     * code, in one call of the decoder. */
    async function decode(code, which) {
      which = which || upper.concat(lower).sort(function (a, b) { return a - b; });
      var m = which.length, codes = new Float32Array(m * d), onehot = new Float32Array(m * n);
      which.forEach(function (k, row) { codes.set(code, row * d); onehot[row * n + k] = 1; });
      var inputs = [tf.tensor(codes, [m, d]), tf.tensor(onehot, [m, n])], out;
      try {
        out = model.predict(inputs);
        return await out.data();
      } finally {
        tf.dispose(inputs);
        if (out) out.dispose();
      }
    }

    function paint() {
      var typed = textField.value, text = parseText(typed, letters);
      var shown = state.glyphs;
      if (state.fresh.indexOf(0) >= 0) {   // fade the letters that wait for the new code
        shown = Float32Array.from(state.glyphs);
        for (var k = 0; k < n; k++) {
          if (!state.fresh[k]) { for (var p = k * size * size; p < (k + 1) * size * size; p++) shown[p] *= STALE_INK; }
        }
      }
      var lines = [];
      if (text.indices.length) lines.push(typeset(shown, text.indices, size));
      lines.push(typeset(shown, upper, size), typeset(shown, lower, size));
      var pic = compose(lines), grey = new Float32Array(pic.width * pic.height);
      for (var q = 0; q < grey.length; q++) grey[q] = pic.rgba[4 * q] / 255;
      if (canvas.el.width !== pic.width * SCALE) canvas.el.width = pic.width * SCALE;
      if (canvas.el.height !== pic.height * SCALE) canvas.el.height = pic.height * SCALE;
      canvas.draw(grey, pic.width, pic.height, 1);
      var line = typed.slice(0, MAX_TEXT);
      var description = (text.indices.length ? "\u201c" + line + "\u201d and the alphabet"
        : "The alphabet") + ", drawn by the model in " + state.origin + "; style code " +
        formatCode(state.code) + ".";
      canvas.describe(description);
      caption.textContent = description;
      var said = [];
      if (text.skipped.length) {
        said.push("Skipped " + text.skipped.map(function (ch) { return "\u201c" + ch + "\u201d"; }).join(", ") +
                  ": the model knows only A-Z and a-z.");
      }
      if (text.cut) said.push("Only the first " + MAX_TEXT + " characters are set.");
      notes.textContent = said.join(" ");
    }

    /* One update. "line" redraws the letters of the reader's line in one call of the decoder
     * (while a slider moves); "all" redraws every letter not yet drawn with the current code
     * (when it is let go, and after any other change), in chunks with a pause between them, so
     * the page keeps answering and a new move cuts the rest short (those letters stay faded). */
    async function render(scope) {
      state.frame = 0;
      state.busy = true;
      var began = performance.now(), code = Float32Array.from(state.code), done = 0;
      if (!state.freshCode || state.freshCode.some(function (v, i) { return v !== code[i]; })) {
        state.fresh.fill(0);
        state.freshCode = code;
      }
      var todo = scope === "line" ? uniqueLetters(parseText(textField.value, letters).indices)
        : Array.from({ length: n }, function (_, k) { return k; });
      todo = todo.filter(function (k) { return !state.fresh[k]; });
      var chunks = [];
      if (scope === "line") chunks.push(todo);
      else for (var c = 0; c < todo.length; c += CHUNK) chunks.push(todo.slice(c, c + CHUNK));
      try {
        for (var j = 0; j < chunks.length && chunks[j].length; j++) {
          if (j > 0) {
            await new Promise(function (resolve) { setTimeout(resolve, 0); });
            if (state.want) break;   // the reader moved on: serve that first
          }
          var part = chunks[j], ink = await decode(code, part);
          part.forEach(function (k, row) {
            state.glyphs.set(ink.subarray(row * size * size, (row + 1) * size * size), k * size * size);
            state.fresh[k] = 1;
          });
          done += part.length;
          paint();
        }
        if (!done) paint();   // nothing new to decode (say, the text changed): set it again
        state.lastMs = performance.now() - began;
        state.lastLetters = done;
        state.renders += 1;
        state.log.push({ letters: done, ms: state.lastMs });
        if (state.log.length > 200) state.log.shift();
        if (done) {
          timing.textContent = done + " letters decoded and drawn in " + Math.round(state.lastMs) +
            " ms in your browser (" + tf.getBackend() + " backend).";
        }
        el.dataset.renders = String(state.renders);
      } catch (e) {
        ui.say("The letters could not be drawn: " + e.message);
        throw e;
      } finally {
        state.busy = false;
        if (state.want) schedule(null);
      }
    }

    /* Coalesce: at most one decode per animation frame, none while one is running, and the
     * wider of the waiting requests wins. */
    function schedule(scope) {
      if (scope) state.want = state.want === "all" || scope === "all" ? "all" : "line";
      if (state.busy || state.frame || !state.want) return;
      state.frame = requestAnimationFrame(function () {
        var want = state.want;
        state.want = null;
        render(want);
      });
    }

    function setCode(code, origin, scope) {
      for (var i = 0; i < d; i++) {
        state.code[i] = code[i];
        sliders[i].value = Math.max(-SLIDER_RANGE, Math.min(SLIDER_RANGE, code[i]));
      }
      state.origin = origin;
      schedule(scope || "all");
    }

    function fromBlend(scope) {
      var a = fonts[Number(fontA.value)], b = fonts[Number(fontB.value)], t = Number(mix.value);
      var origin = t === 0 ? "the style of " + a.name : t === 1 ? "the style of " + b.name :
        "a blend of " + Math.round(100 * (1 - t)) + "% " + a.name + " and " + Math.round(100 * t) + "% " + b.name;
      state.seed = null;
      setCode(blend(a.code, b.code, t), origin, scope);
    }

    function randomStyle() {
      var seed = parseSeed(seedField.value);
      if (seed === null) { ui.say("A seed is a whole number from 0 to 4294967295."); return; }
      setCode(Live.normals(seed, d), "a random style from seed " + seed, "all");
      state.seed = seed;
    }

    /* Resolves when no decode is running or waiting (for tests and the benchmark). */
    function idle() {
      return new Promise(function (resolve) {
        (function check() {
          if (!state.busy && !state.frame && !state.want) resolve(state.lastMs);
          else setTimeout(check, 5);
        })();
      });
    }

    el.liveTypeface = { decode: decode, state: state, meta: meta, idle: idle, setCode: setCode };
    fromBlend("all");
    return idle().then(function () { ui.say("Ready: move a slider, pick typefaces or draw a random style."); });
  }, {
    // Asked when the widget starts, not when the page loads.
    get backend() { return hardwareWebGL() ? "webgl" : "cpu"; }
  });
})();
