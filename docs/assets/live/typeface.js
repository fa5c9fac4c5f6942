/* Typeface explorer: the design_creativity demo's font decoder, run in the page.
 *
 * The reader moves the style code (one slider per latent number) or blends two real fonts'
 * style vectors, and the page decodes all 52 letters with that code in one call of the model,
 * then sets a line of the reader's text and the alphabet from them. Slider events are coalesced
 * into one decode per animation frame, and a move that arrives while a decode is running waits
 * for it, so the picture follows the hand without a queue building up. The letters, the size of
 * the code and the fonts' vectors all come from the exported meta.
 */
(function () {
  "use strict";

  var INK = 0.05;        // a column with more ink than this belongs to the letter (as typeset())
  var GAP = 2;           // pixels between letters
  var LINE_GAP = 6;      // pixels between lines
  var SCALE = 2;         // canvas pixels per glyph pixel
  var MAX_TEXT = 24;     // characters of the reader's line
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

  Live.widget("typeface", function (el, models, ui) {
    var model = models[0] || models, meta = model.meta;
    var letters = meta.letters, n = letters.length, size = meta.glyph_size, d = meta.latent_dim;
    var fonts = meta.fonts, names = fonts.map(function (f) {
      return f.name + (f.held_out ? " (held out)" : "");
    });
    var indexOf = function (name) {
      var i = fonts.findIndex(function (f) { return f.name === name; });
      return i < 0 ? 0 : i;
    };
    var state = { code: Float32Array.from(fonts[indexOf(meta.morph[0])].code), glyphs: null,
                  busy: false, frame: 0, pending: false, moves: 0, lastMs: 0, totalMs: 0,
                  origin: "", seed: null };

    var blendBox = ui.group ? ui.group(el, "Blend two typefaces") : el;
    var fontA = ui.select(blendBox, { label: "First typeface", options: names,
                                      value: indexOf(meta.morph[0]) });
    var fontB = ui.select(blendBox, { label: "Second typeface", options: names,
                                      value: indexOf(meta.morph[1]) });
    var mix = ui.slider(blendBox, { label: "Blend (0 = first, 1 = second)", min: 0, max: 1,
                                    step: 0.05, value: 0 });
    var styleBox = ui.group ? ui.group(el, "Style code") : el;
    var sliders = [];
    for (var i = 0; i < d; i++) {
      sliders.push(ui.slider(styleBox, { label: "Style number " + (i + 1), min: -SLIDER_RANGE,
                                         max: SLIDER_RANGE, step: 0.05, value: state.code[i] }));
    }
    var randomBox = ui.group ? ui.group(el, "A style nobody designed") : el;
    var seedInput = ui.seedField(randomBox, { label: "Seed", value: 1 });
    var randomButton = ui.button(randomBox, { label: "Random style from this seed" });
    var textInput = ui.text ? ui.text(el, { label: "Text to set", value: meta.specimen,
                                            maxLength: MAX_TEXT }) : null;
    var canvas = ui.canvas(el, { width: 400, height: 120, label: "Letters in the chosen style" });
    var caption = ui.status(el);
    var save = ui.button(el, { label: "Download PNG" });
    var status = ui.status(el);

    async function decode(code) {
      var inputs = inputsFor(code, n);
      var logits = await model.predict(inputs, { shapes: [[n, d], [n, n]] });
      var out = new Float32Array(logits.length);
      for (var k = 0; k < logits.length; k++) out[k] = sigmoid(logits[k]);
      return out;
    }

    function paint() {
      var text = parseText(textInput ? textInput.value : meta.specimen, letters);
      var lines = [];
      if (text.indices.length) lines.push(typeset(state.glyphs, text.indices, size));
      var upper = [], lower = [];
      for (var k = 0; k < n; k++) (letters[k] === letters[k].toUpperCase() ? upper : lower).push(k);
      lines.push(typeset(state.glyphs, upper, size), typeset(state.glyphs, lower, size));
      var pic = compose(lines);
      ui.drawRGBA(canvas, pic.rgba, pic.width, pic.height, SCALE);
      var said = text.indices.length ? "The text \u201c" + (textInput ? textInput.value : meta.specimen)
        .slice(0, MAX_TEXT) + "\u201d and the alphabet" : "The alphabet";
      var description = said + " drawn by the model in " + state.origin + ", style code " +
        formatCode(state.code) + ".";
      canvas.setAttribute("aria-label", description);
      caption.textContent = description;
      var notes = [];
      if (text.skipped.length) {
        notes.push("Skipped characters the model has no letter for: " + text.skipped.join(" ") +
                   " (it knows A-Z and a-z).");
      }
      if (text.cut) notes.push("Only the first " + MAX_TEXT + " characters are set.");
      status.textContent = notes.join(" ");
    }

    async function render() {
      state.frame = 0;
      if (state.busy) { state.pending = true; return; }
      state.busy = true;
      var began = performance.now();
      try {
        state.glyphs = await decode(state.code);
        paint();
        state.lastMs = performance.now() - began;
        state.moves += 1;
        state.totalMs += state.lastMs;
        el.dataset.ms = String(state.lastMs);
        el.dataset.renders = String(state.moves);
      } finally {
        state.busy = false;
        if (state.pending) { state.pending = false; schedule(); }
      }
    }

    function schedule() {
      if (!state.frame) state.frame = requestAnimationFrame(render);
    }

    function setCode(code, origin) {
      state.code = Float32Array.from(code);
      state.origin = origin;
      sliders.forEach(function (s, i) { s.value = String(code[i]); });
      schedule();
    }

    function fromBlend() {
      var a = fonts[Number(fontA.value)], b = fonts[Number(fontB.value)], t = Number(mix.value);
      var origin = t === 0 ? a.name : t === 1 ? b.name :
        Math.round(100 * (1 - t)) + "% " + a.name + " and " + Math.round(100 * t) + "% " + b.name;
      setCode(blend(a.code, b.code, t), "a style blended from " + origin);
    }

    [fontA, fontB, mix].forEach(function (c) { c.addEventListener("input", fromBlend); });
    sliders.forEach(function (s, i) {
      s.addEventListener("input", function () {
        state.code[i] = Number(s.value);
        state.origin = "a style set by hand";
        schedule();
      });
    });
    randomButton.addEventListener("click", function () {
      var seed = LiveWorlds_parseSeed(seedInput.value);
      if (seed === null) {
        status.textContent = "The seed must be a whole number from 0 to 4294967295.";
        return;
      }
      var rng = Live.rng(seed), code = [];
      for (var k = 0; k < d; k++) code.push(Live.normal(rng));
      state.seed = seed;
      setCode(code, "a random style from seed " + seed);
    });
    if (textInput) textInput.addEventListener("input", function () { if (state.glyphs) paint(); });
    save.addEventListener("click", function () { ui.download(canvas, "typeface.png"); });

    el.liveTypeface = { decode: decode, state: state, meta: meta, render: render };
    fromBlend();
    return render();
  });

  function LiveWorlds_parseSeed(text) {
    var t = String(text).trim();
    return /^\d+$/.test(t) && Number(t) <= 4294967295 ? Number(t) : null;
  }
})();
