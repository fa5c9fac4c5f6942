"""How generative models work: five families on one bench

The samples of the five model-family demos (VAE, GAN, autoregressive, flow, diffusion) are
scored again here by the same judge, next to three baselines fitted in this run (real digits,
a per-class Gaussian, a kernel density), and collected into one comparison table, one figure of
every family's digits and a figure of the trade-offs.

Data: the samples.npz and metrics.json of the five family demos; scikit-learn's bundled digits in the bench's fixed split for the baselines.
Run time: quick ~15 s, default ~30 s on 2 CPU cores.
Needs: vae, gan, autoregressive, flow, diffusion
Outputs: families.png, tradeoff.png, comparison.csv, judge.sha256, metrics.json
Headline: families.png
Page: models/index.md
"""

import csv
import json
import math

import matplotlib.pyplot as plt
import numpy as np
from sklearn.neighbors import KernelDensity

from _shared import (BENCH_SAMPLES, GREY_LEVELS, PIXELS, DigitBench, dequantized_bits_per_pixel,
                     image_grid, load_digit_samples, start, timed)

# Hyperparameters. The baselines are fitted in closed form; `ridges` (added to the Gaussians'
# covariances) and `bandwidths` (the kernel density's widths) are the values tried, each chosen
# by likelihood on a validation part of the training digits, never on the held-out ones.
PROFILES = {
    "quick": dict(ridges=[0.003, 0.01], bandwidths=[0.03, 0.06, 0.1], validation_share=0.2,
                  dequantization_draws=2),
    "default": dict(ridges=[0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01],
                    bandwidths=[0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.13, 0.17],
                    validation_share=0.2, dequantization_draws=8),
}
FAMILIES = ("vae", "gan", "autoregressive", "flow", "diffusion")
FAMILY_TITLES = {"vae": "VAE", "gan": "GAN", "autoregressive": "Autoregressive",
                 "flow": "Normalizing flow", "diffusion": "Diffusion", "real": "Real digits",
                 "gaussian": "Per-class Gaussian", "kde": "Kernel density"}
COLUMNS = ("frechet", "precision", "recall", "class_coverage", "memorised", "bits_per_pixel",
           "train_seconds", "sample_seconds_per_1000", "parameters")
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## One referee
#
# The judge here is the same as in every family demo: trained with the bench's fixed seed and
# epochs, its weights hash to the value every family wrote in its `judge.sha256`, which we
# check before anything else. Then we read each family's 1,000 samples and score them again,
# here, with the same code: the table below is computed in one place.

# %%
bench = DigitBench.for_run(run)
families = {}
for name in FAMILIES:
    folder = run.inputs(name)
    their_hash = (folder / "judge.sha256").read_text().strip()
    if their_hash != bench.judge_sha256():
        raise RuntimeError(f"{name} was scored by a different judge ({their_hash[:12]} vs "
                           f"{bench.judge_sha256()[:12]}): rebuild it with the current bench")
    images, labels = load_digit_samples(folder / "samples.npz")
    reported = json.loads((folder / "metrics.json").read_text())
    families[name] = dict(images=images, reported=reported)
    print(f"{name:<15} {len(images):,} samples, judge {their_hash[:12]}")

# %% [markdown]
# ## Three baselines, scored the same way
#
# - **Real digits**: training digits scored as if they were samples; the floor no generator can
#   beat at these sample sizes (memorisation: held-out digits, about 5% by construction).
# - **Per-class Gaussian**: for each digit, the mean image and the covariance of its pixels; a
#   sample picks a digit as often as it occurs in training, then draws from its Gaussian.
# - **Kernel density**: a Gaussian bump on every training digit; a sample is a training digit
#   plus a little noise. Its width is chosen by likelihood on a fifth of the training digits.
#
# Both baselines are continuous densities, so we give them the same treatment as a flow:
# each grey level $l$ becomes a value $(l + u)/17$ with $u$ uniform, and the held-out
# likelihood is a bound in bits per pixel over the 17 levels.


# %%
def dequantize(levels, rng):
    """Grey levels 0..16 to continuous values (level + u) / 17 in [0, 1), u uniform."""
    levels = np.asarray(levels, dtype="float64").reshape(len(levels), -1)
    return (levels + rng.random(levels.shape)) / GREY_LEVELS


def to_images(values):
    """Continuous values on the (level + u) / 17 scale back to images level / 16 in [0, 1]."""
    levels = np.asarray(values, dtype="float64") * GREY_LEVELS - 0.5
    return np.clip(levels / (GREY_LEVELS - 1), 0, 1).reshape(-1, 8, 8).astype("float32")


class ClassGaussians:
    """A mixture of one full-covariance Gaussian per class, mixing weights from the counts."""

    def fit(self, x, y, ridge):
        x = np.asarray(x, dtype="float64")
        self.weights = np.bincount(y, minlength=10) / len(y)
        self.means = np.stack([x[y == k].mean(0) for k in range(10)])
        # A ridge keeps each covariance invertible: some border pixels are always blank.
        self.covs = np.stack([np.cov(x[y == k], rowvar=False) + ridge * np.eye(x.shape[1])
                              for k in range(10)])
        return self

    def log_density(self, x):
        x = np.asarray(x, dtype="float64")
        per_class = []
        for k in range(10):
            sign, logdet = np.linalg.slogdet(self.covs[k])
            diff = x - self.means[k]
            mahalanobis = np.einsum("ij,ij->i", diff @ np.linalg.inv(self.covs[k]), diff)
            per_class.append(math.log(self.weights[k]) - 0.5 * (
                mahalanobis + logdet + x.shape[1] * math.log(2 * math.pi)))
        return np.logaddexp.reduce(np.stack(per_class), axis=0)

    def sample(self, n, rng):
        classes = rng.choice(10, size=n, p=self.weights)
        out = np.empty((n, self.means.shape[1]))
        for k in range(10):
            chosen = classes == k
            out[chosen] = rng.multivariate_normal(self.means[k], self.covs[k], size=chosen.sum())
        return out

    def parameters(self):
        d = self.means.shape[1]
        return int(10 * (d + d * (d + 1) // 2) + 10)


def pick_by_validation(make_log_density, values, train_values, validation_values):
    """The value whose model, fitted on `train_values`, gives the validation digits the highest
    total log-density; returns it and every value's score."""
    scores = [float(make_log_density(v, train_values)(validation_values).sum()) for v in values]
    return values[int(np.argmax(scores))], scores


def comparison_rows(scores_by_name, order):
    """Rows for comparison.csv: one per model, the shared columns, blank where absent."""
    rows = []
    for name in order:
        scores = scores_by_name[name]
        rows.append({"model": name, **{c: scores.get(c, "") for c in COLUMNS}})
    return rows


# %%
rng = np.random.default_rng(run.seed)
dequantized_train = np.concatenate([dequantize(bench.levels_train, rng)
                                    for _ in range(hp.dequantization_draws)])
dequantized_labels = np.tile(bench.y_train, hp.dequantization_draws)
heldout_draws = [dequantize(bench.levels_test, rng) for _ in range(hp.dequantization_draws)]


def heldout_bits(log_density):
    nll = -np.mean([log_density(v).sum() for v in heldout_draws])
    return dequantized_bits_per_pixel(nll, len(bench.levels_test), bin_width=1 / GREY_LEVELS)


split = int(len(bench.levels_train) * (1 - hp.validation_share))
fit_part = (dequantize(bench.levels_train[:split], rng), bench.y_train[:split])
validation_part = dequantize(bench.levels_train[split:], rng)
ridge, ridge_scores = pick_by_validation(
    lambda r, part: ClassGaussians().fit(part[0], part[1], r).log_density, hp.ridges, fit_part,
    validation_part)
bandwidth, bandwidth_scores = pick_by_validation(
    lambda b, part: KernelDensity(bandwidth=b).fit(part[0]).score_samples, hp.bandwidths,
    fit_part, validation_part)
print("validation log-likelihood by ridge: "
      + ", ".join(f"{r}: {s:.0f}" for r, s in zip(hp.ridges, ridge_scores)) + f"; chose {ridge}")
print("validation log-likelihood by kernel width: "
      + ", ".join(f"{b}: {s:.0f}" for b, s in zip(hp.bandwidths, bandwidth_scores))
      + f"; chose {bandwidth}")

gaussians, gaussian_fit_seconds = timed(ClassGaussians().fit, dequantized_train,
                                        dequantized_labels, ridge)
gaussian_values, gaussian_sample_seconds = timed(gaussians.sample, BENCH_SAMPLES, rng)
gaussian_samples = to_images(gaussian_values)

kde, kde_fit_seconds = timed(KernelDensity(bandwidth=bandwidth).fit,
                             dequantize(bench.levels_train, rng))
kde_values, kde_sample_seconds = timed(kde.sample, BENCH_SAMPLES, run.seed)
kde_samples = to_images(kde_values)

scores_by_name = {"real": bench.floor()}
for name, info in families.items():
    scores = bench.score(info["images"])
    for key in ("bits_per_pixel", "train_seconds", "sample_seconds_per_1000", "parameters"):
        if key in info["reported"]:
            scores[key] = info["reported"][key]
    scores_by_name[name] = scores
scores_by_name["gaussian"] = dict(
    bench.score(gaussian_samples), bits_per_pixel=heldout_bits(gaussians.log_density),
    train_seconds=gaussian_fit_seconds,
    sample_seconds_per_1000=gaussian_sample_seconds * 1000 / BENCH_SAMPLES,
    parameters=gaussians.parameters())
scores_by_name["kde"] = dict(
    bench.score(kde_samples), bits_per_pixel=heldout_bits(kde.score_samples),
    train_seconds=kde_fit_seconds,
    sample_seconds_per_1000=kde_sample_seconds * 1000 / BENCH_SAMPLES,
    parameters=int(np.size(kde.tree_.data)) + 1)
# The families scored their own samples with the same code; any difference would mean the
# referee changed between runs.
rescore_difference = max(abs(scores_by_name[n]["frechet"] - families[n]["reported"]["frechet"])
                         for n in FAMILIES)
print(f"largest difference between a family's own Frechet distance and ours: "
      f"{rescore_difference:.2g}")

# %% [markdown]
# ## The table
#
# Lower is better for the Fréchet distance, bits per pixel, memorisation and times; higher for
# precision, recall and class coverage. Bits per pixel are over the 17 grey levels of held-out
# digits: exact for the autoregressive model, bounds for the others (see each family's page).
# The families' times and parameter counts are theirs, measured in their own runs; the
# baselines' are measured here.

# %%
order = ["real", *FAMILIES, "gaussian", "kde"]
rows = comparison_rows(scores_by_name, order)
with open(run.path("comparison.csv"), "w", newline="") as handle:
    writer = csv.DictWriter(handle, fieldnames=["model", *COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
header = f"{'model':<15}" + "".join(f"{c[:12]:>13}" for c in COLUMNS)
print(header)
for row in rows:
    print(f"{row['model']:<15}" + "".join(
        f"{row[c]:>13.4g}" if row[c] != "" else f"{'-':>13}" for c in COLUMNS))

# %% [markdown]
# ## Every family's digits, side by side
#
# The first 40 of each model's 1,000 samples, as saved by its demo; nothing is picked.

# %%
shown = {"real": bench.x_test[:40], **{n: families[n]["images"][:40] for n in FAMILIES},
         "gaussian": gaussian_samples[:40], "kde": kde_samples[:40]}
fig, axes = plt.subplots(2, 4, figsize=(13, 6.6))
for ax, name in zip(axes.ravel(), order):
    ax.imshow(image_grid(shown[name], ncols=8), cmap="gray", vmin=0, vmax=255,
              interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    label = "held out" if name == "real" else f"Frechet {scores_by_name[name]['frechet']:.1f}"
    ax.set_title(f"{FAMILY_TITLES[name]}\n{label}", fontsize=10)
fig.tight_layout()
run.save_figure(fig, "families.png")
run.show("families.png",
         "Eight grids of 40 small handwritten digits: real held-out digits, then samples from "
         "a VAE, a GAN, an autoregressive model, a normalizing flow, a diffusion model, a "
         "per-class Gaussian and a kernel density.",
         "Same data, same budget, same referee; the Frechet distance in each title is "
         "measured against held-out digits.")

# %% [markdown]
# ## Trade-offs
#
# Left: quality (precision) against coverage (recall). A model in the top right draws digits
# that look real *and* covers the variety of real digits; a collapsed model sits top left, a
# noisy one bottom right. Right: Fréchet distance against the time to draw 1,000 digits, on log
# scales: one network pass (VAE, GAN, flow) against 64 passes (autoregressive, one per pixel)
# against one pass per denoising step (diffusion).

# %%
colors = {"real": "#2e7d32", "vae": "#1565c0", "gan": "#c62828", "autoregressive": "#6a1b9a",
          "flow": "#ef6c00", "diffusion": "#00838f", "gaussian": "#757575", "kde": "#3e2723"}
fig, axes = plt.subplots(1, 2, figsize=(12, 4.4))
for name in order:
    s = scores_by_name[name]
    axes[0].scatter(s["recall"], s["precision"], color=colors[name], s=40)
    axes[0].annotate(FAMILY_TITLES[name], (s["recall"], s["precision"]), fontsize=8,
                     xytext=(4, 3), textcoords="offset points")
    if name != "real":
        axes[1].scatter(s["sample_seconds_per_1000"], s["frechet"], color=colors[name], s=40)
        axes[1].annotate(FAMILY_TITLES[name], (s["sample_seconds_per_1000"], s["frechet"]),
                         fontsize=8, xytext=(4, 3), textcoords="offset points")
axes[0].set_xlim(-0.02, 1.05)
axes[0].set_ylim(-0.02, 1.05)
axes[0].set_xlabel("recall (coverage of held-out digits)")
axes[0].set_ylabel("precision (samples that look real)")
axes[0].set_title("Quality against coverage")
axes[1].axhline(scores_by_name["real"]["frechet"], color=colors["real"], ls=":",
                label="real vs real")
axes[1].set_xscale("log")
axes[1].set_yscale("log")
axes[1].set_xlabel("seconds to draw 1,000 digits (log)")
axes[1].set_ylabel("Frechet distance (log)")
axes[1].set_title("Quality against sampling time")
axes[1].legend(fontsize=8)
run.save_figure(fig, "tradeoff.png")
run.show("tradeoff.png",
         "Two scatter plots with one labelled point per model: precision against recall, and "
         "Frechet distance against sampling time on log scales.",
         "Top right is best on the left; bottom left is best on the right.")

# %% [markdown]
# ## Metrics
#
# `<model>_<column>` for every row and column of the table (absent where the model gives no
# such number), plus the chosen ridge and kernel width and the re-scoring check.

# %%
metrics = {f"{row['model']}_{c}": row[c] for row in rows for c in COLUMNS if row[c] != ""}
metrics.update(kde_bandwidth=bandwidth, gaussian_ridge=ridge, rescore_max_frechet_difference=rescore_difference,
               judge_heldout_accuracy=bench.judge_accuracy,
               memorised_threshold=bench.memorised_threshold)
run.save_metrics(metrics)
