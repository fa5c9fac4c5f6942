"""How generative models work: the autoregressive model

A small PixelCNN reads a digit's pixels in order, left to right and top to bottom, and gives for
each pixel a probability for each of the 17 grey levels, knowing only the pixels before it.
Multiplying those 64 answers gives the exact probability of a whole digit; drawing them one at a
time gives a new digit, pixel by pixel. The shared bench scores its samples like every other
family's.

Data: scikit-learn's bundled digits, the bench's fixed split (1,347 training, 450 held-out digits); the model sees only the training split.
Run time: quick ~20 s, default ~3 min on 2 CPU cores (training budget: a fixed number of steps, about 150 s).
Outputs: sampling.gif, samples.png, next_pixel.png, training_curves.png, closest.png, samples.npz, judge.sha256, metrics.json
Samples: samples.npz: 1,000 PixelCNN digits (grey level / 16), `images` float32 (N, 8, 8) in [0, 1] and `labels` (the judge's reading), load with numpy.load
Headline: sampling.gif
Page: models/autoregressive.md
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from PIL import Image, ImageDraw, ImageFont

from _shared import (BENCH_SAMPLES, GREY_LEVELS, PIXELS, DigitBench, bits_per_pixel,
                     closest_pairs_image, count_parameters, family_metrics, image_grid,
                     save_digit_samples, start, timed)

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
# `steps` is the family's training budget: the same wall-clock budget for every family on the
# bench (about 150 s on a 2-core machine; measured: 2,000 steps took 238 s at load ~5).
PROFILES = {
    "quick": dict(steps=60, checkpoints=2, batch=64, width=16, blocks=1, dropout=0.3,
                  learning_rate=1e-3),
    "default": dict(steps=1300, checkpoints=10, batch=64, width=64, blocks=4, dropout=0.3,
                    learning_rate=1e-3),
}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The bench
#
# Like every family on these pages, the model trains on the bench's 1,347 training digits and
# is judged on the same 450 held-out digits by the same classifier (its weights' hash goes to
# `judge.sha256`). An autoregressive model works directly on the data as it is stored: each
# pixel is one of 17 grey levels, 0 to 16, so there is nothing to scale or dequantize.

# %%
bench = DigitBench.for_run(run)
levels_train, levels_test = bench.levels_train.astype("int32"), bench.levels_test.astype("int32")
rng = np.random.default_rng(run.seed)
print(f"{len(levels_train)} training digits of {PIXELS} pixels, each one of {GREY_LEVELS} levels")

# %% [markdown]
# ## The idea: one pixel at a time
#
# Any probability over 64 pixels can be written, without loss, as a chain of 64 smaller
# questions: how likely is the first pixel; then the second, given the first; and so on,
#
# $$p(x) = \prod_{i=1}^{64} p\big(x_i \mid x_1, \dots, x_{i-1}\big)$$
#
# Each factor is just a 17-way classification: given the pixels so far, which grey level comes
# next? A network that answers all 64 of those questions gives the *exact* probability of any
# digit (multiply its answers for the digit's actual levels), so it can be trained by plain
# maximum likelihood, the same cross-entropy as a classifier, and scored on held-out digits
# with no approximation. The price is paid when drawing: the pixels must be drawn in order, one
# network evaluation each, because every pixel waits for the ones before it.
#
# **Masked convolutions.** A PixelCNN answers all 64 questions in one pass over a whole digit
# during training, by masking its convolution kernels so that no output can see its own pixel
# or any later one. The first layer's kernel is 15x15, larger than the image, and is masked to
# the rows above and the pixels to the left ("mask A", which also hides the centre), so every
# position sees *all* the pixels before it in reading order and none after. Later layers are
# 3x3 and may include the centre ("mask B"), since by then the centre holds only information
# about earlier pixels. A final 1x1 layer turns each position's features into 17 logits.


# %%
def causal_mask(kernel_size, include_centre):
    """(k, k) array of ones over the kernel positions that come before the centre in reading
    order (rows above, and the same row to the left), plus the centre if `include_centre`."""
    mask = np.zeros((kernel_size, kernel_size), dtype="float32")
    centre = kernel_size // 2
    mask[:centre] = 1.0
    mask[centre, :centre] = 1.0
    if include_centre:
        mask[centre, centre] = 1.0
    return mask


class MaskedConv2D(layers.Layer):
    """A 'same'-padded convolution whose kernel is multiplied by a causal mask."""

    def __init__(self, filters, kernel_size, include_centre, **kwargs):
        super().__init__(**kwargs)
        self.filters, self.kernel_size, self.include_centre = filters, kernel_size, include_centre

    def build(self, input_shape):
        k = self.kernel_size
        self.kernel = self.add_weight(shape=(k, k, input_shape[-1], self.filters),
                                      initializer="glorot_uniform", name="kernel")
        self.bias = self.add_weight(shape=(self.filters,), initializer="zeros", name="bias")
        self.mask = causal_mask(k, self.include_centre)[:, :, None, None]

    def call(self, x):
        return tf.nn.conv2d(x, self.kernel * self.mask, 1, "SAME") + self.bias


def build_pixelcnn(width, blocks, dropout):
    levels = keras.Input((8, 8), dtype="int32", name="levels")
    x = layers.Lambda(lambda t: tf.cast(t, "float32")[..., None] / 16.0 - 0.5)(levels)
    h = MaskedConv2D(width, 15, include_centre=False)(x)
    for _ in range(blocks):
        # Residual blocks: the sum keeps the first layer's exact view of all earlier pixels.
        r = MaskedConv2D(width, 3, include_centre=True)(layers.ReLU()(h))
        r = layers.Dropout(dropout)(layers.ReLU()(r))
        h = layers.Add()([h, layers.Conv2D(width, 1)(r)])
    h = layers.Conv2D(width, 1, activation="relu")(layers.ReLU()(h))
    logits = layers.Conv2D(GREY_LEVELS, 1, name="logits")(h)
    return keras.Model(levels, logits, name="pixelcnn")


def pixel_log_likelihoods(logits, levels):
    """log p(x_i | x_<i) in nats for every pixel: (N, 8, 8) from (N, 8, 8, 17) logits."""
    return -tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(levels, "int32"), logits)


def independent_pixels_log_likelihood(levels_fit, levels_eval, pseudo_count=1.0):
    """Baseline: each pixel on its own, a histogram of its 17 levels counted over `levels_fit`
    (plus `pseudo_count` per level so unseen levels keep some probability). Returns the total
    log-likelihood (nats) of `levels_eval`, one number per image."""
    fit = np.asarray(levels_fit).reshape(len(levels_fit), -1)
    counts = np.stack([np.bincount(fit[:, j], minlength=GREY_LEVELS) for j in range(fit.shape[1])])
    log_p = np.log((counts + pseudo_count) / (counts + pseudo_count).sum(1, keepdims=True))
    flat = np.asarray(levels_eval).reshape(len(levels_eval), -1)
    return log_p[np.arange(flat.shape[1])[None, :], flat].sum(1)


model = build_pixelcnn(hp.width, hp.blocks, hp.dropout)
optimizer = keras.optimizers.Adam(hp.learning_rate)
print(f"PixelCNN: {model.count_params():,} weights")

# %% [markdown]
# A quick check that the masks do what they claim: change one pixel of a digit and see which
# outputs move. Only positions *after* it in reading order may change.

# %%
probe = levels_train[:1].copy()
before = keras.ops.convert_to_numpy(model(probe))
probe[0, 3, 4] = 16 - probe[0, 3, 4]
after = keras.ops.convert_to_numpy(model(probe))
moved = np.abs(after - before).max(-1)[0] > 1e-6
order = np.arange(PIXELS).reshape(8, 8)
assert not moved[order <= order[3, 4]].any(), "an output saw its own pixel or a later one"
print(f"changing pixel (3, 4) moved {moved.sum()} of the {PIXELS - 1 - order[3, 4]} later "
      "outputs and none of the earlier ones")


# %% [markdown]
# ## Training
#
# Training is classification: for every pixel of a batch of training digits, the cross-entropy
# between the model's 17 probabilities and the level actually there. Averaged and divided by
# $\ln 2$, that loss *is* the bits per pixel. At checkpoints we measure the same quantity on the
# held-out digits, which the model never trains on.

# %%
@tf.function(input_signature=[tf.TensorSpec((None, None, 8, 8), "int32")])
def train_steps(batches):
    """Several steps in one compiled call: at this size, Python overhead would dominate."""
    total = tf.constant(0.0)
    for i in tf.range(tf.shape(batches)[0]):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(pixel_log_likelihoods(model(batches[i], training=True),
                                                         batches[i]))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        total += loss
    return total / tf.cast(tf.shape(batches)[0], "float32")


def heldout_nll_per_image(levels):
    """Exact negative log-likelihood (nats) of each digit, summed over its 64 pixels."""
    logits = model.predict(levels, batch_size=500, verbose=0)
    return -keras.ops.convert_to_numpy(pixel_log_likelihoods(logits, levels)).sum((1, 2))


def train():
    history = {"step": [], "train_bits": [], "heldout_bits": []}
    boundaries = np.unique(np.linspace(0, hp.steps, hp.checkpoints + 1).astype(int))
    for start_step, end_step in zip(boundaries[:-1], boundaries[1:]):
        batch_index = rng.integers(0, len(levels_train), size=(end_step - start_step, hp.batch))
        loss = train_steps(levels_train[batch_index])
        history["step"].append(int(end_step))
        history["train_bits"].append(float(loss) / np.log(2))
        history["heldout_bits"].append(
            bits_per_pixel(heldout_nll_per_image(levels_test).sum(), len(levels_test)))
    return history


history, train_seconds = timed(train)
heldout_nll = heldout_nll_per_image(levels_test)
heldout_bits = bits_per_pixel(heldout_nll.sum(), len(levels_test))
independent_bits = bits_per_pixel(
    -independent_pixels_log_likelihood(levels_train, levels_test).sum(), len(levels_test))
uniform_bits = float(np.log2(GREY_LEVELS))
print(f"{hp.steps} steps in {train_seconds:.0f} s; held-out bits per pixel: PixelCNN "
      f"{heldout_bits:.3f}, independent pixels {independent_bits:.3f}, uniform {uniform_bits:.3f}")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.plot(history["step"], history["train_bits"], "o-", label="training batches (dropout on)")
ax.plot(history["step"], history["heldout_bits"], "o-", label="held-out digits")
ax.axhline(independent_bits, color="#e65100", ls=":", label="independent pixels (held-out)")
ax.set_xlabel("training step")
ax.set_ylabel("bits per pixel (exact)")
ax.set_title("PixelCNN negative log-likelihood, lower is better", fontsize=10)
ax.legend(fontsize=8)
run.save_figure(fig, "training_curves.png")
run.show("training_curves.png",
         "Line chart of bits per pixel against training step for training batches and for "
         "held-out digits, with a dotted line for a model of independent pixels.",
         "The gap between the two curves is overfitting: with 1,347 digits the model soon "
         "learns its training set better than digits in general.")

# %% [markdown]
# ## Drawing a digit, one pixel at a time
#
# To draw, start from an empty canvas and ask the network about the first pixel, draw a level
# from its 17 probabilities, write it in, and ask again about the second, and so on: 64 network
# evaluations per digit (run on all 1,000 digits at once). Nothing here is random except those
# 64 draws, at the model's own probabilities (no temperature tweak).

# %%
generator = tf.random.Generator.from_seed(run.seed)


@tf.function(input_signature=[tf.TensorSpec((None, 8, 8), "int32"), tf.TensorSpec((), "int32")])
def draw_pixel(canvas, position):
    """Draw the level of pixel `position` (reading order) for every canvas and write it in."""
    logits = model(canvas, training=False)
    row, col = position // 8, position % 8
    # Gumbel-max: the index of the largest logit plus Gumbel noise is a draw from the softmax.
    gumbel = -tf.math.log(-tf.math.log(generator.uniform((tf.shape(canvas)[0], GREY_LEVELS),
                                                         1e-9, 1.0)))
    level = tf.argmax(logits[:, row, col, :] + gumbel, axis=-1, output_type=tf.int32)
    where = tf.reshape(tf.one_hot(position, PIXELS, dtype=tf.int32), (1, 8, 8))
    return canvas * (1 - where) + level[:, None, None] * where


def sample(n, keep=0):
    """n digits as (n, 8, 8) grey levels, plus the first `keep` canvases after every pixel."""
    canvas = tf.zeros((n, 8, 8), tf.int32)
    snapshots = []
    for position in range(PIXELS):
        canvas = draw_pixel(canvas, tf.constant(position))
        if keep:
            snapshots.append(canvas[:keep].numpy())
    return canvas.numpy(), np.array(snapshots)


draw_pixel(tf.zeros((2, 8, 8), tf.int32), tf.constant(0))  # compile before timing
(levels_drawn, snapshots), sample_seconds = timed(sample, BENCH_SAMPLES, 40)
samples = (levels_drawn / 16.0).astype("float32")
sample_seconds_per_1000 = sample_seconds * 1000 / BENCH_SAMPLES
labels = bench.labels(samples)
save_digit_samples(run, samples, labels)
print(f"{BENCH_SAMPLES} digits in {sample_seconds:.1f} s ({PIXELS} network passes)")


# %%
def canvas_frame(canvases, filled, scale=5, columns=10):
    """One GIF frame: digits with the pixels not drawn yet shown in pale blue."""
    grid = image_grid(canvases / 16.0, ncols=columns, scale=scale)
    rgb = np.repeat(grid[..., None], 3, axis=-1)
    pending = np.zeros((8, 8), bool)
    pending.ravel()[filled:] = True
    marker = image_grid(np.broadcast_to(pending, canvases.shape).astype("float32"),
                        ncols=columns, scale=scale) == 0  # pending pixels come out black
    rgb[marker] = (187, 222, 251)
    frame = Image.new("RGB", (rgb.shape[1], rgb.shape[0] + 22), "white")
    frame.paste(Image.fromarray(rgb), (0, 22))
    ImageDraw.Draw(frame).text((4, 3), f"pixel {filled:>2} of {PIXELS}", fill=(0, 0, 0),
                               font=ImageFont.load_default(size=14))
    return frame


frames = [canvas_frame(np.zeros_like(snapshots[0]), 0)]
frames += [canvas_frame(snapshots[i], i + 1) for i in range(PIXELS)]
run.save_gif(frames, "sampling.gif", duration_ms=80, hold_last_ms=2500)
run.show("sampling.gif",
         "Animation of 40 small digits being drawn pixel by pixel in reading order: pale blue "
         "squares are pixels not drawn yet, and they fill in row by row until digits appear.",
         "Every pixel is drawn from 17 probabilities that depend on the pixels above and to "
         "its left. The first rows are almost always blank, so the digit's identity is "
         "decided only when the first ink appears.")

# %% [markdown]
# ## What the model believes about the next pixel
#
# Halfway through one drawing, here are the 17 probabilities the model gives to the next pixel.
# This is the whole of what the model knows at that moment; the exact likelihood is nothing
# more than these numbers, read off at the levels the digit really has.

# %%
half = 36
partial = snapshots[half - 1][:1]
probabilities = keras.ops.convert_to_numpy(
    tf.nn.softmax(model(partial, training=False)[0, half // 8, half % 8]))
fig, axes = plt.subplots(1, 2, figsize=(8, 2.8), gridspec_kw=dict(width_ratios=[1, 2.4]))
rgb = np.stack([1 - partial[0] / 16.0] * 3, -1)
rgb.reshape(-1, 3)[half:] = (0.73, 0.87, 0.98)
rgb[half // 8, half % 8] = (0.9, 0.32, 0.0)
axes[0].imshow(rgb, interpolation="nearest")
axes[0].set_xticks([])
axes[0].set_yticks([])
axes[0].set_title("drawn so far; next pixel orange", fontsize=9)
axes[1].bar(np.arange(GREY_LEVELS), probabilities, color="#1565c0")
axes[1].set_xticks(range(0, GREY_LEVELS, 2))
axes[1].set_xlabel("grey level of the next pixel (0 = paper, 16 = ink)")
axes[1].set_ylabel("probability")
run.save_figure(fig, "next_pixel.png")
run.show("next_pixel.png",
         "Left: a half-drawn digit with the next pixel marked in orange. Right: a bar chart of "
         "the model's probabilities for the 17 grey levels of that pixel.",
         "The model's whole output for one step: a full distribution, often with two bumps "
         "(paper or ink) rather than one best guess.")

# %% [markdown]
# ## The samples, and what they copy
#
# Forty of the 1,000 digits (the first forty, not picked), and the ten samples that come
# closest to any training digit, above those training digits. A sample counts as memorised when
# it is closer to a training digit than 95% of held-out digits are.

# %%
fig, ax = plt.subplots(figsize=(6.5, 3))
ax.imshow(image_grid(samples[:40], ncols=10), cmap="gray", vmin=0, vmax=255,
          interpolation="nearest")
ax.set_axis_off()
ax.set_title(f"PixelCNN samples after {hp.steps} steps (judge labels in samples.npz)",
             fontsize=10)
run.save_figure(fig, "samples.png")
run.show("samples.png", "A grid of 40 digits drawn by the PixelCNN.",
         "Strokes are crisp (each pixel is a real grey level), but some digits wander: one "
         "unlucky early draw is never corrected, since the model cannot go back.")

pairs, distances = closest_pairs_image(bench, samples)
run.save_image(pairs, "closest.png")
run.show("closest.png",
         "Two rows of ten digits: the PixelCNN samples closest to a training digit, above "
         "those training digits.",
         f"Pixel distances {distances.min():.2f} to {distances.max():.2f}; the memorisation "
         f"threshold is {bench.memorised_threshold:.2f}.")

# %% [markdown]
# ## Metrics
#
# The bench's scores of the 1,000 samples; bits per pixel is the exact held-out negative
# log-likelihood over the 17 grey levels (no bound, no dequantization).

# %%
scores = bench.score(samples)
metrics = family_metrics(
    scores, bits_per_pixel=heldout_bits, train_seconds=train_seconds,
    sample_seconds_per_1000=sample_seconds_per_1000, parameters=count_parameters(model),
    independent_pixels_bits_per_pixel=independent_bits, uniform_bits_per_pixel=uniform_bits,
    best_heldout_bits_per_pixel=min(history["heldout_bits"]),
    final_train_bits_per_pixel=history["train_bits"][-1], training_steps=hp.steps,
    judge_heldout_accuracy=bench.judge_accuracy, memorised_threshold=bench.memorised_threshold)
run.save_metrics(metrics)
