"""Design and creativity: new typefaces from a variational autoencoder

A conditional variational autoencoder learns letter glyphs from the fonts that ship with
matplotlib: the letter is given, a small latent "style" code holds everything else (weight,
slant, serifs, width). Sampling a style code and drawing every letter with it designs a new
typeface; walking between two fonts' codes morphs one design into another.

Data: matplotlib's bundled DejaVu, STIX and Computer Modern fonts, A-Z and a-z drawn with Pillow at 32x32; 4 fonts held out.
Run time: quick ~28 s, default ~4.5 min on 2 CPU cores shared with another demo (as `make site` runs them).
Outputs: training_fonts.png, heldout_reconstructions.png, new_typefaces.png, interpolation.png, interpolation.gif, nearest_training.png, novelty.png, baseline_samples.png, generated.npz, decoder.js, decoder.keras, metrics.json
Samples: generated.npz: every letter of every new typeface; numpy.load("generated.npz") gives images
(N x 32 x 32, uint8, ink 255), labels (index into letters), style (index into codes, the style
vectors) and letters
Headline: new_typefaces.png
Page: introduction/overview.md#design-and-creativity
"""

from pathlib import Path

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from fontTools.ttLib import TTFont
from keras import layers, ops
from PIL import Image, ImageDraw, ImageFont
from scipy.special import expit
from sklearn.decomposition import PCA

from _live import export_model
from _shared import start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(epochs=8, filters=(16, 32), latent_dim=8, beta=1.0, batch_size=64,
                  learning_rate=2e-3, judge_epochs=6, n_styles=12, interp_steps=6, gif_frames=8),
    "default": dict(epochs=160, filters=(16, 32), latent_dim=8, beta=1.0, batch_size=64,
                    learning_rate=2e-3, judge_epochs=40, n_styles=24, interp_steps=9,
                    gif_frames=24),
}
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
GLYPH_SIZE = 32     # pixels per side
CAP_HEIGHT = 17     # every font is scaled so its capital H is this many pixels tall
BASELINE = 23       # row the letters stand on, so lowercase and descenders sit right in words
SPECIMEN = "Hamburgefonstiv"   # type designers' test word: most letter shapes in one line
HELD_OUT_FONTS = ("DejaVuSansMono-Oblique.ttf", "DejaVuSerif-Bold.ttf",
                  "STIXGeneralItalic.ttf", "cmss10.ttf")
MORPH = ("DejaVuSans-Bold.ttf", "cmti10.ttf")
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"

run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The data: every letter of every bundled font
#
# A typeface is a design problem with many solutions: the letter "a" can be heavy or light,
# upright or slanted, with or without serifs, and a good font applies the same choices to all 52
# letters. matplotlib ships about forty TrueType files. Some hold only mathematical symbols
# (their character map has no Latin letters, or, like the TeX symbol fonts, puts other glyphs in
# the letters' slots), and one draws the same placeholder box for every character. We keep a font
# only if its character map sends every letter to a glyph named after that letter, and every glyph
# has ink.
#
# Each glyph is drawn with Pillow at four times the final size and shrunk to 32x32 grey levels.
# Fonts are scaled to the same capital height and set on the same baseline, so a glyph keeps its
# place in a line of text (an "x" is shorter than an "X", a "g" hangs below). Four whole fonts are
# held out of training, so we can ask how well the model describes typefaces it has never seen.


# %%
def latin_fonts(font_dir, letters=LETTERS):
    """TrueType files in font_dir whose character map sends every letter to its namesake glyph."""
    keep = []
    for path in sorted(Path(font_dir).glob("*.ttf")):
        cmap = TTFont(path, lazy=True).getBestCmap() or {}
        if all(cmap.get(ord(ch)) == ch for ch in letters):
            keep.append(path)
    return keep


def render_glyphs(font_path, letters=LETTERS, size=GLYPH_SIZE, cap_height=CAP_HEIGHT,
                  baseline=BASELINE, supersample=4):
    """Grey glyphs in [0, 1] (ink = 1), shape (len(letters), size, size): the font scaled so its
    capital H is cap_height pixels tall, every letter on the same baseline, centred on its ink."""
    probe = ImageFont.truetype(str(font_path), 100)
    top = probe.getbbox("H", anchor="ls")[1]
    if top >= 0:  # no capital H with height: nothing sensible to scale by
        return np.zeros((len(letters), size, size), dtype="float32")
    font = ImageFont.truetype(str(font_path), max(1, round(100 * cap_height * supersample / -top)))
    big = size * supersample
    glyphs = []
    for ch in letters:
        left, _, right, _ = font.getbbox(ch, anchor="ls")
        canvas = Image.new("L", (big, big), 0)
        ImageDraw.Draw(canvas).text(((big - (right - left)) / 2 - left, baseline * supersample),
                                    ch, fill=255, font=font, anchor="ls")
        small = canvas.resize((size, size), Image.Resampling.BOX)
        glyphs.append(np.asarray(small, dtype="float32") / 255.0)
    return np.stack(glyphs)


def typeset(glyphs, gap=2, threshold=0.05):
    """Join glyphs (N, H, W) into a line, each cropped to its inked columns (proportional type)."""
    pieces = []
    for glyph in glyphs:
        cols = np.flatnonzero(glyph.max(0) > threshold)
        piece = glyph[:, cols.min():cols.max() + 1] if len(cols) else glyph[:, :glyph.shape[1] // 3]
        pieces += [piece, np.zeros((glyph.shape[0], gap), dtype=glyph.dtype)]
    return np.concatenate(pieces[:-1], axis=1)


def pretty(font_file):
    return Path(font_file).stem


def plot_lines(lines, labels, title, ncols=1, colors=None, gap=6, zoom=1.6, label_width=1.7):
    """One figure of labelled lines of glyphs (each line an (H, W) image, ink = 1), in columns.

    Labels sit in a margin of label_width inches inside each column, so columns never overlap.
    """
    colors = colors or ["black"] * len(lines)
    per_col = -(-len(lines) // ncols)
    height, width = lines[0].shape[0], max(line.shape[1] for line in lines)
    col_h = per_col * (height + gap) - gap
    margin = label_width * 110 / zoom  # label margin in image pixels
    fig, axes = plt.subplots(1, ncols, squeeze=False, figsize=(
        ncols * (width + margin) * zoom / 110, col_h * zoom / 110 + 0.45))
    for c, ax in enumerate(axes[0]):
        canvas = np.zeros((col_h, width), dtype="float32")
        for r, i in enumerate(range(c * per_col, min(len(lines), (c + 1) * per_col))):
            top = r * (height + gap)
            canvas[top:top + height, :lines[i].shape[1]] = np.clip(lines[i], 0, 1)
            ax.text(-6, top + height / 2, labels[i], ha="right", va="center", fontsize=7,
                    color=colors[i])
        ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1, interpolation="antialiased")
        ax.set_xlim(-margin, width)
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.subplots_adjust(left=0, right=1, bottom=0, top=1 - 0.45 / fig.get_figheight(), wspace=0.02)
    return fig


rendered = {path.name: render_glyphs(path) for path in latin_fonts(FONT_DIR)}
glyphs = {name: g for name, g in rendered.items() if g.reshape(len(g), -1).sum(1).min() > 1}
train_fonts = [name for name in glyphs if name not in HELD_OUT_FONTS]
test_fonts = [name for name in glyphs if name in HELD_OUT_FONTS]
n_letters = len(LETTERS)
x_train = np.concatenate([glyphs[n] for n in train_fonts])
y_train = np.tile(np.arange(n_letters), len(train_fonts))
f_train = np.repeat(np.arange(len(train_fonts)), n_letters)
x_test = np.concatenate([glyphs[n] for n in test_fonts])
y_test = np.tile(np.arange(n_letters), len(test_fonts))
skipped = sorted(p.name for p in FONT_DIR.glob("*.ttf") if p.name not in glyphs)
print(f"{len(glyphs)} fonts with Latin letters; skipped {len(skipped)}: {', '.join(skipped)}")
print(f"training: {len(train_fonts)} fonts, {len(x_train)} glyphs; "
      f"held out: {', '.join(map(pretty, test_fonts))} ({len(x_test)} glyphs)")

spec = [LETTERS.index(ch) for ch in SPECIMEN]
names = train_fonts + test_fonts
fig = plot_lines([typeset(glyphs[n][spec]) for n in names],
                 [pretty(n) + (" (held out)" if n in test_fonts else "") for n in names],
                 "The data: every usable bundled font at 32x32 pixels (red: held out of training)",
                 ncols=2, colors=["#c62828" if n in test_fonts else "black" for n in names])
run.save_figure(fig, "training_fonts.png")
run.show("training_fonts.png",
         "The test word Hamburgefonstiv written in each bundled DejaVu, STIX and Computer Modern "
         "font, one font per line, with the four held-out fonts labelled in red at the bottom.",
         "The whole design space the model sees: sans and serif, mono and proportional, light and "
         "bold, upright and slanted.")

# %% [markdown]
# ## The model: a conditional variational autoencoder
#
# An autoencoder squeezes each glyph through a few numbers and rebuilds it. A *variational*
# autoencoder (VAE) makes the squeeze probabilistic: the encoder outputs a small Gaussian cloud of
# codes rather than one point, and training pulls these clouds towards a standard normal
# distribution (the KL term of the loss) while the decoder must still rebuild the glyph from any
# point in the cloud. The reward for this discipline is a code space with no holes: any code drawn
# from the standard normal decodes to something glyph-like, and that is what lets us generate.
#
# Here both encoder and decoder are also told which letter they are looking at (a *conditional*
# VAE). Since the letter's identity comes for free, the eight code numbers are left to describe
# what varies between fonts: the style. Fix one code and ask for all 52 letters, and you have a
# typeface. Loss: per-glyph binary cross-entropy summed over pixels, plus the KL term.


# %%
class Sampling(layers.Layer):
    """Draws a code from the encoder's Gaussian and adds the KL divergence to the loss."""

    def __init__(self, beta=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.beta = beta
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, mean, log_var):
        kl = -0.5 * ops.sum(1.0 + log_var - mean**2 - ops.exp(log_var), axis=-1)
        self.add_loss(self.beta * ops.mean(kl))
        noise = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * noise


def build_encoder(latent_dim, n_classes, filters=(32, 64), size=GLYPH_SIZE):
    image, letter = keras.Input((size, size, 1)), keras.Input((n_classes,))
    h = image
    for f in filters:  # two stride-2 convolutions: 32x32 -> 8x8
        h = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(h)
    h = layers.Concatenate()([layers.Flatten()(h), letter])
    h = layers.Dense(256, activation="relu")(h)
    return keras.Model([image, letter], [layers.Dense(latent_dim)(h), layers.Dense(latent_dim)(h)],
                       name="encoder")


def build_decoder(latent_dim, n_classes, filters=(32, 64), size=GLYPH_SIZE):
    code, letter = keras.Input((latent_dim,)), keras.Input((n_classes,))
    h = layers.Concatenate()([code, letter])
    h = layers.Dense(256, activation="relu")(h)
    h = layers.Dense((size // 4) ** 2 * filters[-1], activation="relu")(h)
    h = layers.Reshape((size // 4, size // 4, filters[-1]))(h)
    for f in filters[::-1]:  # mirror of the encoder: 8x8 -> 32x32
        h = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu")(h)
    logits = layers.Conv2D(1, 3, padding="same")(h)  # logits: the sigmoid lives in the loss
    return keras.Model([code, letter], logits, name="decoder")


def glyph_bce(target, logits):
    """Binary cross-entropy summed over a glyph's pixels, averaged over glyphs (nats per glyph)."""
    bce = ops.binary_crossentropy(target, logits, from_logits=True)
    return ops.mean(ops.sum(bce, axis=(1, 2, 3)))


one_hot = np.eye(n_letters, dtype="float32")
encoder = build_encoder(hp.latent_dim, n_letters, hp.filters)
decoder = build_decoder(hp.latent_dim, n_letters, hp.filters)
image_in, letter_in = keras.Input((GLYPH_SIZE, GLYPH_SIZE, 1)), keras.Input((n_letters,))
mean_out, log_var_out = encoder([image_in, letter_in])
code = Sampling(hp.beta, seed=run.seed)(mean_out, log_var_out)
vae = keras.Model([image_in, letter_in], decoder([code, letter_in]))
vae.compile(keras.optimizers.Adam(hp.learning_rate), loss=glyph_bce)
history = vae.fit([x_train[..., None], one_hot[y_train]], x_train[..., None], epochs=hp.epochs,
                  batch_size=hp.batch_size, shuffle=True, verbose=0)
print(f"trained {hp.epochs} epochs; final loss {history.history['loss'][-1]:.1f} nats per glyph "
      "(reconstruction + KL)")


def encode(images, labels):
    mean, _ = encoder.predict([images[..., None], one_hot[labels]], verbose=0, batch_size=512)
    return mean


def decode(codes, labels):
    logits = decoder.predict([np.asarray(codes, "float32"), one_hot[labels]], verbose=0,
                             batch_size=512)
    return expit(logits[..., 0]).astype("float32")


# %% [markdown]
# ## Does it describe fonts it never saw?
#
# We pass each glyph of the four held-out fonts through the encoder (taking the centre of its
# code cloud) and the decoder, and measure how far the rebuilt glyph is from the real one, per
# pixel. Two baselines fitted in the same run put the number in context:
#
# * **letter mean**: the average of that letter over the training fonts (no style at all);
# * **conditional PCA**: the letter mean plus the best linear correction with as many numbers as
#   the VAE's code (principal components of the training glyphs' differences from their letter
#   means). It is the linear cousin of our model.
#
# Lower is better for both the mean squared error and the binary cross-entropy.


# %%
def letter_means(x, y, n_classes):
    """Mean glyph of each class, shape (n_classes, H, W)."""
    return np.stack([x[y == k].mean(0) for k in range(n_classes)])


def fit_conditional_pca(x, y, n_classes, n_components, seed=0):
    """Letter means plus a PCA of what is left: a linear conditional autoencoder."""
    means = letter_means(x, y, n_classes)
    residual = (x - means[y]).reshape(len(x), -1)
    return means, PCA(n_components, random_state=seed).fit(residual)


def conditional_pca_reconstruct(model, x, y):
    means, pca = model
    residual = (x - means[y]).reshape(len(x), -1)
    return means[y] + pca.inverse_transform(pca.transform(residual)).reshape(x.shape)


def per_pixel_mse(x, reconstruction):
    return float(np.mean((np.asarray(x) - np.asarray(reconstruction)) ** 2))


def per_pixel_bce(x, probabilities, eps=1e-4):
    """Binary cross-entropy of grey targets under predicted ink probabilities, nats per pixel.

    Predictions are clipped into [eps, 1 - eps], so a linear model's overshoots are scored too.
    """
    p = np.clip(np.asarray(probabilities, dtype="float64"), eps, 1 - eps)
    x = np.asarray(x, dtype="float64")
    return float(np.mean(-(x * np.log(p) + (1 - x) * np.log(1 - p))))


rec_vae = decode(encode(x_test, y_test), y_test)
rec_vae_train = decode(encode(x_train, y_train), y_train)
cpca = fit_conditional_pca(x_train, y_train, n_letters, hp.latent_dim, seed=run.seed)
rec_pca = conditional_pca_reconstruct(cpca, x_test, y_test)
rec_mean = cpca[0][y_test]
errors = {
    name: (per_pixel_mse(x_test, rec), per_pixel_bce(x_test, rec))
    for name, rec in [("vae", rec_vae), ("cond_pca", rec_pca), ("letter_mean", rec_mean)]
}
for name, (mse, bce) in errors.items():
    print(f"held-out fonts, {name:12s} MSE {mse:.4f}  BCE {bce:.4f} nats/pixel")
print(f"(VAE on its own training fonts: MSE {per_pixel_mse(x_train, rec_vae_train):.4f})")

rows, labels = [], []
for i, name in enumerate(test_fonts):
    part = slice(i * n_letters, (i + 1) * n_letters)
    for label, source in [("real", x_test), ("VAE", rec_vae), ("cond. PCA", rec_pca)]:
        rows.append(np.concatenate(list(source[part][spec]), axis=1))
        labels.append(f"{pretty(name)}, real" if label == "real" else label)
fig = plot_lines(rows, labels, "Held-out fonts: real glyphs, rebuilt by the VAE and by the linear "
                 f"baseline ({hp.latent_dim} numbers each)", ncols=2, zoom=1.0)
run.save_figure(fig, "heldout_reconstructions.png")
run.show("heldout_reconstructions.png",
         "For each of the four held-out fonts, three lines of the test word: the real glyphs, the "
         "VAE's reconstruction and the conditional-PCA reconstruction.",
         "Neither model saw these fonts. Look at slant, stroke weight and serifs: which ones does "
         "each model carry over from its code?")

# %% [markdown]
# ## New typefaces
#
# Now the generative part. Each line below uses one style code drawn at random from the standard
# normal distribution, and asks the decoder for the letters of the test word with that same
# code. No line is a font from the training set; each is a point in the learned style space
# between and around them. Look at whether the letters of a line agree with each other (the same
# weight, the same slant, serifs or none): nothing forces that except what the model learned.

# %%
rng = np.random.default_rng(run.seed)
style_codes = rng.standard_normal((hp.n_styles, hp.latent_dim)).astype("float32")
gen_labels = np.tile(np.arange(n_letters), hp.n_styles)
gen_style = np.repeat(np.arange(hp.n_styles), n_letters)
generated = decode(style_codes[gen_style], gen_labels)
# Grey levels as 0-255 (ink = 255), as an 8-bit image would store them: a quarter of the size.
np.savez_compressed(run.path("generated.npz"), images=(generated * 255).round().astype("uint8"),
                    labels=gen_labels, style=gen_style, codes=style_codes,
                    letters=np.array(list(LETTERS)))

n_show = min(hp.n_styles, 12)
fig = plot_lines([typeset(generated[gen_style == s][spec]) for s in range(n_show)],
                 [f"new style {s + 1}" for s in range(n_show)],
                 "Typefaces that do not exist: one random style code per line, every letter "
                 "decoded from it", ncols=2, label_width=0.9)
run.save_figure(fig, "new_typefaces.png")
run.show("new_typefaces.png",
         "Twelve lines of the word Hamburgefonstiv, each in a different machine-generated style: "
         "some bold, some light, some slanted, some with serifs.",
         "Each line is one random draw from the style space. Check whether the letters of a line "
         "agree on weight, slant and serifs; blur and odd mixtures show where the model is unsure.")

# %% [markdown]
# ## Morphing one typeface into another
#
# Because the code space has no holes, the straight line between two fonts' codes is a path of
# plausible designs. For each letter we encode it in two training fonts, heavy DejaVu Sans Bold
# and light Computer Modern Italic, and decode evenly spaced points on the line between the two
# codes. The top and bottom lines are the real fonts; the lines in between are designs that
# neither font contains.

# %%
ends = [glyphs[name][spec] for name in MORPH]
code_a, code_b = (encode(g, np.array(spec)) for g in ends)


def morph(t):
    return decode((1 - t) * code_a + t * code_b, np.array(spec))


steps = np.linspace(0, 1, hp.interp_steps)
strip = [ends[0]] + [morph(t) for t in steps] + [ends[1]]
row_names = [f"real {pretty(MORPH[0])}", *(f"t = {t:.2f}" for t in steps),
             f"real {pretty(MORPH[1])}"]
fig = plot_lines([np.concatenate(list(row), axis=1) for row in strip], row_names,
                 f"Walking the style space from {pretty(MORPH[0])} to {pretty(MORPH[1])}",
                 zoom=1.2, label_width=1.5)
run.save_figure(fig, "interpolation.png")
run.show("interpolation.png",
         "Eleven lines of the test word: DejaVu Sans Bold at the top, Computer Modern Italic at "
         "the bottom, and in between decoded glyphs that gradually thin, slant and grow serifs.",
         "Follow one letter down its column: weight, slant and serifs should change gradually, "
         "and the middle lines are in-between typefaces that exist in neither font.")

frames = []
half = np.linspace(0, 1, max(2, hp.gif_frames // 2))
for t in np.concatenate([half, half[::-1][1:-1]]):
    line = np.pad(1.0 - np.concatenate(list(morph(t)), axis=1), 4, constant_values=1.0)
    bar = np.ones((6, line.shape[1]), dtype="float32")
    bar[2:5, : max(1, int(t * line.shape[1]))] = 0.3
    frame = np.kron(np.concatenate([line, bar]), np.ones((2, 2), dtype="float32"))
    frames.append((frame * 255).round().astype("uint8"))
run.save_gif(frames, "interpolation.gif", duration_ms=120, hold_last_ms=120)
run.show("interpolation.gif",
         "Animation of the test word morphing back and forth between a heavy sans-serif and a "
         "light italic serif; a bar underneath shows the position along the path.",
         "Every frame is decoded from a point on the line between the two fonts' codes, not "
         "blended from the two images.")

# %% [markdown]
# ## Copies, new designs, or nonsense?
#
# A generator can look good by memorising: decoding codes that land right on training fonts
# would give crisp letters and no creativity. So we measure each generated glyph's distance
# (root-mean-square pixel difference) to the nearest training glyph of the same letter, and set it
# beside two references measured on real fonts:
#
# * **training vs training**: each training glyph against the same letter in the *other*
#   training fonts (how far apart real, distinct designs are);
# * **held-out vs training**: real glyphs of the held-out fonts against the training fonts (what
#   a genuinely new, real font looks like by this measure).
#
# Distances near zero would mean copies; distances like the held-out fonts' mean new but
# plausible; much larger distances mean the samples left the land of letters. We do the same for
# samples of the linear baseline (letter mean plus Gaussian noise in the conditional-PCA space).


# %%
def rms_distances(a, b):
    """Root-mean-square pixel distance between every image in a and every image in b."""
    a = np.asarray(a, dtype="float64").reshape(len(a), -1)
    b = np.asarray(b, dtype="float64").reshape(len(b), -1)
    sq = (a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(sq, 0) / a.shape[1])


def nearest_same_label(queries, query_labels, refs, ref_labels, leave_one_out=False):
    """Distance to, and index of, the nearest ref with the same label as each query.

    leave_one_out: queries are the refs themselves, and each is not allowed to match itself
    (a duplicate elsewhere in refs still counts, at distance 0).
    """
    query_labels, ref_labels = np.asarray(query_labels), np.asarray(ref_labels)
    dist = rms_distances(queries, refs)
    dist[query_labels[:, None] != ref_labels[None, :]] = np.inf
    if leave_one_out:
        np.fill_diagonal(dist, np.inf)
    index = dist.argmin(1)
    return dist[np.arange(len(dist)), index], index


def sample_conditional_pca(model, labels, rng):
    """Baseline generator: letter mean plus Gaussian noise along the principal components."""
    means, pca = model
    scale = np.sqrt(pca.explained_variance_)
    coeffs = rng.standard_normal((len(labels), pca.n_components_)) * scale
    out = means[labels] + pca.inverse_transform(coeffs).reshape(len(labels), *means.shape[1:])
    return np.clip(out, 0, 1)


pca_samples = sample_conditional_pca(cpca, gen_labels, rng)
d_train, _ = nearest_same_label(x_train, y_train, x_train, y_train, leave_one_out=True)
d_test, _ = nearest_same_label(x_test, y_test, x_train, y_train)
d_gen, nn_index = nearest_same_label(generated, gen_labels, x_train, y_train)
d_pca, _ = nearest_same_label(pca_samples, gen_labels, x_train, y_train)
medians = {k: float(np.median(v)) for k, v in
           [("train", d_train), ("heldout", d_test), ("generated", d_gen), ("pca", d_pca)]}
print("median distance to the nearest training glyph of the same letter (RMS): "
      + ", ".join(f"{k} {v:.3f}" for k, v in medians.items()))
# "Near-copy": closer to a training glyph than 95% of training glyphs are to their nearest
# neighbour in another font.
copy_cut = np.percentile(d_train, 5)
near_copy = {"heldout": float(np.mean(d_test < copy_cut)),
             "generated": float(np.mean(d_gen < copy_cut))}
print(f"VAE samples' median is {medians['generated'] / medians['heldout']:.2f} times that of the "
      f"held-out real fonts. Near-copies (distance < {copy_cut:.3f}): VAE samples "
      f"{near_copy['generated']:.1%}, held-out real glyphs {near_copy['heldout']:.1%}")

fig, ax = plt.subplots(figsize=(7, 3.4))
bins = np.linspace(0, max(d.max() for d in (d_train, d_test, d_gen, d_pca)), 40)
for d, label, color in [(d_train, "training vs other training fonts", "0.4"),
                        (d_test, "held-out real fonts vs training", "tab:green"),
                        (d_gen, "VAE samples vs training", "tab:blue"),
                        (d_pca, "linear-baseline samples vs training", "tab:orange")]:
    ax.hist(d, bins=bins, histtype="step", density=True, lw=1.6, color=color,
            label=f"{label} (median {np.median(d):.3f})")
    ax.axvline(np.median(d), color=color, ls=":", lw=1)
ax.set_xlabel("RMS pixel distance to the nearest training glyph of the same letter")
ax.set_ylabel("density")
ax.set_title("How far is each glyph from its closest training example?", fontsize=10)
ax.legend(fontsize=7)
run.save_figure(fig, "novelty.png")
run.show("novelty.png",
         "Four overlaid histograms of nearest-training-glyph distances: training glyphs among "
         "themselves, held-out real fonts, VAE samples and linear-baseline samples, with dotted "
         "lines at their medians.",
         "Copies would pile up at zero. Compare the blue curve with the green one: real, unseen "
         "fonts are the yardstick for a design that is new but still plausible.")

# %% [markdown]
# Numbers hide what the distances look like, so here are generated glyphs beside their nearest
# training glyph, picked at even steps from the closest pair (left) to the most distant (right).

# %%
order = np.argsort(d_gen)
picks = order[np.linspace(0, len(order) - 1, 12).round().astype(int)]
fig, axes = plt.subplots(2, len(picks), figsize=(11, 3.1))
for col, i in enumerate(picks):
    j = nn_index[i]
    axes[0, col].imshow(generated[i], cmap="gray_r", vmin=0, vmax=1)
    axes[0, col].set_title(f"'{LETTERS[gen_labels[i]]}' d={d_gen[i]:.2f}", fontsize=7)
    axes[1, col].imshow(x_train[j], cmap="gray_r", vmin=0, vmax=1)
    axes[1, col].set_title(pretty(train_fonts[f_train[j]]).replace("-", "\n"), fontsize=6)
    for ax in axes[:, col]:
        ax.set_xticks([])
        ax.set_yticks([])
axes[0, 0].set_ylabel("generated", fontsize=8)
axes[1, 0].set_ylabel("nearest\ntraining", fontsize=8)
fig.suptitle("Generated glyphs (top) beside their nearest training glyph (bottom), "
             "from most to least similar", fontsize=9)
run.save_figure(fig, "nearest_training.png")
run.show("nearest_training.png",
         "Twelve pairs of glyphs: a generated letter above the closest real training glyph of the "
         "same letter, labelled with the distance and the training font's name, ordered from "
         "closest to farthest.",
         "Read left to right: how close is the closest sample to being a copy, and what do the "
         "most distant ones do differently (mixed styles, blur, odd strokes)?")

# %% [markdown]
# ### A blind spot of pixel distances: blur
#
# A blurry average of several fonts is *moderately* far from each of them, so blur can pass for
# novelty. The linear baseline is the test case: compare where its samples sit in the histogram
# with how they look below. We therefore also count the share of inked pixels that are mid-grey
# (between 25% and 75% ink). Real glyphs have some, from anti-aliased edges; blur adds many more.


# %%
def grey_share(images, ink=0.05, low=0.25, high=0.75):
    """Mean over images of the share of inked pixels (> ink) whose value lies in (low, high)."""
    flat = np.asarray(images).reshape(len(images), -1)
    inked = flat > ink
    grey = (flat > low) & (flat < high)
    return float(np.mean((grey & inked).sum(1) / np.maximum(inked.sum(1), 1)))


greys = {k: grey_share(v) for k, v in
         [("heldout", x_test), ("generated", generated), ("pca", pca_samples)]}
print("share of inked pixels that are mid-grey: held-out real fonts {heldout:.1%}, "
      "VAE samples {generated:.1%}, linear-baseline samples {pca:.1%}".format(**greys))

fig = plot_lines([typeset(pca_samples[gen_style == s][spec]) for s in range(4)],
                 [f"baseline sample {s + 1}" for s in range(4)],
                 "The linear baseline's samples: letter mean plus Gaussian noise on "
                 f"{hp.latent_dim} principal components", label_width=1.2, zoom=1.2)
run.save_figure(fig, "baseline_samples.png")
run.show("baseline_samples.png",
         "Four lines of the test word drawn by the linear baseline, each letter an average "
         "shape with lighter ghost strokes where the fonts disagree.",
         "The linear model moves towards a style by adding and subtracting grey, not by "
         "redrawing strokes; set these lines beside the VAE's new typefaces above.")

# %% [markdown]
# ## Can you still read them?
#
# A design that is new but illegible is no use. As an independent reader we train a small letter
# classifier on the real training glyphs only (it never sees a generated glyph), check it on the
# held-out fonts, and then ask it to read the VAE's samples and the linear baseline's samples.
# The 52 classes include pairs that differ only by size, such as "o" and "O"; drawing every font
# on a shared baseline and capital height keeps them apart.


# %%
def build_judge(n_classes, seed, size=GLYPH_SIZE):
    inputs = keras.Input((size, size, 1))
    h = layers.RandomTranslation(0.06, 0.06, fill_mode="constant", seed=seed)(inputs)
    h = layers.Conv2D(16, 3, padding="same", activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = layers.MaxPooling2D()(h)
    h = layers.Dropout(0.3, seed=seed)(layers.Flatten()(h))
    h = layers.Dense(128, activation="relu")(h)
    model = keras.Model(inputs, layers.Dense(n_classes, activation="softmax")(h))
    model.compile(keras.optimizers.Adam(2e-3), "sparse_categorical_crossentropy")
    return model


def accuracy(probabilities, labels):
    return float((np.asarray(probabilities).argmax(1) == np.asarray(labels)).mean())


judge = build_judge(n_letters, run.seed)
judge.fit(x_train[..., None], y_train, epochs=hp.judge_epochs, batch_size=64, verbose=0)
read = {name: accuracy(judge.predict(x[..., None], verbose=0, batch_size=512), y)
        for name, x, y in [("heldout", x_test, y_test), ("generated", generated, gen_labels),
                           ("pca", pca_samples, gen_labels)]}
print("letter classifier accuracy: held-out real fonts {heldout:.1%}, VAE samples "
      "{generated:.1%}, linear-baseline samples {pca:.1%}".format(**read))

# %% [markdown]
# ## Taking the decoder to the page
#
# The typeface explorer on the site runs this very decoder in the reader's browser: the reader
# moves the eight style numbers, and the page decodes all 52 letters at once. It needs two things
# besides the weights. The letters, in the order of the decoder's one-hot input. And, so the
# reader can start from a real typeface and blend two of them, one style vector per font: the
# average of the codes the encoder gives its 52 letters. One vector per font is a simplification
# (the morph above encodes each letter separately), so we measure what it costs: how well the
# decoder rebuilds the training fonts from their single style vectors.
#
# The page shows ink, not logits, so the exported network ends with the sigmoid that training
# left to the loss. Its weights are stored as 16-bit floats, half the download, only if that
# moves no pixel of a batch of random style codes' glyphs by more than half a grey level of an
# 8-bit image (1/512): a change the page could not show. Otherwise they stay 32-bit.

# %%
all_letters = np.arange(n_letters)
font_codes = {name: encode(glyphs[name], all_letters).mean(0) for name in names}
train_font_codes = np.stack([font_codes[name] for name in train_fonts])
font_vector_mse = per_pixel_mse(x_train, decode(train_font_codes[f_train], y_train))
print(f"training fonts rebuilt from one style vector per font: MSE {font_vector_mse:.4f} "
      f"(one code per letter: {per_pixel_mse(x_train, rec_vae_train):.4f})")
probe_codes = rng.standard_normal((2 * n_letters, hp.latent_dim)).astype("float32")
probe_labels = np.tile(all_letters, 2)
ink = layers.Activation("sigmoid", name="ink")(decoder.outputs[0])
live = export_model(
    run, keras.Model(decoder.inputs, ink, name="glyph_decoder"), "decoder", tolerance=1 / 512,
    meta=dict(letters=LETTERS, latent_dim=hp.latent_dim, glyph_size=GLYPH_SIZE,
              output="ink", specimen=SPECIMEN, morph=[pretty(n) for n in MORPH],
              fonts=[dict(name=pretty(n), held_out=n in test_fonts,
                          code=[round(float(v), 4) for v in font_codes[n]]) for n in names]),
    probe=[probe_codes, one_hot[probe_labels]])
print(f"decoder for the page: {live['bytes'] / 1e6:.2f} MB as {live['dtype']}, ink within "
      f"{live['max_abs_diff']:.2g} of the full-precision decoder's")

# %% [markdown]
# ## Metrics
#
# Reconstruction errors are per pixel, on the four held-out fonts (52 letters each), for the VAE
# and for the two baselines fitted in the same run. Distances are RMS pixel differences to the
# nearest training glyph of the same letter (medians); `novelty_ratio` divides the VAE samples'
# median by the held-out real fonts' median, so about 1 means "as new as a real unseen font".
# Accuracies are the independent letter classifier's.

# %%
run.save_metrics({
    "heldout_mse_vae": errors["vae"][0],
    "heldout_mse_cond_pca_baseline": errors["cond_pca"][0],
    "heldout_mse_letter_mean_baseline": errors["letter_mean"][0],
    "heldout_bce_vae": errors["vae"][1],
    "heldout_bce_cond_pca_baseline": errors["cond_pca"][1],
    "heldout_bce_letter_mean_baseline": errors["letter_mean"][1],
    "train_mse_vae": per_pixel_mse(x_train, rec_vae_train),
    "nn_median_train_vs_train": medians["train"],
    "nn_median_heldout_vs_train": medians["heldout"],
    "nn_median_generated_vs_train": medians["generated"],
    "nn_median_pca_samples_vs_train": medians["pca"],
    "novelty_ratio": medians["generated"] / medians["heldout"],
    "near_copy_share_generated": near_copy["generated"],
    "near_copy_share_heldout_fonts": near_copy["heldout"],
    "grey_share_heldout_fonts": greys["heldout"],
    "grey_share_generated": greys["generated"],
    "grey_share_pca_samples": greys["pca"],
    "judge_accuracy_heldout_fonts": read["heldout"],
    "judge_accuracy_generated": read["generated"],
    "judge_accuracy_pca_samples": read["pca"],
    "n_fonts_train": len(train_fonts),
    "n_fonts_heldout": len(test_fonts),
    "latent_dims": hp.latent_dim,
    "train_mse_font_style_vector": font_vector_mse,
    "live_decoder_bytes": live["bytes"],
    "live_decoder_max_abs_diff": live["max_abs_diff"],
})
