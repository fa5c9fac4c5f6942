"""How generative models work: diffusion by flow matching

A rectified flow (flow matching, the recipe behind several recent image generators) learns the
velocity that carries Gaussian noise along straight lines to handwritten digits. Drawing a digit
means following that velocity from pure noise in a number of small steps; fewer steps are
faster and worse, and we measure by how much. The shared bench scores its samples like every
other family's.

Data: scikit-learn's bundled digits, the bench's fixed split (1,347 training, 450 held-out digits); the model sees only the training split.
Run time: quick ~20 s, default ~3 min on 2 CPU cores (training budget: a fixed number of steps, about 150 s).
Outputs: denoising.gif, step_sweep.png, samples.png, training_curves.png, closest.png, samples.npz, judge.sha256, metrics.json
Samples: samples.npz: 1,000 digits drawn with the default number of steps, rounded to the 17 grey levels (level / 16), `images` float32 (N, 8, 8) in [0, 1] and `labels` (the judge's reading), load with numpy.load
Headline: denoising.gif
Page: models/diffusion.md
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from PIL import Image, ImageDraw, ImageFont

from _shared import (BENCH_SAMPLES, GREY_LEVELS, PIXELS, DigitBench, closest_pairs_image,
                     count_parameters, dequantized_bits_per_pixel, family_metrics, image_grid,
                     save_digit_samples, start, timed)

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
# `steps` is the family's training budget: the same wall-clock budget for every family on the
# bench (about 150 s on an idle 2-core machine; this network trains at about 85 steps a
# second). `sample_steps` is the number of Euler steps of
# the samples the bench scores; `sweep` lists the step counts compared in the step sweep.
PROFILES = {
    "quick": dict(steps=300, checkpoints=2, batch=128, hidden=128, blocks=2,
                  learning_rate=1e-3, sample_steps=16, sweep=[1, 4, 16, 64], gif_steps=16,
                  likelihood_steps=8, likelihood_images=100),
    "default": dict(steps=12000, checkpoints=10, batch=128, hidden=256, blocks=3,
                    learning_rate=1e-3, sample_steps=32, sweep=[1, 2, 4, 8, 16, 32, 64],
                    gif_steps=20, likelihood_steps=32, likelihood_images=450),
}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The bench
#
# The same 1,347 training digits, 450 held-out digits and judge as every family on these pages
# (the judge's hash goes to `judge.sha256`). Like the flow, this model works on continuous
# pixels, so each grey level is spread over its own cell (dequantized) and scaled to
# $[-1, 1)$, the range of the noise it starts from.

# %%
bench = DigitBench.for_run(run)
levels_train = bench.levels_train.reshape(-1, PIXELS).astype("float32")
levels_test = bench.levels_test.reshape(-1, PIXELS).astype("float32")
rng = np.random.default_rng(run.seed)


def to_signal(levels, noise):
    """Grey levels 0..16 plus dequantization noise in [0, 1), scaled into [-1, 1)."""
    return 2.0 * (levels + noise) / GREY_LEVELS - 1.0


def to_levels(x):
    """Signal values back to grey levels: the dequantization cell each value falls in (the
    tiny offset keeps a value on a cell's lower edge from rounding into the cell below)."""
    cell = (np.asarray(x, dtype="float64") + 1.0) / 2.0 * GREY_LEVELS + 1e-6
    return np.clip(np.floor(cell), 0, GREY_LEVELS - 1)


# %% [markdown]
# ## The idea: learn the way back from noise
#
# Diffusion models destroy data with noise, gradually, and learn to undo one small step of the
# destruction; run backwards from pure noise, the learnt undoing produces new data. *Flow
# matching* with straight paths (the *rectified flow* of Liu et al. 2022) is the simplest form
# of the idea. Pair a digit $x_1$ with a draw of Gaussian noise $x_0$ and slide between them,
# $x_t = (1 - t)\,x_0 + t\,x_1$ for $t$ from 0 to 1. Along that line the velocity is constant,
# $x_1 - x_0$. A network $v_\theta(x_t, t)$ sees only the blend $x_t$ and the time $t$, and is
# trained to predict that velocity:
#
# $$\mathcal{L}(\theta) = \mathbb{E}_{t,\,x_0,\,x_1}\big\|\,v_\theta\big((1-t)\,x_0 + t\,x_1,\ t\big) - (x_1 - x_0)\,\big\|^2$$
#
# It cannot know which digit a blend came from, so it learns the *average* direction towards
# the digits that could have produced it. Following that averaged velocity field from pure
# noise (an ordinary differential equation, $dx/dt = v_\theta(x, t)$) carries the noise
# distribution exactly onto the data distribution, if the network is right. We follow it with
# Euler steps, $x \leftarrow x + \Delta t\, v_\theta(x, t)$: every step is one network
# evaluation, and the paths are only straight on average, so too few steps cut corners.
#
# The loss is a plain regression, with no adversary and no bound to juggle, which makes the
# training as stable as a classifier's. DDPM, the best-known diffusion model, trains a network
# to predict the noise rather than the velocity and adds fresh noise at every sampling step;
# the two are close cousins, and this one is the shorter to explain and to sample.
#
# **The network.** At 8x8, the 64 pixels are few enough for a plain multilayer perceptron: the
# noisy digit as 64 numbers, the time as a few sines and cosines, residual blocks of dense
# layers, and 64 velocities out. On a CPU it evaluates much faster than a convolutional U-Net
# of similar quality, which matters because sampling calls it many times.


# %%
def time_features(t, n=8):
    """Sines and cosines of the time at geometrically spaced frequencies: (N, 2n)."""
    frequencies = tf.constant(np.exp(np.linspace(0.0, np.log(200.0), n)), "float32")
    angles = t[:, None] * frequencies[None, :]
    return tf.concat([tf.sin(angles), tf.cos(angles)], axis=1)


def build_velocity_net(hidden, blocks):
    x = keras.Input((PIXELS,), name="x")
    t = keras.Input((), name="t")
    time_code = layers.Dense(hidden, activation="swish")(
        layers.Lambda(time_features, output_shape=(16,))(t))
    h = layers.Dense(hidden)(layers.Concatenate()([x, time_code]))
    for _ in range(blocks):
        r = layers.Add()([layers.Activation("swish")(h), layers.Dense(hidden)(time_code)])
        r = layers.Dense(hidden, activation="swish")(r)
        h = layers.Add()([h, layers.Dense(hidden)(r)])
    # Zero initialisation: the untrained model predicts no motion at all.
    velocity = layers.Dense(PIXELS, kernel_initializer="zeros")(layers.Activation("swish")(h))
    return keras.Model([x, t], velocity, name="velocity")


def blend(x0, x1, t):
    """The point a fraction t of the way from noise x0 to data x1."""
    return (1.0 - t[:, None]) * x0 + t[:, None] * x1


model = build_velocity_net(hp.hidden, hp.blocks)
optimizer = keras.optimizers.Adam(hp.learning_rate)
print(f"velocity network: {model.count_params():,} weights")


# %% [markdown]
# ## Training
#
# Each step: a batch of training digits (freshly dequantized), as many noise draws, a random
# time for each pair, and one regression step on the velocity. The loss cannot reach zero,
# even for a perfect model, because the same blend can come from many pairs; its floor is
# unknown, so the curve below only says that training converges, not how good the digits are.

# %%
@tf.function(input_signature=[tf.TensorSpec((None, None, PIXELS), "float32")])
def train_steps(batches):
    """Several steps in one compiled call: at this size, Python overhead would dominate."""
    total = tf.constant(0.0)
    for i in tf.range(tf.shape(batches)[0]):
        x1 = to_signal(batches[i], tf.random.uniform(tf.shape(batches[i])))
        x0 = tf.random.normal(tf.shape(x1))
        t = tf.random.uniform((tf.shape(x1)[0],))
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model([blend(x0, x1, t), t], training=True) - (x1 - x0)) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables))
        total += loss
    return total / tf.cast(tf.shape(batches)[0], "float32")


def train():
    history = {"step": [], "loss": []}
    boundaries = np.unique(np.linspace(0, hp.steps, hp.checkpoints + 1).astype(int))
    for start_step, end_step in zip(boundaries[:-1], boundaries[1:]):
        index = rng.integers(0, len(levels_train), size=(end_step - start_step, hp.batch))
        history["step"].append(int(end_step))
        history["loss"].append(float(train_steps(levels_train[index])))
    return history


history, train_seconds = timed(train)
print(f"{hp.steps} steps in {train_seconds:.0f} s; final velocity loss {history['loss'][-1]:.3f}")

fig, ax = plt.subplots(figsize=(6.5, 3.4))
ax.plot(history["step"], history["loss"], "o-")
ax.set_xlabel("training step")
ax.set_ylabel("mean squared velocity error")
ax.set_title("Flow-matching loss (its floor is not zero)", fontsize=10)
run.save_figure(fig, "training_curves.png")
run.show("training_curves.png",
         "Line chart of the flow-matching loss falling and levelling off over training steps.",
         "A smooth, monotone curve: regression onto a target, with no adversary.")


# %% [markdown]
# ## Drawing: from noise to a digit in a number of steps
#
# Sampling starts from 64 Gaussian numbers at $t = 0$ and takes Euler steps up to $t = 1$;
# at the end each value is rounded to its grey level. The animation follows 40 draws step by
# step. On the left is the current state $x_t$; on the right, the model's guess of where the
# state is heading, $x_t + (1 - t)\,v_\theta(x_t, t)$, the end point if it kept its current
# velocity. The guess is a blurry average early on (many digits are still possible) and
# sharpens as the noise is used up.

# %%
def make_sampler(velocity_model):
    """A compiled function (x, n_steps) that follows `velocity_model` from t = 0 to t = 1 in
    `n_steps` equal Euler steps."""
    @tf.function(input_signature=[tf.TensorSpec((None, PIXELS), "float32"),
                                  tf.TensorSpec((), "int32")])
    def euler(x, n_steps):
        dt = 1.0 / tf.cast(n_steps, "float32")
        for k in tf.range(n_steps):
            t = tf.fill((tf.shape(x)[0],), tf.cast(k, "float32") * dt)
            x = x + dt * velocity_model([x, t], training=False)
        return x
    return euler


euler = make_sampler(model)


def sample(noise, n_steps):
    """Grey levels of the digits reached from `noise` in `n_steps` steps."""
    return to_levels(euler(tf.constant(noise), tf.constant(n_steps, tf.int32)).numpy())


def as_images(levels):
    return (np.asarray(levels).reshape(-1, 8, 8) / 16.0).astype("float32")


generator = np.random.default_rng(run.seed + 1)
noise = generator.standard_normal((BENCH_SAMPLES, PIXELS)).astype("float32")
sample(noise[:2], 1)  # compile before timing


def denoising_frames(x, n_steps, columns=10, scale=3):
    frames = []
    font = ImageFont.load_default(size=14)
    for k in range(n_steps + 1):
        t = k / n_steps
        velocity = model([tf.constant(x), tf.fill((len(x),), np.float32(t))],
                         training=False).numpy()
        guess = x + (1.0 - t) * velocity
        # Shown at the data's 17 grey levels: noise in fewer shades keeps the GIF under 1 MB.
        panels = [image_grid(np.round((np.clip(p, -1, 1).reshape(-1, 8, 8) + 1) * 8) / 16,
                             ncols=columns, scale=scale) for p in (x, guess)]
        h, w = panels[0].shape
        frame = Image.new("RGB", (2 * w + 16, h + 24), "white")
        for j, panel in enumerate(panels):
            frame.paste(Image.fromarray(panel).convert("RGB"), (j * (w + 16), 22))
        draw = ImageDraw.Draw(frame)
        draw.text((4, 3), f"state, t = {t:.2f} (step {k} of {n_steps})", fill=(0, 0, 0),
                  font=font)
        draw.text((w + 20, 3), "model's guess of the end", fill=(0, 0, 0), font=font)
        frames.append(frame)
        if k < n_steps:
            x = x + velocity / n_steps
    return frames


frames = denoising_frames(noise[:40], hp.gif_steps)
run.save_gif(frames, "denoising.gif", duration_ms=120, hold_last_ms=2500)
run.show("denoising.gif",
         "Animation of two grids of 40 small images: on the left, grey static that clears "
         "step by step into handwritten digits; on the right, blurry averages that sharpen "
         "into the same digits.",
         "Every step is one network evaluation. The digit's identity is settled early, in the "
         "model's guess on the right, long before the state on the left looks like anything.")

# %% [markdown]
# ## How many steps?
#
# The same 1,000 noise draws, followed with different numbers of Euler steps, each result
# scored by the bench and timed. One step jumps straight along the first predicted velocity,
# which points at an average of digits: a blur. More steps let the path bend towards one
# particular digit.

# %%
sweep = []
for n_steps in hp.sweep:
    levels_drawn, seconds = timed(sample, noise, n_steps)
    sweep.append(dict(steps=n_steps, seconds=seconds * 1000 / BENCH_SAMPLES,
                      images=as_images(levels_drawn), **bench.score(as_images(levels_drawn))))
    print(f"{n_steps:>3} steps: {sweep[-1]['seconds']:.2f} s per 1,000, Frechet "
          f"{sweep[-1]['frechet']:.2f}, precision {sweep[-1]['precision']:.2f}, "
          f"recall {sweep[-1]['recall']:.2f}")

fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
steps_axis = [s["steps"] for s in sweep]
axes[0].plot(steps_axis, [s["frechet"] for s in sweep], "o-")
axes[0].axhline(bench.floor()["frechet"], color="#2e7d32", ls="--", label="real digits")
axes[0].set_ylabel("Frechet distance (lower is better)")
axes[0].legend(fontsize=8)
axes[1].plot(steps_axis, [s["precision"] for s in sweep], "o-", label="precision (realism)")
axes[1].plot(steps_axis, [s["recall"] for s in sweep], "s-", label="recall (coverage)")
axes[1].set_ylim(0, 1.02)
axes[1].legend(fontsize=8)
axes[2].plot(steps_axis, [s["seconds"] for s in sweep], "o-", color="#6a1b9a")
axes[2].set_ylabel("seconds per 1,000 digits")
for ax in axes:
    ax.set_xscale("log", base=2)
    ax.set_xticks(steps_axis, [str(s) for s in steps_axis])
    ax.set_xlabel("Euler steps")
fig.suptitle("Fewer sampling steps: faster, and worse", fontsize=11)
run.save_figure(fig, "step_sweep.png")
run.show("step_sweep.png",
         "Three line charts against the number of Euler sampling steps on a log scale: the "
         "Frechet distance falling, precision and recall rising, and sampling time rising in "
         "proportion to the steps.",
         "Time grows in proportion to the steps; quality improves fast at first and then "
         "levels off, so beyond some point extra steps buy almost nothing.")

# %%
chosen = next(s for s in sweep if s["steps"] == hp.sample_steps) \
    if hp.sample_steps in hp.sweep else None
if chosen is None:
    levels_drawn, seconds = timed(sample, noise, hp.sample_steps)
    chosen = dict(steps=hp.sample_steps, seconds=seconds * 1000 / BENCH_SAMPLES,
                  images=as_images(levels_drawn), **bench.score(as_images(levels_drawn)))
samples = chosen["images"]
labels = bench.labels(samples)
save_digit_samples(run, samples, labels)

few = sweep[0]
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, entry in [(axes[0], few), (axes[1], chosen)]:
    ax.imshow(image_grid(entry["images"][:40], ncols=10), cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{entry['steps']} Euler step{'s' if entry['steps'] > 1 else ''}: Frechet "
                 f"{entry['frechet']:.1f}", fontsize=10)
run.save_figure(fig, "samples.png")
run.show("samples.png",
         "Two grids of 40 digits from the same noise: blurry averages after one step on the "
         "left, distinct handwritten digits after the default number of steps on the right.",
         "Same noise, same network; only the number of steps differs. The right grid holds the "
         "first 40 of the 1,000 samples the bench scores.")

pairs, distances = closest_pairs_image(bench, samples)
run.save_image(pairs, "closest.png")
run.show("closest.png",
         "Two rows of ten digits: the diffusion samples closest to a training digit, above "
         "those training digits.",
         f"Pixel distances {distances.min():.2f} to {distances.max():.2f}; the memorisation "
         f"threshold is {bench.memorised_threshold:.2f}.")

# %% [markdown]
# ## A likelihood, through the same equation run backwards
#
# The sampling equation is also an invertible map from noise to data, like a normalizing
# flow's, so it has a likelihood: follow a held-out digit *backwards* to noise, and add up how
# much the velocity field spreads space along the way (its divergence, the trace of its
# Jacobian, which we compute exactly for all 64 pixels):
#
# $$\log p_1(x_1) = \log \mathcal{N}(x_0;\, 0, I) - \int_0^1 \nabla \cdot v_\theta(x_t, t)\, dt$$
#
# Two caveats, stated plainly. It is the density of the dequantized digits, so for the 17 grey
# levels it is an upper bound on bits per pixel, as for the flow. And the integral is done with
# a finite number of Euler steps, so the figure carries integration error and is an estimate,
# not a guaranteed bound. The model was never trained for likelihood; this is a by-product.

# %%
def make_log_density(velocity_model):
    """A compiled function (x1, n_steps): log p(x1) in the signal space by the instantaneous
    change of variables, backwards in `n_steps` Euler steps; the divergence is the exact trace
    of the 64x64 Jacobian."""
    @tf.function(input_signature=[tf.TensorSpec((None, PIXELS), "float32"),
                                  tf.TensorSpec((), "int32")])
    def log_density(x1, n_steps):
        dt = 1.0 / tf.cast(n_steps, "float32")
        x = x1
        divergence_integral = tf.zeros((tf.shape(x1)[0],))
        for k in tf.range(n_steps, 0, -1):
            t = tf.fill((tf.shape(x)[0],), tf.cast(k, "float32") * dt)
            with tf.GradientTape() as tape:
                tape.watch(x)
                velocity = velocity_model([x, t], training=False)
            jacobian = tape.batch_jacobian(velocity, x)
            divergence_integral += dt * tf.linalg.trace(jacobian)
            x = x - dt * velocity
        gaussian = tf.reduce_sum(-0.5 * x**2 - 0.5 * np.log(2 * np.pi), axis=1)
        return gaussian - divergence_integral
    return log_density


log_density = make_log_density(model)
subset = levels_test[:hp.likelihood_images]
signal = to_signal(subset, np.random.default_rng(run.seed + 2).uniform(size=subset.shape))
log_p_signal = log_density(tf.constant(signal, "float32"),
                           tf.constant(hp.likelihood_steps, tf.int32)).numpy()
# Signal = 2 v - 1 for pixels v in [0, 1): the density over v is 2^64 times larger.
nll_v = -(log_p_signal + PIXELS * np.log(2.0))
heldout_bits = dequantized_bits_per_pixel(nll_v.sum(), len(subset), bin_width=1 / GREY_LEVELS)
print(f"held-out bits per pixel (ODE estimate, {hp.likelihood_steps} steps, "
      f"{len(subset)} digits): {heldout_bits:.3f}")

# %% [markdown]
# ## Metrics
#
# The bench's scores of the 1,000 samples drawn with the default number of steps, the sampling
# time at that number of steps, and the step sweep (`sweep_<n>_...`). Bits per pixel is the
# ODE estimate above: a dequantized density, integrated with Euler steps.

# %%
extra = {}
for entry in sweep:
    for key in ("frechet", "precision", "recall", "seconds"):
        extra[f"sweep_{entry['steps']}_{key}"] = entry[key]
metrics = family_metrics(
    chosen, bits_per_pixel=heldout_bits, train_seconds=train_seconds,
    sample_seconds_per_1000=chosen["seconds"], parameters=count_parameters(model),
    sample_steps=hp.sample_steps, likelihood_steps=hp.likelihood_steps,
    likelihood_images=len(subset), final_loss=history["loss"][-1], training_steps=hp.steps,
    judge_heldout_accuracy=bench.judge_accuracy, memorised_threshold=bench.memorised_threshold,
    **extra)
run.save_metrics(metrics)
