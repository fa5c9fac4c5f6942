/* "Write with the model": the text_generation demo's GRU continues the reader's opening.
 *
 * The model is the one the build trained and exported (generated/text_generation/model.js);
 * rnn.js runs its layers as described by the exported Keras config. Sampling mirrors
 * write_with_draws in demos/text_generation.py: one uniform draw per character, taken from
 * Live.rng(seed), so a seed shown here names the text exactly and Python can write it again.
 * Everything the reader types and the model writes goes into the page as text, never as HTML.
 */
(function () {
  "use strict";

  /* The writer: model verbs, no DOM. `model` is the step runner of rnn.js, `meta` the export's
   * description (vocabulary, default opening, temperature and seed, longest opening). */
  function textWriter(model, meta) {
    const chars = Array.from(meta.chars);
    const index = new Map(chars.map((c, i) => [c, i]));
    const spare = chars.length; // the "unseen character" id: never written
    const maxPrompt = meta.max_prompt_chars || 2000;

    /* Prompt ids and the characters skipped, or an error message for the reader. */
    function readOpening(text) {
      const all = Array.from(text);
      if (all.length === 0) return { error: "Type an opening first: the model continues your text." };
      if (all.length > maxPrompt) {
        return { error: `The opening is ${all.length} characters long; the model reads at most ${maxPrompt}: shorten it and press Write again.` };
      }
      const ids = [], skipped = new Set();
      for (const c of all) {
        if (index.has(c)) ids.push(index.get(c)); else skipped.add(c);
      }
      if (ids.length === 0) {
        return { error: "None of these characters occur in the model's training text: type some English or Python." };
      }
      return { ids, skipped: [...skipped].sort() };
    }

    /* A session: read ids, then write one character per draw. */
    function session(ids) {
      let state = model.zeroState(), logits = null, pos = 0;
      return {
        get reading() { return pos < ids.length; },
        /* Reads one character of the opening; true while more remain. */
        readOne() {
          const r = model.step([ids[pos++]], state);
          state = r.state; logits = r.logits;
          return pos < ids.length;
        },
        writeOne(draw, temperature) {
          const pick = LiveRNN.pickIndex(logits, temperature, draw, [spare]);
          const r = model.step([pick], state);
          state = r.state; logits = r.logits;
          return chars[pick];
        },
      };
    }

    /* Whole continuation at once, for tests: the same as write_with_draws in Python. */
    function write(prompt, draws, temperature) {
      const read = readOpening(prompt);
      if (read.error) throw new Error(read.error);
      const s = session(read.ids);
      while (s.readOne()) { /* reading the opening */ }
      let out = "";
      for (const d of draws) out += s.writeOne(d, temperature);
      return { text: out, skipped: read.skipped };
    }

    return { readOpening, session, write, chars };
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function describeChars(chars) {
    return chars.map((c) => (c.trim() === "" ? `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}` : `“${c}”`)).join(" ");
  }

  let counter = 0;

  function init(root, writer, rng, meta, options) {
    const id = `live-text-${++counter}`;
    const data = options.node || root; // where tests and benchmarks read results (data-*)
    const reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const box = el("div", { class: "live-text live-controls" });
    box.style.flex = "1 1 100%"; // the whole panel: this widget is one column


    const textLabel = el("label", { for: `${id}-text` }, "Your text (the model continues it; edit it and press Write again)");
    const textarea = el("textarea", { id: `${id}-text`, rows: "9", spellcheck: "false", class: "live-text-area" });
    textarea.value = meta.prompt || "";

    const tempLabel = el("label", { for: `${id}-temp` }, "Temperature");
    const temp = el("input", { id: `${id}-temp`, type: "range", min: "0.1", max: "2", step: "0.05" });
    temp.value = String(meta.temperature || 0.7);
    const tempValue = el("output", { for: `${id}-temp`, class: "live-value" });
    const tempHelp = el("span", { class: "live-help" }, "low: safe, repetitive text; high: inventive, then broken");
    const showTemp = () => { tempValue.textContent = Number(temp.value).toFixed(2); };
    showTemp();
    temp.addEventListener("input", showTemp);

    const lengthLabel = el("label", { for: `${id}-len` }, "Characters per press");
    const length = el("select", { id: `${id}-len` });
    for (const n of [100, 200, 500]) length.append(el("option", { value: String(n) }, String(n)));
    length.value = "200";

    const seedLabel = el("label", { for: `${id}-seed` }, "Seed");
    const seed = el("input", { id: `${id}-seed`, type: "number", min: "0", max: "4294967295", step: "1", inputmode: "numeric" });
    seed.value = String(meta.seed === undefined ? 42 : meta.seed);
    const newSeed = el("button", { type: "button", class: "live-button" }, "New seed");

    const write = el("button", { type: "button", class: "live-button live-primary" }, "Write");
    const stop = el("button", { type: "button", class: "live-button" }, "Stop");
    stop.disabled = true;
    const download = el("button", { type: "button", class: "live-button" }, "Download the text");
    const status = el("p", { class: "live-status", role: "status", "aria-live": "polite" });

    const row = (...kids) => { const d = el("div", { class: "live-row" }); d.append(...kids); return d; };
    // A label above its control, styled by live.css (.live-field); sliders keep their value beside them.
    const field = (label, control, extra, kind) => { const d = el("div", { class: kind || "live-field" }); d.append(label, control); if (extra) d.append(extra); return d; };
    textarea.style.width = "100%";
    box.append(
      field(textLabel, textarea),
      field(tempLabel, temp, tempValue, "live-field live-slider"), tempHelp,
      row(field(lengthLabel, length), field(seedLabel, seed, null, "live-field live-seed"), newSeed),
      row(write, stop, download),
      status);
    if (options.metricsHref) {
      const p = el("p", { class: "live-note" });
      p.append("The network running here is the one this site's build trained; ");
      p.append(el("a", { href: options.metricsHref }, "its training, scores and metrics"));
      p.append(".");
      box.append(p);
    }
    root.append(box);

    // A session continues only while the text is exactly what it last wrote.
    let current = null; // {session, rng, text, seed}
    let running = null; // {stop: bool}

    function setRunning(on) {
      write.disabled = on; stop.disabled = !on; textarea.readOnly = on;
      box.setAttribute("aria-busy", on ? "true" : "false");
    }

    function say(text) { status.textContent = text; }

    function start() {
      if (running) return;
      const temperature = Number(temp.value);
      const wanted = Number(length.value);
      const text = textarea.value;
      let skippedNote = "";
      if (!current || current.text !== text) {
        const read = writer.readOpening(text);
        if (read.error) { say(read.error); return; }
        const seedValue = Number(seed.value);
        if (!Number.isInteger(seedValue) || seedValue < 0 || seedValue > 4294967295) {
          say("The seed must be a whole number from 0 to 4294967295."); return;
        }
        if (read.skipped.length) {
          skippedNote = ` Skipped ${read.skipped.length} character${read.skipped.length > 1 ? "s" : ""} the model never saw: ${describeChars(read.skipped)}.`;
        }
        current = { session: writer.session(read.ids), rng: rng(seedValue), text, seed: seedValue };
      }
      const job = { stop: false };
      running = job;
      setRunning(true);
      const s = current.session;
      let written = "", pending = "", tWrite = null;
      say(`${s.reading ? "Reading your text" : "Writing"}…${skippedNote}`);
      function finish(reason) {
        textarea.value += pending; pending = "";
        current.text = textarea.value;
        running = null;
        setRunning(false);
        // Speed of writing alone: reading the opening is not counted.
        const secs = tWrite === null ? 0 : (performance.now() - tWrite) / 1000;
        const rate = secs > 0 ? Math.round(written.length / secs) : 0;
        data.dataset.charsPerSecond = String(rate);
        say(`${reason} ${written.length} characters at temperature ${temperature.toFixed(2)}, seed ${current.seed} (${rate} per second). Press Write to continue.${skippedNote}`);
      }
      function slice() {
        if (job.stop) { finish("Stopped after"); return; }
        const until = performance.now() + 12; // then yield to the page: typing and Stop stay live
        try {
          while (performance.now() < until) {
            if (s.reading) { s.readOne(); continue; }
            if (written.length >= wanted) break;
            if (tWrite === null) tWrite = performance.now();
            const c = s.writeOne(current.rng(), temperature);
            written += c; pending += c;
          }
        } catch (err) {
          current = null; running = null; setRunning(false);
          say(`The model stopped with an error (${err.message}); the text so far is kept.`);
          textarea.value += pending;
          return;
        }
        if (!reduceMotion && pending) { textarea.value += pending; pending = ""; textarea.scrollTop = textarea.scrollHeight; }
        if (!s.reading && written.length >= wanted) { finish("Wrote"); return; }
        if (!s.reading) say(`Writing… ${written.length} of ${wanted}${skippedNote}`);
        setTimeout(slice, 0);
      }
      setTimeout(slice, 0);
    }

    write.addEventListener("click", start);
    stop.addEventListener("click", () => { if (running) running.stop = true; });
    textarea.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); start(); }
    });
    box.addEventListener("keydown", (e) => { if (e.key === "Escape" && running) running.stop = true; });
    newSeed.addEventListener("click", () => {
      seed.value = String(Math.floor(Math.random() * 4294967296));
      current = null;
      say(`New seed ${seed.value}: the next Write starts again from your text.`);
    });
    seed.addEventListener("change", () => { current = null; });
    download.addEventListener("click", () => {
      const blob = new Blob([textarea.value], { type: "text/plain;charset=utf-8" });
      const a = el("a", { href: URL.createObjectURL(blob), download: `written-with-the-model-seed-${seed.value}.txt` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    });
    return { start, stop: () => { if (running) running.stop = true; } };
  }

  window.LiveText = { textWriter, init };

  if (window.Live) {
    window.Live.widget("text", function (node, models, ui) {
      const model = models.model;
      const desc = window.LIVE_MODELS[model.key];
      const meta = model.meta;
      if (typeof meta.chars !== "string" || meta.chars.length === 0) {
        throw new Error("the model file has no vocabulary");
      }
      const writer = textWriter(LiveRNN.fromDescription(desc), meta);
      node.liveText = { writer, ...init(ui.panel, writer, window.Live.rng, meta, { metricsHref: node.dataset.metrics, node }) };
      // The no-JavaScript note has done its job; the build's figure beside the widget stays.
      node.querySelectorAll(".live-fallback").forEach((p) => { p.hidden = true; });
      ui.say("Live: the model runs in your browser. Type or edit the text, then press Write (Ctrl+Enter); Stop or Escape halts it.");
    }, { startLabel: "Start writing with the model" });
  }
})();
