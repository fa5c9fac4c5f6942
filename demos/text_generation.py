"""Text generation: n-grams, a recurrent network and a transformer write Python documentation

Three kinds of character-level language model read Python's own reference documentation and
learn to guess the next character: counting models (character n-grams of orders 3, 5 and 7,
interpolated Kneser-Ney), a small recurrent network (a GRU) and a small decoder-only transformer
(causal self-attention). All are scored in bits per character on the same held-out topics; the
two networks get about the same training time, and their held-out cost is tracked against
training seconds. Sampling from the GRU's guesses writes new text, in this page and live in the
reader's browser.

Data: the help topics bundled with Python (pydoc_data.topics, about 465,000 characters); the alphabetical tail, "typesfunctions" to "yield" (about 11%), is held out.
Run time: quick ~40 s; default ~5 min on 2 CPU cores (about 2 min of training for each network; see BENCHMARKS.md for what a cold build measured).
Outputs: learning_curve.png, loss.png, attention.png, typing.gif, samples.txt, model.js, model.keras, metrics.json
Samples: samples.txt: the text the GRU wrote from one prompt at each sampling temperature, plain UTF-8
with a `=== temperature ... ===` line before each sample
Headline: typing.gif
Page: introduction/overview.md#text-generation
"""

import math
import time

import keras
import matplotlib
import matplotlib.pyplot as plt
from matplotlib.colors import PowerNorm
import numpy as np
import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont
from pydoc_data.topics import topics

import _live
from _live import pick_index  # one uniform draw -> one index, as the page does it
from _shared import start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(train_chars=60_000, units=64, embed_dim=32, seq_len=64, batch=32, gru_steps=90,
                  learning_rate=1e-2, width=64, depth=2, heads=2, context=64, dropout=0.0,
                  transformer_batch=32, transformer_steps=40, transformer_learning_rate=5e-3,
                  warmup_steps=5, checkpoint_every=10, curve_windows=64,
                  sample_chars=200, gif_chars=120, gif_chars_per_frame=6),
    # The step counts are chosen so that each network trains for about the same time: measured
    # on this (busy) 2-core machine, a GRU step took 0.54 s and a transformer step 0.60 s. The
    # seconds measured in each run are in the metrics. More GRU steps do not help: with 1,300
    # it scored 1.803 on the held-out text while its training cost fell to 1.13 (overfitting).
    # 1,100 and 1,000 steps (transformer 1.754, GRU 1.778) took 16 min in all on the busy
    # machine, far over the 5 minutes this demo may take: the counts below cut that to about
    # a third, and the page shows what they reach.
    "default": dict(train_chars=None, units=256, embed_dim=64, seq_len=100, batch=64,
                    gru_steps=500, learning_rate=5e-3, width=128, depth=2, heads=4,
                    context=128, dropout=0.0, transformer_batch=32, transformer_steps=450,
                    transformer_learning_rate=4e-3, warmup_steps=50, checkpoint_every=25,
                    curve_windows=200, sample_chars=600, gif_chars=330, gif_chars_per_frame=6),
}
# Topics are ordered alphabetically; this one and all after it form the held-out split.
FIRST_HELDOUT_TOPIC = "typesfunctions"
TEMPERATURES = {"low": 0.3, "medium": 0.7, "high": 1.2}
PROMPT = 'The "while" statement\n*********************\n\n'
NGRAM_ORDERS = (3, 5, 7)
# The sentence whose attention map is drawn: our own words, with a repeated phrase to look back at.
ATTENTION_SENTENCE = "The list is sorted in place; the sorted list is returned."
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The data: Python's built-in help pages
#
# Every Python installation carries the text that `help("if")` or `help("lists")` prints: a few
# dozen topics from the language reference, stored in the module `pydoc_data.topics`. Together
# they are English prose mixed with grammar rules, code examples and tables, which makes them a
# demanding little corpus for a character-level model.
#
# We glue the topics together in alphabetical order and hold out the tail: every topic from
# `typesfunctions` to `yield` is never used for training (mostly the pages on built-in types
# such as sequences and dictionaries, plus a few statements). Every model is judged on how well it
# predicts those unseen pages. The models read raw characters, so the vocabulary is simply the
# set of characters in the training text, plus one spare symbol for anything unseen.


# %%
def split_topics(pages, first_heldout):
    """Concatenate topics alphabetically; return (train text, held-out text, held-out names)."""
    names = sorted(pages)
    cut = names.index(first_heldout)
    return ("".join(pages[n] for n in names[:cut]), "".join(pages[n] for n in names[cut:]),
            names[cut:])


def build_vocabulary(text):
    """The sorted characters of `text`; id len(chars) is kept for characters never seen."""
    return sorted(set(text))


def encode(text, chars):
    index = {c: i for i, c in enumerate(chars)}
    return np.array([index.get(c, len(chars)) for c in text], dtype="int32")


train_text, val_text, val_names = split_topics(topics, FIRST_HELDOUT_TOPIC)
if hp.train_chars:
    train_text = train_text[: hp.train_chars]
chars = build_vocabulary(train_text)
vocab_size = len(chars) + 1
# One stream, training text first: the first held-out characters may look back into it for
# context, but only held-out characters are ever scored.
ids = encode(train_text + val_text, chars)
val_start = len(train_text)
print(f"{len(topics)} topics; {len(train_text):,} training characters, {len(val_text):,} "
      f"held-out characters ({len(val_names)} topics: {', '.join(val_names)}); "
      f"vocabulary of {vocab_size} symbols")

# %% [markdown]
# ## How to score a language model: bits per character
#
# A language model does not output one guess; it outputs a probability for every possible next
# character. If the character that really comes next got probability $p$, the model "pays"
# $-\log_2 p$ bits for it: 0 bits when it was certain and right, 1 bit when it gave the right
# character even odds, many bits when it was surprised. Averaged over the held-out text, this
# is the **bits per character** (bpc), the cross-entropy of the model on text it never saw.
# Lower is better.
#
# The number has a concrete meaning: a compressor driven by the model's predictions (arithmetic
# coding) would store the held-out text in about that many bits per character. Some yardsticks:
# a model that spreads its bets evenly over our symbols pays $\log_2$ (number of symbols) bits on
# every character, and storing text as one byte per character spends 8 bits.


# %%
def bits_per_char(probs):
    """Mean of -log2 p over the probabilities given to the characters that actually came."""
    probs = np.asarray(probs, dtype="float64")
    return float(-np.mean(np.log2(probs)))


print(f"spreading bets evenly over {vocab_size} symbols costs "
      f"{bits_per_char(np.full(10, 1 / vocab_size)):.2f} bits per character")

# %% [markdown]
# ## The baselines: character n-gram models
#
# Before training a neural network we ask what plain counting achieves. An order-$n$ model
# predicts the next character from the $n-1$ characters before it, using how often each
# continuation followed that context in the training text. Contexts that were rare or never
# seen need *smoothing*: we use interpolated Kneser-Ney, which subtracts a small discount from
# every count and hands the freed probability to a shorter context, whose counts record in how
# many different contexts a string appeared (not how often). Counting is done with NumPy on
# integer codes of the n-grams, so fitting takes seconds. We fit orders 3, 5 and 7 on exactly the
# training text the network sees and score them on the same held-out characters. Longer contexts
# predict better as long as the training text holds enough examples of them; at some order the
# counts become too thin to help.


# %%
class KneserNeyCharModel:
    """Interpolated Kneser-Ney character n-gram model, counted with NumPy.

    An n-gram is stored as one integer (its characters as digits in base vocab_size). For each
    length k we keep the sorted k-gram codes with their counts (raw counts at the top order,
    continuation counts below) and, per context, the total count and the number of distinct
    followers. The discount of each order is n1 / (n1 + 2 n2) from its count-of-counts.
    """

    def __init__(self, ids, order, vocab_size):
        ids = np.asarray(ids, dtype="int64")
        self.order, self.vocab_size = order, vocab_size
        self.tables = []
        longer = None
        for k in range(order, 0, -1):
            codes = np.zeros(len(ids) - k + 1, dtype="int64")
            for j in range(k):
                codes = codes * vocab_size + ids[j: len(ids) - k + 1 + j]
            if longer is None:
                grams, counts = np.unique(codes, return_counts=True)
            else:
                # Continuation count: how many distinct characters preceded this k-gram.
                grams, counts = np.unique(longer % vocab_size**k, return_counts=True)
            longer = np.unique(codes)
            n1, n2 = np.sum(counts == 1), np.sum(counts == 2)
            discount = n1 / (n1 + 2 * n2) if n1 + 2 * n2 > 0 else 0.5
            contexts, inverse = np.unique(grams // vocab_size, return_inverse=True)
            self.tables.insert(0, (grams, counts.astype("float64"), contexts,
                                   np.bincount(inverse, weights=counts), np.bincount(inverse),
                                   discount))

    def prob(self, contexts, nexts):
        """p(next | context) for rows of `contexts` (the preceding order-1 ids, oldest first)."""
        nexts = np.asarray(nexts, dtype="int64")
        contexts = np.asarray(contexts, dtype="int64").reshape(len(nexts), self.order - 1)
        p = np.full(len(nexts), 1.0 / self.vocab_size)
        for k in range(1, self.order + 1):
            grams, counts, ctx, ctx_total, ctx_types, d = self.tables[k - 1]
            h = np.zeros(len(nexts), dtype="int64")
            for j in range(self.order - k, self.order - 1):
                h = h * self.vocab_size + contexts[:, j]
            count = _lookup(grams, counts, h * self.vocab_size + nexts)
            seen = _lookup(ctx, np.ones(len(ctx)), h) > 0
            total = np.maximum(_lookup(ctx, ctx_total, h), 1.0)
            types = _lookup(ctx, ctx_types, h)
            # Unseen context: keep the shorter context's estimate unchanged.
            p = np.where(seen, np.maximum(count - d, 0) / total + d * types / total * p, p)
        return p

    def score(self, ids, start):
        """Probabilities given to ids[start:], each from the order-1 ids before it."""
        ids = np.asarray(ids, dtype="int64")
        pos = np.arange(start, len(ids))
        contexts = np.zeros((len(pos), self.order - 1), dtype="int64")
        for j in range(self.order - 1):
            contexts[:, j] = ids[pos - self.order + 1 + j]
        return self.prob(contexts, ids[pos])


def _lookup(keys, values, query):
    """values[i] where keys[i] == query (keys sorted), else 0."""
    i = np.searchsorted(keys, query).clip(0, len(keys) - 1)
    return np.where(keys[i] == query, values[i], 0.0)


ngram_bpc, ngram_probs = {}, {}
for order in NGRAM_ORDERS:
    ngram = KneserNeyCharModel(ids[:val_start], order, vocab_size)
    ngram_probs[order] = ngram.score(ids, val_start)  # one per held-out character, in order
    ngram_bpc[order] = bits_per_char(ngram_probs[order])
    print(f"{order}-gram (Kneser-Ney): {ngram_bpc[order]:.3f} bits per held-out character")

# %% [markdown]
# ## Scoring a neural model on held-out text
#
# The n-gram models look back a fixed number of characters. A neural model reads a stretch of
# text and predicts every next character in it at once, so scoring one means choosing how much
# earlier text it may read first. We use two layouts, and both score every held-out character
# exactly once and in order:
#
# - **long rows** (for the recurrent network): the held-out split is cut into 32 pieces read
#   side by side, each preceded by 100 characters that warm up the network's memory and are not
#   scored;
# - **overlapping windows** (for the transformer, which can only look back a fixed number of
#   characters, its *context*): windows of `context` characters that overlap by half, scoring
#   only their second half, so every scored character sees at least half a context before it.
#
# Scoring all held-out text takes a few seconds, too long to repeat often during training. For
# the learning curves we therefore score a fixed sample of the overlapping windows, the same
# sample for both networks, and the final numbers on all the held-out text.


# %%
def heldout_chunks(ids, start, n_chunks, warm):
    """Inputs, targets and a scoring mask that cover ids[start:] exactly once, in n_chunks rows.

    Each row first reads `warm` earlier characters that are not scored, so no scored character
    lacks context. Rows are padded at the end; the mask is False there.
    """
    size = math.ceil((len(ids) - start) / n_chunks)
    x = np.zeros((n_chunks, warm + size), dtype="int32")
    y = np.zeros_like(x)
    mask = np.zeros(x.shape, dtype=bool)
    for r in range(n_chunks):
        a, b = start + r * size, min(start + (r + 1) * size, len(ids))
        if a >= b:
            continue
        lo = max(a - warm, 1)
        length = b - lo
        x[r, :length], y[r, :length] = ids[lo - 1: b - 1], ids[lo: b]
        mask[r, a - lo: length] = True
    return x, y, mask


def heldout_windows(ids, start, context):
    """Windows of `context` inputs that score ids[start:] exactly once, in order.

    Consecutive windows overlap by half; only the second half of each is scored, so every
    scored character is predicted from at least context // 2 characters before it. The last
    window is padded; the mask is False there.
    """
    stride = context // 2
    if start < context:
        raise ValueError(f"held-out text must start at least {context} characters in")
    n = math.ceil((len(ids) - start) / stride)
    x = np.zeros((n, context), dtype="int32")
    y = np.zeros_like(x)
    mask = np.zeros(x.shape, dtype=bool)
    for r in range(n):
        first = start + (r + 1) * stride - context   # position of the window's first target
        end = min(first + context, len(ids))
        x[r, : end - first], y[r, : end - first] = ids[first - 1: end - 1], ids[first: end]
        mask[r, context - stride: end - first] = True
    return x, y, mask


def true_char_probs(logits, targets, mask):
    """Softmax probability of each target character at the masked positions, from logits."""
    logits = np.asarray(logits, dtype="float64")
    logits = logits - logits.max(-1, keepdims=True)
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return np.exp(np.take_along_axis(log_p, targets[..., None], -1)[..., 0][mask])


def heldout_probs(model, x, y, mask):
    """The probability `model` gives each scored target (one per masked position, in order)."""
    return true_char_probs(model.predict(x, batch_size=256, verbose=0), y, mask)


x_val, y_val, mask_val = heldout_chunks(ids, val_start, n_chunks=32, warm=100)
x_win, y_win, mask_win = heldout_windows(ids, val_start, hp.context)
# The learning-curve sample: windows spread evenly over the whole held-out split.
sample_rows = np.linspace(0, len(x_win) - 1, hp.curve_windows).round().astype(int)
x_curve, y_curve, mask_curve = x_win[sample_rows], y_win[sample_rows], mask_win[sample_rows]
print(f"{len(x_win)} overlapping windows of {hp.context} characters cover the held-out text; "
      f"the learning curves score {int(mask_curve.sum()):,} of its characters")

# %% [markdown]
# ## One training loop, one budget
#
# Both networks minimise the bits paid on the training text, on batches of windows cut at a
# fresh random offset every pass, with the Adam optimiser and a learning rate that decays along
# a cosine to a twentieth of its start (large steps early, small steps at the end to settle).
# Each gets a fixed number of training steps, chosen so that the two take about the same time on
# an idle 2-core machine; the seconds they really took in this run are measured and reported.
# The clock runs only while training (including the one-off compilation of the training step),
# and stops while the held-out sample is scored every few steps.


# %%
def training_windows(ids, seq_len, batch, rng):
    """Shuffled (inputs, targets) windows of seq_len, from a random start; whole batches only."""
    offset = int(rng.integers(0, seq_len))
    n = (len(ids) - offset - 1) // seq_len
    starts = offset + np.arange(n) * seq_len
    windows = ids[starts[:, None] + np.arange(seq_len + 1)]
    windows = windows[rng.permutation(n)][: n // batch * batch]
    return windows[:, :-1], windows[:, 1:]


def train_with_checkpoints(model, ids, steps, seq_len, batch, every, rng, evaluate):
    """Train for `steps` batches; after every `every` steps stop the clock and call evaluate().

    Returns lists: steps done, training seconds so far (evaluation excluded), the training bits
    per character averaged over the steps since the last checkpoint, and evaluate()'s value.
    """
    log = dict(step=[], seconds=[], train_bpc=[], heldout_bpc=[])
    x_left = y_left = np.zeros((0, seq_len), dtype="int32")
    done, seconds = 0, 0.0
    while done < steps:
        n = min(every, steps - done)
        while len(x_left) < n * batch:   # a new pass over the training text, freshly cut
            x_new, y_new = training_windows(ids, seq_len, batch, rng)
            x_left, y_left = np.concatenate([x_left, x_new]), np.concatenate([y_left, y_new])
        x, y = x_left[: n * batch], y_left[: n * batch]
        x_left, y_left = x_left[n * batch:], y_left[n * batch:]
        t0 = time.perf_counter()
        history = model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
        seconds += time.perf_counter() - t0
        done += n
        log["step"].append(done)
        log["seconds"].append(seconds)
        log["train_bpc"].append(history.history["loss"][0] / math.log(2))
        log["heldout_bpc"].append(evaluate(model))
    return log


def curve_bpc(model):
    return bits_per_char(heldout_probs(model, x_curve, y_curve, mask_curve))


def compile_for_steps(model, learning_rate, steps, warmup_steps=0):
    """Adam with gradient clipping and a cosine decay over `steps` (after a linear warm-up)."""
    if warmup_steps:
        schedule = keras.optimizers.schedules.CosineDecay(
            0.0, steps - warmup_steps, alpha=0.05, warmup_target=learning_rate,
            warmup_steps=warmup_steps)
    else:
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05)
    model.compile(keras.optimizers.Adam(schedule, clipnorm=1.0),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))


# %% [markdown]
# ## The recurrent network
#
# The recurrent network reads one character at a time. An embedding turns each character into a
# short vector; a GRU (gated recurrent unit) layer updates a memory vector after every
# character, so in principle it can use everything it has read so far, not just the last few
# characters; a dense layer turns the memory into scores for each possible next character (a
# softmax makes them probabilities). It trains on windows of `seq_len` characters.

# %%
model = keras.Sequential([
    keras.Input((None,), dtype="int32"),
    keras.layers.Embedding(vocab_size, hp.embed_dim),
    keras.layers.GRU(hp.units, return_sequences=True),
    keras.layers.Dense(vocab_size),
])
compile_for_steps(model, hp.learning_rate, hp.gru_steps)
rng = np.random.default_rng(run.seed)
gru_log = train_with_checkpoints(model, ids[:val_start], hp.gru_steps, hp.seq_len, hp.batch,
                                 hp.checkpoint_every, rng, curve_bpc)
val_probs = heldout_probs(model, x_val, y_val, mask_val)  # one per held-out character, in order
bpc_gru = bits_per_char(val_probs)
print(f"GRU-{hp.units}: {model.count_params():,} parameters, {hp.gru_steps} steps in "
      f"{gru_log['seconds'][-1]:.0f} s of training; {bpc_gru:.3f} bits per held-out character "
      f"({int(mask_val.sum()):,} characters scored)")

# %% [markdown]
# ## The transformer
#
# A transformer has no memory that it carries from character to character. Instead, at every
# position it looks back at all the earlier positions of its window at once and decides which
# to draw on: **self-attention**. Each position $i$ computes a query $q_i$, and every position
# $j$ a key $k_j$ and a value $v_j$ (three learned linear maps of its vector). Position $i$ then
# takes a weighted average of the values, with weights
#
# $$a_{ij} = \frac{\exp(q_i \cdot k_j / \sqrt{d})}{\sum_{j' \le i} \exp(q_i \cdot k_{j'} / \sqrt{d})}, \qquad j \le i,$$
#
# where $d$ is the length of a key. The condition $j \le i$ is the **causal mask**: a position
# may not look at the characters it is about to predict, so one pass over a window of training
# text predicts every next character in it at once, honestly. Several *heads* attend in
# parallel, each with its own maps. Attention alone does not know where a character stands, so
# a learned **position embedding** is added to each character's embedding. A block is attention
# followed by a small two-layer network (an MLP) applied to each position on its own, each
# added back to its input (a residual connection) after a layer normalisation; we stack
# `depth` blocks and end with a dense layer that scores the next character, as in the GRU.
#
# The blocks below are built from Keras layers; `MultiHeadAttention` applies the causal mask
# itself (`use_causal_mask=True`). The transformer reads windows of `context` characters, so it
# never uses more than that: unlike the GRU, whose memory runs on, its view is bounded, and
# what it gains is that training reads all the window's positions in parallel instead of one
# after another.


# %%
class CausalSelfAttentionBlock(keras.layers.Layer):
    """One pre-norm transformer block: causal self-attention, then an MLP, each added back."""

    def __init__(self, width, heads, dropout, **kwargs):
        super().__init__(**kwargs)
        self.norm_attention = keras.layers.LayerNormalization(epsilon=1e-5)
        self.attention = keras.layers.MultiHeadAttention(heads, width // heads)
        self.norm_mlp = keras.layers.LayerNormalization(epsilon=1e-5)
        self.mlp_in = keras.layers.Dense(4 * width, activation="gelu")
        self.mlp_out = keras.layers.Dense(width)
        self.dropout = keras.layers.Dropout(dropout)

    def call(self, x, training=False, return_scores=False):
        h = self.norm_attention(x)
        attended, scores = self.attention(h, h, use_causal_mask=True,
                                          return_attention_scores=True, training=training)
        x = x + self.dropout(attended, training=training)
        x = x + self.dropout(self.mlp_out(self.mlp_in(self.norm_mlp(x))), training=training)
        return (x, scores) if return_scores else x


class CharTransformer(keras.Model):
    """A decoder-only transformer over characters: (batch, time) ids -> next-character logits."""

    def __init__(self, vocab_size, context, width, depth, heads, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.token_embedding = keras.layers.Embedding(vocab_size, width)
        self.position_embedding = keras.layers.Embedding(context, width)
        self.blocks = [CausalSelfAttentionBlock(width, heads, dropout) for _ in range(depth)]
        self.final_norm = keras.layers.LayerNormalization(epsilon=1e-5)
        self.head = keras.layers.Dense(vocab_size)
        self.dropout = keras.layers.Dropout(dropout)

    def embed(self, ids, training=False):
        positions = keras.ops.arange(keras.ops.shape(ids)[1])
        return self.dropout(self.token_embedding(ids) + self.position_embedding(positions),
                            training=training)

    def call(self, ids, training=False):
        h = self.embed(ids, training)
        for block in self.blocks:
            h = block(h, training=training)
        return self.head(self.final_norm(h))

    def attention_maps(self, ids):
        """Attention weights of every block, each (batch, heads, query, key)."""
        h, maps = self.embed(ids), []
        for block in self.blocks:
            h, scores = block(h, return_scores=True)
            maps.append(keras.ops.convert_to_numpy(scores))
        return maps


transformer = CharTransformer(vocab_size, hp.context, hp.width, hp.depth, hp.heads,
                              hp.dropout)
transformer(x_curve[:1])  # build the weights
# No XLA compilation: the site seeds every run with TensorFlow's op determinism switched on,
# and Keras then declines jit_compile. Reproducible runs cost the transformer speed here.
compile_for_steps(transformer, hp.transformer_learning_rate, hp.transformer_steps,
                  warmup_steps=hp.warmup_steps)
transformer_log = train_with_checkpoints(transformer, ids[:val_start], hp.transformer_steps,
                                         hp.context, hp.transformer_batch, hp.checkpoint_every,
                                         rng, curve_bpc)
bpc_transformer = bits_per_char(heldout_probs(transformer, x_win, y_win, mask_win))
print(f"transformer ({hp.depth} blocks, width {hp.width}, {hp.heads} heads, context "
      f"{hp.context}): {transformer.count_params():,} parameters, {hp.transformer_steps} steps "
      f"in {transformer_log['seconds'][-1]:.0f} s of training; {bpc_transformer:.3f} bits per "
      f"held-out character ({int(mask_win.sum()):,} characters scored)")

# %% [markdown]
# ## Learning curves
#
# Both networks on the same axes: held-out bits per character on the fixed sample, against the
# seconds spent training. The dashed line is the best n-gram model on the same sample of
# characters. Where a curve is still falling at its end, more seconds would have helped; where
# it has flattened, the model (at this size, on this much text) has saturated.


# %%
# Which held-out characters the sample scores (their offsets into the held-out text), so the
# n-gram models can be scored on exactly those.
offsets = np.full(x_win.shape, -1)
offsets[mask_win] = np.arange(int(mask_win.sum()))
curve_offsets = offsets[sample_rows][mask_curve]
best_order = min(ngram_bpc, key=ngram_bpc.get)
best_ngram = ngram_bpc[best_order]
best_ngram_curve = bits_per_char(ngram_probs[best_order][curve_offsets])
neural = {"GRU": bpc_gru, "transformer": bpc_transformer}
best_neural_name = min(neural, key=neural.get)
best_neural = neural[best_neural_name]

fig, ax = plt.subplots(figsize=(7.5, 4.4))
for name, log, colour in (("GRU", gru_log, "tab:blue"),
                          ("transformer", transformer_log, "tab:red")):
    ax.plot(log["seconds"], log["heldout_bpc"], "o-", ms=2.5, color=colour,
            label=f"{name}: {log['step'][-1]} steps, {log['seconds'][-1]:.0f} s "
                  f"(all held-out text: {neural[name]:.3f})")
ax.axhline(best_ngram_curve, color="black", ls="--",
           label=f"{best_order}-gram Kneser-Ney, the best n-gram ({best_ngram_curve:.3f})")
ax.axhline(0.95 * best_ngram_curve, color="grey", ls=":", label="0.95 x the best n-gram")
curves = gru_log["heldout_bpc"] + transformer_log["heldout_bpc"]
# Early points can be far above the rest; the axis stops 2 bits above the n-gram line.
ax.set_ylim(min(curves + [0.95 * best_ngram_curve]) - 0.1,
            min(max(curves), best_ngram_curve + 2.0) + 0.05)
ax.set_xlabel("training seconds (this run, evaluation excluded)")
ax.set_ylabel("held-out bits per character (sample)")
ax.set_title(f"Held-out cost while training; lowest on all held-out text: {best_neural_name} "
             f"({best_neural:.3f})", fontsize=10)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
run.save_figure(fig, "learning_curve.png")
run.show("learning_curve.png",
         "Line chart of held-out bits per character against training seconds, with a blue "
         "curve for the GRU, a red one for the transformer, a dashed horizontal line for the "
         "best n-gram model and a dotted one at 0.95 times it.",
         "Both networks against the clock on the same held-out sample. The dashed line is what "
         "counting achieves; the dotted one is the target of 5% below it.")

# %% [markdown]
# The same runs against passes over the training text (one pass is every training character
# read once), with the training cost beside the held-out one. The training figure is an average
# over the steps since the previous point, while the weights were still moving. A gap that
# widens between a network's two curves is that network starting to memorise its training
# pages.

# %%
fig, ax = plt.subplots(figsize=(7.5, 4.4))
for name, log, tokens, colour in (
        ("GRU", gru_log, hp.batch * hp.seq_len, "tab:blue"),
        ("transformer", transformer_log, hp.transformer_batch * hp.context, "tab:red")):
    passes = np.array(log["step"]) * tokens / val_start
    previous = np.concatenate([[0], passes[:-1]])
    ax.plot((passes + previous) / 2, log["train_bpc"], "--", color=colour, alpha=0.7,
            label=f"{name}, training text")
    ax.plot(passes, log["heldout_bpc"], "o-", ms=2.5, color=colour,
            label=f"{name}, held-out sample")
ngram_curve = {order: bits_per_char(ngram_probs[order][curve_offsets]) for order in NGRAM_ORDERS}
for order, colour in zip(NGRAM_ORDERS, ["tab:grey", "tab:green", "black"]):
    ax.axhline(ngram_curve[order], color=colour, ls=":",
               label=f"{order}-gram Kneser-Ney, held-out sample ({ngram_curve[order]:.3f})")
values = gru_log["train_bpc"] + gru_log["heldout_bpc"] + transformer_log["train_bpc"] \
    + transformer_log["heldout_bpc"] + list(ngram_curve.values())
ax.set_ylim(min(values) - 0.1, min(max(values), 4.0) + 0.1)
ax.set_xlabel("passes over the training text")
ax.set_ylabel("bits per character (lower is better)")
ax.set_title("Training and held-out cost of both networks")
ax.grid(alpha=0.3)
ax.legend(fontsize=7, ncol=2)
run.save_figure(fig, "loss.png")
run.show("loss.png",
         "Line chart of bits per character against passes over the training text: dashed "
         "training curves and solid held-out curves for the GRU (blue) and the transformer "
         "(red), and dotted horizontal lines for the 3-, 5- and 7-gram baselines.",
         "The held-out curves are what matter; the gap between a network's training and "
         "held-out curves shows how much of what it learnt fits only its training pages.")

# %% [markdown]
# ## Where the transformer looks
#
# Attention weights can be read directly: for each character of a sentence (a row) they say
# how much each earlier character (a column) contributed to its prediction of what comes next.
# The map shows the average over the heads of the last block, for one sentence of our own
# that the model never trained on. Everything above the diagonal is zero: that is the causal
# mask. Bright cells far left of the diagonal are places where the model reaches back, for
# example to an earlier copy of the word it is writing.


# %%
def show_char(c):
    return {" ": "\u2423", "\n": "\u23ce"}.get(c, c)


attention_ids = encode(ATTENTION_SENTENCE, chars)[None, :]
maps = transformer.attention_maps(attention_ids)
last_layer = maps[-1][0].mean(0)   # heads averaged: (query, key)
labels = [show_char(c) for c in ATTENTION_SENTENCE]
fig, ax = plt.subplots(figsize=(9, 8.6))
# A square-root colour scale: the first rows, with one or two keys to choose from, would
# otherwise take all the colour.
image = ax.imshow(last_layer, cmap="magma", norm=PowerNorm(0.5, vmin=0, vmax=1))
ax.set_xticks(range(len(labels)), labels, fontsize=7, family="DejaVu Sans Mono")
ax.set_yticks(range(len(labels)), labels, fontsize=7, family="DejaVu Sans Mono")
ax.tick_params(length=0)
ax.set_xlabel("key: the earlier character attended to")
ax.set_ylabel("query: the character whose next character is being predicted")
ax.set_title(f"Attention of block {len(maps)} (mean of {hp.heads} heads)", fontsize=10)
fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="attention weight")
run.save_figure(fig, "attention.png")
run.show("attention.png",
         "Square heat map of attention weights for one sentence, rows and columns labelled with "
         "its characters; the upper triangle is black, and bright cells sit on and left of the "
         "diagonal.",
         "Each row is one position of the sentence; its bright cells are the earlier characters "
         "the transformer's last block drew on there. The black upper triangle is the causal "
         "mask at work.")

# %% [markdown]
# ## Writing: sampling at three temperatures
#
# To write, we give the GRU a start (the heading of a held-out topic, `while`, which it never
# read), let it predict the next character, draw one character at random from those
# probabilities, append it and repeat. A **temperature** $T$ reshapes the probabilities before
# each draw, $p_i^{1/T}$ renormalised: at low $T$ the favourite characters win almost always
# (safe, repetitive text), at $T=1$ we sample the model as trained, and at high $T$ unlikely
# characters get a real chance (inventive, then broken, text). All three samples below come from
# the same model and the same start; all are saved raw in `samples.txt`.
#
# As a check on copying, we also measure how many of each sample's 20-character stretches occur
# word for word somewhere in the training text.


# %%
def apply_temperature(probs, temperature):
    """Reweight probabilities p -> p^(1/T), renormalised."""
    logp = np.log(np.maximum(np.asarray(probs, dtype="float64"), 1e-300)) / temperature
    w = np.exp(logp - logp.max(-1, keepdims=True))
    return w / w.sum(-1, keepdims=True)


def copied_share(sample, reference, n=20):
    """Share of the sample's n-character windows that occur verbatim in `reference`."""
    windows = [sample[i: i + n] for i in range(len(sample) - n + 1)]
    return float(np.mean([w in reference for w in windows])) if windows else 0.0


embedding, gru, dense = model.layers


@tf.function(autograph=False, reduce_retracing=True)
def next_char_probs(tokens, state):
    # One step of the trained layers: the GRU's own cell carries the memory between calls.
    h, _ = gru.cell(embedding(tokens), [state])
    return keras.ops.softmax(dense(h)), h


def generate(prompt, temperatures, length, rng):
    """Continue `prompt` once per temperature (in one batch); returns texts and probabilities."""
    rows = len(temperatures)
    state = tf.zeros((rows, hp.units))
    for token in encode(prompt, chars):
        probs, state = next_char_probs(tf.fill((rows,), token), state)
    texts, confidence = [[] for _ in range(rows)], [[] for _ in range(rows)]
    for _ in range(length):
        probs_np = probs.numpy().astype("float64")
        probs_np[:, len(chars)] = 0.0  # never write the "unseen character" symbol
        probs_np /= probs_np.sum(1, keepdims=True)
        picks = []
        for r, temperature in enumerate(temperatures):
            pick = int(rng.choice(vocab_size, p=apply_temperature(probs_np[r], temperature)))
            picks.append(pick)
            texts[r].append(chars[pick])
            confidence[r].append(probs_np[r, pick])
        probs, state = next_char_probs(tf.constant(picks, dtype="int32"), state)
    return ["".join(t) for t in texts], [np.array(c) for c in confidence]


texts, confidence = generate(PROMPT, list(TEMPERATURES.values()), hp.sample_chars, rng)
copied = {name: copied_share(text, train_text) for name, text in zip(TEMPERATURES, texts)}
with open(run.path("samples.txt"), "w", encoding="utf-8") as f:
    for (name, temperature), text in zip(TEMPERATURES.items(), texts):
        f.write(f"=== temperature {temperature} ({name}) ===\n{PROMPT}{text}\n\n")
for (name, temperature), text in zip(TEMPERATURES.items(), texts):
    print(f"----- temperature {temperature} ({name}); {copied[name]:.0%} of 20-character "
          f"stretches copied from the training text -----")
    print(PROMPT + text)
    print()

# %% [markdown]
# ## Watching it type
#
# The animation replays the start of the medium-temperature sample character by character.
# Each character is coloured by the probability the model gave it before the draw: dark
# characters were the model's confident choices, orange and red ones were long shots that the
# dice happened to pick. Surprises tend to come at the starts of words, where many
# continuations are plausible; once a word has begun, its remaining letters are far easier to
# guess. The held-out text lets us check this in numbers: after the animation we split the
# model's held-out cost between the first letter of each word and the letters that follow it.


# %%
def layout(text, width):
    """(row, column) of each character, wrapped at newlines and before words that would
    overflow `width` columns (a word longer than a line is cut)."""
    row, col, places = 0, 0, []
    for i, ch in enumerate(text):
        if ch not in " \n" and (i == 0 or text[i - 1] in " \n") and col > 0:
            end = i
            while end < len(text) and text[end] not in " \n":
                end += 1
            if col + (end - i) > width:
                row, col = row + 1, 0
        # A space that reaches the edge stays there, invisible, so no line starts with one.
        if col >= width and ch not in " \n":
            row, col = row + 1, 0
        places.append((row, col))
        if ch == "\n":
            row, col = row + 1, 0
        else:
            col += 1
    return places


CONFIDENCE_BANDS = [(0.5, (30, 30, 30), "p > 0.5"), (0.2, (40, 110, 200), "0.2-0.5"),
                    (0.05, (230, 130, 20), "0.05-0.2"), (0.0, (200, 30, 30), "< 0.05")]


def typing_frames(prompt, text, confidence, title, font_path, per_frame, width=64, rows=12):
    """Frames of `text` appearing after `prompt`, coloured by confidence, as PIL images."""
    font = ImageFont.truetype(font_path, 13)
    small = ImageFont.truetype(font_path, 11)
    cw = font.getbbox("M")[2]
    lh = 17
    full = prompt + text
    places = layout(full, width)
    margin, top = 10, 44
    size = (2 * margin + width * cw, top + rows * lh + 24)
    colours = [(150, 150, 150)] * len(prompt) + [
        next(c for lo, c, _ in CONFIDENCE_BANDS if p > lo or lo == 0.0) for p in confidence]
    frames = []
    for shown in list(range(len(prompt), len(full), per_frame)) + [len(full)]:
        im = Image.new("RGB", size, (255, 255, 255))
        draw = ImageDraw.Draw(im)
        draw.text((margin, 8), title, fill=(0, 0, 0), font=small)
        first_row = max(0, places[shown - 1][0] - rows + 1)
        for i in range(shown):
            r, c = places[i]
            if r >= first_row and full[i] != "\n":
                draw.text((margin + c * cw, top + (r - first_row) * lh), full[i],
                          fill=colours[i], font=font)
        r, c = places[shown - 1]
        cursor_r, cursor_c = (r + 1, 0) if full[shown - 1] == "\n" else (r, c + 1)
        if cursor_r - first_row < rows:
            x0, y0 = margin + cursor_c * cw, top + (cursor_r - first_row) * lh
            draw.rectangle([x0, y0 + 2, x0 + cw - 2, y0 + lh - 2], fill=(120, 120, 120))
        x, ylegend = margin, 22
        draw.text((x, ylegend), "model's probability:", fill=(0, 0, 0), font=small)
        x += small.getbbox("model's probability: ")[2]
        for _, colour, label in CONFIDENCE_BANDS:
            draw.rectangle([x, ylegend + 2, x + 10, ylegend + 12], fill=colour)
            draw.text((x + 14, ylegend), label, fill=(0, 0, 0), font=small)
            x += 22 + small.getbbox(label)[2]
        frames.append(im)
    return frames


font_path = f"{matplotlib.get_data_path()}/fonts/ttf/DejaVuSansMono.ttf"
medium = list(TEMPERATURES).index("medium")
frames = typing_frames(PROMPT, texts[medium][: hp.gif_chars], confidence[medium][: hp.gif_chars],
                       f"GRU-{hp.units} writing at temperature {TEMPERATURES['medium']} "
                       "(grey: the given start)", font_path, hp.gif_chars_per_frame)
run.save_gif(frames, "typing.gif", duration_ms=120, hold_last_ms=3000)
print(f"{len(frames)} frames")
run.show("typing.gif",
         "Animation of monospaced text being typed a few characters at a time after the grey "
         "heading 'The while statement'; most characters are dark, some blue, orange or red.",
         "Colours show how likely the model found each character it wrote: the rare orange and "
         "red ones are where the random draw took a long shot.")


# %%
def word_position_masks(text):
    """Two boolean arrays over `text`: letters that begin a word, and letters inside a word."""
    letter = np.array([c.isalpha() for c in text], dtype=bool)
    word_char = np.array([c.isalnum() or c == "_" for c in text], dtype=bool)
    after_word_char = np.concatenate([[False], word_char[:-1]])
    return letter & ~after_word_char, letter & after_word_char


word_start, word_inside = word_position_masks(val_text)
bpc_word_start = bits_per_char(val_probs[word_start])
bpc_word_inside = bits_per_char(val_probs[word_inside])
print(f"held-out cost: {bpc_word_start:.2f} bits on the first letter of a word "
      f"({word_start.sum():,} letters), {bpc_word_inside:.2f} bits on the letters after it "
      f"({word_inside.sum():,} letters)")

# %% [markdown]
# ## The same model in your browser
#
# The page lets you write with this very network: it is exported with its vocabulary into a
# script file that the page loads, and a few lines of JavaScript run the same embedding, GRU
# step and output layer. To make the browser and Python provably write the same text, sampling
# is split from randomness: `pick_index` turns one uniform number in [0, 1) into a character
# by walking the cumulative probabilities, and `write_with_draws` continues an opening with
# one such number per character. The page draws its numbers from a small seeded generator
# (mulberry32) that Python can replay, so a seed shown on the page names a text exactly. The
# opening's characters that the model never saw in training are skipped and reported, not fed
# in as the spare symbol.


# %%
def text_step(model):
    """One character through a trained (or reloaded) model: (ids (1,), state) -> (logits, state)."""
    embedding_layer, gru_layer, dense_layer = model.layers

    @tf.function(autograph=False, reduce_retracing=True)
    def step(token, state):
        h, _ = gru_layer.cell(embedding_layer(token), [state])
        return dense_layer(h), h

    return step


def write_with_draws(step, units, chars, prompt, draws, temperature):
    """Continue `prompt` with one character per uniform draw. Characters of the prompt that are
    not in `chars` are skipped. Returns (text written, sorted skipped characters)."""
    index = {c: i for i, c in enumerate(chars)}
    known = [index[c] for c in prompt if c in index]
    skipped = sorted({c for c in prompt if c not in index})
    if not known:
        raise ValueError("the opening has no character the model knows: type some text first")
    state = tf.zeros((1, units))
    for token in known:
        logits, state = step(tf.constant([token], dtype="int32"), state)
    written = []
    for draw in draws:
        # The spare "unseen character" symbol (the last id) is never written.
        pick = pick_index(logits.numpy()[0], temperature, draw, banned=[len(chars)])
        written.append(chars[pick])
        logits, state = step(tf.constant([pick], dtype="int32"), state)
    return "".join(written), skipped


LIVE_TEMPERATURE = TEMPERATURES["medium"]
LIVE_CHECK_CHARS = 200
probe_ids = encode(PROMPT * 2, chars)[None, :]
# Half-size float16 weights are kept only if they move no logit by more than this; a logit
# that moves by 0.005 changes its character's probability by about 1% of itself at most.
LIVE_FLOAT16_TOLERANCE = 5e-3
live_export = _live.export_model(
    run, model, "model",
    meta=dict(chars="".join(chars), prompt=PROMPT, temperature=LIVE_TEMPERATURE, seed=run.seed,
              max_prompt_chars=2000),
    probe=probe_ids, tolerance=LIVE_FLOAT16_TOLERANCE)
# What the page writes for this seed: the exported network (its weights as the page gets them),
# the page's random numbers replayed, the shared sampler.
page_model = keras.saving.load_model(run.out / "model.keras", compile=False)
draw = _live.rng(run.seed)
live_text, _ = write_with_draws(text_step(page_model), hp.units, chars, PROMPT,
                                [draw() for _ in range(LIVE_CHECK_CHARS)], LIVE_TEMPERATURE)
print(f"exported for the page: {live_export['bytes'] / 1e3:.0f} kB of {live_export['dtype']} "
      f"weights (largest change to the logits: {live_export['max_abs_diff']:.1e}). With seed "
      f"{run.seed} at temperature {LIVE_TEMPERATURE} the page writes:\n{PROMPT}{live_text}")


# %% [markdown]
# ## Metrics
#
# All bits-per-character figures are on the same held-out characters (the topics listed at the
# top), computed in this run: `bpc_val_gru` with the long rows, `bpc_val_transformer` with the
# overlapping windows, the n-grams from their own contexts. `bpc_best_ngram` and
# `bpc_best_neural` are the lowest of each kind; `bpc_ratio_best_neural_to_best_ngram` divides
# the two (the target is at most 0.95), and `best_neural_is_transformer` is 1 when the
# transformer is the lower of the two networks. `bpc_margin_over_best_ngram` is the best
# baseline's bpc minus the GRU's (positive: the GRU predicts unseen text better than counting),
# and `bpc_margin_transformer_over_best_ngram` the same for the transformer.
# `train_seconds_*` are the measured training seconds of each network in this run (evaluation
# excluded, compilation included), `train_steps_*` its steps, `params_*` its weights and
# `train_characters_per_step_*` the characters in one batch. `bpc_curve_best_ngram` is the best
# n-gram on the learning curves' sample of `curve_characters` held-out characters;
# `bpc_curve_*_last` each network's last point there. `bpc_train_gru_last_epoch` is the GRU's
# training cost averaged over its last steps (since the previous checkpoint).
# `bpc_val_gru_word_start` and `bpc_val_gru_word_inside` split the GRU's held-out cost between
# the first letter of each word and the letters after it. The `copied20_*` figures are the share
# of 20-character stretches of each sample found verbatim in the training text.
# `live_model_bytes` is the size of the script file that carries the network to the page,
# `live_model_float16` whether its weights are stored as float16, and `live_model_max_abs_diff`
# the largest change that storage made to a logit on the probe text (0 for float32).

# %%
run.save_metrics({
    "bpc_val_gru": bpc_gru,
    "bpc_val_transformer": bpc_transformer,
    **{f"bpc_val_ngram{order}": ngram_bpc[order] for order in NGRAM_ORDERS},
    "bpc_best_ngram": best_ngram,
    "best_ngram_order": best_order,
    "bpc_best_neural": best_neural,
    "best_neural_is_transformer": float(best_neural_name == "transformer"),
    "bpc_ratio_best_neural_to_best_ngram": best_neural / best_ngram,
    "bpc_margin_over_best_ngram": best_ngram - bpc_gru,
    "bpc_margin_transformer_over_best_ngram": best_ngram - bpc_transformer,
    "train_seconds_gru": gru_log["seconds"][-1],
    "train_seconds_transformer": transformer_log["seconds"][-1],
    "train_steps_gru": hp.gru_steps,
    "train_steps_transformer": hp.transformer_steps,
    "train_characters_per_step_gru": hp.batch * hp.seq_len,
    "train_characters_per_step_transformer": hp.transformer_batch * hp.context,
    "params_gru": model.count_params(),
    "params_transformer": transformer.count_params(),
    "transformer_context": hp.context,
    "curve_characters": float(mask_curve.sum()),
    "bpc_curve_best_ngram": best_ngram_curve,
    "bpc_curve_gru_last": gru_log["heldout_bpc"][-1],
    "bpc_curve_transformer_last": transformer_log["heldout_bpc"][-1],
    "bpc_train_gru_last_epoch": gru_log["train_bpc"][-1],
    "bpc_train_transformer_last": transformer_log["train_bpc"][-1],
    "bpc_val_gru_word_start": bpc_word_start,
    "bpc_val_gru_word_inside": bpc_word_inside,
    "bpc_uniform_guess": math.log2(vocab_size),
    "val_characters": float(mask_val.sum()),
    **{f"copied20_{name}_temperature": copied[name] for name in TEMPERATURES},
    "live_model_bytes": live_export["bytes"],
    "live_model_float16": float(live_export["dtype"] == "float16"),
    "live_model_max_abs_diff": live_export["max_abs_diff"],
})
