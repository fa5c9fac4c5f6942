"""How generative models work: the generative adversarial network

Two networks play a game: a generator turns noise into digits, a discriminator tries to tell
them from real ones. We train an unconditional DCGAN twice, once with the usual stabilising
tricks and once without, and watch the judge's class coverage over training to make mode
collapse visible; the shared bench scores the samples like every other family's.

Data: scikit-learn's bundled digits, the bench's fixed split (1,347 training, 450 held-out digits); the GAN sees only the training split.
Run time: quick ~20 s, default ~3 min on 2 CPU cores (training budget: a fixed number of steps, about 150 s).
Outputs: samples.png, training.gif, game.png, coverage.png, closest.png, samples.npz, judge.sha256, metrics.json
Samples: samples.npz: 1,000 digits from the stabilised GAN, `images` float32 (N, 8, 8) in [0, 1] and `labels` (the judge's reading), load with numpy.load
Headline: samples.png
Page: models/gan.md
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers
from PIL import Image, ImageDraw, ImageFont

from _shared import (BENCH_SAMPLES, DigitBench, closest_pairs_image, count_parameters,
                     family_metrics, image_grid, save_digit_samples, start, timed)

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
# `steps` is the family's training budget (the same wall-clock budget for every family on the
# bench, calibrated on an idle 2-core machine); the run without tricks gets `plain_fraction` of
# it, enough to see where it is heading.
PROFILES = {
    "quick": dict(steps=200, checkpoints=3, batch=64, width=32, latent_dim=32,
                  learning_rate=5e-4, ema_decay=0.99, real_label=0.9, plain_fraction=0.5,
                  eval_samples=300),
    "default": dict(steps=7000, checkpoints=24, batch=64, width=32, latent_dim=32,
                    learning_rate=5e-4, ema_decay=0.995, real_label=0.9, plain_fraction=0.25,
                    eval_samples=1000),
}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The bench
#
# The same split and the same judge as every family on these pages (the judge's weights hash
# is in `judge.sha256`). The GAN is *unconditional*, like the other families: it is never told
# which digit to draw, so whether it draws all ten, and equally often, is up to it. The judge's
# reading of its digits measures that (the *class coverage*).

# %%
bench = DigitBench.for_run(run)
x_train = bench.x_train
rng = np.random.default_rng(run.seed)

# %% [markdown]
# ## The game
#
# The discriminator $D$ outputs the probability that an image is real; the generator $G$ maps
# noise $z$ to an image. They play
#
# $$\min_G \max_D \; \mathbb{E}_{x \sim \text{data}}\big[\log D(x)\big] + \mathbb{E}_{z \sim \mathcal{N}(0, I)}\big[\log\big(1 - D(G(z))\big)\big]$$
#
# $D$ wants both terms large (real called real, fakes called fake); $G$ wants the second term
# small. At the game's equilibrium the generator's distribution equals the data's and $D$ says
# 0.5 everywhere. No likelihood is ever computed: the generator learns only from the
# discriminator's gradients, which makes a GAN fast to sample (one pass) but gives no
# bits per pixel and no guarantee that every kind of digit is covered.
#
# Played literally, this game is fragile. Four standard tricks make it steadier, and we run the
# GAN both with and without them:
#
# 1. **Non-saturating generator loss**: $G$ maximises $\log D(G(z))$ instead of minimising
#    $\log(1 - D(G(z)))$. Same fixed point, but strong gradients when $D$ easily rejects the
#    fakes, which is exactly the situation early in training.
# 2. **One-sided label smoothing**: real images are labelled 0.9, so $D$ never becomes certain.
# 3. **Minibatch standard deviation**: $D$ also sees how much the images in a batch differ from
#    each other, so a generator that draws the same digit every time is easy to catch: a direct
#    counter to mode collapse.
# 4. **Averaged weights**: we sample from an exponential moving average of $G$'s weights,
#    which the training never settles on otherwise.


# %%
class MinibatchStddev(layers.Layer):
    """Appends one channel: the average, over features, of their standard deviation across the
    batch. A batch of near-identical fakes shows up as a small value."""

    def call(self, h):
        std = keras.ops.sqrt(keras.ops.var(h, axis=0) + 1e-8)
        spread = keras.ops.mean(std)
        return keras.ops.concatenate(
            [h, keras.ops.ones_like(h[..., :1]) * spread], axis=-1)


def build_generator(latent_dim, width):
    noise = keras.Input((latent_dim,), name="noise")
    h = layers.Dense(4 * 4 * 2 * width, use_bias=False)(noise)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Reshape((4, 4, 2 * width))(h)
    h = layers.Conv2DTranspose(width, 4, strides=2, padding="same", use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2D(width, 3, padding="same", use_bias=False)(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    image = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(h)
    return keras.Model(noise, image, name="generator")


def build_discriminator(width, minibatch_stddev):
    image = keras.Input((8, 8, 1), name="image")
    h = layers.LeakyReLU(0.2)(layers.Conv2D(width, 3, padding="same")(image))
    if minibatch_stddev:
        h = MinibatchStddev()(h)
    h = layers.LeakyReLU(0.2)(layers.Conv2D(2 * width, 4, strides=2, padding="same")(h))
    score = layers.Dense(1)(layers.Flatten()(h))  # a logit: D(x) = sigmoid(score)
    return keras.Model(image, score, name="discriminator")


def ema_decay_at(step, target):
    """Averaging decay that warms up to `target`, so early averages forget the random start."""
    return min(target, (1.0 + step) / (10.0 + step))


def checkpoint_steps(total, n):
    """`n` increasing steps ending at `total`, denser early when the generator changes fastest."""
    steps = np.round(total * (np.arange(1, n + 1) / n) ** 2).astype(int)
    return np.unique(np.clip(steps, 1, total)).tolist()


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype="float64")))


class GAN:
    """A DCGAN and its compiled training loop, with the four tricks on or off together."""

    def __init__(self, tricks):
        self.tricks = tricks
        self.generator = build_generator(hp.latent_dim, hp.width)
        self.averaged = build_generator(hp.latent_dim, hp.width)
        self.averaged.set_weights(self.generator.get_weights())
        self.discriminator = build_discriminator(hp.width, minibatch_stddev=tricks)
        self.g_optimizer = keras.optimizers.Adam(hp.learning_rate, beta_1=0.5)
        self.d_optimizer = keras.optimizers.Adam(hp.learning_rate, beta_1=0.5)
        self.real_label = hp.real_label if tricks else 1.0
        self.data = tf.constant(x_train[..., None])

    def step(self, real, noise, decay):
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = self.generator(noise, training=True)
            real_score = self.discriminator(real, training=True)
            fake_score = self.discriminator(fake, training=True)
            d_loss = (bce(tf.fill(tf.shape(real_score), self.real_label), real_score)
                      + bce(tf.zeros_like(fake_score), fake_score))
            if self.tricks:
                g_loss = bce(tf.ones_like(fake_score), fake_score)  # maximise log D(G(z))
            else:
                g_loss = -bce(tf.zeros_like(fake_score), fake_score)  # minimise log(1 - D(G(z)))
        d_weights = self.discriminator.trainable_variables
        g_weights = self.generator.trainable_variables
        self.d_optimizer.apply_gradients(zip(d_tape.gradient(d_loss, d_weights), d_weights))
        self.g_optimizer.apply_gradients(zip(g_tape.gradient(g_loss, g_weights), g_weights))
        for avg, current in zip(self.averaged.weights, self.generator.weights):
            avg.assign(decay * avg + (1.0 - decay) * current)
        return d_loss, tf.reduce_mean(tf.sigmoid(real_score)), tf.reduce_mean(tf.sigmoid(fake_score))

    # One signature for every call: without it each new number of steps retraces the loop.
    @tf.function(input_signature=[tf.TensorSpec((None, None), "int32"),
                                  tf.TensorSpec((None, None, None), "float32"),
                                  tf.TensorSpec((None,), "float32")])
    def train_steps(self, batch_index, noise, decays):
        """Several steps in one compiled call; returns the average D loss, D(real) and D(fake)."""
        totals = [tf.constant(0.0)] * 3
        for i in tf.range(tf.shape(batch_index)[0]):
            out = self.step(tf.gather(self.data, batch_index[i]), noise[i], decays[i])
            totals = [t + o for t, o in zip(totals, out)]
        return [t / tf.cast(tf.shape(batch_index)[0], "float32") for t in totals]

    def sampler(self):
        """The network samples come from: the weight average with tricks, the raw one without."""
        return self.averaged if self.tricks else self.generator

    def sample(self, noise):
        images = self.sampler()(np.asarray(noise, "float32"), training=False)
        return keras.ops.convert_to_numpy(images)[..., 0]


# %% [markdown]
# ## Training both, watched by the judge
#
# The budget is a fixed number of steps (batches of 64 digits each for both players), the same
# wall-clock budget as every family on the bench; the run without tricks gets a fraction of it.
# At checkpoints (close together early) both generators draw the same fixed noise, and the
# bench scores the drawings: class coverage (do all ten digits appear, as often as in real
# data?) and recall (how much of the real digits' variety is covered).

# %%
eval_noise = rng.standard_normal((hp.eval_samples, hp.latent_dim)).astype("float32")
gif_noise = eval_noise[:40]
font = ImageFont.load_default(size=14)


def gif_frame(images, step, total):
    images = np.round(np.clip(images, 0, 1) * 16) / 16  # 17 grey levels, like the data
    grid = Image.fromarray(image_grid(images, ncols=10, scale=4)).convert("RGB")
    frame = Image.new("RGB", (grid.width, grid.height + 24), "white")
    frame.paste(grid, (0, 22))
    ImageDraw.Draw(frame).text((4, 3), f"training step {step:>5} of {total}", fill=(0, 0, 0),
                               font=font)
    return frame


def train(gan, steps, rng, frames=None):
    history = {"step": [], "d_loss": [], "d_real": [], "d_fake": [], "class_coverage": [],
               "recall": [], "precision": [], "frechet": []}
    done = 0
    for end in checkpoint_steps(steps, hp.checkpoints):
        k = end - done
        decays = np.array([ema_decay_at(s, hp.ema_decay) for s in range(done, end)], "float32")
        d_loss, d_real, d_fake = gan.train_steps(
            rng.integers(0, len(x_train), size=(k, hp.batch)).astype("int32"),
            rng.standard_normal((k, hp.batch, hp.latent_dim)).astype("float32"), decays)
        done = end
        scores = bench.score(gan.sample(eval_noise))
        for key, value in [("step", end), ("d_loss", d_loss), ("d_real", d_real),
                           ("d_fake", d_fake)] + [(key, scores[key]) for key in
                                                  ("class_coverage", "recall", "precision",
                                                   "frechet")]:
            history[key].append(float(value))
        if frames is not None:
            frames.append(gif_frame(gan.sample(gif_noise), end, steps))
    return history


stable = GAN(tricks=True)
frames = [gif_frame(stable.sample(gif_noise), 0, hp.steps)]
stable_history, train_seconds = timed(train, stable, hp.steps, rng, frames)
plain = GAN(tricks=False)
plain_steps = max(1, int(hp.steps * hp.plain_fraction))
plain_history, plain_seconds = timed(train, plain, plain_steps, rng)
print(f"with tricks: {hp.steps:,} steps in {train_seconds:.0f} s (scoring at checkpoints "
      f"included); without: {plain_steps:,} steps in {plain_seconds:.0f} s")

# %% [markdown]
# ## What each GAN draws
#
# 1,000 fresh digits from each generator, scored by the bench; the first 40 are shown. The
# samples of the stabilised GAN are saved in `samples.npz`, with the judge's reading as labels.

# %%
noise = rng.standard_normal((BENCH_SAMPLES, hp.latent_dim)).astype("float32")
samples, sample_seconds = timed(stable.sample, noise)
sample_seconds_per_1000 = sample_seconds * 1000 / BENCH_SAMPLES
scores = bench.score(samples)
plain_samples = plain.sample(noise)
plain_scores = bench.score(plain_samples)
save_digit_samples(run, samples, bench.labels(samples))
floor = bench.floor()

fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
for ax, grid, title in [
        (axes[0], bench.x_test[:40], "Real digits (held out)"),
        (axes[1], samples[:40], f"GAN with tricks, {hp.steps:,} steps\n"
         f"coverage {scores['class_coverage']:.2f}, recall {scores['recall']:.2f}"),
        (axes[2], plain_samples[:40], f"GAN without tricks, {plain_steps:,} steps\n"
         f"coverage {plain_scores['class_coverage']:.2f}, recall {plain_scores['recall']:.2f}")]:
    ax.imshow(image_grid(grid, ncols=8), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
run.save_figure(fig, "samples.png")
run.show("samples.png",
         "Three grids of 40 small digits: real held-out digits, digits from the GAN trained "
         "with stabilising tricks, and digits from the GAN trained without them.",
         "Compare the variety: how many different digits appear in each grid, and how "
         "often the same shape repeats.")

# %% [markdown]
# ## Watching it learn
#
# The same 40 noise vectors drawn by the averaged generator at every checkpoint. Sampling a GAN
# is one pass through the generator, so the interesting process is training: blobs first, then
# strokes.

# %%
run.save_gif(frames, "training.gif", duration_ms=150, hold_last_ms=2000)
run.show("training.gif",
         "Animation of a 4-row, 10-column grid of digits turning from grey noise into "
         "handwritten digits as training proceeds, with a step counter above.",
         "The inputs never change between frames: everything that moves is the generator.")

# %% [markdown]
# ## The game in numbers
#
# Left, the discriminator's loss; middle, its average belief that real and fake images are
# real. At the game's balance both would sit at 0.5; in practice the discriminator stays ahead.
# Right, the Fréchet distance, the bench's overall verdict. The losses settle early and say
# little about quality; only the outside referee shows progress.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
for history, name, color in [(stable_history, "with tricks", "#1565c0"),
                             (plain_history, "without tricks", "#c62828")]:
    axes[0].plot(history["step"], history["d_loss"], color=color, label=name)
    axes[1].plot(history["step"], history["d_real"], color=color, label=f"D(real), {name}")
    axes[1].plot(history["step"], history["d_fake"], color=color, ls="--",
                 label=f"D(fake), {name}")
    axes[2].plot(history["step"], history["frechet"], color=color, label=name)
axes[2].axhline(floor["frechet"], color="#2e7d32", ls=":", label="real vs real")
axes[0].set_title("Discriminator loss")
axes[1].set_title("Discriminator's average P(real)")
axes[1].set_ylim(0, 1)
axes[2].set_title("Frechet distance to held-out digits")
axes[2].set_yscale("log")
for ax in axes:
    ax.set_xlabel("training step")
    ax.legend(fontsize=7)
run.save_figure(fig, "game.png")
run.show("game.png",
         "Three line charts against training step for both GANs: the discriminator's loss, "
         "its average probability of real for real and fake images, and the Frechet distance "
         "on a log scale with a dotted line for real digits.",
         "The discriminator keeps an edge throughout; the referee's distance is what shows "
         "whether the generator improves.")

# %% [markdown]
# ## Mode collapse, made visible
#
# A generator can lower its loss by drawing only the digits that fool the discriminator best.
# Left, the class coverage of each GAN's digits over training (1 when the judge finds the ten
# digits as often as among real digits; 0.1 when only one digit appears) and the recall (how
# much of the real variety they cover). Right, how often the judge reads each digit among the
# final samples.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for history, name, color in [(stable_history, "with tricks", "#1565c0"),
                             (plain_history, "without tricks", "#c62828")]:
    axes[0].plot(history["step"], history["class_coverage"], color=color,
                 label=f"class coverage, {name}")
    axes[0].plot(history["step"], history["recall"], color=color, ls="--",
                 label=f"recall, {name}")
axes[0].axhline(floor["class_coverage"], color="#2e7d32", ls=":", label="real digits")
axes[0].set_ylim(0, 1.02)
axes[0].set_xlabel("training step")
axes[0].legend(fontsize=7)
axes[0].set_title("Coverage over training")
width = 0.4
for offset, images, name, color in [(-width / 2, samples, "with tricks", "#1565c0"),
                                    (width / 2, plain_samples, "without tricks", "#c62828")]:
    share = np.bincount(bench.labels(images), minlength=10) / len(images)
    axes[1].bar(np.arange(10) + offset, share, width, color=color, label=name)
axes[1].axhline(0.1, color="#2e7d32", ls=":", label="real digits (about 10% each)")
axes[1].set_xticks(range(10))
axes[1].set_xlabel("digit, as read by the judge")
axes[1].set_ylabel("share of 1,000 samples")
axes[1].legend(fontsize=7)
axes[1].set_title("Which digits each GAN draws")
run.save_figure(fig, "coverage.png")
run.show("coverage.png",
         "Left: class coverage and recall against training step for both GANs. Right: bar "
         "chart of how often each digit 0 to 9 appears among each GAN's final samples.",
         "Uneven bars and a low recall are mode collapse: the generator has given up on "
         "part of the data.")
print(f"with tricks: coverage {scores['class_coverage']:.2f}, recall {scores['recall']:.2f}; "
      f"without: coverage {plain_scores['class_coverage']:.2f}, "
      f"recall {plain_scores['recall']:.2f}")

# %% [markdown]
# ## Is it copying?
#
# The ten samples nearest to a training digit (top) above that training digit (bottom). A
# sample counts as memorised when it is nearer to a training digit than 95% of held-out real
# digits are (threshold printed below); held-out digits themselves score about 5%. The
# generator never sees a training image directly, only the discriminator's opinion of its own
# drawings, yet a discriminator that memorises can steer it towards copies.

# %%
pairs, distances = closest_pairs_image(bench, samples)
run.save_image(pairs, "closest.png")
run.show("closest.png",
         "Two rows of ten digits: the GAN samples closest to a training digit, above those "
         "training digits.",
         "Compare each pair: near-copies would be pixel for pixel the same.")
print(f"memorisation threshold {bench.memorised_threshold:.2f}; nearest ten samples at "
      f"{distances.min():.2f} to {distances.max():.2f}; memorised share {scores['memorised']:.1%}")

# %% [markdown]
# ## Metrics
#
# The shared keys are the same for every family on the bench; a GAN gives no likelihood, so
# there is no `bits_per_pixel`. `parameters` counts the generator (all that sampling needs);
# `parameters_with_discriminator` adds its opponent. `train_seconds` includes the scoring at
# checkpoints. The `plain_` keys are the run without tricks.

# %%
metrics = family_metrics(
    scores, train_seconds=train_seconds, sample_seconds_per_1000=sample_seconds_per_1000,
    parameters=count_parameters(stable.averaged),
    parameters_with_discriminator=count_parameters(stable.averaged, stable.discriminator),
    training_steps=hp.steps, plain_training_steps=plain_steps,
    plain_frechet=plain_scores["frechet"], plain_precision=plain_scores["precision"],
    plain_recall=plain_scores["recall"], plain_class_coverage=plain_scores["class_coverage"],
    plain_memorised=plain_scores["memorised"],
    final_d_real=stable_history["d_real"][-1], final_d_fake=stable_history["d_fake"][-1],
    judge_heldout_accuracy=bench.judge_accuracy, memorised_threshold=bench.memorised_threshold)
run.save_metrics(metrics)
