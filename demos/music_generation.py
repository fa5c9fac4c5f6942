"""Music and audio generation: a recurrent network writes four-part chorales

A small recurrent network (a GRU) learns Bach's four-part chorales, one voice and one eighth
note at a time, then composes new ones that we write as MIDI, play as audio and compare with
chorales it never saw and with a Markov-chain baseline.

Data: the Bach chorales bundled with music21 (the 313 of 371 in 4/4 with four voices), 15% of whole chorales held out.
Run time: quick ~25 s, default ~4.5 min on 2 CPU cores shared with another demo (as `make site` runs them; the first parse of the chorales adds about 30 s).
Outputs: piano_rolls.png, comparison.png, training.png, piece.mid, piece.wav, samples.npz, model.js, model.keras, metrics.json
Samples: piece.mid: the first composed chorale in four parts, music21.converter.parse("piece.mid")
or any MIDI player; samples.npz: every composed piece as tokens, numpy.load("samples.npz") gives
network_tokens and markov_tokens (pieces x steps x 4 voices, decoded by the demo's decode(): token t
>= 2 is MIDI pitch pitch_lo + (t - 2) // 2), start_phase and step_quarter_notes
Headline: piano_rolls.png
Page: introduction/overview.md#music-and-audio-generation
"""

import hashlib
import json
import math
import os
import tempfile
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

import _live
from _live import pick_index  # one uniform draw -> one index, as the page does it
import _shared
from _shared import start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(max_chorales=40, window_steps=16, width=128, embed=48, learning_rate=1e-2,
                  epochs=4, batch_size=32, n_pieces=8, temperature=1.0),
    "default": dict(max_chorales=None, window_steps=64, width=256, embed=64, learning_rate=4e-3,
                    epochs=16, batch_size=32, n_pieces=32, temperature=1.0),
}
run = start(PROFILES)
hp = run.hp

# The representation. Changing any of these changes the cache key, so the corpus is re-parsed.
STEP = 0.5                      # grid step in quarter notes: one eighth note
STEPS_PER_BAR = 8               # 4/4 only
PITCH_LO = 36                   # C2: lowest MIDI pitch kept
PITCH_HI = 84                   # C6: highest MIDI pitch kept
VOICES = ("soprano", "alto", "tenor", "bass")
REST = 0                        # token ids; every pitch then takes two: struck and held
BOS = 1                         # 'beginning of piece': the input before the first note
VOCAB = 2 + 2 * (PITCH_HI - PITCH_LO + 1)
CACHE_FORMAT = 1
HELDOUT_SHARE = 0.15
PIECE_STEPS = 64                # eight bars of 4/4 in eighth notes
TEMPO_BPM = 80
SAMPLE_RATE = 16_000
MARKOV_ALPHA = 0.1              # add-alpha smoothing of the Markov chain's transition counts
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10, 9, 11)  # natural minor plus the raised 6th and 7th Bach uses


# %% [markdown]
# ## The data: chorales on an eighth-note grid
#
# Bach harmonised hundreds of Lutheran hymn tunes for four voices: soprano, alto, tenor and
# bass. music21 ships 371 of them as MusicXML. We keep the ones in 4/4 with exactly four voices
# and read each one onto a grid of eighth notes: at every grid step, each voice either *strikes*
# a pitch, *holds* the pitch it was already singing, or rests. That turns a chorale into a
# sequence of tokens, soprano-alto-tenor-bass at step 1, then the same at step 2, and so on,
# which is the kind of sequence a language model learns to continue.
#
# Parsing MusicXML with music21 takes a while (tens of seconds for the whole corpus), so the
# parsed grids are cached under `.cache/music_generation/`, keyed by the music21 version and
# the grid settings. The quick profile parses only the first 40; a later full run adds the rest.

# %%
def parse_chorale(path):
    """A chorale as (pitch, struck, phase): (steps, 4) MIDI pitches with -1 for a rest, (steps, 4)
    flags for notes struck at that step, and the step's position in the bar at step 0.
    None if the chorale is not in 4/4, does not have exactly four voices, or leaves the range."""
    from music21 import converter

    score = converter.parse(path, forceSource=True, storePickle=False)
    parts = list(score.parts)
    signatures = {ts.ratioString for ts in score.recurse().getElementsByClass("TimeSignature")}
    if len(parts) != 4 or signatures != {"4/4"}:
        return None
    steps = math.ceil(float(score.highestTime) / STEP - 1e-9)
    pitch = np.full((steps, 4), -1, dtype=np.int8)
    struck = np.zeros((steps, 4), dtype=bool)
    for v, part in enumerate(parts):
        for n in part.flatten().notes:
            # A step takes the note sounding at its instant, so short ornaments between steps drop out.
            begin = math.ceil(float(n.offset) / STEP - 1e-9)
            end = math.ceil(float(n.offset + n.quarterLength) / STEP - 1e-9)
            if end <= begin:
                continue
            midi = max(p.midi for p in n.pitches)
            if not PITCH_LO <= midi <= PITCH_HI:
                return None
            pitch[begin:end, v] = midi
            struck[begin:end, v] = False
            struck[begin, v] = n.tie is None or n.tie.type == "start"
    first_bar = parts[0].getElementsByClass("Measure").first()
    phase = round(float(first_bar.paddingLeft) / STEP) % STEPS_PER_BAR if first_bar else 0
    return pitch, struck, phase


def load_chorales(limit, cache_dir):
    """Parsed chorales among the first `limit` of music21's chorale list (all if None), as a list
    of dicts. Parsing is cached in cache_dir; a cache holding a prefix of the list is extended."""
    import music21
    from music21 import corpus

    names = list(corpus.chorales.Iterator(returnType="filename"))
    limit = len(names) if limit is None else min(limit, len(names))
    settings = dict(music21=music21.__version__, step=STEP, lo=PITCH_LO, hi=PITCH_HI,
                    format=CACHE_FORMAT)
    key = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir / f"chorales-{key}.npz"
    records, scanned = [], 0
    if path.exists():
        try:
            with np.load(path) as z:
                scanned = int(z["scanned"])
                cuts = np.cumsum(z["lengths"])[:-1]
                for i, name, phase, pitch, struck in zip(
                        z["index"], z["names"], z["phase"], np.split(z["pitch"], cuts),
                        np.split(z["struck"], cuts)):
                    records.append(dict(index=int(i), name=str(name), phase=int(phase),
                                        pitch=pitch, struck=struck))
        except (OSError, KeyError, ValueError):
            records, scanned = [], 0  # unreadable cache: parse again
    parsed_now = 0
    if scanned < limit:
        for i in range(scanned, limit):
            found = corpus.getWork(names[i])
            if isinstance(found, list):  # some chorales also ship as Humdrum: read the MusicXML
                found = next((f for f in found if str(f).endswith(".mxl")), found[0])
            result = parse_chorale(found)
            parsed_now += 1
            if result is not None:
                pitch, struck, phase = result
                records.append(dict(index=i, name=names[i].split("/")[-1], phase=phase,
                                    pitch=pitch, struck=struck))
        scanned = limit
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Write to a temporary file and rename it, so a crash or a parallel run never leaves a
        # half-written cache behind.
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".npz.tmp")
        with os.fdopen(fd, "wb") as f:
            np.savez_compressed(
                f, scanned=scanned, index=np.array([r["index"] for r in records]),
                names=np.array([r["name"] for r in records]),
                phase=np.array([r["phase"] for r in records]),
                lengths=np.array([len(r["pitch"]) for r in records]),
                pitch=np.concatenate([r["pitch"] for r in records]),
                struck=np.concatenate([r["struck"] for r in records]))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return [r for r in records if r["index"] < limit], parsed_now


t0 = time.time()
chorales, parsed_now = load_chorales(hp.max_chorales, _shared.ROOT / ".cache" / "music_generation")
source = f"parsed {parsed_now} chorale files" if parsed_now else "read the parse cache"
print(f"{len(chorales)} four-voice 4/4 chorales ({source}, {time.time() - t0:.1f} s)")

rng = np.random.default_rng(run.seed)
order = rng.permutation(len(chorales))
n_heldout = max(2, round(HELDOUT_SHARE * len(chorales)))
heldout = [chorales[i] for i in order[:n_heldout]]
train = [chorales[i] for i in order[n_heldout:]]
print(f"{len(train)} training chorales, {len(heldout)} held out whole "
      f"({sum(len(c['pitch']) for c in train) // STEPS_PER_BAR} and "
      f"{sum(len(c['pitch']) for c in heldout) // STEPS_PER_BAR} bars)")


# %% [markdown]
# ## From grid to tokens
#
# Each grid cell becomes one token out of a small vocabulary: "rest", or one of about 50
# pitches, either struck or held. The four voices of a step follow each other, so the model
# writes the soprano first and the bass last, and the bass can already take the upper voices into
# account. Besides the previous token, the network is told which voice it must write next and
# where in the bar that note falls (one of eight eighth-note positions), because musical time
# is not something it should have to count by itself.

# %%
def encode(pitch, struck):
    """(steps, 4) grids to (steps, 4) token ids."""
    pitch = np.asarray(pitch, dtype=np.int32)
    tokens = 2 + 2 * (pitch - PITCH_LO) + (~np.asarray(struck)).astype(np.int32)
    return np.where(pitch < 0, REST, tokens)


def decode(tokens):
    """(steps, 4) token ids to pitch and struck grids. A held pitch that is not the one
    sounding in that voice counts as struck; BOS counts as a rest."""
    tokens = np.asarray(tokens)
    pitch = np.where(tokens >= 2, PITCH_LO + (tokens - 2) // 2, -1)
    struck = (tokens >= 2) & ((tokens - 2) % 2 == 0)
    previous = np.vstack([np.full((1, pitch.shape[1]), -1), pitch[:-1]])
    struck |= (pitch >= 0) & (pitch != previous)
    return pitch.astype(np.int8), struck


def sequence(chorale):
    """Inputs, conditioning and targets for one chorale. The targets are its tokens step by
    step, soprano to bass; the input at each position is the token before (BOS at the start);
    the conditioning is the voice and bar position of the token to predict."""
    targets = encode(chorale["pitch"], chorale["struck"]).ravel()
    steps = len(targets) // 4
    voice = np.tile(np.arange(4), steps)
    phase = np.repeat((chorale["phase"] + np.arange(steps)) % STEPS_PER_BAR, 4)
    return np.concatenate([[BOS], targets[:-1]]), voice, phase, targets


def windows(seqs, length, stride):
    """Cut sequences into overlapping training windows of `length` tokens, the last one flush
    with the end (sequences shorter than `length` are skipped)."""
    out = [[], [], [], []]
    for seq in seqs:
        n = len(seq[0])
        begins = list(range(0, n - length + 1, stride))
        if begins and begins[-1] != n - length:
            begins.append(n - length)
        for begin in begins:
            for k in range(4):
                out[k].append(seq[k][begin:begin + length])
    return [np.array(a, dtype=np.int32).reshape(-1, length) for a in out]


train_seqs = [sequence(c) for c in train]
heldout_seqs = [sequence(c) for c in heldout]
window = 4 * hp.window_steps
x_tok, x_voice, x_phase, y_tok = windows(train_seqs, window, window // 2)
print(f"{len(x_tok)} training windows of {window} tokens, vocabulary of {VOCAB} tokens")


# %% [markdown]
# ## The model: a GRU that predicts the next token
#
# The network is a single recurrent layer. At every token it reads the embedding of the token
# just written plus embeddings of the next voice and bar position, updates its memory, and
# outputs a probability for every token in the vocabulary. Training minimises the cross-entropy
# of the true next token, the same objective as a text language model.

# %%
def build_model(width, embed, learning_rate, decay_steps):
    tokens = keras.Input((None,), dtype="int32", name="token")
    voice = keras.Input((None,), dtype="int32", name="voice")
    phase = keras.Input((None,), dtype="int32", name="phase")
    h = layers.Add(name="embeddings_summed")([
        layers.Embedding(VOCAB, embed, name="token_embedding")(tokens),
        layers.Embedding(4, embed, name="voice_embedding")(voice),
        layers.Embedding(STEPS_PER_BAR, embed, name="phase_embedding")(phase)])
    h = layers.GRU(width, return_sequences=True, name="gru")(h)
    logits = layers.Dense(VOCAB, name="next_token")(h)
    model = keras.Model([tokens, voice, phase], logits)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule, clipnorm=1.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def pad(seqs):
    """Stack variable-length sequences, padding at the end, with a mask of real positions."""
    n = max(len(s[0]) for s in seqs)
    arrays = [np.zeros((len(seqs), n), dtype=np.int32) for _ in range(4)]
    mask = np.zeros((len(seqs), n), dtype=bool)
    for i, seq in enumerate(seqs):
        for k in range(4):
            arrays[k][i, :len(seq[k])] = seq[k]
        mask[i, :len(seq[0])] = True
    return arrays, mask


def network_nll(model, seqs):
    """Mean negative log-likelihood of the tokens of whole chorales, nats per token."""
    (tok, voice, phase, target), mask = pad(seqs)
    logits = model.predict([tok, voice, phase], verbose=0, batch_size=16)
    logits = logits - logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    picked = np.take_along_axis(logp, target[..., None], axis=-1)[..., 0]
    return float(-picked[mask].mean())


model = build_model(hp.width, hp.embed, hp.learning_rate,
                    decay_steps=hp.epochs * math.ceil(len(x_tok) / hp.batch_size))
heldout_curve, train_curve = [], []


class HeldoutNLL(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        train_curve.append(logs["loss"])
        heldout_curve.append(network_nll(self.model, heldout_seqs))


t0 = time.time()
model.fit([x_tok, x_voice, x_phase], y_tok, epochs=hp.epochs, batch_size=hp.batch_size,
          shuffle=True, verbose=0, callbacks=[HeldoutNLL()])
print(f"trained {model.count_params():,} parameters for {hp.epochs} epochs in "
      f"{time.time() - t0:.0f} s; held-out loss {heldout_curve[-1]:.3f} nats per token")


# %% [markdown]
# ## A baseline: one Markov chain per voice
#
# To know whether the network learned anything beyond the obvious, we fit the simplest
# sequence model in the same run: for each voice separately, a first-order Markov chain over
# the same tokens, which picks the next token from counts of what followed the current one in
# the training chorales. It knows which notes follow which in a melody, and how long notes
# last, but each voice ignores the other three and the bar lines.

# %%
def fit_markov(sequences, alpha):
    """Row-normalised transition matrix from counts of token pairs plus alpha."""
    counts = np.full((VOCAB, VOCAB), alpha)
    counts[:, BOS] = 0.0  # BOS only ever starts a piece
    for seq in sequences:
        np.add.at(counts, (seq[:-1], seq[1:]), 1)
    return counts / counts.sum(1, keepdims=True)


def voice_sequences(chorales_, v):
    return [np.concatenate([[BOS], encode(c["pitch"], c["struck"])[:, v]]) for c in chorales_]


markov = [fit_markov(voice_sequences(train, v), MARKOV_ALPHA) for v in range(4)]
markov_nll = float(np.mean(np.concatenate([
    -np.log(markov[v][seq[:-1], seq[1:]]) for v in range(4) for seq in voice_sequences(heldout, v)])))
network_heldout_nll = heldout_curve[-1]
print(f"held-out loss, nats per token: network {network_heldout_nll:.3f}, "
      f"Markov chains {markov_nll:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.6))
epochs = np.arange(1, hp.epochs + 1)
ax.plot(epochs, train_curve, "o-", ms=3, label="network, training windows")
ax.plot(epochs, heldout_curve, "o-", ms=3, label="network, held-out chorales")
ax.axhline(markov_nll, color="gray", ls="--", label="Markov chains, held-out chorales")
ax.set_xlabel("epoch")
ax.set_ylabel("cross-entropy (nats per token)")
ax.set_title("Next-token loss: lower means better prediction")
ax.legend(fontsize=8)
run.save_figure(fig, "training.png")
run.show("training.png", "Line chart of next-token cross-entropy against training epoch for the "
         "network on training and held-out chorales, with the Markov baseline as a dashed line.",
         "The gap to the dashed line is what the network gains by listening to all four voices "
         "and the bar; the gap between its two curves shows how much it memorises.")


# %% [markdown]
# ## Composing
#
# To write a piece we start from the BOS token and sample one token at a time from the
# network's predicted probabilities, feeding each choice back in. Each piece begins at a bar
# position drawn from where the training chorales begin (most start on an upbeat). The Markov
# chains compose their pieces the same way, each voice on its own.

# %%
def generate(model, n, steps, phases, temperature, rng):
    """Sample n pieces of `steps` grid steps; returns (n, steps, 4) token ids."""
    emb_t, emb_v, emb_p = (model.get_layer(k) for k in ("token_embedding", "voice_embedding",
                                                        "phase_embedding"))
    cell, head = model.get_layer("gru").cell, model.get_layer("next_token")

    @tf.function
    def one_token(token, voice, phase, state):
        # The trained layers, one token at a time: the GRU cell carries the memory forward.
        h, new_state = cell(emb_t(token) + emb_v(voice) + emb_p(phase), [state])
        return head(h), new_state[0]

    state = tf.zeros((n, cell.units))
    token = np.full(n, BOS, dtype=np.int32)
    out = np.zeros((n, steps, 4), dtype=np.int32)
    for t in range(steps * 4):
        step, v = divmod(t, 4)
        phase = ((phases + step) % STEPS_PER_BAR).astype(np.int32)
        logits, state = one_token(token, np.full(n, v, dtype=np.int32), phase, state)
        logits = logits.numpy().astype(np.float64) / temperature
        logits[:, BOS] = -np.inf
        # Gumbel-max: a draw from softmax(logits) for every piece at once.
        token = (logits + rng.gumbel(size=logits.shape)).argmax(1).astype(np.int32)
        out[:, step, v] = token
    return out


def generate_markov(chains, n, steps, rng):
    out = np.zeros((n, steps, 4), dtype=np.int32)
    for v, chain in enumerate(chains):
        token = np.full(n, BOS)
        cumulative = chain.cumsum(1)
        for t in range(steps):
            token = (cumulative[token] < rng.random((n, 1))).sum(1).clip(0, VOCAB - 1)
            out[:, t, v] = token
    return out


start_phases = rng.choice(np.array([c["phase"] for c in train]), size=hp.n_pieces)
t0 = time.time()
gen_tokens = generate(model, hp.n_pieces, PIECE_STEPS, start_phases, hp.temperature, rng)
print(f"composed {hp.n_pieces} pieces of {PIECE_STEPS // STEPS_PER_BAR} bars in {time.time() - t0:.1f} s")
markov_tokens = generate_markov(markov, hp.n_pieces, PIECE_STEPS, rng)
generated = [decode(t) for t in gen_tokens]
markov_pieces = [decode(t) for t in markov_tokens]
np.savez_compressed(run.path("samples.npz"), network_tokens=gen_tokens, markov_tokens=markov_tokens,
                    start_phase=start_phases, step_quarter_notes=STEP, pitch_lo=PITCH_LO)


# %% [markdown]
# ## Writing MIDI and sound
#
# music21 turns each piece into a four-part score and writes it as a MIDI file. For the page we
# also render the first piece to audio ourselves: every note is a sum of a few harmonics with a
# short attack and release, a plain organ-like tone. The piece below is the network's first
# sample, not a hand-picked one.

# %%
def notes_of(pitch, struck):
    """(voice, first step, number of steps, MIDI pitch) for every note of a grid."""
    notes = []
    for v in range(pitch.shape[1]):
        t = 0
        while t < len(pitch):
            if pitch[t, v] < 0:
                t += 1
                continue
            end = t + 1
            while end < len(pitch) and pitch[end, v] == pitch[t, v] and not struck[end, v]:
                end += 1
            notes.append((v, t, end - t, int(pitch[t, v])))
            t = end
    return notes


def to_score(pitch, struck):
    from music21 import instrument, note, stream, tempo

    score = stream.Score()
    for v, name in enumerate(VOICES):
        part = stream.Part(id=name)
        part.partName = name.capitalize()
        part.insert(0, instrument.Choir())
        if v == 0:
            part.insert(0, tempo.MetronomeMark(number=TEMPO_BPM))
        for _, begin, length, midi in (n for n in notes_of(pitch, struck) if n[0] == v):
            part.insert(begin * STEP, note.Note(midi, quarterLength=length * STEP))
        score.insert(0, part)
    return score


def synthesize(notes, seconds_per_step, rate):
    """Additive synthesis: each note is 6 harmonics under an attack-decay-release envelope."""
    total = max(b + n for _, b, n, _ in notes) * seconds_per_step + 0.5
    audio = np.zeros(int(total * rate))
    for _, begin, length, midi in notes:
        freq = 440.0 * 2 ** ((midi - 69) / 12)
        dur = length * seconds_per_step
        t = np.arange(int((dur + 0.12) * rate)) / rate
        tone = sum(np.sin(2 * np.pi * k * freq * t) / k ** 1.5 for k in range(1, 7)
                   if k * freq < rate / 2)
        env = np.minimum(t / 0.02, 1.0) * (0.7 + 0.3 * np.exp(-t / 0.15))
        env *= np.clip((dur + 0.12 - t) / 0.12, 0.0, 1.0)  # release after the note ends
        i = int(begin * seconds_per_step * rate)
        audio[i:i + len(t)] += tone * env
    return audio / (np.abs(audio).max() + 1e-9) * 0.8


def write_wav(path, audio, rate):
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())


seconds_per_step = 60 / TEMPO_BPM * STEP
to_score(*generated[0]).write("midi", fp=run.path("piece.mid"))
write_wav(run.path("piece.wav"), synthesize(notes_of(*generated[0]), seconds_per_step, SAMPLE_RATE),
          SAMPLE_RATE)
run.show("piece.wav", "A synthesised organ-like recording of the generated four-part piece.",
         "The network's first generated piece, eight bars, rendered from its MIDI notes.")


# %% [markdown]
# ## Piano rolls: generated and real
#
# A piano roll draws each note as a bar: time runs left to right, pitch bottom to top, and the
# four voices have their own colours. Compare the generated piece with the opening of a chorale
# the network never saw: look at whether the voices keep to their ranges, move together in
# rhythm and change chords on the beat.

# %%
def estimate_key(score):
    """music21's key estimate for a score, as (tonic pitch class, 'major' or 'minor')."""
    k = score.analyze("key")
    return k.tonic.pitchClass, k.mode


def key_name(tonic, mode):
    names = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
    return f"{names[tonic]} {mode}"


def draw_roll(ax, pitch, struck, phase, title):
    colors = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd"]
    for v, begin, length, midi in notes_of(pitch, struck):
        # A small gap at the end of each note keeps repeated notes apart.
        ax.broken_barh([(begin * STEP, length * STEP - 0.15)], (midi - 0.4, 0.8),
                       color=colors[v], label=VOICES[v])
    first_bar = (-phase) % STEPS_PER_BAR
    for b in range(first_bar, len(pitch) + 1, STEPS_PER_BAR):
        ax.axvline(b * STEP, color="0.85", lw=0.8, zorder=0)
    ax.set_yticks(range(36, 85, 12), [f"C{o}" for o in range(2, 7)])
    ax.set_ylim(PITCH_LO - 1, PITCH_HI + 1)
    ax.set_xlim(0, len(pitch) * STEP)
    ax.set_ylabel("pitch")
    ax.set_title(title, fontsize=10)
    handles = dict(zip(*reversed(ax.get_legend_handles_labels())))
    voices = [v for v in VOICES if v in handles]
    ax.legend([handles[v] for v in voices], voices, loc="upper left", bbox_to_anchor=(1.0, 1.0),
              fontsize=8)


real = heldout[0]
real_excerpt = (real["pitch"][:PIECE_STEPS], real["struck"][:PIECE_STEPS])
generated_key = key_name(*estimate_key(to_score(*generated[0])))
real_key = key_name(*estimate_key(to_score(*real_excerpt)))
fig, axes = plt.subplots(2, 1, figsize=(10, 6.4), sharex=True)
draw_roll(axes[0], *generated[0], start_phases[0],
          f"Generated by the network (sample 1; music21's key estimate: {generated_key})")
draw_roll(axes[1], *real_excerpt, real["phase"],
          f"Held-out Bach chorale {real['name']}, first {PIECE_STEPS} eighth notes "
          f"(key estimate: {real_key})")
axes[1].set_xlabel("time (quarter-note beats); grey lines are bar lines")
run.save_figure(fig, "piano_rolls.png")
run.show("piano_rolls.png", "Two piano rolls, one above the other: a generated four-voice piece "
         "and the opening of a real Bach chorale, each voice's notes as coloured bars over time "
         "and pitch.",
         "Generated piece (top) against a chorale the network never saw (bottom): compare the "
         "voice ranges, the rhythm and how the voices move together.")


# %% [markdown]
# ## Measuring the music
#
# Nothing here asks the network to judge itself. We compare eight-bar pieces from the network,
# from the Markov chains, and from real chorales:
#
# - **Pitch-class histograms.** Count how often each of the 12 pitch classes (C, C#, ..., B, in
#   any octave) is struck and normalise the counts to shares. The L1 distance between two such
#   histograms is 0 when they match and 2 when they share no pitch class. We measure it two
#   ways. *Over all pieces together*: one histogram for the whole set, against the histogram of
#   all held-out chorales. *Piece by piece*: each piece against the closest single held-out
#   chorale, averaged. The first asks whether the notes are used in the right proportions
#   overall; the second whether each piece sticks to one key as a chorale does. A set of pieces
#   that each wander between keys can do well on the first and badly on the second. The real
#   yardstick is the same number of random eight-bar excerpts of *training* chorales.
# - **Notes in key.** music21 estimates each piece's key; we count the share of notes that
#   belong to that key's scale (in minor keys, including the raised 6th and 7th degrees). The
#   real reference is one random eight-bar excerpt from each held-out chorale.
# - **Triads.** The share of grid steps where the sounding pitches fit inside a single major or
#   minor triad. Bach's passing notes and seventh chords keep this well below 100%, but four
#   voices chosen independently land on clashes far more often.
# - **MIDI round trip.** Every generated piece is written as a MIDI file and read back by
#   music21; we count the files that parse, and those whose notes come back unchanged.

# %%
def pitch_class_histogram(midi_pitches):
    """Normalised 12-bin histogram of pitch classes."""
    counts = np.bincount(np.asarray(midi_pitches, dtype=int) % 12, minlength=12).astype(float)
    return counts / max(counts.sum(), 1.0)


def histogram_l1(p, q):
    return float(np.abs(np.asarray(p, float) - np.asarray(q, float)).sum())


def nearest_l1(histograms, references):
    """Mean over pieces of the L1 distance from each piece's histogram to the closest reference
    histogram (one per real chorale)."""
    h, r = np.asarray(histograms, float), np.asarray(references, float)
    return float(np.abs(h[:, None, :] - r[None, :, :]).sum(-1).min(1).mean())


def in_key_share(midi_pitches, tonic, mode):
    """Share of notes whose pitch class is in the key's scale."""
    scale = {(tonic + i) % 12 for i in (MAJOR if mode == "major" else MINOR)}
    pcs = np.asarray(midi_pitches, dtype=int) % 12
    return float(np.isin(pcs, sorted(scale)).mean()) if len(pcs) else 0.0


def consonant_share(pitch):
    """Share of grid steps with two or more sounding voices whose pitch classes all fit in one
    major or minor triad."""
    triads = ([{r, (r + 4) % 12, (r + 7) % 12} for r in range(12)]
              + [{r, (r + 3) % 12, (r + 7) % 12} for r in range(12)])
    fits = [any({int(p) % 12 for p in row if p >= 0} <= t for t in triads)
            for row in np.asarray(pitch) if (row >= 0).sum() >= 2]
    return float(np.mean(fits)) if fits else 0.0


def struck_pitches(pieces):
    return np.concatenate([[n[3] for n in notes_of(p, s)] for p, s in pieces])


def excerpt(chorale, begin):
    return (chorale["pitch"][begin:begin + PIECE_STEPS], chorale["struck"][begin:begin + PIECE_STEPS])


def random_excerpt(chorale, rng):
    return excerpt(chorale, rng.integers(0, max(1, len(chorale["pitch"]) - PIECE_STEPS + 1)))


heldout_full = [(c["pitch"], c["struck"]) for c in heldout]
heldout_hist = pitch_class_histogram(struck_pitches(heldout_full))
heldout_hists = [pitch_class_histogram(struck_pitches([c])) for c in heldout_full]
picks = rng.choice(len(train), size=hp.n_pieces, replace=len(train) < hp.n_pieces)
train_excerpts = [random_excerpt(train[i], rng) for i in picks]
heldout_excerpts = [random_excerpt(c, rng) for c in heldout]
# Histograms compare against the held-out chorales, so the real set there comes from training.
hist_sets = {"network": generated, "markov": markov_pieces, "real": train_excerpts}
sets = {"network": generated, "markov": markov_pieces, "real": heldout_excerpts}

hist = {name: pitch_class_histogram(struck_pitches(pieces)) for name, pieces in hist_sets.items()}
pch_l1 = {name: histogram_l1(h, heldout_hist) for name, h in hist.items()}
pch_nearest = {name: nearest_l1([pitch_class_histogram(struck_pitches([p])) for p in pieces],
                                heldout_hists) for name, pieces in hist_sets.items()}


def key_scores(pieces):
    shares = []
    for pitch, struck in pieces:
        tonic, mode = estimate_key(to_score(pitch, struck))
        shares.append(in_key_share([n[3] for n in notes_of(pitch, struck)], tonic, mode))
    return float(np.mean(shares))


in_key = {name: key_scores(pieces) for name, pieces in sets.items()}
consonance = {name: float(np.mean([consonant_share(p) for p, _ in pieces]))
              for name, pieces in sets.items()}


def roundtrip(pieces):
    """Shares of pieces whose MIDI file music21 parses, and whose notes come back unchanged."""
    from music21 import converter

    parsed = exact = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (pitch, struck) in enumerate(pieces):
            path = os.path.join(tmp, f"piece{i}.mid")
            to_score(pitch, struck).write("midi", fp=path)
            try:
                back = converter.parse(path, forceSource=True, storePickle=False)
            except Exception:  # any failure to read the file back counts against the piece
                continue
            parsed += 1
            # music21 splits notes at bar lines into tied pieces on reading; join them again.
            back = back.stripTies()
            got = sorted((float(n.offset), p.midi) for n in back.flatten().notes for p in n.pitches)
            want = sorted((b * STEP, m) for _, b, _, m in notes_of(pitch, struck))
            exact += got == want
    return parsed / len(pieces), exact / len(pieces)


parse_share, exact_share = roundtrip(generated)
for name in sets:
    print(f"{name:>8}: pitch-class L1 {pch_l1[name]:.2f} (set), {pch_nearest[name]:.2f} (piece), "
          f"notes in key {in_key[name]:.1%}, triad steps {consonance[name]:.1%}")
print(f"MIDI files parsed back by music21: {parse_share:.0%} ({exact_share:.0%} note for note)")

fig, axes = plt.subplots(1, 4, figsize=(15, 3.8), layout="constrained",
                         gridspec_kw=dict(width_ratios=[2.4, 1, 1, 1]))
labels = {"real": "real chorales", "network": "network", "markov": "Markov chains"}
colors = {"real": "#444444", "network": "#1f77b4", "markov": "#ff7f0e"}
x = np.arange(12)
axes[0].bar(x - 0.27, heldout_hist, 0.27, color=colors["real"], label="held-out chorales")
axes[0].bar(x, hist["network"], 0.27, color=colors["network"],
            label=f"network pieces (L1 {pch_l1['network']:.2f})")
axes[0].bar(x + 0.27, hist["markov"], 0.27, color=colors["markov"],
            label=f"Markov pieces (L1 {pch_l1['markov']:.2f})")
axes[0].set_xticks(x, ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"])
axes[0].set_ylabel("share of notes")
axes[0].set_title(f"Pitch classes over all pieces (training excerpts: L1 {pch_l1['real']:.2f})",
                  fontsize=10)
axes[0].set_ylim(0, max(h.max() for h in (heldout_hist, *hist.values())) * 1.3)
axes[0].legend(fontsize=8, ncol=3, loc="upper center")
names = ["real", "network", "markov"]
panels = ((axes[1], pch_nearest, "Piece to closest held-out\nchorale (L1, lower is closer)", False),
          (axes[2], in_key, "Notes in the\nestimated key", True),
          (axes[3], consonance, "Steps that form\na major or minor triad", True))
for ax, values, title, share in panels:
    ax.bar(range(3), [values[n] for n in names], color=[colors[n] for n in names])
    ax.set_xticks(range(3), [labels[n] for n in names], fontsize=8)
    top = 1.0 if share else max(values.values()) * 1.15
    ax.set_ylim(0, top * 1.12)
    if share:
        ax.set_yticks(np.linspace(0, 1, 6))
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(1.0))
    ax.set_title(title, fontsize=10)
    for i, n in enumerate(names):
        ax.text(i, values[n] + 0.02 * top, f"{values[n]:.0%}" if share else f"{values[n]:.2f}",
                ha="center", fontsize=8)
run.save_figure(fig, "comparison.png")
run.show("comparison.png", "Four panels comparing real Bach excerpts, network pieces and Markov "
         "pieces: grouped bars of the share of each of the 12 pitch classes; the mean distance "
         "from each piece's pitch-class histogram to the closest held-out chorale; the share of "
         "notes in the estimated key; the share of steps whose notes form a major or minor triad.",
         "Closer to the dark bars is better. Over all pieces together both models use the 12 "
         "notes in about Bach's proportions; piece by piece, and above all in the harmony, the "
         "independent Markov voices fall apart.")

# %% [markdown]
# ## The same network in your browser
#
# The page plays with this very network: it is exported with what the page needs to know
# about the tokens (pitch range, the two special tokens, the grid and the tempo) into a script
# file that the page loads, and a few lines of JavaScript run the same embeddings, GRU step and
# output layer. Sampling is split from randomness so that the page and Python provably compose
# the same piece from the same seed: `pick_index` turns one uniform number in [0, 1) into a
# token by walking the cumulative probabilities, and `compose_with_draws` writes a piece with
# one such number per token. Given a melody, it *harmonises*: the soprano token at every step
# is the melody's, not a draw, and the network writes the three lower voices under it (it
# hears the melody up to the current note, not ahead of it). The page offers the opening
# soprano lines of a few held-out chorales to harmonise, or a melody the reader types.


# %%
def chorale_step(model):
    """One token through a trained (or reloaded) model: (token, voice, phase, state) ->
    (logits, state), each argument of shape (1,)."""
    emb_t, emb_v, emb_p = (model.get_layer(k) for k in ("token_embedding", "voice_embedding",
                                                        "phase_embedding"))
    cell, head = model.get_layer("gru").cell, model.get_layer("next_token")

    @tf.function(autograph=False, reduce_retracing=True)
    def step(token, voice, phase, state):
        h, _ = cell(emb_t(token) + emb_v(voice) + emb_p(phase), [state])
        return head(h), h

    return step


def compose_with_draws(step, units, steps, phase, draws, temperature, melody=None):
    """(steps, 4) tokens, one draw per sampled token. With `melody` ((steps,) soprano tokens)
    the soprano is given and only the three lower voices are drawn."""
    draws = iter(draws)
    state = tf.zeros((1, units))
    token, out = BOS, np.zeros((steps, 4), dtype=np.int32)
    for t in range(steps * 4):
        s, v = divmod(t, 4)
        logits, state = step(tf.constant([token], "int32"), tf.constant([v], "int32"),
                             tf.constant([(phase + s) % STEPS_PER_BAR], "int32"), state)
        if melody is not None and v == 0:
            token = int(melody[s])
        else:
            token = pick_index(logits.numpy()[0], temperature, next(draws), banned=[BOS])
        out[s, v] = token
    return out


LIVE_MELODIES = 4
live_melodies = [dict(name=c["name"], phase=int(c["phase"]),
                      tokens=encode(c["pitch"][:PIECE_STEPS], c["struck"][:PIECE_STEPS])[:, 0].tolist())
                 for c in heldout[:LIVE_MELODIES]]
phase_counts = np.bincount([c["phase"] for c in train], minlength=STEPS_PER_BAR)
probe = [a[:1, :64] for a in pad(heldout_seqs[:1])[0][:3]]
# Half-size float16 weights are kept only if they move no logit by more than this; a logit
# that moves by 0.005 changes its token's probability by about 1% of itself at most.
LIVE_FLOAT16_TOLERANCE = 5e-3
live_export = _live.export_model(
    run, model, "model",
    meta=dict(vocab=VOCAB, rest=REST, bos=BOS, pitch_lo=PITCH_LO, pitch_hi=PITCH_HI,
              voices=list(VOICES), step_quarter_notes=STEP, steps_per_bar=STEPS_PER_BAR,
              piece_steps=PIECE_STEPS, tempo_bpm=TEMPO_BPM, temperature=hp.temperature,
              embeddings=["token_embedding", "voice_embedding", "phase_embedding"],
              start_phase_counts=phase_counts.tolist(), melodies=live_melodies),
    probe=probe, tolerance=LIVE_FLOAT16_TOLERANCE)
print(f"exported for the page: {live_export['bytes'] / 1e3:.0f} kB of {live_export['dtype']} "
      f"weights (largest change to the logits: {live_export['max_abs_diff']:.1e})")

# %% [markdown]
# ## Metrics
#
# Losses are in nats per token on the held-out chorales. `pitch_class_l1_*` compares whole sets,
# `pitch_class_nearest_l1_*` single pieces (see above); `*_real` is the real-music yardstick for
# each measure.
# `live_model_bytes` is the size of the script file that carries the network to the page,
# `live_model_float16` whether its weights are stored as float16, and `live_model_max_abs_diff`
# the largest change that storage made to a logit on a held-out chorale (0 for float32).

# %%
run.save_metrics({
    "heldout_nll_network": network_heldout_nll,
    "heldout_nll_markov": markov_nll,
    "pitch_class_l1_network": pch_l1["network"],
    "pitch_class_l1_markov": pch_l1["markov"],
    "pitch_class_l1_real": pch_l1["real"],
    "pitch_class_nearest_l1_network": pch_nearest["network"],
    "pitch_class_nearest_l1_markov": pch_nearest["markov"],
    "pitch_class_nearest_l1_real": pch_nearest["real"],
    "in_key_share_network": in_key["network"],
    "in_key_share_markov": in_key["markov"],
    "in_key_share_real": in_key["real"],
    "consonant_share_network": consonance["network"],
    "consonant_share_markov": consonance["markov"],
    "consonant_share_real": consonance["real"],
    "midi_parse_share": parse_share,
    "midi_roundtrip_exact_share": exact_share,
    "n_train_chorales": len(train),
    "n_heldout_chorales": len(heldout),
    "n_pieces": hp.n_pieces,
    "live_model_bytes": live_export["bytes"],
    "live_model_float16": float(live_export["dtype"] == "float16"),
    "live_model_max_abs_diff": live_export["max_abs_diff"],
})
