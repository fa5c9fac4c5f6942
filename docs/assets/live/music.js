/* "Chorale": the music_generation demo's GRU composes four voices, or harmonises a melody.
 *
 * The network is the one the build trained and exported (generated/music_generation/model.js);
 * rnn.js runs its layers from the exported Keras config. Composing mirrors compose_with_draws
 * in demos/music_generation.py: one uniform draw from Live.rng(seed) per sampled token, so a
 * seed names a piece exactly. The piece is played with WebAudio oscillators (no audio file),
 * drawn as a piano roll that follows playback, listed note by note as text, and written as a
 * MIDI file here in the page.
 */
(function () {
  "use strict";

  const NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"];
  const LETTERS = { C: 0, D: 2, E: 4, F: 5, G: 7, A: 9, B: 11 };
  const COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"];

  function pitchName(midi) { return NAMES[midi % 12] + (Math.floor(midi / 12) - 1); }

  /* --- tokens, notes and melodies (pure) ---------------------------------------------------- */

  function tokenOf(meta, midi, struck) { return 2 + 2 * (midi - meta.pitch_lo) + (struck ? 0 : 1); }

  /* (steps, 4) tokens -> [{voice, begin, length, midi}], as notes_of(decode(tokens)) in Python. */
  function notesOf(meta, tokens) {
    const notes = [];
    const steps = tokens.length;
    for (let v = 0; v < 4; v++) {
      const pitch = tokens.map((row) => (row[v] >= 2 ? meta.pitch_lo + ((row[v] - 2) >> 1) : -1));
      const struck = tokens.map((row, t) => row[v] >= 2 && ((row[v] - 2) % 2 === 0 || (t > 0 ? pitch[t - 1] : -1) !== pitch[t]));
      let t = 0;
      while (t < steps) {
        if (pitch[t] < 0) { t++; continue; }
        let end = t + 1;
        while (end < steps && pitch[end] === pitch[t] && !struck[end]) end++;
        notes.push({ voice: v, begin: t, length: end - t, midi: pitch[t] });
        t = end;
      }
    }
    return notes;
  }

  /* A melody typed as note names ("G4 A4:2 r:0.5 | B4 ...") -> {tokens, phase} or {error}.
   * Durations are in beats (quarter notes), 1 unless given; the grid is an eighth note.
   * Notes before the first bar line "|" form an upbeat when they are shorter than a bar. */
  function parseMelody(meta, text) {
    const perBeat = Math.round(1 / meta.step_quarter_notes);
    const parts = text.trim().split(/\s+/).filter(Boolean);
    if (parts.length === 0) return { error: "Type a melody first, such as: G4 A4 B4:2" };
    const tokens = [];
    let upbeat = null;
    for (const part of parts) {
      if (part === "|") { if (upbeat === null) upbeat = tokens.length; continue; }
      const m = /^(?:([A-Ga-g])([#b]?)(-?\d)|([rR]))(?::(\d+(?:\.\d+)?))?$/.exec(part);
      if (!m) return { error: `"${part}" is not a note: write a letter, an optional # or b, and an octave (C4 is middle C), optionally :beats; r is a rest.` };
      const beats = m[5] === undefined ? 1 : Number(m[5]);
      const steps = beats * perBeat;
      if (!(steps >= 1) || Math.abs(steps - Math.round(steps)) > 1e-9) {
        return { error: `"${part}" lasts ${beats} beats: durations must be multiples of ${1 / perBeat} beat.` };
      }
      let midi = -1;
      if (!m[4]) {
        midi = 12 * (Number(m[3]) + 1) + LETTERS[m[1].toUpperCase()] + (m[2] === "#" ? 1 : m[2] === "b" ? -1 : 0);
        if (midi < meta.pitch_lo || midi > meta.pitch_hi) {
          return { error: `${part} is outside the range the model knows (${pitchName(meta.pitch_lo)} to ${pitchName(meta.pitch_hi)}).` };
        }
      }
      for (let k = 0; k < Math.round(steps); k++) tokens.push(midi < 0 ? meta.rest : tokenOf(meta, midi, k === 0));
    }
    if (tokens.length > meta.piece_steps) {
      return { error: `The melody is ${tokens.length / perBeat} beats long; the model writes at most ${meta.piece_steps / perBeat}: shorten it.` };
    }
    const bar = meta.steps_per_bar;
    const phase = upbeat !== null && upbeat > 0 && upbeat < bar ? (bar - upbeat) % bar : 0;
    return { tokens, phase };
  }

  /* Soprano tokens -> the notation parseMelody reads, with bar lines. */
  function melodyText(meta, tokens, phase) {
    const perBeat = Math.round(1 / meta.step_quarter_notes);
    const words = [];
    let t = 0;
    while (t < tokens.length) {
      const tok = tokens[t];
      let end = t + 1;
      if (tok === meta.rest) {
        while (end < tokens.length && tokens[end] === meta.rest) end++;
      } else {
        const held = tok - ((tok - 2) % 2) + 1; // the held token of the same pitch
        while (end < tokens.length && tokens[end] === held) end++;
      }
      const beats = (end - t) / perBeat;
      const name = tok === meta.rest ? "r" : pitchName(meta.pitch_lo + ((tok - 2) >> 1));
      words.push(beats === 1 ? name : `${name}:${beats}`);
      // A bar line wherever a note ends on one (a note tied over the bar line hides it).
      if ((phase + end) % meta.steps_per_bar === 0 && end < tokens.length) words.push("|");
      t = end;
    }
    return words.join(" ");
  }

  /* The composer: model verbs, no DOM. */
  function composer(model, meta) {
    const bos = meta.bos;

    function phaseFromDraw(u) {
      const counts = meta.start_phase_counts;
      const total = counts.reduce((a, b) => a + b, 0);
      let c = 0;
      for (let i = 0; i < counts.length; i++) { c += counts[i]; if (c > u * total) return i; }
      return 0;
    }

    /* A step-by-step job writing `steps` grid steps; job.next() returns false when done. */
    function job({ steps, phase, temperature, draw, melody }) {
      const tokens = Array.from({ length: steps }, () => [0, 0, 0, 0]);
      let state = model.zeroState(), token = bos, t = 0;
      return {
        tokens,
        get done() { return t >= steps * 4; },
        next() {
          const s = Math.floor(t / 4), v = t % 4;
          const r = model.step([token, v, (phase + s) % meta.steps_per_bar], state);
          state = r.state;
          token = melody && v === 0 ? melody[s] : LiveRNN.pickIndex(r.logits, temperature, draw(), [bos]);
          tokens[s][v] = token;
          t++;
          return t < steps * 4;
        },
      };
    }

    /* Whole piece at once (for tests). */
    function compose(options) {
      const j = job(options);
      while (j.next()) { /* composing */ }
      return j.tokens;
    }

    return { job, compose, phaseFromDraw };
  }

  /* --- MIDI: a format-1 file, one track per voice ------------------------------------------- */

  function midiBytes(meta, notes) {
    const division = 480;
    const ticksPerStep = division * meta.step_quarter_notes;
    const bytes = [];
    const push = (...b) => bytes.push(...b);
    const str = (s) => push(...Array.from(s, (c) => c.charCodeAt(0)));
    const u32 = (n) => push((n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    const vlq = (n, out) => {
      const stack = [n & 127];
      while ((n >>>= 7) > 0) stack.push((n & 127) | 128);
      while (stack.length) out.push(stack.pop());
    };
    const track = (events) => {
      // events: [tick, bytes[]], sorted; note-offs before note-ons at the same tick.
      const body = [];
      let last = 0;
      for (const [tick, ev] of events) { vlq(tick - last, body); body.push(...ev); last = tick; }
      body.push(0, 0xff, 0x2f, 0);
      str("MTrk"); u32(body.length); push(...body);
    };
    str("MThd"); u32(6); push(0, 1, 0, 5, division >> 8, division & 255);
    const tempo = Math.round(60e6 / meta.tempo_bpm);
    const name = (s) => [0xff, 0x03, s.length, ...Array.from(s, (c) => c.charCodeAt(0))];
    track([[0, name("Chorale")], [0, [0xff, 0x51, 3, (tempo >> 16) & 255, (tempo >> 8) & 255, tempo & 255]],
      [0, [0xff, 0x58, 4, 4, 2, 24, 8]]]);
    for (let v = 0; v < 4; v++) {
      const events = [[0, name(meta.voices[v])], [0, [0xc0 | v, 52]]]; // 52: choir aahs
      const mine = notes.filter((n) => n.voice === v);
      const timed = [];
      for (const n of mine) {
        timed.push([n.begin * ticksPerStep, 1, [0x90 | v, n.midi, 80]]);
        timed.push([(n.begin + n.length) * ticksPerStep, 0, [0x80 | v, n.midi, 0]]);
      }
      timed.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      for (const [tick, , ev] of timed) events.push([tick, ev]);
      track(events);
    }
    return new Uint8Array(bytes);
  }

  /* --- the widget --------------------------------------------------------------------------- */

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function durationWord(steps, meta) {
    const beats = steps * meta.step_quarter_notes;
    return beats === 1 ? "1 beat" : `${beats} beats`;
  }

  let counter = 0;

  function init(root, model, rng, meta, options) {
    const id = `live-music-${++counter}`;
    const data = options.node || root; // where tests and benchmarks read results (data-*)
    const writer = composer(model, meta);
    const reduceMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    const box = el("div", { class: "live-music live-controls" });
    box.style.flex = "1 1 100%"; // the whole panel: this widget is one column

    const row = (...kids) => { const d = el("div", { class: "live-row" }); d.append(...kids); return d; };
    // A label above its control, styled by live.css (.live-field); sliders keep their value beside them.
    const field = (label, control, extra, kind) => { const d = el("div", { class: kind || "live-field" }); d.append(label, control); if (extra) d.append(extra); return d; };

    const modeLabel = el("label", { for: `${id}-mode` }, "What to write");
    const mode = el("select", { id: `${id}-mode` });
    mode.append(el("option", { value: "new" }, "A new chorale, all four voices"));
    meta.melodies.forEach((m, i) => mode.append(el("option", { value: `held-${i}` }, `Harmonise the tune of chorale ${m.name} (held out from training)`)));
    mode.append(el("option", { value: "typed" }, "Harmonise the melody typed below"));

    const melodyLabel = el("label", { for: `${id}-melody` }, "Melody (soprano)");
    const melody = el("input", { id: `${id}-melody`, type: "text", size: "60", spellcheck: "false", "aria-describedby": `${id}-melody-help` });
    melody.value = "E4 E4 F4 G4 | G4 F4 E4 D4 | C4 C4 D4 E4 | E4:1.5 D4:0.5 D4:2";
    const melodyHelp = el("span", { id: `${id}-melody-help`, class: "live-help" },
      "Note names with octave (C4 is middle C; # sharp, b flat), :2 for two beats, :0.5 for an eighth, r for a rest, | for bar lines.");

    const tempLabel = el("label", { for: `${id}-temp` }, "Temperature");
    const temp = el("input", { id: `${id}-temp`, type: "range", min: "0.3", max: "1.5", step: "0.05" });
    temp.value = String(meta.temperature || 1);
    const tempValue = el("output", { for: `${id}-temp`, class: "live-value" });
    const showTemp = () => { tempValue.textContent = Number(temp.value).toFixed(2); };
    showTemp();
    temp.addEventListener("input", showTemp);

    const seedLabel = el("label", { for: `${id}-seed` }, "Seed");
    const seed = el("input", { id: `${id}-seed`, type: "number", min: "0", max: "4294967295", step: "1", inputmode: "numeric" });
    seed.value = "42";
    const newSeed = el("button", { type: "button", class: "live-button" }, "New seed");

    const compose = el("button", { type: "button", class: "live-button live-primary" }, "Compose");
    const play = el("button", { type: "button", class: "live-button" }, "Play");
    const stop = el("button", { type: "button", class: "live-button" }, "Stop");
    const download = el("button", { type: "button", class: "live-button" }, "Download MIDI");
    play.disabled = stop.disabled = download.disabled = true;

    const canvas = el("canvas", { width: "720", height: "260", role: "img", class: "live-roll", "aria-label": "Piano roll: nothing composed yet" });
    // Which colour is which voice, next to the roll.
    const legend = el("p", { class: "live-note" });
    meta.voices.forEach((name, v) => {
      const swatch = el("span", { "aria-hidden": "true" }, "■ ");
      swatch.style.color = COLOURS[v];
      legend.append(swatch, `${name}${v < 3 ? "   " : ""}`);
    });
    legend.append(" · time runs to the right, pitch upward; grey lines are bar lines.");
    const details = el("details", { class: "live-notes" });
    details.append(el("summary", {}, "The notes, voice by voice"));
    const notesText = el("pre", {});
    details.append(notesText);
    const status = el("p", { class: "live-status", role: "status", "aria-live": "polite" });

    melody.style.width = "100%";
    canvas.style.maxWidth = "100%";
    box.append(field(modeLabel, mode), field(melodyLabel, melody, melodyHelp),
      field(tempLabel, temp, tempValue, "live-field live-slider"),
      row(field(seedLabel, seed, null, "live-field live-seed"), newSeed),
      row(compose, play, stop, download), status, canvas, legend, details);
    if (options.metricsHref) {
      const p = el("p", { class: "live-note" });
      p.append("The network running here is the one this site's build trained; ");
      p.append(el("a", { href: options.metricsHref }, "its training, scores and metrics"));
      p.append(".");
      box.append(p);
    }
    root.append(box);

    const say = (t) => { status.textContent = t; };
    let piece = null; // {tokens, notes, phase, seed, steps}
    let busy = false;
    let player = null;

    mode.addEventListener("change", () => {
      const m = /^held-(\d+)$/.exec(mode.value);
      if (m) { const mel = meta.melodies[Number(m[1])]; melody.value = melodyText(meta, mel.tokens, mel.phase); }
    });
    melody.addEventListener("input", () => { if (mode.value.startsWith("held-")) mode.value = "typed"; });

    function draw(playStep) {
      const ctx = canvas.getContext("2d");
      const W = canvas.width, H = canvas.height;
      ctx.clearRect(0, 0, W, H);
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
      if (!piece) return;
      const lo = meta.pitch_lo, hi = meta.pitch_hi;
      const x = (s) => 30 + (W - 40) * s / piece.steps;
      const y = (p) => H - 10 - (H - 20) * (p - lo + 0.5) / (hi - lo + 1);
      ctx.strokeStyle = "#ddd"; ctx.lineWidth = 1;
      for (let s = (meta.steps_per_bar - piece.phase) % meta.steps_per_bar; s <= piece.steps; s += meta.steps_per_bar) {
        ctx.beginPath(); ctx.moveTo(x(s), 5); ctx.lineTo(x(s), H - 5); ctx.stroke();
      }
      ctx.fillStyle = "#666"; ctx.font = "10px sans-serif";
      for (let p = 36; p <= hi; p += 12) if (p >= lo) ctx.fillText(pitchName(p), 2, y(p) + 3);
      const h = Math.max(2, (H - 20) / (hi - lo + 1) - 1);
      for (const n of piece.notes) {
        const sounding = playStep !== undefined && n.begin <= playStep && playStep < n.begin + n.length;
        ctx.fillStyle = COLOURS[n.voice];
        ctx.globalAlpha = playStep === undefined || sounding ? 1 : 0.55;
        ctx.fillRect(x(n.begin), y(n.midi) - h / 2, Math.max(1, x(n.begin + n.length) - x(n.begin) - 2), h);
      }
      ctx.globalAlpha = 1;
      if (playStep !== undefined) {
        ctx.strokeStyle = "#000"; ctx.lineWidth = 2;
        ctx.beginPath(); ctx.moveTo(x(playStep), 2); ctx.lineTo(x(playStep), H - 2); ctx.stroke();
      }
    }

    function describe() {
      const lines = meta.voices.map((name, v) => {
        const mine = piece.notes.filter((n) => n.voice === v);
        const words = mine.map((n) => `${pitchName(n.midi)} (${durationWord(n.length, meta)})`);
        return `${name[0].toUpperCase()}${name.slice(1)}: ${words.join(", ") || "silent"}`;
      });
      notesText.textContent = lines.join("\n");
      const bars = piece.steps / meta.steps_per_bar;
      canvas.setAttribute("aria-label", `Piano roll of the ${piece.melody ? "harmonised melody" : "new chorale"}: ${piece.notes.length} notes in four voices over ${bars} bars; the notes are listed below.`);
    }

    function startCompose() {
      if (busy) return;
      stopPlaying();
      const seedValue = Number(seed.value);
      if (!Number.isInteger(seedValue) || seedValue < 0 || seedValue > 4294967295) {
        say("The seed must be a whole number from 0 to 4294967295."); return;
      }
      let melodyTokens = null, phase, steps = meta.piece_steps;
      const draws = rng(seedValue);
      if (mode.value === "new") {
        phase = writer.phaseFromDraw(draws());
      } else {
        const parsed = parseMelody(meta, melody.value);
        if (parsed.error) { say(parsed.error); return; }
        melodyTokens = parsed.tokens; phase = parsed.phase; steps = parsed.tokens.length;
      }
      const temperature = Number(temp.value);
      const job = writer.job({ steps, phase, temperature, draw: draws, melody: melodyTokens });
      busy = true; compose.disabled = true; play.disabled = true; download.disabled = true;
      box.setAttribute("aria-busy", "true");
      say("Composing…");
      const t0 = performance.now();
      (function slice() {
        const until = performance.now() + 12;
        try {
          while (performance.now() < until && job.next()) { /* a slice of tokens */ }
        } catch (err) {
          busy = false; compose.disabled = false; play.disabled = !piece; download.disabled = !piece;
          box.setAttribute("aria-busy", "false");
          say(`The network stopped with an error (${err.message}).`);
          return;
        }
        if (!job.done) { setTimeout(slice, 0); return; }
        const secs = (performance.now() - t0) / 1000;
        piece = { tokens: job.tokens, notes: notesOf(meta, job.tokens), phase, seed: seedValue, steps, melody: !!melodyTokens };
        data.dataset.composeSeconds = secs.toFixed(3);
        data.dataset.phase = String(phase);
        busy = false; compose.disabled = false; play.disabled = false; download.disabled = false;
        box.setAttribute("aria-busy", "false");
        draw(); describe();
        say(`Composed ${steps / meta.steps_per_bar} bars (${piece.notes.length} notes) in ${secs.toFixed(2)} s with seed ${seedValue} at temperature ${temperature.toFixed(2)}${melodyTokens ? ", under the given melody" : ""}. Press Play to listen.`);
      })();
    }

    function stopPlaying() {
      if (!player) return;
      const p = player; player = null;
      p.nodes.forEach((n) => { try { n.stop(); } catch (e) { /* already stopped */ } });
      if (p.frame) cancelAnimationFrame(p.frame);
      if (p.timer) clearInterval(p.timer);
      p.ctx.close();
      stop.disabled = true; play.disabled = !piece;
      data.dataset.playing = "false";
      draw();
    }

    function startPlaying() {
      if (!piece || player) return;
      const Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { say("This browser has no Web Audio: download the MIDI file to listen."); return; }
      const ctx = new Ctx();
      const secondsPerStep = 60 / meta.tempo_bpm * meta.step_quarter_notes;
      // Six harmonics falling as 1/k^1.5: the organ-like tone of the demo's own synthesiser.
      const real = new Float32Array(7), imag = new Float32Array(7);
      for (let k = 1; k < 7; k++) imag[k] = 1 / Math.pow(k, 1.5);
      const wave = ctx.createPeriodicWave(real, imag);
      const master = ctx.createGain();
      master.gain.value = 0.12;
      master.connect(ctx.destination);
      const t0 = ctx.currentTime + 0.1;
      const nodes = [];
      for (const n of piece.notes) {
        const osc = ctx.createOscillator();
        osc.setPeriodicWave(wave);
        osc.frequency.value = 440 * Math.pow(2, (n.midi - 69) / 12);
        const g = ctx.createGain();
        const a = t0 + n.begin * secondsPerStep, e = a + n.length * secondsPerStep;
        g.gain.setValueAtTime(0, a);
        g.gain.linearRampToValueAtTime(1, a + 0.02);
        g.gain.setTargetAtTime(0.7, a + 0.02, 0.15);
        g.gain.setValueAtTime(0.7, Math.max(a + 0.02, e - 0.01));
        g.gain.linearRampToValueAtTime(0, e + 0.12);
        osc.connect(g); g.connect(master);
        osc.start(a); osc.stop(e + 0.15);
        nodes.push(osc);
      }
      const total = piece.steps * secondsPerStep;
      player = { ctx, nodes };
      data.dataset.playing = "true";
      play.disabled = true; stop.disabled = false;
      say(`Playing ${total.toFixed(0)} seconds at ${meta.tempo_bpm} beats per minute.`);
      let lastStep = -1;
      const follow = () => {
        if (!player) return;
        const elapsed = ctx.currentTime - t0;
        if (elapsed >= total + 0.2) { stopPlaying(); say("Finished playing. Press Play to hear it again."); return; }
        // With reduced motion the playhead jumps bar by bar instead of gliding.
        const unit = reduceMotion ? meta.steps_per_bar : 1;
        const s = Math.max(0, Math.floor(elapsed / secondsPerStep / unit) * unit);
        if (s !== lastStep) { lastStep = s; data.dataset.playStep = String(s); draw(Math.min(s, piece.steps)); }
      };
      if (reduceMotion) player.timer = setInterval(follow, 100);
      else { const loop = () => { follow(); if (player) player.frame = requestAnimationFrame(loop); }; loop(); }
    }

    compose.addEventListener("click", startCompose);
    play.addEventListener("click", startPlaying);
    stop.addEventListener("click", () => { stopPlaying(); say("Stopped."); });
    newSeed.addEventListener("click", () => { seed.value = String(Math.floor(Math.random() * 4294967296)); say(`New seed ${seed.value}: press Compose.`); });
    download.addEventListener("click", () => {
      if (!piece) return;
      const blob = new Blob([midiBytes(meta, piece.notes)], { type: "audio/midi" });
      const a = el("a", { href: URL.createObjectURL(blob), download: `chorale-seed-${piece.seed}.mid` });
      document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    });
    draw();
    return { compose: startCompose, piece: () => piece };
  }

  window.LiveMusic = { composer, notesOf, parseMelody, melodyText, midiBytes, init };

  if (window.Live) {
    window.Live.widget("music", function (node, models, ui) {
      const model = models.model;
      const desc = window.LIVE_MODELS[model.key];
      const meta = model.meta;
      if (!meta.embeddings || !meta.voices || !meta.melodies) throw new Error("the model file lacks its description of the tokens");
      const stepper = LiveRNN.fromDescription(desc, meta.embeddings);
      node.liveMusic = { writer: composer(stepper, meta), meta, ...init(ui.panel, stepper, window.Live.rng, meta, { metricsHref: node.dataset.metrics, node }) };
      // The no-JavaScript note has done its job; the build's figure beside the widget stays.
      node.querySelectorAll(".live-fallback").forEach((p) => { p.hidden = true; });
      ui.say("Live: the network runs in your browser. Choose what to write, press Compose, then Play.");
    }, { startLabel: "Start the chorale composer" });
  }
})();
