"""How generative models work: the variational autoencoder

A variational autoencoder learns to squeeze each 8x8 digit into eight numbers and to rebuild it
from them, while a KL penalty keeps those codes spread like plain Gaussian noise, so that fresh
noise decodes into new digits. Its likelihood comes as a bound (the ELBO, tightened by
importance weighting); the shared bench scores its samples like every other family's.

Data: scikit-learn's bundled digits, the bench's fixed split (1,347 training, 450 held-out digits); the VAE trains on nine tenths of the training split and uses the other tenth to choose when to stop.
Run time: quick ~20 s, default ~3 min on 2 CPU cores (training budget: a fixed number of steps, about 150 s).
Outputs: reconstructions.png, kl_effect.png, latent_walk.gif, training_curves.png, closest.png, samples.npz, judge.sha256, metrics.json
Samples: samples.npz: 1,000 VAE digits (decoder mean images), `images` float32 (N, 8, 8) in [0, 1] and `labels` (the judge's reading), load with numpy.load
Headline: reconstructions.png
Page: models/vae.md
"""

import math

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
# `steps` is the family's training budget (the same wall-clock budget for every family on the
# bench, calibrated on an idle 2-core machine); the plain autoencoder that shows what the KL
# term does gets a quarter of it.
PROFILES = {
    "quick": dict(steps=300, checkpoints=5, batch=64, latent_dim=8, hidden=256,
                  learning_rate=1e-3, plain_fraction=0.25, iwae_k=16, elbo_draws=2,
                  validation_share=0.1, walk_frames=12),
    "default": dict(steps=20000, checkpoints=30, batch=64, latent_dim=8, hidden=256,
                    learning_rate=1e-3, plain_fraction=0.25, iwae_k=256, elbo_draws=8,
                    validation_share=0.1, walk_frames=48),
}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The bench
#
# Every family on these pages trains on the same 1,347 digits, keeps the same 450 aside, and is
# scored by the same judge: a small classifier trained on the real training digits with a fixed
# seed, so that it comes out identical in every demo (its weights' hash is written to
# `judge.sha256`, and a test checks that all the families' hashes agree).
#
# The VAE models each pixel as one of the digits' 17 grey levels (0 to 16), so its likelihood is
# a probability of the actual data, comparable with the autoregressive model's and the flow's.

# %%
bench = DigitBench.for_run(run)
x_train, x_test = bench.x_train, bench.x_test
levels_train, levels_test = bench.levels_train, bench.levels_test
rng = np.random.default_rng(run.seed)
# A tenth of the training digits is set aside to choose when to stop (see Training); the bench's
# held-out digits are never used to choose anything.
order = rng.permutation(len(x_train))
n_validation = int(len(x_train) * hp.validation_share)
fit_x, fit_levels = x_train[order[n_validation:]], levels_train[order[n_validation:]]
val_x, val_levels = x_train[order[:n_validation]], levels_train[order[:n_validation]]

# %% [markdown]
# ## The model
#
# An **encoder** reads a digit and answers with a Gaussian over an 8-number code $z$: a mean and
# a spread for each number. A **decoder** reads a code and answers, for each of the 64 pixels,
# with probabilities for the 17 grey levels. Training maximises the *evidence lower bound*
#
# $$\log p(x) \ge \mathbb{E}_{q(z\mid x)}\big[\log p(x\mid z)\big] - \mathrm{KL}\big(q(z\mid x)\,\|\,\mathcal{N}(0, I)\big)$$
#
# The first term asks that a code drawn from the encoder's Gaussian rebuild the digit. The
# second, the KL term, charges for every bit by which that Gaussian differs from plain noise.
# Without it the encoder would place each digit at its own sharp point and the decoder would
# only know those points; with it, codes overlap and fill the noise distribution, so a code
# drawn from $\mathcal{N}(0, I)$ lands where the decoder has learnt something. The draw itself
# goes through the *reparameterisation trick* $z = \mu + \sigma \varepsilon$, with
# $\varepsilon$ plain noise, so that gradients flow into $\mu$ and $\sigma$.


# %%
def build_encoder(latent_dim, hidden):
    image = keras.Input((PIXELS,), name="image")
    h = layers.Dense(hidden, activation="relu")(image)
    h = layers.Dense(hidden, activation="relu")(h)
    return keras.Model(image, [layers.Dense(latent_dim, name="mean")(h),
                               layers.Dense(latent_dim, name="log_variance")(h)], name="encoder")


def build_decoder(latent_dim, hidden):
    code = keras.Input((latent_dim,), name="code")
    h = layers.Dense(hidden, activation="relu")(code)
    h = layers.Dense(hidden, activation="relu")(h)
    logits = layers.Dense(PIXELS * GREY_LEVELS)(h)
    return keras.Model(code, layers.Reshape((PIXELS, GREY_LEVELS))(logits), name="decoder")


def gaussian_kl(mean, log_variance):
    """KL(N(mean, exp(log_variance)) || N(0, 1)) per row, in nats, summed over dimensions."""
    return 0.5 * np.sum(mean**2 + np.exp(log_variance) - log_variance - 1.0, axis=-1)


def level_log_likelihood(logits, levels):
    """log p(levels | logits) per row in nats: a softmax over grey levels at every pixel."""
    logits = np.asarray(logits, dtype="float64")
    log_p = logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True)
    return np.take_along_axis(log_p, np.asarray(levels)[..., None], axis=-1)[..., 0].sum(-1)


def expected_image(logits):
    """The decoder's mean image: the expected grey level of every pixel, scaled to [0, 1]."""
    logits = np.asarray(logits, dtype="float64")
    p = np.exp(logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True))
    return (p @ np.arange(GREY_LEVELS) / (GREY_LEVELS - 1)).reshape(-1, 8, 8).astype("float32")


def log_mean_exp(values, axis=0):
    """log(mean(exp(values))) without overflow: the importance-weighted average."""
    values = np.asarray(values, dtype="float64")
    top = values.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(values - top).mean(axis=axis, keepdims=True))).squeeze(axis)


def slerp(a, b, t):
    """Spherical interpolation between two noise vectors: stays at the norm typical of noise,
    where a straight line would pass through the unusually quiet middle."""
    a, b = np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64")
    cos = np.clip(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)), -1.0, 1.0)
    omega = math.acos(cos)
    if omega < 1e-6:
        return (1 - t) * a + t * b
    return (math.sin((1 - t) * omega) * a + math.sin(t * omega) * b) / math.sin(omega)


class VAE:
    """Encoder, decoder and a compiled training loop; `kl_weight` 0 makes a plain autoencoder
    with a noisy encoder (the same network, the KL term switched off)."""

    def __init__(self, kl_weight, seed):
        self.encoder = build_encoder(hp.latent_dim, hp.hidden)
        self.decoder = build_decoder(hp.latent_dim, hp.hidden)
        self.optimizer = keras.optimizers.Adam(hp.learning_rate)
        self.kl_weight = float(kl_weight)
        self.noise = keras.random.SeedGenerator(seed)
        self.data = tf.constant(fit_x.reshape(-1, PIXELS))
        self.levels = tf.constant(fit_levels.reshape(-1, PIXELS).astype("int32"))

    def losses(self, images, levels):
        mean, log_variance = self.encoder(images, training=True)
        epsilon = keras.random.normal(tf.shape(mean), seed=self.noise)
        logits = self.decoder(mean + tf.exp(0.5 * log_variance) * epsilon, training=True)
        reconstruction = tf.reduce_sum(
            tf.nn.sparse_softmax_cross_entropy_with_logits(levels, logits), axis=-1)
        kl = 0.5 * tf.reduce_sum(mean**2 + tf.exp(log_variance) - log_variance - 1.0, axis=-1)
        return tf.reduce_mean(reconstruction), tf.reduce_mean(kl)

    # One signature for every call: without it each new number of steps retraces the loop.
    @tf.function(input_signature=[tf.TensorSpec((None, None), "int32")])
    def train_steps(self, batch_index):
        """Several steps in one compiled call (Python overhead would dominate at this size)."""
        weights = self.encoder.trainable_variables + self.decoder.trainable_variables
        for i in tf.range(tf.shape(batch_index)[0]):
            images = tf.gather(self.data, batch_index[i])
            levels = tf.gather(self.levels, batch_index[i])
            with tf.GradientTape() as tape:
                reconstruction, kl = self.losses(images, levels)
                loss = reconstruction + self.kl_weight * kl
            self.optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    def encode(self, images):
        mean, log_variance = self.encoder(np.asarray(images).reshape(-1, PIXELS), training=False)
        return keras.ops.convert_to_numpy(mean), keras.ops.convert_to_numpy(log_variance)

    def decode_logits(self, codes):
        return keras.ops.convert_to_numpy(self.decoder(np.asarray(codes, "float32"),
                                                       training=False))

    def sample(self, n, rng):
        return expected_image(self.decode_logits(rng.standard_normal((n, hp.latent_dim))))

    def elbo_terms(self, images, levels, draws, rng):
        """Held-out reconstruction and KL terms (nats per image), averaged over `draws` codes."""
        mean, log_variance = self.encode(images)
        flat_levels = levels.reshape(len(levels), -1)
        reconstruction = np.zeros(len(images))
        for _ in range(draws):
            z = mean + np.exp(0.5 * log_variance) * rng.standard_normal(mean.shape)
            reconstruction -= level_log_likelihood(self.decode_logits(z), flat_levels) / draws
        return reconstruction, gaussian_kl(mean, log_variance)

    def iwae_log_likelihood(self, images, levels, k, rng):
        """The importance-weighted bound with k codes per digit (nats per image): tighter than
        the ELBO, and still a lower bound on log p(x)."""
        mean, log_variance = self.encode(images)
        std = np.exp(0.5 * log_variance)
        flat_levels = levels.reshape(len(levels), -1)
        weights = np.empty((k, len(images)))
        for j in range(k):
            epsilon = rng.standard_normal(mean.shape)
            z = mean + std * epsilon
            log_prior = -0.5 * (z**2 + math.log(2 * math.pi)).sum(-1)
            log_posterior = (-0.5 * (epsilon**2 + math.log(2 * math.pi)) - np.log(std)).sum(-1)
            weights[j] = (level_log_likelihood(self.decode_logits(z), flat_levels)
                          + log_prior - log_posterior)
        return log_mean_exp(weights, axis=0)


def checkpoint_steps(total, n):
    """`n` increasing steps ending at `total`, denser early when the loss changes fastest."""
    steps = np.round(total * (np.arange(1, n + 1) / n) ** 2).astype(int)
    return np.unique(np.clip(steps, 1, total)).tolist()


# %% [markdown]
# ## Training
#
# A fixed number of steps (batches of 64 digits) is the VAE's training budget; the same
# wall-clock budget goes to every family on the bench, and the measured seconds are reported.
# At checkpoints we measure both terms of the ELBO on the held-out digits, which the VAE never
# trains on. Their sum, divided by 64 pixels and by $\ln 2$, is a bound in bits per pixel: a
# model that knew nothing (every grey level equally likely) would score
# $\log_2 17 \approx 4.09$.
#
# With 1,347 digits the budget is far more than the VAE can use: after a couple of thousand
# steps the decoder starts to memorise its training digits, grows over-confident about their
# exact grey levels, and its bound on *new* digits gets worse and worse (the curve below turns
# upwards). So we keep the weights of the checkpoint with the best ELBO on the tenth of the
# training digits set aside for this (*early stopping*), and report at which step that was.


# %%
def train(model, steps, rng, history=None):
    """Train for `steps`; with a `history`, record held-out ELBO terms at checkpoints and end
    with the weights that did best on the validation digits."""
    done, best = 0, (np.inf, 0, None)
    for end in checkpoint_steps(steps, hp.checkpoints):
        model.train_steps(rng.integers(0, len(fit_x), size=(end - done, hp.batch))
                          .astype("int32"))
        done = end
        if history is not None:
            reconstruction, kl = model.elbo_terms(x_test, levels_test, 1, rng)
            history.append((end, reconstruction.mean(), kl.mean()))
            validation = sum(model.elbo_terms(val_x, val_levels, 2, rng)).mean()
            if validation < best[0]:
                best = (validation, end, [m.get_weights() for m in (model.encoder,
                                                                     model.decoder)])
    if best[2] is not None:
        model.encoder.set_weights(best[2][0])
        model.decoder.set_weights(best[2][1])
    return best[1]


vae = VAE(kl_weight=1.0, seed=run.seed)
history = []
best_step, train_seconds = timed(train, vae, hp.steps, rng, history)
print(f"best validation ELBO at step {best_step:,} of {hp.steps:,}: those weights are kept")
reconstruction, kl = vae.elbo_terms(x_test, levels_test, hp.elbo_draws, rng)
elbo_bpp = bits_per_pixel((reconstruction + kl).sum(), len(x_test))
iwae_bpp = bits_per_pixel(-vae.iwae_log_likelihood(x_test, levels_test, hp.iwae_k, rng).sum(),
                          len(x_test))
print(f"{hp.steps} steps in {train_seconds:.0f} s; held-out bound: ELBO {elbo_bpp:.3f} bits per "
      f"pixel (reconstruction {reconstruction.mean():.1f} + KL {kl.mean():.1f} nats per digit), "
      f"importance-weighted with {hp.iwae_k} codes {iwae_bpp:.3f}")

# %%
steps_axis = [h[0] for h in history]
to_bpp = 1 / (PIXELS * math.log(2))
fig, ax = plt.subplots(figsize=(6.5, 3.6))
ax.plot(steps_axis, [(h[1] + h[2]) * to_bpp for h in history], color="#1565c0",
        label="ELBO bound (sum)")
ax.plot(steps_axis, [h[1] * to_bpp for h in history], color="#90caf9", label="reconstruction")
ax.plot(steps_axis, [h[2] * to_bpp for h in history], color="#e65100", label="KL")
ax.axhline(math.log2(GREY_LEVELS), color="grey", ls=":", label="uniform over 17 levels")
ax.axvline(best_step, color="#2e7d32", ls="--", label="kept (best on validation digits)")
ax.set_xlabel("training step")
ax.set_ylabel("held-out bits per pixel")
ax.set_title("The two terms of the ELBO on held-out digits")
ax.legend(fontsize=8)
run.save_figure(fig, "training_curves.png")
run.show("training_curves.png",
         "Line chart of held-out bits per pixel against training step: the total bound and "
         "its reconstruction part fall, then turn upwards as the model overfits; the KL part "
         "rises from zero and levels off; a dashed line marks the checkpoint kept.",
         "Held-out digits expose overfitting that the training loss never shows; the "
         "weights kept are those that did best on digits set aside from the training split.")

# %% [markdown]
# ## Reconstructions beside samples
#
# A reconstruction starts from a real held-out digit: encode, take the mean code, decode. A
# sample starts from noise alone. The pictures show the decoder's *mean* image (the expected
# grey level of each pixel); drawing every pixel independently from its 17 probabilities gives
# speckled digits, because the decoder models pixels as independent once the code is known. The
# bench scores the mean images (and, for comparison, the speckled draws: see the metrics).

# %%
samples, sample_seconds = timed(vae.sample, BENCH_SAMPLES, rng)
sample_seconds_per_1000 = sample_seconds * 1000 / BENCH_SAMPLES
scores = bench.score(samples)
labels = bench.labels(samples)
save_digit_samples(run, samples, labels)


def draw_pixels(logits, rng):
    """Draw each pixel's grey level from the decoder's probabilities (no mean)."""
    logits = np.asarray(logits, dtype="float64")
    p = np.exp(logits - np.logaddexp.reduce(logits, axis=-1, keepdims=True))
    u = rng.random(p.shape[:-1] + (1,))
    return ((p.cumsum(-1) < u).sum(-1).clip(0, GREY_LEVELS - 1) / 16).reshape(-1, 8, 8)


pixel_draws = draw_pixels(vae.decode_logits(rng.standard_normal((BENCH_SAMPLES, hp.latent_dim))),
                          rng)
pixel_scores = bench.score(pixel_draws)
shown = np.concatenate([np.flatnonzero(bench.y_test == k)[:2] for k in range(10)])
recon = expected_image(vae.decode_logits(vae.encode(x_test[shown])[0]))
fig, axes = plt.subplots(1, 3, figsize=(12, 2.3))
fig.subplots_adjust(top=0.72, wspace=0.06)
for ax, grid, title in [
        (axes[0], np.concatenate([x_test[shown][::2], x_test[shown][1::2]]), "Held-out digits"),
        (axes[1], np.concatenate([recon[::2], recon[1::2]]), "Their reconstructions"),
        (axes[2], samples[:20], "Samples from noise")]:
    ax.imshow(image_grid(grid, ncols=10), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=10)
fig.suptitle(f"VAE (weights of step {best_step:,}): samples at Frechet distance {scores['frechet']:.1f} "
             f"(real digits: {bench.floor()['frechet']:.1f})", fontsize=11)
run.save_figure(fig, "reconstructions.png")
run.show("reconstructions.png",
         "Three grids of 20 small digits: real held-out digits, the VAE's reconstructions of "
         "them, which look like smoothed copies, and digits decoded from random noise.",
         "Reconstructions keep the digit and its slant but lose fine detail; samples are "
         "blurrier still, and some are hard to read.")

# %% [markdown]
# ## What the KL term does
#
# We train the same network for a quarter of the budget with the KL term switched off: a plain
# autoencoder whose encoder still adds noise. Left, the mean codes of the held-out digits in the
# two code dimensions where they spread most, with the circle where 95% of plain noise falls: the
# VAE's codes fill the noise distribution, the autoencoder's wander off wherever suits it.
# Right, what each decoder makes of plain noise. The bar chart shows how many nats each code
# dimension carries (its KL): dimensions the VAE found useless stay at zero, switched off to
# save KL.

# %%
plain = VAE(kl_weight=0.0, seed=run.seed + 1)
plain_steps = max(1, int(hp.steps * hp.plain_fraction))
train(plain, plain_steps, rng)
plain_samples = plain.sample(BENCH_SAMPLES, rng)
plain_scores = bench.score(plain_samples)
plain_reconstruction, plain_kl = plain.elbo_terms(x_test, levels_test, hp.elbo_draws, rng)
vae_codes, vae_log_variance = vae.encode(x_test)
plain_codes, _ = plain.encode(x_test)
kl_per_dimension = 0.5 * (vae_codes**2 + np.exp(vae_log_variance) - vae_log_variance - 1).mean(0)
active_dimensions = int((kl_per_dimension > 0.1).sum())

fig = plt.figure(figsize=(13, 6.4))
grid_spec = fig.add_gridspec(2, 3, width_ratios=[1, 1, 1.1])
circle = np.linspace(0, 2 * np.pi, 200)
radius = math.sqrt(-2 * math.log(0.05))  # 95% of 2-D standard noise lies inside
for row, (codes, model_samples, name, model_scores) in enumerate([
        (vae_codes, samples, "VAE (with KL)", scores),
        (plain_codes, plain_samples, "autoencoder (no KL)", plain_scores)]):
    ax = fig.add_subplot(grid_spec[row, 0])
    widest = np.argsort(codes.var(0))[::-1][:2]
    ax.scatter(codes[:, widest[0]], codes[:, widest[1]], c=bench.y_test, cmap="tab10", s=6)
    ax.plot(radius * np.cos(circle), radius * np.sin(circle), color="black", lw=1)
    ax.set_title(f"{name}: codes of held-out digits", fontsize=9)
    ax.set_xlabel(f"code dimension {widest[0] + 1}")
    ax.set_ylabel(f"code dimension {widest[1] + 1}")
    ax.set_aspect("equal", adjustable="datalim")
    ax = fig.add_subplot(grid_spec[row, 1])
    ax.imshow(image_grid(model_samples[:40], ncols=8), cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(f"{name}: decoded noise\nFrechet distance {model_scores['frechet']:.1f}, "
                 f"precision {model_scores['precision']:.2f}", fontsize=9)
ax = fig.add_subplot(grid_spec[:, 2])
ax.bar(np.arange(1, hp.latent_dim + 1), kl_per_dimension, color="#1565c0")
ax.set_xlabel("code dimension")
ax.set_ylabel("KL on held-out digits (nats)")
ax.set_title(f"VAE: {active_dimensions} of {hp.latent_dim} dimensions carry information",
             fontsize=9)
fig.tight_layout()
run.save_figure(fig, "kl_effect.png")
run.show("kl_effect.png",
         "Top row for the VAE, bottom row for an autoencoder without the KL term: scatter "
         "plots of held-out digits' codes with a circle marking typical noise, and grids of "
         "digits decoded from noise; a bar chart of how much each VAE code dimension carries.",
         "Without the KL term the codes leave the circle, so noise decodes into shapes the "
         "decoder never learnt; with it, noise decodes into digits.")
print(f"no-KL autoencoder ({plain_steps:,} steps): reconstruction "
      f"{plain_reconstruction.mean():.1f} nats per digit (VAE {reconstruction.mean():.1f}), "
      f"samples at Frechet distance {plain_scores['frechet']:.1f} (VAE {scores['frechet']:.1f})")

# %% [markdown]
# ## From noise to a digit
#
# Sampling a VAE is one pass through the decoder, so there is no process to watch: one noise
# vector, one digit. What we can watch is the neighbourhood. The animation moves ten noise
# vectors smoothly along great circles (keeping the length typical of noise) and decodes every
# frame: digits morph into other digits without passing through nonsense, because the KL term
# made the whole noise distribution meaningful.

# %%
walk_start = rng.standard_normal((10, hp.latent_dim))
walk_stops = [walk_start, rng.standard_normal((10, hp.latent_dim)),
              rng.standard_normal((10, hp.latent_dim)), walk_start]
frames = []
per_leg = max(2, hp.walk_frames // 3)
font = ImageFont.load_default(size=12)
for leg in range(3):
    for t in np.linspace(0, 1, per_leg, endpoint=False):
        codes = np.stack([slerp(a, b, t) for a, b in zip(walk_stops[leg], walk_stops[leg + 1])])
        images = np.round(expected_image(vae.decode_logits(codes)) * 16) / 16
        tile = Image.fromarray(image_grid(images, ncols=10, scale=5)).convert("RGB")
        frame = Image.new("RGB", (tile.width, tile.height + 18), "white")
        frame.paste(tile, (0, 18))
        ImageDraw.Draw(frame).text((3, 2), "ten noise vectors moving; each frame decoded",
                                   fill=(0, 0, 0), font=font)
        frames.append(frame)
run.save_gif(frames, "latent_walk.gif", duration_ms=120, hold_last_ms=120)
run.show("latent_walk.gif",
         "Animation of a row of ten digits slowly morphing into other digits and back.",
         "Every frame is decoded from noise; nearby noise gives similar digits.")

# %% [markdown]
# ## Is it copying?
#
# The ten samples nearest to a training digit (top) above that training digit (bottom). The
# bench counts a sample as memorised when it is nearer to a training digit than 95% of held-out
# real digits are (the pixel distance is printed below). Held-out digits themselves score
# about 5%.

# %%
pairs, distances = closest_pairs_image(bench, samples)
run.save_image(pairs, "closest.png")
run.show("closest.png",
         "Two rows of ten digits: the VAE samples closest to a training digit, above those "
         "training digits.",
         "Close in shape, but smoother than any real digit: the decoder's mean image.")
print(f"memorisation threshold {bench.memorised_threshold:.2f}; nearest ten samples at "
      f"{distances.min():.2f} to {distances.max():.2f}; memorised share {scores['memorised']:.1%}")

# %% [markdown]
# ## Metrics
#
# The shared keys (`frechet`, `precision`, `recall`, `class_coverage`, `memorised`,
# `bits_per_pixel`, times, `parameters`) are the same for every family on the bench.
# `bits_per_pixel` is the importance-weighted bound: an upper bound on the true held-out
# negative log-likelihood, not an exact value. `parameters` counts the decoder, which is all
# that sampling needs; `parameters_with_encoder` counts both.

# %%
metrics = family_metrics(
    scores, bits_per_pixel=iwae_bpp, train_seconds=train_seconds,
    sample_seconds_per_1000=sample_seconds_per_1000, parameters=count_parameters(vae.decoder),
    parameters_with_encoder=count_parameters(vae.encoder, vae.decoder),
    elbo_bits_per_pixel=elbo_bpp, iwae_samples=hp.iwae_k,
    reconstruction_bits_per_pixel=reconstruction.mean() * to_bpp,
    kl_bits_per_pixel=kl.mean() * to_bpp, active_dimensions=active_dimensions,
    latent_dimensions=hp.latent_dim, training_steps=hp.steps, best_step=best_step,
    pixel_draws_frechet=pixel_scores["frechet"], pixel_draws_precision=pixel_scores["precision"],
    plain_frechet=plain_scores["frechet"], plain_precision=plain_scores["precision"],
    plain_recall=plain_scores["recall"], plain_training_steps=plain_steps,
    judge_heldout_accuracy=bench.judge_accuracy, memorised_threshold=bench.memorised_threshold)
run.save_metrics(metrics)
