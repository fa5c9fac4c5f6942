"""Data augmentation: does generated data help a classifier that has only 10 digits per class?

A small classifier learns handwritten digits from only 10 labelled examples per class, four
ways: on the real images alone, with classic augmentation (1-pixel shifts and small rotations),
with samples from a class-conditional VAE trained on the same 100 images, and with both. Every
arm is repeated over several random subsets and scored on the full held-out split.

Data: scikit-learn's bundled digits (1,797 images, 8x8), 25% held out; 10 per class drawn from the training split for each repeat.
Run time: quick ~12 s, default ~35 s on 2 CPU cores (CPU time measured; the machine was shared).
Outputs: accuracy_by_arm.png, real_vs_synthetic.png, synthetic.npz, results.md, metrics.json
Samples: synthetic.npz: the VAE's synthetic digits for the first repeat and the 100 real digits it
learned from; numpy.load("synthetic.npz") gives images, labels, real_images, real_labels (8 x 8, ink
0 to 1)
Headline: accuracy_by_arm.png
Page: introduction/overview.md#data-augmentation
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops
from scipy import ndimage

from _shared import DigitJudge, image_grid, load_digits_split, start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(repeats=2, per_class=10, classic_copies=10, generated_per_class=100,
                  shift_cols=1, shift_rows=0, max_angle=10.0, real_share=0.5,
                  clf_hidden=128, clf_dropout=0.2, clf_steps=200, batch=32, clf_lr=2e-3,
                  vae_hidden=128, vae_latent=4, vae_steps=300, vae_lr=2e-3, judge_epochs=5),
    "default": dict(repeats=10, per_class=10, classic_copies=10, generated_per_class=100,
                    shift_cols=1, shift_rows=0, max_angle=10.0, real_share=0.5,
                    clf_hidden=128, clf_dropout=0.2, clf_steps=800, batch=32, clf_lr=2e-3,
                    vae_hidden=128, vae_latent=4, vae_steps=2000, vae_lr=2e-3, judge_epochs=30),
}
ARMS = ("real", "classic", "generated", "both")
ARM_LABELS = {"real": "real only", "classic": "real + shifts/rotations",
              "generated": "real + VAE samples", "both": "real + both"}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The question
#
# Labelled data is often the expensive part of machine learning. A tempting idea is to train a
# generative model on the few labelled examples we have and let it produce many more. Does that
# help the classifier we actually care about?
#
# We set up a fair test on the 8x8 handwritten digits. The classifier may look at only **10 real
# images per class** (100 images in all), drawn from the training split. It is then trained in
# four ways, with everything else held fixed:
#
# 1. **real only**: the 100 images;
# 2. **classic augmentation**: the 100 images plus copies shifted sideways by up to one pixel
#    and rotated by a few degrees, transformations we *know* do not change which digit it is;
# 3. **generated**: the 100 images plus samples from a class-conditional generator trained on
#    those same 100 images and nothing else;
# 4. **both** kinds of extra data together.
#
# Every classifier is scored on the full held-out split. One small subset could be lucky or
# unlucky, so the whole experiment is repeated with different subsets and different random
# initialisations, and we report the mean and the spread.

# %%
x_train, x_test, y_train, y_test = load_digits_split(run.seed)


def pick_per_class(labels, k, rng):
    """Indices of exactly k randomly chosen examples of every class present in `labels`."""
    labels = np.asarray(labels)
    picks = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False)
             for c in np.unique(labels)]
    return np.concatenate(picks)


# One random generator per repeat, derived from the run's seed, picks that repeat's subset.
rngs = [np.random.default_rng([run.seed, r]) for r in range(hp.repeats)]
subsets = [pick_per_class(y_train, hp.per_class, rng) for rng in rngs]
print(f"{len(x_train)} training digits available, {len(x_test)} held out; "
      f"each of {hp.repeats} repeats uses {len(subsets[0])} of them ({hp.per_class} per class)")

# %% [markdown]
# ## Classic augmentation
#
# A 1-pixel shift or a rotation of about ten degrees leaves a digit the same digit: this is
# knowledge *we* bring, not something learned from data. Each of the 100 real images gets
# several randomly shifted and rotated copies. On an 8x8 grid a rotation has to interpolate
# between pixels, so the rotated copies are slightly blurred.
#
# That knowledge has to fit the data, though. These digits were scaled to fill the frame from
# top to bottom, while the left and right columns are nearly empty (the printout below measures
# it). A vertical shift would cut off the top or bottom of the digit and teach the classifier
# about digits that never occur, so we shift sideways only.


# %%
def shift_image(image, dy, dx):
    """Move a 2-D image by whole pixels (dy down, dx right), filling the uncovered edge with 0."""
    out = np.zeros_like(image)
    h, w = image.shape
    src = image[max(0, -dy): h - max(0, dy), max(0, -dx): w - max(0, dx)]
    out[max(0, dy): max(0, dy) + src.shape[0], max(0, dx): max(0, dx) + src.shape[1]] = src
    return out


def classic_augment(images, labels, copies, shift_rows, shift_cols, max_angle, rng):
    """`copies` randomly transformed versions of every image, with the labels repeated to
    match: rotated within +-max_angle degrees, then shifted within +-shift_rows pixels up or
    down and +-shift_cols pixels sideways."""
    out = []
    for image in images:
        for _ in range(copies):
            angle = rng.uniform(-max_angle, max_angle)
            rotated = ndimage.rotate(image, angle, reshape=False, order=1, mode="constant")
            dy = int(rng.integers(-shift_rows, shift_rows + 1))
            dx = int(rng.integers(-shift_cols, shift_cols + 1))
            out.append(shift_image(np.clip(rotated, 0, 1), dy, dx))
    return np.asarray(out, dtype="float32"), np.repeat(np.asarray(labels), copies)


def edge_ink_shares(images):
    """Share of all ink in the top and bottom rows, and in the left and right columns."""
    images = np.asarray(images)
    total = images.sum()
    return (float(images[:, [0, -1], :].sum() / total), float(images[:, :, [0, -1]].sum() / total))


ink_rows, ink_cols = edge_ink_shares(x_train)
print(f"share of ink in the top and bottom rows {ink_rows:.1%}, "
      f"in the left and right columns {ink_cols:.1%}")
classic = [classic_augment(x_train[s], y_train[s], hp.classic_copies, hp.shift_rows,
                           hp.shift_cols, hp.max_angle, rng) for s, rng in zip(subsets, rngs)]
print(f"classic augmentation: {len(classic[0][0])} extra images per repeat (rotations up to "
      f"{hp.max_angle:.0f} degrees, shifts up to {hp.shift_cols} pixel sideways and "
      f"{hp.shift_rows} up or down)")

# %% [markdown]
# ## Training many small models at once
#
# This experiment needs many models: one generator per repeat, and one classifier per arm and
# repeat. Each is tiny, so training them one after another would spend most of the time on
# per-call overhead. Instead we stack them: an `EnsembleDense` layer holds a separate weight
# matrix for each of $M$ independent models and applies model $m$'s weights only to model
# $m$'s slice of the batch. The models share nothing but the training loop; since Adam updates
# every weight from its own gradient alone, this is the same as training them separately, only
# faster. Each model gets its own stream of training examples.


# %%
class EnsembleDense(layers.Layer):
    """M independent dense layers side by side: (batch, M, d_in) -> (batch, M, d_out)."""

    def __init__(self, models, units, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.models, self.units = models, units
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        d_in = input_shape[-1]
        # Glorot-uniform per model (Keras' own would count the M models into the fan-in).
        limit = float(np.sqrt(6.0 / (d_in + self.units)))
        self.kernel = self.add_weight(shape=(self.models, d_in, self.units),
                                      initializer=keras.initializers.RandomUniform(-limit, limit))
        self.bias = self.add_weight(shape=(self.models, self.units), initializer="zeros")

    def call(self, x):
        return self.activation(ops.einsum("bmi,mio->bmo", x, self.kernel) + self.bias)


def epoch_indices(n, total, rng):
    """`total` indices into n items: shuffled passes over all n, cut to length."""
    passes = -(-total // n)
    return np.concatenate([rng.permutation(n) for _ in range(passes)])[:total]


def mixed_indices(n_real, n_extra, steps, batch, real_share, rng):
    """Indices into [real items, then extra items] for `steps` batches of size `batch`: a fixed
    share of every batch is real (all of it when there are no extra items)."""
    n_from_real = batch if n_extra == 0 else int(round(batch * real_share))
    real = epoch_indices(n_real, steps * n_from_real, rng).reshape(steps, n_from_real)
    if n_from_real == batch:
        return real.reshape(-1)
    extra = n_real + epoch_indices(n_extra, steps * (batch - n_from_real), rng)
    return np.concatenate([real, extra.reshape(steps, -1)], axis=1).reshape(-1)


def stack_streams(pools, index_lists):
    """One training array (N, M, ...) whose slice m holds pools[m] in the order index_lists[m]."""
    return np.stack([pool[idx] for pool, idx in zip(pools, index_lists)], axis=1)


# %% [markdown]
# ## The generator: a conditional VAE, trained on the same 100 images
#
# The generator is a small conditional variational autoencoder (VAE). Its encoder maps an image
# and its label to a distribution over a 4-number code; its decoder maps a code and a label back
# to pixel intensities. Training balances reconstructing each image against keeping the codes
# close to a standard normal distribution, so that afterwards we can draw a code at random, pick
# the class we want, and decode a new digit of that class. It sees only the repeat's 100 real
# images: anything it knows about digits comes from them.


# %%
class Reparameterise(layers.Layer):
    """z = mean + exp(log_var / 2) * noise: a random code the gradient can pass through."""

    def __init__(self, seed, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise


def vae_loss(x, output):
    """Per-image negative ELBO in nats: pixel cross-entropy plus KL to the standard normal.
    `output` holds the decoder's 64 logits, then the code's means and log-variances."""
    logits, rest = output[..., :64], output[..., 64:]
    mean, log_var = ops.split(rest, 2, axis=-1)
    recon = ops.sum(ops.maximum(logits, 0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits))), -1)
    kl = 0.5 * ops.sum(ops.exp(log_var) + mean**2 - 1.0 - log_var, -1)
    return recon + kl


def build_conditional_vae(models, hidden, latent, seed):
    x_in, y_in = keras.Input((models, 64)), keras.Input((models, 10))
    h = EnsembleDense(models, hidden, "relu")(layers.Concatenate()([x_in, y_in]))
    mean, log_var = EnsembleDense(models, latent)(h), EnsembleDense(models, latent)(h)
    z = Reparameterise(seed)([mean, log_var])
    dec_hidden, dec_out = EnsembleDense(models, hidden, "relu"), EnsembleDense(models, 64)
    logits = dec_out(dec_hidden(layers.Concatenate()([z, y_in])))
    vae = keras.Model([x_in, y_in], layers.Concatenate()([logits, mean, log_var]))
    # The decoder alone, sharing the trained layers, turns (code, label) into pixel intensities.
    z_in = keras.Input((models, latent))
    decoded = layers.Activation("sigmoid")(dec_out(dec_hidden(layers.Concatenate()([z_in, y_in]))))
    return vae, keras.Model([z_in, y_in], decoded)


one_hot = np.eye(10, dtype="float32")
flat_subsets = [x_train[s].reshape(len(s), 64) for s in subsets]
vae_idx = [epoch_indices(len(s), hp.vae_steps * hp.batch, rng) for s, rng in zip(subsets, rngs)]
vae_x = stack_streams(flat_subsets, vae_idx)
vae_y = stack_streams([one_hot[y_train[s]] for s in subsets], vae_idx)
vae, decoder = build_conditional_vae(hp.repeats, hp.vae_hidden, hp.vae_latent, run.seed)
vae.compile(keras.optimizers.Adam(hp.vae_lr), loss=vae_loss)
history = vae.fit([vae_x, vae_y], vae_x, batch_size=hp.batch, epochs=1, shuffle=False, verbose=0)
print(f"trained {hp.repeats} conditional VAEs for {hp.vae_steps} steps each; final loss "
      f"{history.history['loss'][-1]:.1f} nats per image")

# Draw new digits: random codes, every class equally often, from every repeat's generator.
gen_labels = np.repeat(np.arange(10), hp.generated_per_class)
codes = np.random.default_rng([run.seed, 999]).standard_normal(
    (len(gen_labels), hp.repeats, hp.vae_latent)).astype("float32")
label_input = np.repeat(one_hot[gen_labels][:, None], hp.repeats, axis=1)
generated = decoder.predict([codes, label_input], verbose=0, batch_size=1024)
generated = generated.reshape(len(gen_labels), hp.repeats, 8, 8).transpose(1, 0, 2, 3)
print(f"generated {len(gen_labels)} digits per repeat ({hp.generated_per_class} per class)")

# %% [markdown]
# ## An independent check of the generator
#
# Do the generated images look like the digits they were asked to be? The generator cannot be
# its own judge. We train a separate CNN, `DigitJudge`, on the *full* real training split
# (never on generated images) and count how often it reads a generated sample as the intended
# class. For reference it also scores the classic-augmented copies and the real subsets.
#
# Being recognisable is not enough to be useful: a generator that drew the same tidy digit a
# hundred times would pass the judge and teach the classifier nothing new. So we also measure
# variety, as the within-class spread of pixel values, relative to the real subset's.


# %%
def share_as_intended(proba, labels):
    """Share of samples whose most probable class (rows of `proba`) is the intended label."""
    return float((np.asarray(proba).argmax(1) == np.asarray(labels)).mean())


def within_class_spread(images, labels):
    """Pixel standard deviation within each class, averaged over pixels and classes."""
    images, labels = np.asarray(images), np.asarray(labels)
    flat = images.reshape(len(images), -1)
    return float(np.mean([flat[labels == c].std(0).mean() for c in np.unique(labels)]))


judge = DigitJudge(x_train, y_train, epochs=hp.judge_epochs, seed=run.seed)
judge_test_acc = judge.accuracy(x_test, y_test)
judge_generated = [share_as_intended(judge.proba(g), gen_labels) for g in generated]
judge_classic = [share_as_intended(judge.proba(c[0]), c[1]) for c in classic]
judge_real = [share_as_intended(judge.proba(x_train[s]), y_train[s]) for s in subsets]
print(f"judge: {judge_test_acc:.1%} accurate on held-out real digits")
print(f"judge reads as the intended class: real subsets {np.mean(judge_real):.1%}, "
      f"classic copies {np.mean(judge_classic):.1%}, VAE samples {np.mean(judge_generated):.1%}")
spread_ratio = [within_class_spread(g, gen_labels) / within_class_spread(x_train[s], y_train[s])
                for g, s in zip(generated, subsets)]
print(f"variety of the VAE samples: within-class spread {np.mean(spread_ratio):.0%} of the real "
      f"subset's")

# %% [markdown]
# Left: the 100 real images one repeat may learn from, one class per row. Middle: one
# transformed copy of each. Right: what that repeat's generator made. Expect the VAE's digits
# to look like smoothed versions of the ones it saw, with less variety than real handwriting:
# with 10 examples per class it has little to learn variation from.
#
# The judge's score for the shifted and rotated copies needs care. Their labels are right by
# construction; the judge was trained on centred, upright digits only, so what its score
# measures is how far the copies stray from the digits it knows, which is also how far they
# stray from the held-out test digits.

# %%
rows = 10
real_grid = x_train[subsets[0]].reshape(10, hp.per_class, 8, 8)[:, :rows]
classic_grid = classic[0][0].reshape(10, hp.per_class * hp.classic_copies, 8, 8)[:, ::hp.classic_copies][:, :rows]
gen_grid = generated[0].reshape(10, hp.generated_per_class, 8, 8)[:, :rows]
fig, axes = plt.subplots(1, 3, figsize=(11, 4.3))
panels = [(real_grid, f"Real subset ({hp.per_class} per class)\njudge: {judge_real[0]:.0%} as intended"),
          (classic_grid, f"Shifted and rotated copies\njudge: {judge_classic[0]:.0%} as intended"),
          (gen_grid, f"Conditional VAE samples\njudge: {judge_generated[0]:.0%} as intended, "
                     f"spread {spread_ratio[0]:.0%} of real")]
for ax, (grid, title) in zip(axes, panels):
    ax.imshow(image_grid(grid.reshape(-1, 8, 8), ncols=rows, scale=4), cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=10)
    ax.set_yticks((np.arange(10) * 9 + 5) * 4 - 2, [str(k) for k in range(10)], fontsize=8)
    ax.set_xticks([])
    for side in ax.spines.values():
        side.set_visible(False)
axes[0].set_ylabel("digit class")
fig.suptitle("What the classifier learns from, in the first repeat", fontsize=12)
run.save_figure(fig, "real_vs_synthetic.png")
run.show("real_vs_synthetic.png",
         "Three grids of 8x8 digits, one class per row from 0 to 9: the real subset, shifted and "
         "rotated copies, and digits drawn by the conditional VAE.",
         "Compare the variety within each row: the VAE can only recombine what the 100 real "
         "images on the left showed it.")

np.savez_compressed(run.path("synthetic.npz"), images=generated[0].astype("float32"),
                    labels=gen_labels, real_images=x_train[subsets[0]],
                    real_labels=y_train[subsets[0]])

# %% [markdown]
# ## Training the classifiers
#
# The classifier is a small multilayer perceptron (64 pixels, one hidden layer, dropout). Every
# arm gets the same number of gradient steps, and in the arms with extra data half of every
# batch is real, so the extra images add to the real ones rather than drowning them out. As a
# reference, the same classifier is also trained on the whole real training split: that is how
# far more *real* labelled data would get us.


# %%
def build_classifier(models, hidden, dropout, seed):
    x_in = keras.Input((models, 64))
    h = EnsembleDense(models, hidden, "relu")(x_in)
    h = layers.Dropout(dropout, seed=seed)(h)
    return keras.Model(x_in, EnsembleDense(models, 10, "softmax")(h))


flat_train = x_train.reshape(len(x_train), 64)
pools, pool_labels, index_lists, names = [], [], [], []
for r, (s, rng) in enumerate(zip(subsets, rngs)):
    extras = {"real": [], "classic": [classic[r]], "generated": [(generated[r], gen_labels)],
              "both": [classic[r], (generated[r], gen_labels)]}
    for arm in ARMS:
        xs = [flat_train[s]] + [e[0].reshape(len(e[0]), 64) for e in extras[arm]]
        ys = [y_train[s]] + [e[1] for e in extras[arm]]
        n_extra = sum(len(e[1]) for e in extras[arm])
        pools.append(np.concatenate(xs))
        pool_labels.append(np.concatenate(ys))
        index_lists.append(mixed_indices(len(s), n_extra, hp.clf_steps, hp.batch, hp.real_share, rng))
        names.append((arm, r))
# The all-real-data reference, one per repeat with its own initialisation.
ref_rng = np.random.default_rng([run.seed, 1000])
for r in range(hp.repeats):
    pools.append(flat_train)
    pool_labels.append(y_train)
    index_lists.append(mixed_indices(len(flat_train), 0, hp.clf_steps, hp.batch, 1.0, ref_rng))
    names.append(("all real", r))

clf = build_classifier(len(pools), hp.clf_hidden, hp.clf_dropout, run.seed)
clf.compile(keras.optimizers.Adam(hp.clf_lr), "sparse_categorical_crossentropy")
clf.fit(stack_streams(pools, index_lists), stack_streams(pool_labels, index_lists),
        batch_size=hp.batch, epochs=1, shuffle=False, verbose=0)
test_input = np.repeat(x_test.reshape(len(x_test), 1, 64), len(pools), axis=1)
predicted = clf.predict(test_input, verbose=0, batch_size=512).argmax(-1)   # (N_test, models)
model_acc = (predicted == y_test[:, None]).mean(0)
acc = {arm: np.array([a for a, (n, _) in zip(model_acc, names) if n == arm])
       for arm in ARMS + ("all real",)}
print(f"trained {len(pools)} classifiers ({len(ARMS)} arms + 1 reference, x {hp.repeats} "
      f"repeats) for {hp.clf_steps} steps each")

# %% [markdown]
# ## Results
#
# Accuracy on the held-out split, as mean and standard deviation over the repeats. Because each
# repeat trains all four arms on the same real subset, the fairest comparison is *paired*: the
# last columns give the average change against "real only" within a repeat, and in how many
# repeats the arm came out ahead.


# %%
def results_table(acc, baseline, labels):
    """Markdown table of mean and std accuracy per arm, with the paired change against
    `baseline` (same repeats, same order) and the number of repeats that beat it."""
    lines = ["| training data | accuracy mean | std | change vs real only (mean ± std) | repeats better |",
             "|---|---|---|---|---|"]
    base = np.asarray(acc[baseline])
    for arm, values in acc.items():
        values = np.asarray(values)
        diff = values - base
        change = "" if arm == baseline else f"{100 * diff.mean():+.1f} ± {100 * diff.std():.1f} points"
        better = "" if arm == baseline else f"{int((diff > 0).sum())} of {len(values)}"
        lines.append(f"| {labels.get(arm, arm)} | {values.mean():.1%} | {100 * values.std():.1f} points "
                     f"| {change} | {better} |")
    return "\n".join(lines)


table = results_table(acc, "real", {**ARM_LABELS, "all real": f"all {len(x_train)} real (reference)"})
print(table)
run.path("results.md").write_text(
    f"Held-out accuracy ({len(x_test)} digits), {hp.repeats} repeats with {hp.per_class} real "
    f"images per class ({run.profile} profile, seed {run.seed}).\n\n{table}\n")

gain_gen = acc["generated"] - acc["real"]
print(f"VAE samples changed accuracy by {100 * gain_gen.mean():+.1f} points on average "
      f"({int((gain_gen > 0).sum())} of {hp.repeats} repeats better than real only); "
      f"classic augmentation by {100 * (acc['classic'] - acc['real']).mean():+.1f} points")

# %%
colors = {"real": "#607d8b", "classic": "#1e88e5", "generated": "#e53935", "both": "#8e24aa"}
fig, (ax, ax_gain) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=[3, 2])
spots = np.arange(len(ARMS))
means = [acc[a].mean() for a in ARMS]
ax.bar(spots, means, yerr=[acc[a].std() for a in ARMS], capsize=6, width=0.6,
       color=[colors[a] for a in ARMS], alpha=0.85, error_kw=dict(lw=1.5))
jitter = np.linspace(-0.15, 0.15, hp.repeats)
for i, a in enumerate(ARMS):
    ax.scatter(spots[i] + jitter, acc[a], s=14, color="black", zorder=3,
               label="one repeat" if i == 0 else None)
ref = acc["all real"].mean()
ax.axhline(ref, color="black", ls="--", lw=1,
           label=f"same classifier, all {len(x_train)} real training digits ({ref:.1%})")
ax.set_xticks(spots, [ARM_LABELS[a].replace(" + ", "\n+ ") for a in ARMS])
ax.set_ylabel(f"held-out accuracy ({len(x_test)} digits)")
bottom = max(0.0, min(acc[a].min() for a in ARMS) - 0.12)
ax.set_ylim(bottom, 1.0)
for i, a in enumerate(ARMS):
    ax.text(spots[i], bottom + 0.01, f"{means[i]:.1%}", ha="center", va="bottom", color="white",
            fontsize=11, weight="bold")
ax.set_title(f"Held-out accuracy, {hp.per_class} real digits per class plus extra data\n"
             f"bars: mean and std over {hp.repeats} repeats (different subsets and initialisations)",
             fontsize=10)
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=8, frameon=False)

# Paired view: within a repeat every arm shares the real subset, so differences cancel its luck.
for i, a in enumerate(ARMS[1:]):
    gain = 100 * (acc[a] - acc["real"])
    ax_gain.scatter(np.full(hp.repeats, i) + jitter, gain, s=14, color=colors[a], zorder=3)
    ax_gain.errorbar(i + 0.3, gain.mean(), yerr=gain.std(), fmt="D", color="black", capsize=5)
    ax_gain.text(i + 0.38, gain.mean(), f"{gain.mean():+.1f}", va="center", fontsize=9)
ax_gain.axhline(0, color=colors["real"], lw=1.5)
ax_gain.set_xticks(range(3), [ARM_LABELS[a].replace(" + ", "\n+ ") for a in ARMS[1:]])
ax_gain.set_xlim(-0.5, 2.8)
ax_gain.set_ylabel("change against real only, same repeat (points)")
ax_gain.set_title("Paired change against real only\ndots: repeats; diamond: mean and std",
                  fontsize=10)
fig.tight_layout()
run.save_figure(fig, "accuracy_by_arm.png")
run.show("accuracy_by_arm.png",
         "Left: bar chart of held-out accuracy with error bars for four training sets (real only, "
         "real plus shifts and rotations, real plus VAE samples, real plus both), dots for single "
         "repeats, a dashed line for the classifier trained on all real training digits. Right: "
         "each arm's accuracy minus real only's within the same repeat.",
         "Right panel: points above the line are repeats where the extra data helped. Left: the "
         "dashed line shows what many more real labelled digits are worth.")

# %% [markdown]
# ## Why generated data may not help (and when it does)
#
# The generator learned from the same 100 images the classifier already has. It cannot add
# information about digits that those images do not contain; at best it passes on a *prior*, a
# smoothed idea of what each class looks like and of which variations are allowed, which acts
# on the classifier as a kind of regularisation. Several things limit even that:
#
# - **Narrow samples.** Trained on 10 examples per class, the VAE produces smoothed versions of
#   them with less variety than the real images (the spread measured above), so the classifier
#   mostly sees the same digits again.
# - **Off-distribution samples.** Generated images are blurrier than real ones. A classifier
#   trained on many of them partly learns features of *generated* digits that held-out real
#   digits do not have. Keeping half of every batch real limits that harm.
# - **Wrong labels.** A sample that looks like a 9 but is labelled 4 teaches the wrong thing.
#   The judge's score measures how often that happens.
#
# Classic augmentation is different in kind: a shift or a rotation injects knowledge from
# outside the data (digits do not change identity when moved slightly), which is exactly the
# variation a classifier trained on few examples lacks. Generative augmentation pays off more
# in other settings: when the generator learns from a larger pool, for example unlabelled data
# or other classes, and so knows things the small labelled set does not.

# %% [markdown]
# ## Metrics
#
# `acc_*_mean` and `acc_*_std` are held-out accuracies over the repeats (std is the population
# standard deviation across repeats); `gain_*` is the paired change against real only (mean
# and std over repeats), `repeats_*_better` counts the repeats in which the arm beat real only.
# `judge_*` are shares of images the independent judge reads as their intended class.

# %%
metrics = {"n_seeds": hp.repeats, "real_per_class": hp.per_class}
for arm in ARMS:
    metrics[f"acc_{arm}_mean"] = acc[arm].mean()
    metrics[f"acc_{arm}_std"] = acc[arm].std()
for arm in ARMS[1:]:
    metrics[f"gain_{arm}_mean"] = (acc[arm] - acc["real"]).mean()
    metrics[f"gain_{arm}_std"] = (acc[arm] - acc["real"]).std()
    metrics[f"repeats_{arm}_better"] = int((acc[arm] > acc["real"]).sum())
metrics.update({
    "acc_all_real_reference_mean": acc["all real"].mean(),
    "judge_generated_as_intended": np.mean(judge_generated),
    "judge_generated_as_intended_std": np.std(judge_generated),
    "judge_classic_as_intended": np.mean(judge_classic),
    "judge_real_subset_as_intended": np.mean(judge_real),
    "generated_spread_vs_real": np.mean(spread_ratio),
    "judge_heldout_accuracy": judge_test_acc,
    "vae_final_loss_nats": history.history["loss"][-1],
})
run.save_metrics(metrics)
