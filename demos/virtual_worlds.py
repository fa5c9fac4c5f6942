"""Virtual worlds: a GAN that invents terrain

A small convolutional GAN learns the shape of real landscapes from 32x32 patches of two elevation
maps, then invents new heightmaps for a game world, rendered with sea, snow and hill shading and
measured against held-out real terrain and a fractal-noise baseline.

Data: matplotlib's bundled elevation maps (topobathy.npz: 91x120 grid off British Columbia;
jacksboro_fault_dem.npz: 344x403 grid in Tennessee), the northern third of each held out.
Run time: quick ~18 s, default ~3 min on 2 CPU cores shared with another demo (as `make site` runs them).
Outputs: terrain_data.png, generated_terrain.png, terrain_statistics.png, terrain_walk.gif, generated.npz, generator.js, generator.keras, metrics.json
Samples: generated.npz: the GAN's heightmaps; numpy.load("generated.npz")["heightmaps"] gives N x 32
x 32 float16 heights, each map on its own 0 to 1 scale (sea below 0.25)
Headline: generated_terrain.png
Page: introduction/overview.md#virtual-worlds-and-game-design
"""

import time
from functools import lru_cache

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers, ops
from matplotlib import cbook
from matplotlib.colors import LightSource, ListedColormap
from matplotlib.ticker import NullFormatter
from scipy import ndimage

from _live import export_model
from _shared import start

PATCH = 32              # heightmap side, in pixels
HELD_OUT_SHARE = 0.35   # the northern strip of each map kept away from training
SEA_LEVEL = 0.25        # on the 0..1 height scale of a normalised heightmap
SNOW_LINE = 0.8

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(steps=60, batch=32, latent=64, g_width=64, d_width=16, lr=2e-4,
                  decay_from=0.5, n_eval=128, walk_frames=9),
    "default": dict(steps=2500, batch=32, latent=64, g_width=64, d_width=16, lr=2e-4,
                    decay_from=0.5, n_eval=512, walk_frames=42),
}
run = start(PROFILES)
hp = run.hp
rng = np.random.default_rng(run.seed)

# %% [markdown]
# ## The data: two real landscapes
#
# Matplotlib ships two digital elevation models for its examples, and they make a small but real
# training set for terrain. `topobathy.npz` is a coarse grid (about 2.4 km per pixel) over the
# coast of British Columbia and Washington: mountains, fjords and sea floor. The Jacksboro fault
# map is much finer (about 80 m per pixel) and shows the ridges and valleys of the Appalachians
# around Jacksboro, Tennessee. We halve the Jacksboro grid by averaging 2x2 blocks so that a 32x32
# patch covers several ridges rather than a single hillside.
#
# The northern third of each map is held out: no training patch may touch it. It plays the role
# of "terrain the model has never seen", and our judge of realism compares generated maps with
# patches cut from there.

# %%
def load_maps():
    """The two elevation grids in metres, north at the top."""
    topo = cbook.get_sample_data("topobathy.npz")["topo"].astype("float32")
    topo = topo[::-1]  # its rows run south to north; flip so that row 0 is the north edge
    jack = cbook.get_sample_data("jacksboro_fault_dem.npz")["elevation"].astype("float32")
    rows, cols = jack.shape[0] // 2 * 2, jack.shape[1] // 2 * 2
    jack = jack[:rows, :cols].reshape(rows // 2, 2, cols // 2, 2).mean((1, 3))
    return {"British Columbia coast": topo, "Jacksboro fault, Tennessee": jack}


maps = load_maps()
splits = {}
for name, grid in maps.items():
    cut = int(np.ceil(HELD_OUT_SHARE * grid.shape[0]))
    splits[name] = dict(held_out=grid[:cut], train=grid[cut:], cut=cut)
    print(f"{name}: {grid.shape[0]}x{grid.shape[1]} grid, rows 0-{cut - 1} held out, "
          f"{grid.min():.0f} to {grid.max():.0f} m")

# %% [markdown]
# ### Patches, augmentation and normalisation
#
# A training example is a random 32x32 crop of the training region, turned by a random multiple
# of 90 degrees and possibly mirrored: landscapes have no preferred orientation, so these eight
# versions of every crop are all equally valid terrain, and they multiply a small data set.
#
# Each patch is then rescaled on its own so that its lowest point is 0 and its highest is 1. We
# normalise per patch rather than globally for two reasons. The two maps have different pixel sizes
# and very different relief (over 3.5 km from sea floor to summit on the coast, under 1 km in
# Tennessee), so a shared metre scale would make every Tennessee patch look almost flat next to the
# Coast Mountains. And a game engine rescales a heightmap to its own world units anyway: what
# matters is the *shape* of the land. The price is that the model cannot tell a gentle patch from a
# rugged one; every heightmap spans the full range, and slopes are measured in "heightmap range per
# pixel". Half of every batch comes from each map.

# %%
def random_patches(grid, n, rng, size=PATCH):
    """n random size x size crops of a 2-D grid, each rotated by k*90 degrees and maybe mirrored."""
    rows = rng.integers(0, grid.shape[0] - size + 1, n)
    cols = rng.integers(0, grid.shape[1] - size + 1, n)
    turns = rng.integers(0, 4, n)
    mirror = rng.integers(0, 2, n).astype(bool)
    out = np.empty((n, size, size), dtype="float32")
    for i in range(n):
        patch = np.rot90(grid[rows[i]:rows[i] + size, cols[i]:cols[i] + size], turns[i])
        out[i] = patch[:, ::-1] if mirror[i] else patch
    return out


def normalise_patches(patches):
    """Rescale each heightmap in a stack (N, H, W) to span exactly 0..1."""
    patches = np.asarray(patches, dtype="float32")
    low = patches.min(axis=(-2, -1), keepdims=True)
    high = patches.max(axis=(-2, -1), keepdims=True)
    return (patches - low) / np.maximum(high - low, 1e-6)


def sample_real(region, n, rng):
    """n normalised patches from one region ("train" or "held_out"), half from each map."""
    halves = [n // 2, n - n // 2]
    patches = np.concatenate(
        [random_patches(split[region], k, rng) for split, k in zip(splits.values(), halves)])
    return normalise_patches(patches[rng.permutation(n)])


# %% [markdown]
# ## Rendering a heightmap as a game map
#
# A heightmap is just a grid of numbers; what makes it read as land is the rendering. We colour it
# like a game's world map: water below a sea level, greens and browns up the slopes and white above
# a snow line, then light it from the north-west with matplotlib's `LightSource` so that relief
# casts soft shadows. The water surface is drawn flat, with its colour darkening with depth.
# Because every heightmap spans 0..1, where the sea and the snow begin is a design decision, as it
# would be for a game designer: here water fills the lowest quarter of the height range and snow
# caps the top fifth. For display only, each 32x32 map is enlarged three times with cubic
# interpolation; every number on this page is computed on the raw 32x32 grids.

# %%
@lru_cache(maxsize=8)
def terrain_colormap(sea_level=SEA_LEVEL, snow_line=SNOW_LINE, n=256):
    """Deep to shallow blue below sea level, matplotlib's land colours above, white above snow."""
    land, water = plt.get_cmap("terrain"), plt.get_cmap("Blues")
    colours = []
    for v in np.linspace(0, 1, n):
        if v < sea_level:
            colours.append(water(0.85 - 0.55 * v / sea_level))
        elif v > snow_line:
            colours.append((0.97, 0.97, 0.99, 1.0))
        else:
            colours.append(land(0.24 + 0.56 * (v - sea_level) / (snow_line - sea_level)))
    return ListedColormap(colours)


def render_relief(height, upsample=3, sea_level=SEA_LEVEL, snow_line=SNOW_LINE, exaggeration=25.0):
    """An RGB image (H*upsample, W*upsample, 3) in 0..1 of a 0..1 heightmap, hill-shaded."""
    height = ndimage.zoom(np.asarray(height, dtype="float64"), upsample, order=3)
    colours = terrain_colormap(sea_level, snow_line)(np.clip(height, 0, 1))[..., :3]
    surface = np.maximum(height, sea_level)  # water is flat: shade its surface, not the sea floor
    light = LightSource(azdeg=315, altdeg=40)
    return light.shade_rgb(colours, surface, vert_exag=exaggeration / upsample, blend_mode="soft")


# The overview uses each map's true sea level (0 m) and a snow line at 1,800 m, so it shows the
# real geography; Tennessee has neither sea nor snow.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), gridspec_kw=dict(width_ratios=[1.25, 1]))
for ax, (name, grid) in zip(axes, maps.items()):
    low, high = grid.min(), grid.max()
    sea, snow = [float(np.clip((level - low) / (high - low), 0, 1.001)) for level in (0.0, 1800.0)]
    ax.imshow(render_relief((grid - low) / (high - low), upsample=1, sea_level=sea, snow_line=snow,
                            exaggeration=8.0), interpolation="nearest")
    cut = splits[name]["cut"]
    ax.axhspan(-0.5, cut - 0.5, facecolor="none", edgecolor="#c62828", lw=2, hatch="//", alpha=0.6)
    ax.text(grid.shape[1] / 2, cut / 2, "held out", color="white", ha="center", va="center",
            weight="bold", bbox=dict(facecolor="#c62828", edgecolor="none", alpha=0.8))
    ax.set_title(f"{name}\n{grid.shape[0]}x{grid.shape[1]} pixels, north at the top", fontsize=10)
    ax.set_xlabel("pixel (west to east)")
axes[0].set_ylabel("pixel (north to south)")
run.save_figure(fig, "terrain_data.png", dpi=90)
run.show("terrain_data.png",
         "Two shaded-relief maps: a coastal map with sea, islands and mountains, and a map of "
         "parallel Appalachian ridges cut by a straight fault line. A hatched red band marks "
         "the northern third of each map as held out.",
         "The training landscapes. Patches are cut only below the red band; the band itself "
         "supplies the held-out terrain used to judge the generator.")

# %% [markdown]
# ## The generator and its critic
#
# We train a DCGAN-style pair of small convolutional networks. The **generator** turns 64 random
# numbers into a 4x4 grid of features and doubles its resolution three times (upsampling
# followed by a convolution, which avoids the checkerboard artefacts of transposed
# convolutions) to reach 32x32. Its last step applies the same per-patch normalisation as the
# data, so a generated map always spans 0..1 and the critic cannot win on the range alone.
# The **discriminator** (the critic) is a three-layer convolutional classifier that sees a real or generated
# heightmap and outputs a logit for "real". Each training step updates the discriminator to
# tell real patches from fresh fakes, then the generator to fool it.

# %%
def build_generator(latent, width):
    z = keras.Input((latent,))
    h = layers.Dense(4 * 4 * width, use_bias=False)(z)
    h = layers.Reshape((4, 4, width))(h)
    h = layers.ReLU()(layers.BatchNormalization()(h))
    for channels in (width, width // 2, width // 4):
        h = layers.UpSampling2D(interpolation="bilinear")(h)
        h = layers.Conv2D(channels, 3, padding="same", use_bias=False)(h)
        h = layers.ReLU()(layers.BatchNormalization()(h))
    h = layers.Conv2D(1, 3, padding="same")(h)[..., 0]
    low = ops.min(h, axis=(1, 2), keepdims=True)
    high = ops.max(h, axis=(1, 2), keepdims=True)
    return keras.Model(z, (h - low) / (high - low + 1e-6), name="generator")


def build_discriminator(width):
    x = keras.Input((PATCH, PATCH))
    h = x[..., None] * 2.0 - 1.0
    for channels in (width, width * 2, width * 4):
        h = layers.Conv2D(channels, 4, strides=2, padding="same")(h)
        h = layers.LeakyReLU(0.2)(h)
    return keras.Model(x, layers.Dense(1)(layers.Flatten()(h)), name="discriminator")


class HoldThenDecay(keras.optimizers.schedules.LearningRateSchedule):
    """A constant learning rate, then a straight line down to zero over the last steps."""

    def __init__(self, rate, total_steps, decay_from):
        self.rate, self.total = rate, float(total_steps)
        self.start = float(decay_from * total_steps)

    def __call__(self, step):
        left = (self.total - ops.cast(step, "float32")) / max(self.total - self.start, 1.0)
        return self.rate * ops.clip(left, 0.0, 1.0)


generator = build_generator(hp.latent, hp.g_width)
discriminator = build_discriminator(hp.d_width)
# GAN training never settles: the two networks keep chasing each other, so the generator's
# last state is partly luck. Letting the learning rate fall to zero over the second half of
# training shrinks the final steps, so the end result depends less on where the chase stood.
g_opt = keras.optimizers.Adam(HoldThenDecay(hp.lr, hp.steps, hp.decay_from), beta_1=0.5)
d_opt = keras.optimizers.Adam(HoldThenDecay(hp.lr, hp.steps, hp.decay_from), beta_1=0.5)
bce = keras.losses.BinaryCrossentropy(from_logits=True)


@tf.function
def train_step(real, z):
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = generator(z, training=True)
        logit_real = discriminator(real, training=True)
        logit_fake = discriminator(fake, training=True)
        # One-sided label smoothing (0.9 for real) keeps the discriminator from becoming
        # overconfident early, which would starve the generator of useful gradients.
        d_loss = (bce(0.9 * tf.ones_like(logit_real), logit_real)
                  + bce(tf.zeros_like(logit_fake), logit_fake))
        g_loss = bce(tf.ones_like(logit_fake), logit_fake)
    d_opt.apply_gradients(zip(d_tape.gradient(d_loss, discriminator.trainable_variables),
                              discriminator.trainable_variables))
    g_opt.apply_gradients(zip(g_tape.gradient(g_loss, generator.trainable_variables),
                              generator.trainable_variables))
    return d_loss, g_loss


print(f"generator {generator.count_params():,} weights, "
      f"discriminator {discriminator.count_params():,} weights")
began = time.perf_counter()
history = []
for step in range(1, hp.steps + 1):
    real = sample_real("train", hp.batch, rng)
    z = rng.standard_normal((hp.batch, hp.latent)).astype("float32")
    history.append([float(v) for v in train_step(real, z)])
    if step % max(1, hp.steps // 5) == 0:
        d_loss, g_loss = np.mean(history[-100:], axis=0)
        print(f"step {step:5d}: discriminator loss {d_loss:.3f}, generator loss {g_loss:.3f}")
print(f"{hp.steps} steps in {time.perf_counter() - began:.1f} s")

# %% [markdown]
# ## New terrain
#
# Sampling is one forward pass: draw random latent vectors, run the generator. We keep the
# samples as raw heightmaps in `generated.npz` so that every statistic below can be recomputed.

# %%
z_eval = rng.standard_normal((hp.n_eval, hp.latent)).astype("float32")
# Stored as float16 to keep the file small; every statistic below uses these rounded values,
# so recomputing from the file gives the same numbers.
generated = keras.ops.convert_to_numpy(generator.predict(z_eval, verbose=0, batch_size=256))
generated = generated.astype("float16")
np.savez_compressed(run.path("generated.npz"), heightmaps=generated)
generated = generated.astype("float32")
held_out = sample_real("held_out", hp.n_eval, rng)
train_sample = sample_real("train", hp.n_eval, rng)
print(f"{len(generated)} generated, {len(held_out)} held-out and {len(train_sample)} training "
      f"patches for evaluation")

# %% [markdown]
# ## A baseline from classic procedural generation: fractal noise
#
# Games generated terrain long before neural networks, most often with fractal noise: random
# bumps at every scale, with amplitude falling off as a power of the frequency. Natural terrain
# roughly follows such a law: its power spectrum decays like $1/f^\beta$. We measure $\beta$ on
# the training patches (the slope of the log power spectrum against log frequency), then
# synthesise noise with exactly that spectrum, crop it and normalise it the same way as the
# data. It is a strong, honest baseline: it matches the training terrain's roughness at every
# scale by construction, but it knows nothing else (no ridges, valleys or coastlines).

# %%
def radial_power_spectrum(patches):
    """Mean power at each integer radial frequency 1..size/2 of (N, S, S) patches, after a
    Hann window (which keeps the patch edges from adding spurious high-frequency power)."""
    patches = np.asarray(patches, dtype="float64")
    size = patches.shape[-1]
    window = np.outer(np.hanning(size), np.hanning(size))
    centred = (patches - patches.mean(axis=(-2, -1), keepdims=True)) * window
    power = (np.abs(np.fft.fft2(centred)) ** 2).mean(axis=0)
    fy, fx = np.meshgrid(np.fft.fftfreq(size) * size, np.fft.fftfreq(size) * size, indexing="ij")
    radius = np.rint(np.hypot(fy, fx)).astype(int)
    freqs = np.arange(1, size // 2 + 1)
    spectrum = np.array([power[radius == f].mean() for f in freqs])
    return freqs / size, spectrum


def fit_spectral_exponent(patches):
    """beta in power ~ 1/f^beta, by least squares on log power vs log frequency."""
    freqs, spectrum = radial_power_spectrum(patches)
    slope, _ = np.polyfit(np.log(freqs), np.log(spectrum), 1)
    return float(-slope)


def fractal_noise(n, size, beta, rng):
    """n heightmaps (n, size, size) of spectral 1/f^beta noise, normalised to 0..1.

    Synthesised on a grid twice as large and cropped, so that the maps do not wrap around.
    """
    big = 2 * size
    fy, fx = np.meshgrid(np.fft.fftfreq(big), np.fft.fftfreq(big), indexing="ij")
    f = np.hypot(fy, fx)
    f[0, 0] = 1.0
    amplitude = f ** (-beta / 2.0)
    amplitude[0, 0] = 0.0
    # Shaping the spectrum of white noise gives random terrain with the requested power law.
    white = np.fft.fft2(rng.standard_normal((n, big, big)))
    noise = np.fft.ifft2(white * amplitude).real[:, :size, :size]
    return normalise_patches(noise)


beta = fit_spectral_exponent(train_sample)
fractal = fractal_noise(hp.n_eval, PATCH, beta, rng)
print(f"training terrain spectrum: power ~ 1/f^{beta:.2f}; fractal baseline uses that exponent")

# %% [markdown]
# ## How realistic is the generated terrain?
#
# Realism for terrain is mostly about two distributions. The **elevation histogram** says how
# much of the land is lowland, hills or peaks (on a 0..1 map, the hypsometry). The **slope
# histogram** says how steep the ground is: gentle plains, rolling hills, cliffs. We compute
# both over every pixel of the held-out patches and of each contender, and compare histograms
# with the Wasserstein-1 distance (the "earth mover's distance": how far, on average, mass must
# be moved along the axis to turn one histogram into the other; 0 for identical histograms).
#
# Three numbers per statistic make it readable: the GAN against held-out terrain, the fractal
# baseline against held-out terrain, and training patches against held-out terrain. The last is
# the yardstick for "as real as real": two regions of the same maps differ too, so a distance
# near it means the generated terrain is about as different from the held-out region as real
# terrain from next door is. It is not a hard limit: the generator blends what it learned from
# both maps and all of the training region, and it can land a little below it, on one
# statistic or another, without being more realistic than real land.

# %%
def slope(heights):
    """Steepness |grad h| of each pixel of one heightmap (H, W) or a stack (N, H, W), in height
    units per pixel (central differences inside, one-sided at the edges)."""
    heights = np.asarray(heights, dtype="float64")
    dy, dx = np.gradient(heights, axis=(-2, -1))
    return np.hypot(dy, dx)


def histogram_distance(a, b, bins=100):
    """Wasserstein-1 distance between the normalised histograms of two samples, on shared bins."""
    a, b = np.ravel(a), np.ravel(b)
    low, high = min(a.min(), b.min()), max(a.max(), b.max())
    if high <= low:
        return 0.0
    edges = np.linspace(low, high, bins + 1)
    cdf_a = np.cumsum(np.histogram(a, edges)[0]) / a.size
    cdf_b = np.cumsum(np.histogram(b, edges)[0]) / b.size
    return float(np.abs(cdf_a - cdf_b).sum() * (edges[1] - edges[0]))


contenders = {"GAN": generated, "fractal noise": fractal, "training patches": train_sample}
distances = {}
for label, maps_ in contenders.items():
    distances[label] = (histogram_distance(maps_, held_out),
                        histogram_distance(slope(maps_), slope(held_out)))
    print(f"{label:>17} vs held-out: elevation W1 {distances[label][0]:.4f}, "
          f"slope W1 {distances[label][1]:.4f}")
for i, statistic in enumerate(("elevation", "slope")):
    gan, noise, real_ = (distances[k][i] for k in ("GAN", "fractal noise", "training patches"))
    verdict = "closer to" if gan < noise else "no closer to"
    print(f"{statistic}: the GAN is {verdict} held-out terrain than fractal noise "
          f"({gan:.4f} vs {noise:.4f}); real terrain from the training region: {real_:.4f}")
exponents = {label: fit_spectral_exponent(m) for label, m in
             {"held-out": held_out, **contenders}.items()}
print("spectral exponent beta: " + ", ".join(f"{k} {v:.2f}" for k, v in exponents.items()))

# %% [markdown]
# ### Reading the statistics figure
#
# Left and middle: the elevation and slope histograms themselves, so you can see *where* a
# contender differs from real terrain, not just by how much. Right: the power spectra on
# log-log axes. A straight line is a pure power law; fractal noise follows one by construction,
# while real terrain bends away from it where landforms have typical sizes. The legend gives
# each contender's Wasserstein-1 distance to the held-out terrain.

# %%
styles = {"held-out": dict(color="black", lw=2.2), "GAN": dict(color="#1565c0", lw=1.8),
          "fractal noise": dict(color="#ef6c00", lw=1.8, ls="--"),
          "training patches": dict(color="#6d6d6d", lw=1.2, ls=":")}
sets = {"held-out": held_out, **contenders}
slope_high = np.percentile(slope(held_out), 99.5) * 1.5
fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
for label, data in sets.items():
    tag = "" if label == "held-out" else f" (W1 {distances[label][0]:.3f})"
    axes[0].hist(data.ravel(), bins=50, range=(0, 1), density=True, histtype="step",
                 label=label + tag, **styles[label])
    tag = "" if label == "held-out" else f" (W1 {distances[label][1]:.4f})"
    axes[1].hist(np.clip(slope(data).ravel(), 0, slope_high), bins=60, range=(0, slope_high),
                 density=True, histtype="step", label=label + tag, **styles[label])
    freqs, spectrum = radial_power_spectrum(data)
    axes[2].loglog(freqs, spectrum, label=f"{label} (beta {exponents[label]:.2f})", **styles[label])
axes[0].set(title="Elevation histogram", xlabel="height (0 = patch minimum, 1 = maximum)",
            ylabel="density")
axes[1].set(title="Slope histogram", xlabel="slope (height range per pixel)", ylabel="density")
axes[2].xaxis.set_minor_formatter(NullFormatter())
axes[2].set(title="Radially averaged power spectrum", xlabel="spatial frequency (cycles/pixel)",
            ylabel="power")
for ax in axes:
    ax.legend(fontsize=8)
fig.tight_layout()
run.save_figure(fig, "terrain_statistics.png")
run.show("terrain_statistics.png",
         "Three panels comparing held-out real terrain, GAN samples, fractal noise and training "
         "patches: elevation histograms, slope histograms and power spectra on log-log axes.",
         "The closer a curve hugs the black held-out curve, the more realistic that statistic; "
         "the legend gives each contender's distance to the held-out terrain.")

# %% [markdown]
# ## The maps
#
# The headline figure: real held-out terrain on the top row, GAN samples in the middle rows and
# fractal noise at the bottom, all with the same colours, sea level and snow line. Look for
# what fractal noise never makes: long ridges and valleys running in one direction, flat-floored
# straits, and coastlines that follow the grain of the land.

# %%
n_cols = 6
rows = [("held-out real", held_out[:n_cols]), ("GAN", generated[:n_cols]),
        ("GAN", generated[n_cols:2 * n_cols]), ("fractal noise", fractal[:n_cols])]
fig, axes = plt.subplots(len(rows), n_cols, figsize=(1.3 * n_cols + 0.5, 1.3 * len(rows) + 0.4))
for r, (label, maps_) in enumerate(rows):
    for c, height in enumerate(maps_):
        ax = axes[r, c]
        ax.imshow(render_relief(height))
        ax.set_xticks([]), ax.set_yticks([])
        if c == 0:
            ax.set_ylabel(label, fontsize=10)
fig.suptitle("Generated game terrain (32x32 heightmaps): real, GAN, fractal noise", fontsize=11)
fig.subplots_adjust(wspace=0.04, hspace=0.06, top=0.93)
run.save_figure(fig, "generated_terrain.png", dpi=90)
run.show("generated_terrain.png",
         "A grid of small shaded-relief maps with blue sea, green and brown land and white "
         "peaks: one row of real held-out terrain, two rows made by the GAN, one row of "
         "fractal noise.",
         "Real and GAN terrain have ridges, valleys and coastlines that run in a direction; "
         "fractal noise, though it matches the real power spectrum, makes only round blobs.")

# %% [markdown]
# ## Walking through the space of worlds
#
# Every point of the generator's 64-dimensional latent space is a map, and nearby points are
# similar maps. Moving smoothly along a closed loop through several random points morphs one
# landscape into the next: islands rise, valleys shift, snowfields grow and melt. A game could
# use the same trick to blend between biomes or regions.

# %%
anchors = rng.standard_normal((3, hp.latent))
frames_per_leg = max(2, hp.walk_frames // len(anchors))
path = []
for i in range(len(anchors)):
    a, b = anchors[i], anchors[(i + 1) % len(anchors)]
    for t in np.linspace(0, 1, frames_per_leg, endpoint=False):
        # Cosine mixing keeps the vector's length typical of a Gaussian sample along the way.
        path.append(np.cos(t * np.pi / 2) * a + np.sin(t * np.pi / 2) * b)
walk = keras.ops.convert_to_numpy(generator.predict(np.array(path, "float32"), verbose=0))
frames = [(render_relief(h, upsample=4) * 255).round().astype("uint8") for h in walk]
run.save_gif(frames, "terrain_walk.gif", duration_ms=120, hold_last_ms=120)
run.show("terrain_walk.gif",
         "An animated shaded-relief map whose coastlines, ridges and snowfields slowly morph "
         "into new landscapes and back.",
         "A latent walk: each frame is a new map, and neighbouring frames are close in "
         "latent space.")

# %% [markdown]
# ## Taking the generator to the page
#
# The world generator on the site runs this generator in the reader's browser: a seed picks the
# 64 latent numbers, one forward pass makes the heightmap, and the page colours and lights it.
# Besides the weights, the page gets what the rendering above uses: the colour table (which
# already holds the sea level and the snow line) and the light's direction, height and vertical
# exaggeration, so a map drawn in the page is lit like the maps on this page. The export keeps
# 16-bit weights (half the download) only if no height of a batch of maps moves by more than
# half a step of the 256-colour table (1/512), a change the picture could not show.

# %%
light = LightSource(azdeg=315, altdeg=40)
live = export_model(
    run, generator, "generator", tolerance=1 / 512,
    meta=dict(latent=hp.latent, size=PATCH, sea_level=SEA_LEVEL, snow_line=SNOW_LINE,
              colours=(terrain_colormap()(np.linspace(0, 1, 256))[:, :3] * 255).round()
              .astype(int).tolist(),
              light=dict(azimuth_deg=light.azdeg, altitude_deg=light.altdeg,
                         exaggeration=25.0, blend="soft")),
    probe=rng.standard_normal((64, hp.latent)).astype("float32"))
print(f"generator for the page: {live['bytes'] / 1e6:.2f} MB as {live['dtype']}, heightmaps "
      f"within {live['max_abs_diff']:.2g} of the full-precision generator")

# %% [markdown]
# ## Metrics
#
# Distances are Wasserstein-1 between histograms over all pixels of the evaluation patches, in
# normalised height units (elevation) and height units per pixel (slope); lower is better, and
# the `train_vs_heldout` entries are the real-vs-real yardstick. Spectral exponents are fitted
# on the same patches.

# %%
metrics_file = run.save_metrics({
    "elevation_w1_gan": distances["GAN"][0],
    "elevation_w1_fractal_baseline": distances["fractal noise"][0],
    "elevation_w1_train_vs_heldout": distances["training patches"][0],
    "slope_w1_gan": distances["GAN"][1],
    "slope_w1_fractal_baseline": distances["fractal noise"][1],
    "slope_w1_train_vs_heldout": distances["training patches"][1],
    "spectral_exponent_heldout": exponents["held-out"],
    "spectral_exponent_gan": exponents["GAN"],
    "spectral_exponent_fractal_baseline": exponents["fractal noise"],
    "training_steps": hp.steps,
    "live_generator_bytes": live["bytes"],
    "live_generator_max_abs_diff": live["max_abs_diff"],
})
