"""Video and animation: a morph through a VAE's latent space, and a next-frame predictor

A variational autoencoder learns a small latent space of handwritten digits; walking smoothly
through it from 0 to 1 to 2 ... to 9 and back to 0 makes an animation in which each digit turns
into the next. An independent digit classifier follows the animation frame by frame, and so does
a plain cross-fade between the same keyframes, the no-model baseline. A second small network
learns motion itself: it continues short clips of bouncing digits, one frame at a time.

Data: scikit-learn's bundled digits (1,797 images, 8x8), 25% held out; bouncing-digit clips made from them.
Run time: quick ~30 s, default ~4.5 min on 2 CPU cores shared with another demo (as `make site` runs them).
Outputs: latent_walk.gif, latent_walk_strip.png, judge_along_walk.png, next_frame.gif, next_frame.png, frames.npz, metrics.json
Samples: frames.npz: the animations as arrays; numpy.load("frames.npz") gives walk and cross_fade
(segments x frames x 8 x 8, ink 0 to 1), keyframes, walk_gif, cross_fade_gif, and
next_frame_context, next_frame_predicted, next_frame_truth (clips x frames x 16 x 16)
Headline: latent_walk.gif
Page: introduction/overview.md#video-and-animation-generation
"""

import warnings

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers, ops
from PIL import Image, ImageDraw, ImageFont
from scipy.linalg import LinAlgWarning
from sklearn.decomposition import PCA

from _shared import DigitJudge, frechet_distance, image_grid, load_digits_split, start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(judge_epochs=4, latent_dim=8, vae_epochs=15, beta=0.5,
                  steps_per_segment=40, gif_frames_per_segment=6,
                  canvas=16, clip_len=12, train_clips=120, test_clips=60, nf_epochs=2,
                  nf_filters=32, context=2, unroll=3, horizon=10),
    "default": dict(judge_epochs=30, latent_dim=8, vae_epochs=300, beta=0.5,
                    steps_per_segment=40, gif_frames_per_segment=6,
                    canvas=16, clip_len=12, train_clips=1000, test_clips=300, nf_epochs=6,
                    nf_filters=32, context=2, unroll=3, horizon=10),
}
CONFIDENT = 0.8  # the judge's probability above which a frame counts as clearly one digit
WALK_ORDER = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0)
SPEEDS = (-2, -1, 1, 2)  # pixels per frame, per axis, for the bouncing clips
run = start(PROFILES)
hp = run.hp


# %% [markdown]
# ## Animation as a path through a latent space
#
# A video is a sequence of images that change a little from one frame to the next. One way to
# *generate* motion is to give a model a space in which nearby points decode to similar images,
# then move a point through that space and decode it at every step. A **variational autoencoder**
# (VAE) builds such a space. Its encoder maps each digit to a small Gaussian cloud in
# a few latent dimensions (a mean and a variance per dimension). Its decoder turns any point
# back into an image. Training asks for two things at once: decoded images must match the input
# (reconstruction), and every cloud must stay close to a standard normal (the KL term). The
# second pull packs the digits together with no empty gaps between them, which is what should
# let a walk from one digit to another pass through images that still look like handwriting.
# We weight the KL term by a factor `beta` below the textbook value of 1 (see `PROFILES`): a
# little less packing in exchange for sharper reconstructions.
#
# We also train an **independent judge**: a small convolutional classifier that only ever sees
# real digits. It will tell us, frame by frame, which digit the animation shows.

# %%
x_train, x_test, y_train, y_test = load_digits_split(run.seed)
flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
judge = DigitJudge(x_train, y_train, epochs=hp.judge_epochs, seed=run.seed)
judge_accuracy = judge.accuracy(x_test, y_test)
print(f"{len(x_train)} training and {len(x_test)} held-out digits; "
      f"judge accuracy on held-out real digits: {judge_accuracy:.3f}")


# %%
class Sampling(layers.Layer):
    """Draws z = mean + sigma * noise while training; uses the mean otherwise."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=False):
        mean, log_var = inputs
        if not training:
            return mean
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise


def build_vae(latent_dim, seed):
    """Dense encoder and decoder; the training model outputs [logits | mean | log_var]."""
    x = keras.Input((64,))
    h = layers.Dense(128, activation="relu")(x)
    h = layers.Dense(64, activation="relu")(h)
    mean = layers.Dense(latent_dim)(h)
    log_var = layers.Dense(latent_dim)(h)
    encoder = keras.Model(x, [mean, log_var], name="encoder")

    z_in = keras.Input((latent_dim,))
    g = layers.Dense(64, activation="relu")(z_in)
    g = layers.Dense(128, activation="relu")(g)
    decoder = keras.Model(z_in, layers.Dense(64)(g), name="decoder")  # pixel logits

    m, lv = encoder(x)
    logits = decoder(Sampling(seed)([m, lv]))
    trainer = keras.Model(x, ops.concatenate([logits, m, lv], axis=-1))
    return encoder, decoder, trainer


def vae_loss(latent_dim, beta):
    """Negative ELBO per digit: Bernoulli pixel cross-entropy plus beta times the KL term."""
    def loss(x, out):
        logits = out[:, :64]
        mean, log_var = out[:, 64:64 + latent_dim], out[:, 64 + latent_dim:]
        rec = ops.sum(ops.binary_crossentropy(x, logits, from_logits=True), axis=-1)
        kl = -0.5 * ops.sum(1 + log_var - mean**2 - ops.exp(log_var), axis=-1)
        return rec + beta * kl
    return loss


def decode(decoder, z):
    return 1 / (1 + np.exp(-decoder.predict(np.asarray(z, "float32"), verbose=0, batch_size=512)))


def reconstruction_mse(x, x_hat):
    """Mean squared error per pixel between two image batches (any matching shapes)."""
    return float(np.mean((np.asarray(x, float) - np.asarray(x_hat, float)) ** 2))


encoder, decoder, vae = build_vae(hp.latent_dim, run.seed)
vae.compile(keras.optimizers.Adam(2e-3), loss=vae_loss(hp.latent_dim, hp.beta))
history = vae.fit(flat_train, flat_train, epochs=hp.vae_epochs, batch_size=64, verbose=0)
mu_train = encoder.predict(flat_train, verbose=0)[0]
mu_test = encoder.predict(flat_test, verbose=0)[0]

# %% [markdown]
# ## Is the latent space a faithful summary of the digits?
#
# Before animating, a sanity check on held-out digits: encode each one to its latent mean, decode
# it, and measure the pixel error. The yardstick is PCA with the same number of dimensions, the
# best possible *linear* code of that size. A VAE pays for its tidy latent space (the KL term)
# with some reconstruction accuracy, so it need not win here; it should at least be in the same
# range, or its frames would be blurrier than they need to be.

# %%
vae_mse = reconstruction_mse(flat_test, decode(decoder, mu_test))
pca = PCA(n_components=hp.latent_dim, random_state=run.seed).fit(flat_train)
pca_mse = reconstruction_mse(flat_test, np.clip(pca.inverse_transform(pca.transform(flat_test)), 0, 1))
print(f"final training loss (negative ELBO per digit): {history.history['loss'][-1]:.2f}")
print(f"held-out reconstruction MSE per pixel, {hp.latent_dim} dimensions: "
      f"VAE {vae_mse:.4f}, PCA {pca_mse:.4f}")


# %% [markdown]
# ## The walk: 0, 1, 2, ..., 9 and back to 0
#
# For each digit class we pick one *real held-out* example: the one whose latent mean lies
# closest to the centre of its class (the centre is the average latent mean of that class in the
# training split). These ten points are the keyframes. Between two keyframes the walk moves in a
# straight line through the latent space, and every point on the line is decoded into a frame.
#
# The baseline is what a video editor would do without a model: a **cross-fade** that blends the
# same two keyframe images pixel by pixel. A cross-fade is perfectly smooth too, but its middle
# frames are two half-transparent digits on top of each other, not a digit.

# %%
def cross_fade(a, b, t):
    """Pixel-space blend (1 - t) a + t b for each t: the no-model baseline."""
    t = np.asarray(t, float).reshape(-1, *([1] * np.ndim(a)))
    return (1 - t) * np.asarray(a, float) + t * np.asarray(b, float)


def eased(n):
    """n positions in [0, 1) that start and stop slowly (cosine easing), for watchable timing."""
    s = np.arange(n) / n
    return 0.5 - 0.5 * np.cos(np.pi * s)


def nearest_to_centroid(mu_ref, y_ref, mu_pool, y_pool, classes):
    """Index in the pool of the example closest to its class centroid of the reference set."""
    picks = []
    for k in classes:
        centre = mu_ref[y_ref == k].mean(0)
        idx = np.flatnonzero(y_pool == k)
        picks.append(int(idx[np.argmin(((mu_pool[idx] - centre) ** 2).sum(1))]))
    return picks


keyframe_index = nearest_to_centroid(mu_train, y_train, mu_test, y_test, range(10))
key_z = mu_test[keyframe_index]                          # one latent point per digit 0..9
key_images = decode(decoder, key_z).reshape(10, 8, 8)    # keyframes shared by walk and cross-fade
segments = list(zip(WALK_ORDER[:-1], WALK_ORDER[1:]))

# Dense sampling (uniform in t, both ends included) for the measurements.
t_dense = np.linspace(0, 1, hp.steps_per_segment + 1)
walk_dense = np.stack([decode(decoder, (1 - t_dense[:, None]) * key_z[a] + t_dense[:, None] * key_z[b])
                       .reshape(-1, 8, 8) for a, b in segments])
fade_dense = np.stack([cross_fade(key_images[a], key_images[b], t_dense) for a, b in segments])
print(f"{len(segments)} transitions, {len(t_dense)} frames each, judged below")

# %% [markdown]
# ## Watch it
#
# Left: frames decoded along the latent walk. Right: the cross-fade between the same keyframes.
# Under each frame, the judge's label and its confidence. The animation slows down near each
# keyframe (cosine easing) so that every digit can be seen; the measurements further down use
# evenly spaced frames instead.

# %%
def upscale(image, size):
    """8x8 intensities in [0, 1] to a size x size image, dark ink on white (bicubic).

    The result is posterised to 16 grey levels: GIF compression thrives on few colours.
    """
    im = Image.fromarray((255 * (1 - np.clip(image, 0, 1))).round().astype("uint8"))
    big = np.asarray(im.resize((size, size), Image.BICUBIC), float)
    return Image.fromarray((np.round(big / 17) * 17).astype("uint8"))


def panel_sheet(rows, titles, header="", footers=None, size=96):
    """One GIF frame: a grid of images (rows of equal length), column titles on top, an optional
    header line above them and an optional footer line under each image."""
    font = ImageFont.load_default(size=11)
    pad, top = 8, 34 if header else 18
    foot_h = 18 if footers else 0
    n_cols = len(rows[0])
    canvas = Image.new("RGB", (n_cols * (size + pad) + pad,
                               top + len(rows) * (size + foot_h + pad) + 12), "white")
    draw = ImageDraw.Draw(canvas)
    draw.fontmode = "1"  # crisp, un-antialiased text keeps the palette small
    if header:
        draw.text((canvas.width // 2, 3), header, fill=(0, 0, 0), font=font, anchor="ma")
    for c, title in enumerate(titles):
        draw.text((pad + c * (size + pad) + size // 2, top - 15), title, fill=(0, 0, 0), font=font,
                  anchor="ma")
    for r, row in enumerate(rows):
        y0 = top + r * (size + foot_h + pad)
        for c, img in enumerate(row):
            x0 = pad + c * (size + pad)
            canvas.paste(upscale(img, size), (x0, y0))
            draw.rectangle([x0 - 1, y0 - 1, x0 + size, y0 + size], outline=(170, 170, 170))
            if footers:
                draw.text((x0 + size // 2, y0 + size + 3), footers[r][c], fill=(0, 0, 0), font=font,
                          anchor="ma")
    return canvas


t_gif = eased(hp.gif_frames_per_segment)
walk_gif = np.concatenate([decode(decoder, (1 - t_gif[:, None]) * key_z[a] + t_gif[:, None] * key_z[b])
                           .reshape(-1, 8, 8) for a, b in segments])
fade_gif = np.concatenate([cross_fade(key_images[a], key_images[b], t_gif) for a, b in segments])
p_walk_gif, p_fade_gif = judge.proba(walk_gif), judge.proba(fade_gif)
gif_frames = []
for i in range(len(walk_gif)):
    a, b = segments[i // hp.gif_frames_per_segment]
    foot = [f"judge: {p.argmax()} ({p.max():.0%})" for p in (p_walk_gif[i], p_fade_gif[i])]
    gif_frames.append(panel_sheet([[walk_gif[i], fade_gif[i]]], ["VAE latent walk", "cross-fade"],
                                  header=f"from {a} to {b}", footers=[foot]))
run.save_gif(gif_frames, "latent_walk.gif", duration_ms=110, hold_last_ms=110)
run.show("latent_walk.gif",
         "Animation of two side-by-side digits: on the left a digit morphs through 0, 1, 2 up to 9 "
         "and back to 0; on the right the same keyframes dissolve into each other. Under each, "
         "the judge's label and confidence.",
         "The latent walk bends one digit's strokes into the next; the cross-fade superimposes two "
         "digits half-way.")

# %% [markdown]
# The same frames as a still strip, for reading at your own pace: one row per transition, the
# latent walk on the left and the cross-fade on the right. A small number over a frame is the
# judge's label, in red when it is neither the start nor the end digit of that row.

# %%
cols = np.linspace(0, hp.steps_per_segment, 9).round().astype(int)
pad, scale = 4, 4
cell = (8 + pad) * scale  # one frame plus its gap, in figure pixels
fig, axes = plt.subplots(1, 2, figsize=(12, 7.2))
for ax, frames, name in zip(axes, (walk_dense, fade_dense), ("VAE latent walk", "Pixel cross-fade")):
    picked = frames[:, cols]
    labels = judge.proba(picked.reshape(-1, 8, 8)).argmax(1).reshape(len(segments), len(cols))
    ax.imshow(image_grid(picked.reshape(-1, 8, 8), ncols=len(cols), pad=pad, scale=scale),
              cmap="gray", vmin=0, vmax=255)
    for r, (a, b) in enumerate(segments):
        for c in range(len(cols)):
            ax.text(pad * scale + 16 + c * cell, pad * scale + r * cell - 1, str(labels[r, c]),
                    ha="center", va="bottom", fontsize=7,
                    color="#c62828" if labels[r, c] not in (a, b) else "#1565c0")
    ax.set_yticks([pad * scale + 16 + cell * r for r in range(len(segments))],
                  [f"{a}\u2192{b}" for a, b in segments])
    ax.set_xticks([pad * scale + 16 + cell * c for c in range(len(cols))],
                  [f"{t_dense[c]:.2g}" for c in cols], fontsize=8)
    ax.set_xlabel("position t between the two keyframes")
    ax.set_title(name)
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
fig.suptitle("Frames along each transition (small numbers: the independent judge's label)")
fig.tight_layout()
run.save_figure(fig, "latent_walk_strip.png")
run.show("latent_walk_strip.png",
         "Two grids of small digit images, ten rows each (0 to 1, 1 to 2, up to 9 to 0) and nine "
         "frames per row, the latent walk on the left and the cross-fade on the right, each frame "
         "labelled with the classifier's digit.",
         "Middle columns are where the two methods differ: new strokes on the left, double "
         "exposures on the right.")


# %% [markdown]
# ## Does the judge see one clean change per transition?
#
# A good morph from *a* to *b* shows *a* for a while, then *b*, and nothing else: along the path
# the judge's label should change exactly **once**. Flicker (a, b, a, b) means frames that hover
# undecided between two digits; a detour through a third digit means the path cuts across
# another digit's territory. We count, per transition: the number of label changes, whether the
# change is one clean step from *a* to *b*, how often a third digit appears, and how many frames
# the judge is at least 80% sure about.

# %%
def count_label_changes(labels):
    """How many times consecutive labels differ: [3, 3, 5, 5] -> 1, [3, 5, 3, 5] -> 3."""
    labels = np.asarray(labels)
    return int((labels[1:] != labels[:-1]).sum())


def is_clean_transition(labels, a, b):
    """True when the labels start at a, end at b and change exactly once."""
    labels = list(labels)
    return labels[0] == a and labels[-1] == b and count_label_changes(labels) == 1


def transition_metrics(proba_rows, pairs, threshold=CONFIDENT):
    """Summaries over transitions; proba_rows is (n_transitions, n_frames, n_classes)."""
    proba_rows = np.asarray(proba_rows)
    labels, conf = proba_rows.argmax(-1), proba_rows.max(-1)
    changes = np.array([count_label_changes(row) for row in labels])
    third = np.array([np.isin(row, (a, b), invert=True).mean() for row, (a, b) in zip(labels, pairs)])
    return {
        "mean_label_changes": float(changes.mean()),
        "share_one_change": float((changes == 1).mean()),
        "share_clean": float(np.mean([is_clean_transition(r, a, b) for r, (a, b) in zip(labels, pairs)])),
        "share_third_digit_frames": float(third.mean()),
        "share_confident_frames": float((conf >= threshold).mean()),
        "mean_confidence": float(conf.mean()),
    }


def judge_rows(frames):
    n_seg, n_t = frames.shape[:2]
    return judge.proba(frames.reshape(-1, 8, 8)).reshape(n_seg, n_t, 10)


p_walk, p_fade = judge_rows(walk_dense), judge_rows(fade_dense)
walk_stats, fade_stats = transition_metrics(p_walk, segments), transition_metrics(p_fade, segments)
keyframe_accuracy = float((judge.proba(key_images).argmax(1) == np.arange(10)).mean())
print(f"judge labels the 10 decoded keyframes correctly: {keyframe_accuracy:.0%}")
print(f"{'':28s}{'latent walk':>12s}{'cross-fade':>12s}")
for key in walk_stats:
    print(f"{key:28s}{walk_stats[key]:12.3f}{fade_stats[key]:12.3f}")

# %%
x_pos = (np.arange(len(segments))[:, None] + t_dense[None, :]).ravel()
fig, axes = plt.subplots(2, 1, figsize=(10, 5.6), sharex=True)
for p, name, colour in ((p_walk, "VAE latent walk", "#1565c0"), (p_fade, "pixel cross-fade", "#ef6c00")):
    axes[0].plot(x_pos, p.argmax(-1).ravel(), drawstyle="steps-mid", color=colour, label=name, lw=1.6)
    axes[1].plot(x_pos, p.max(-1).ravel(), color=colour, label=name, lw=1.3)
axes[0].plot(np.arange(len(WALK_ORDER)), WALK_ORDER, "k.", ms=9, label="keyframe digit")
axes[0].set_yticks(range(10))
axes[0].set_ylabel("judge's label")
axes[0].set_title("What an independent classifier sees along the walk")
axes[1].axhline(CONFIDENT, color="grey", ls="--", lw=1, label=f"confident ({CONFIDENT:.0%})")
axes[1].set_ylim(0, 1.02)
axes[1].set_ylabel("judge's confidence")
axes[1].set_xlabel("position along the walk (keyframe number)")
axes[1].set_xticks(range(len(WALK_ORDER)), [f"{d}" for d in WALK_ORDER])
for ax in axes:
    ax.grid(axis="x", alpha=0.4)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
run.save_figure(fig, "judge_along_walk.png")
run.show("judge_along_walk.png",
         "Two stacked line plots along the walk from 0 to 9 and back to 0: the classifier's label "
         "as a staircase for the latent walk and the cross-fade, and below it the classifier's "
         "confidence with a dashed line at 80%.",
         "Ideal is a staircase with one step per transition; a blip to another digit is a detour "
         "through that digit. A clean staircase alone does not prove the frames look like digits.")


# %% [markdown]
# ## Do the in-between frames look like handwriting?
#
# Label counts cannot tell a digit from a double exposure: a classifier has to name *some*
# digit, and for a blend it simply names whichever one dominates. So we also ask how much the
# middle frames of each transition (t from 0.25 to 0.75) resemble real digits. Both sets of frames
# go through the judge's internal feature layer, and the Fréchet distance (the formula behind
# the FID score) compares their spread with that of real held-out digits: lower means closer to
# real handwriting. For scale, the same distance for an equal number of the VAE's reconstructions
# of held-out digits: the blur that every decoded frame carries, walk or not.

# %%
def frechet_to_real(frames):
    with warnings.catch_warnings():
        # A few ReLU features are always zero, which makes the covariances singular.
        warnings.simplefilter("ignore", LinAlgWarning)
        return frechet_distance(judge.features(frames), real_features)


middle = (t_dense >= 0.25) & (t_dense <= 0.75)
real_features = judge.features(x_test)
n_middle = len(segments) * int(middle.sum())
recon_sample = np.random.default_rng(run.seed).choice(len(x_test), size=min(n_middle, len(x_test)),
                                                      replace=False)
fd_walk = frechet_to_real(walk_dense[:, middle].reshape(-1, 8, 8))
fd_fade = frechet_to_real(fade_dense[:, middle].reshape(-1, 8, 8))
fd_recon = frechet_to_real(decode(decoder, mu_test[recon_sample]).reshape(-1, 8, 8))
print(f"Fréchet distance to real held-out digits ({n_middle} middle frames each): "
      f"latent walk {fd_walk:.1f}, cross-fade {fd_fade:.1f}; VAE reconstructions {fd_recon:.1f}")


# %% [markdown]
# ## Learning motion itself: predicting the next frame
#
# The walk above is generated, but its motion is chosen by us (a straight line between
# keyframes). A video model has to learn how things move. A small test: clips of one held-out
# digit bouncing around a 16x16 box at constant speed, reflected by the walls. A convolutional
# network sees the last two frames (enough to tell where the digit is and how fast it goes) and
# predicts the next one. To continue a clip it feeds its own predictions back in, frame after
# frame, so its errors pile up. To prepare it for that, training runs the network three steps
# on its own output and scores all three frames, so it learns to recover from its own blur.
# Training clips use training-split digits; the test clips use held-out digits.
#
# The first baseline is the laziest forecast there is: **copy the last frame** and assume
# nothing moves. A model that has learned motion should beat it at every step of the horizon.
# Pixel error has a catch, though: it punishes a sharp digit in the wrong place twice (once where
# the ink is, once where it should be), so a vague grey smudge, or even an **empty frame**, can
# score better than a confident wrong guess. The empty frame is therefore our second baseline: a
# forecast that does not beat it has lost track of the digit.

# %%
def bouncing_clip(digit, n_frames, canvas, rng, speeds=SPEEDS):
    """A clip of one 8x8 digit moving in a straight line and bouncing off the walls."""
    size = digit.shape[0]
    room = canvas - size
    pos = rng.integers(0, room + 1, size=2)
    vel = rng.choice(speeds, size=2)
    frames = np.zeros((n_frames, canvas, canvas), "float32")
    for t in range(n_frames):
        frames[t, pos[0]:pos[0] + size, pos[1]:pos[1] + size] = digit
        for axis in range(2):
            if not 0 <= pos[axis] + vel[axis] <= room:
                vel[axis] = -vel[axis]
            pos[axis] = np.clip(pos[axis] + vel[axis], 0, room)
    return frames


def make_clips(digits, n_clips, n_frames, canvas, rng):
    picks = rng.integers(0, len(digits), size=n_clips)
    return np.stack([bouncing_clip(digits[i], n_frames, canvas, rng) for i in picks])


def windows(clips, context, unroll):
    """All (context frames -> next `unroll` frames) training pairs, frames as channels."""
    xs, ys = [], []
    for t in range(context, clips.shape[1] - unroll + 1):
        xs.append(np.moveaxis(clips[:, t - context:t], 1, -1))
        ys.append(np.moveaxis(clips[:, t:t + unroll], 1, -1))
    return np.concatenate(xs), np.concatenate(ys)


def per_step_mse(pred, truth):
    """MSE per predicted frame, averaged over clips and pixels: shape (horizon,)."""
    pred, truth = np.asarray(pred, float), np.asarray(truth, float)
    return ((pred - truth) ** 2).reshape(pred.shape[0], pred.shape[1], -1).mean(axis=(0, 2))


def build_next_frame(canvas, context, unroll, filters):
    """The one-step network, and a trainer that chains it `unroll` times on its own output."""
    inputs = keras.Input((canvas, canvas, context))
    h = inputs
    # Five 3x3 layers, one of them dilated, see 13x13 pixels around each output pixel: almost the
    # whole box, so each pixel can tell where the digit was, how it moved and where the walls are.
    for dilation in (1, 2, 1, 1):
        h = layers.Conv2D(filters, 3, padding="same", dilation_rate=dilation, activation="relu")(h)
    step = keras.Model(inputs, layers.Conv2D(1, 3, padding="same")(h), name="next_frame")
    given = keras.Input((canvas, canvas, context))
    window, outputs = given, []
    for _ in range(unroll):
        frame = ops.sigmoid(step(window))
        outputs.append(frame)
        window = ops.concatenate([window[..., 1:], frame], axis=-1)
    return step, keras.Model(given, ops.concatenate(outputs, axis=-1))


rng = np.random.default_rng(run.seed)
train_clips = make_clips(x_train, hp.train_clips, hp.clip_len, hp.canvas, rng)
n_frames_test = hp.context + hp.horizon
test_clips = make_clips(x_test, hp.test_clips, n_frames_test, hp.canvas, rng)
x_nf, y_nf = windows(train_clips, hp.context, hp.unroll)
next_frame, nf_trainer = build_next_frame(hp.canvas, hp.context, hp.unroll, hp.nf_filters)
nf_trainer.compile(keras.optimizers.Adam(2e-3), "binary_crossentropy")
nf_trainer.fit(x_nf, y_nf, epochs=hp.nf_epochs, batch_size=32, shuffle=True, verbose=0)
print(f"next-frame model trained on {len(x_nf)} windows (2 given frames -> {hp.unroll} frames) "
      f"from {hp.train_clips} clips")


def rollout(model, context_frames, horizon):
    """Continue clips autoregressively: each prediction becomes part of the next input."""
    window = np.moveaxis(np.asarray(context_frames, "float32"), 1, -1)
    preds = []
    for _ in range(horizon):
        logits = model.predict(window, verbose=0, batch_size=512)
        frame = 1 / (1 + np.exp(-logits))
        preds.append(frame[..., 0])
        window = np.concatenate([window[..., 1:], frame], axis=-1)
    return np.stack(preds, axis=1)


context_frames, future = test_clips[:, :hp.context], test_clips[:, hp.context:]
predicted = rollout(next_frame, context_frames, hp.horizon)
copied = np.repeat(context_frames[:, -1:], hp.horizon, axis=1)
mse_model, mse_copy = per_step_mse(predicted, future), per_step_mse(copied, future)
mse_blank = per_step_mse(np.zeros_like(future), future)
print("per-frame MSE, frames ahead 1 to", hp.horizon)
for name, errors in (("model", mse_model), ("copy last", mse_copy), ("empty frame", mse_blank)):
    print(f"  {name:12s}" + " ".join(f"{e:.4f}" for e in errors))

# %% [markdown]
# Three held-out test clips: the true continuation, the model's continuation and the copy-last
# baseline, side by side. The first frames (marked *given*) are real; after that each column
# shows its own forecast. Watch the middle column for two things: whether the model's guess
# travels and bounces with the true digit, and how crisp it stays. A network trained on pixel
# error hedges when unsure, and the hedge is a grey smudge; every smudged frame it feeds back in
# makes the next guess vaguer. This blur is why serious video generators train with adversarial
# or diffusion objectives instead of plain pixel error.

# %%
shown = 3
nf_frames = []
for t in range(n_frames_test):
    given = t < hp.context
    frames_t = []
    for c in range(shown):
        truth = test_clips[c, t]
        frames_t += [truth, truth, truth] if given else [truth, predicted[c, t - hp.context],
                                                         copied[c, t - hp.context]]
    header = (f"frame {t + 1}: given" if given else f"frame {t + 1}: {t + 1 - hp.context} ahead")
    sheet = panel_sheet([frames_t[3 * c:3 * c + 3] for c in range(shown)],
                        ["truth", "model", "copy last"], header=header, size=64)
    nf_frames.append(sheet)
run.save_gif(nf_frames, "next_frame.gif", duration_ms=300, hold_last_ms=1200)
run.show("next_frame.gif",
         "Animation of three clips of a bouncing digit, each shown three ways: the true motion, "
         "the network's continuation and a frozen copy of the last given frame.",
         "Does the middle column travel with the true digit, and how quickly does it turn from a "
         "digit into a smudge?")

# %%
fig = plt.figure(figsize=(10, 6.2))
grid_ax = fig.add_axes([0.05, 0.48, 0.9, 0.47])
clip = 0
strip_rows = [test_clips[clip]] + [np.concatenate([context_frames[clip], s[clip]])
                                  for s in (predicted, copied)]
# A faint one-pixel frame shows the walls of the box the digit bounces in.
boxed = np.pad(np.concatenate(strip_rows), ((0, 0), (1, 1), (1, 1)), constant_values=0.15)
step_px = 2 * (hp.canvas + 3)  # one boxed frame plus its gap, after the 2x scaling
grid_ax.imshow(image_grid(boxed, ncols=n_frames_test, pad=1, scale=2), cmap="gray", vmin=0, vmax=255)
grid_ax.set_yticks([2 + hp.canvas + 2 + step_px * r for r in range(3)], ["truth", "model", "copy last"])
grid_ax.set_xticks([2 + hp.canvas + 2 + step_px * t for t in range(n_frames_test)],
                   [("given" if t < hp.context else f"+{t + 1 - hp.context}") for t in range(n_frames_test)],
                   fontsize=8)
grid_ax.tick_params(length=0)
grid_ax.set_title("One held-out clip, continued frame by frame")
for side in grid_ax.spines.values():
    side.set_visible(False)
ax = fig.add_axes([0.1, 0.07, 0.8, 0.32])
steps = np.arange(1, hp.horizon + 1)
ax.plot(steps, mse_model, "o-", color="#1565c0", label="next-frame model")
ax.plot(steps, mse_copy, "s--", color="#ef6c00", label="copy the last frame (baseline)")
ax.plot(steps, mse_blank, "^:", color="#616161", label="empty frame (baseline)")
ax.set_xlabel("frames ahead of the last given frame")
ax.set_ylabel("MSE per pixel")
ax.set_title(f"Forecast error on {hp.test_clips} held-out clips")
ax.set_xticks(steps)
ax.set_ylim(bottom=0)
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
run.save_figure(fig, "next_frame.png")
run.show("next_frame.png",
         "Top: three rows of frames of one bouncing digit (true, predicted by the network, "
         "copied from the last given frame). Bottom: a line plot of pixel error against "
         "frames ahead for the network, the copy baseline and the empty-frame baseline.",
         "Where the blue curve is below both baselines the network is tracking the digit; its "
         "rise shows the cost of feeding its own forecasts back in.")

# %% [markdown]
# ## Raw frames and metrics
#
# `frames.npz` holds every generated frame: the densely sampled latent walk and cross-fade used
# for the metrics (transition x position x 8 x 8), the GIF's frames, and the next-frame
# forecasts with their ground truth, so the numbers below can be recomputed.
#
# The transition metrics compare the latent walk with the cross-fade between the same keyframes,
# as judged by the classifier trained on real digits only. Reconstruction errors are on held-out
# digits. Fréchet distances compare judge features of middle frames with real held-out digits.
# Forecast errors are per pixel on held-out clips, one step ahead, at the end of the horizon and
# averaged over it, for the model and both baselines (copy the last frame, empty frame).

# %%
np.savez_compressed(run.path("frames.npz"),
                    walk=walk_dense.astype("float32"), cross_fade=fade_dense.astype("float32"),
                    t=t_dense, segments=np.array(segments), keyframes=key_images.astype("float32"),
                    walk_gif=walk_gif.astype("float32"), cross_fade_gif=fade_gif.astype("float32"),
                    # float16 halves the file; it keeps forecast errors to about three digits.
                    next_frame_context=context_frames.astype("float16"),
                    next_frame_predicted=predicted.astype("float16"),
                    next_frame_truth=future.astype("float16"))
metrics = {
    "judge_accuracy_real_heldout": judge_accuracy,
    "keyframe_judge_accuracy": keyframe_accuracy,
    **{f"walk_{k}": v for k, v in walk_stats.items()},
    **{f"crossfade_{k}": v for k, v in fade_stats.items()},
    "walk_fd_middle_frames": fd_walk,
    "crossfade_fd_middle_frames": fd_fade,
    "vae_reconstruction_fd": fd_recon,
    "vae_heldout_mse": vae_mse,
    "pca_heldout_mse": pca_mse,
    "nextframe_mse_step1": float(mse_model[0]),
    "copylast_mse_step1": float(mse_copy[0]),
    "nextframe_mse_last_step": float(mse_model[-1]),
    "copylast_mse_last_step": float(mse_copy[-1]),
    "nextframe_mse_mean": float(mse_model.mean()),
    "copylast_mse_mean": float(mse_copy.mean()),
    "emptyframe_mse_step1": float(mse_blank[0]),
    "emptyframe_mse_last_step": float(mse_blank[-1]),
    "emptyframe_mse_mean": float(mse_blank.mean()),
    "nextframe_share_steps_better_than_copy": float((mse_model < mse_copy).mean()),
    "nextframe_share_steps_better_than_empty": float((mse_model < mse_blank).mean()),
}
run.save_metrics(metrics)
