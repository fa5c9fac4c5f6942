"""Generative vs discriminative: two classifiers for the same digits

A generative classifier (one Gaussian per digit class) and a discriminative one (logistic
regression) learn from the same handwritten digits; only the generative one can draw new digits.

Data: scikit-learn's bundled digits (1,797 images, 8x8), 25% held out.
Run time: quick ~10 s, default ~40 s on 2 CPU cores.
Outputs: boundary_vs_densities.png, samples.png, samples.npz, metrics.json
Samples: samples.npz: digits drawn by the per-class Gaussians; numpy.load("samples.npz") gives
images (N x 8 x 8, ink 0 to 1) and labels (the class each was drawn from)
Headline: boundary_vs_densities.png
Page: introduction/generative-vs-discriminative.md#the-demo
"""

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import ops
from sklearn.decomposition import PCA

from _shared import image_grid, load_digits_split, start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(epochs=40, pca_dims=20, samples_per_class=6),
    "default": dict(epochs=400, pca_dims=20, samples_per_class=10),
}
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## The data
#
# Both models see the same digits. To keep the models small we describe each 8x8 image by its
# first principal components (PCA, fitted on the training split only). The figure uses the first
# two components, so we can draw what each model learned on a flat page.

# %%
x_train, x_test, y_train, y_test = load_digits_split(run.seed)
pca = PCA(n_components=hp.pca_dims, random_state=run.seed).fit(x_train.reshape(len(x_train), -1))
z_train = pca.transform(x_train.reshape(len(x_train), -1)).astype("float32")
z_test = pca.transform(x_test.reshape(len(x_test), -1)).astype("float32")
scale = z_train.std(0)
z_train, z_test = z_train / scale, z_test / scale
print(f"{len(z_train)} training and {len(z_test)} held-out digits, {hp.pca_dims} PCA features")

# %% [markdown]
# ## A generative model: one Gaussian per class
#
# The generative classifier models how the data itself is distributed: for each digit class
# $k$ it learns a mean and a full covariance, so it knows $p(x \mid y=k)$. With the class
# frequencies $p(y)$ it has the joint $p(x, y)$. It classifies by Bayes' rule, and it can *sample*.
# We train it in Keras by maximising the log-likelihood of each training digit under its own
# class's Gaussian.


# %%
class ClassGaussians(keras.layers.Layer):
    """log p(x | y=k) for every class k, with a learned mean and precision Cholesky factor."""

    def __init__(self, n_classes, dim, **kwargs):
        super().__init__(**kwargs)
        self.n_classes, self.dim = n_classes, dim
        self.mean = self.add_weight(shape=(n_classes, dim), initializer="random_normal")
        self.raw = self.add_weight(shape=(n_classes, dim, dim), initializer="zeros")

    def precision_factor(self):
        # Lower-triangular with a positive diagonal, so the precision U U^T is always valid.
        eye = ops.eye(self.dim)
        strict = ops.tril(self.raw, -1)
        return strict + eye * ops.exp(ops.diagonal(self.raw, axis1=1, axis2=2))[:, None, :]

    def call(self, x):
        u = self.precision_factor()                              # (K, D, D)
        diff = x[:, None, :] - self.mean[None]                   # (N, K, D)
        z = ops.einsum("nkd,kde->nke", diff, u)
        log_det = ops.sum(ops.diagonal(self.raw, axis1=1, axis2=2), axis=-1)
        return -0.5 * ops.sum(z**2, -1) + log_det - 0.5 * self.dim * np.log(2 * np.pi)


def own_class_nll(y, log_density):
    y = ops.cast(ops.reshape(y, (-1, 1)), "int32")
    return -ops.mean(ops.take_along_axis(log_density, y, axis=1))


def fit_generative(z, y):
    inputs = keras.Input((z.shape[1],))
    model = keras.Model(inputs, ClassGaussians(10, z.shape[1])(inputs))
    model.compile(keras.optimizers.Adam(0.02), loss=own_class_nll)
    model.fit(z, y, epochs=hp.epochs, batch_size=256, verbose=0)
    return model


log_prior = np.log(np.bincount(y_train, minlength=10) / len(y_train))


def generative_predict(model, z):
    return (model.predict(z, verbose=0) + log_prior).argmax(1)


def heldout_log_likelihood(model, z):
    """Mean log p(x) = log sum_k p(k) p(x | k) over held-out digits, in nats per digit."""
    joint = model.predict(z, verbose=0) + log_prior
    top = joint.max(1, keepdims=True)
    return float((top[:, 0] + np.log(np.exp(joint - top).sum(1))).mean())


# %% [markdown]
# ## A discriminative model: logistic regression
#
# The discriminative classifier skips the question of how digits are distributed. It learns
# $p(y \mid x)$ directly: a linear score per class and a softmax. It has no way to draw a digit.

# %%
def fit_discriminative(z, y):
    model = keras.Sequential([keras.Input((z.shape[1],)), keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.02), "sparse_categorical_crossentropy")
    model.fit(z, y, epochs=hp.epochs, batch_size=256, verbose=0)
    return model


gen = fit_generative(z_train, y_train)
disc = fit_discriminative(z_train, y_train)
acc_gen = float((generative_predict(gen, z_test) == y_test).mean())
acc_disc = float((disc.predict(z_test, verbose=0).argmax(1) == y_test).mean())
print(f"held-out accuracy: generative {acc_gen:.3f}, discriminative {acc_disc:.3f}")

# %% [markdown]
# ## How good is the generative model as a model of the data?
#
# Accuracy says nothing about whether the Gaussians describe the digits well. The held-out
# log-likelihood does: the higher, the more probable the model finds digits it never saw. As a
# yardstick we fit the simplest density model in the same run: a single Gaussian for all digits,
# ignoring the labels (its maximum-likelihood fit has a closed form).

# %%
ll_gen = heldout_log_likelihood(gen, z_test)
mean, cov = z_train.mean(0), np.cov(z_train, rowvar=False)
diff = z_test - mean
_, logdet = np.linalg.slogdet(cov)
ll_single = float(np.mean(-0.5 * np.einsum("nd,de,ne->n", diff, np.linalg.inv(cov), diff)
                          - 0.5 * logdet - 0.5 * hp.pca_dims * np.log(2 * np.pi)))
print(f"held-out log-likelihood (nats per digit): class Gaussians {ll_gen:.2f}, "
      f"one Gaussian {ll_single:.2f}")

# %% [markdown]
# ## What each model learned, in two dimensions
#
# We fit both models again on the first two PCA features only and draw them. On the left, the
# discriminative model's decision regions: all it knows is where one class ends and the next
# begins. On the right, the generative model's class densities: it knows where each class lives
# and how it spreads.

# %%
gen2 = fit_generative(z_train[:, :2], y_train)
disc2 = fit_discriminative(z_train[:, :2], y_train)
acc_gen2 = float((generative_predict(gen2, z_test[:, :2]) == y_test).mean())
acc_disc2 = float((disc2.predict(z_test[:, :2], verbose=0).argmax(1) == y_test).mean())

lo, hi = np.percentile(z_train[:, :2], [0.5, 99.5], axis=0)
g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
grid = np.stack([g0.ravel(), g1.ravel()], 1).astype("float32")
regions = disc2.predict(grid, verbose=0).argmax(1).reshape(g0.shape)
densities = np.exp(gen2.predict(grid, verbose=0) + log_prior)

cmap = plt.get_cmap("tab10")
fig, axes = plt.subplots(1, 2, figsize=(11, 4.8), sharex=True, sharey=True)
axes[0].contourf(g0, g1, regions, levels=np.arange(11) - 0.5, cmap=cmap, alpha=0.35)
axes[0].set_title(f"Discriminative: decision regions\nheld-out accuracy {acc_disc2:.0%} (2 features)")
for k in range(10):
    axes[1].contour(g0, g1, densities[:, k].reshape(g0.shape), levels=4, colors=[cmap(k)])
axes[1].set_title(f"Generative: class densities p(x, y)\nheld-out accuracy {acc_gen2:.0%} (2 features)")
for ax in axes:
    for k in range(10):
        pts = z_test[y_test == k, :2]
        ax.scatter(pts[:, 0], pts[:, 1], s=7, color=cmap(k), label=str(k))
    ax.set_xlabel("PCA feature 1")
axes[0].set_ylabel("PCA feature 2")
axes[1].legend(title="digit", loc="center left", bbox_to_anchor=(1, 0.5), fontsize=8)
run.save_figure(fig, "boundary_vs_densities.png")
run.show("boundary_vs_densities.png",
         "Two panels over the same scatter of held-out digits in two PCA features: coloured "
         "decision regions on the left, density contours per digit class on the right.",
         "Same data, two questions: where are the borders (left), where does each class live (right).")

# %% [markdown]
# ## Only the generative model can draw
#
# Sampling from each class's Gaussian and mapping the features back to pixels gives new digits.
# They are blurry, as one Gaussian per class must be, but they are recognisably the right class.
# The first row shows real held-out digits for comparison.

# %%
rng = np.random.default_rng(run.seed)
u = keras.ops.convert_to_numpy(gen.layers[-1].precision_factor())
means = keras.ops.convert_to_numpy(gen.layers[-1].mean)
samples, labels = [], []
for k in range(10):
    eps = rng.standard_normal((hp.samples_per_class, hp.pca_dims))
    # x = mean + U^-T eps has covariance (U U^T)^-1, the model's covariance.
    z = means[k] + np.linalg.solve(u[k].T, eps.T).T
    samples.append(pca.inverse_transform(z * scale).reshape(-1, 8, 8))
    labels += [k] * hp.samples_per_class
samples = np.clip(np.concatenate(samples), 0, 1).astype("float32")
np.savez_compressed(run.path("samples.npz"), images=samples, labels=np.array(labels))

real = np.stack([x_test[y_test == k][0] for k in range(10)])
by_column = samples.reshape(10, hp.samples_per_class, 8, 8).transpose(1, 0, 2, 3).reshape(-1, 8, 8)
fig, ax = plt.subplots(figsize=(6, 0.6 * (hp.samples_per_class + 1) + 0.6))
ax.imshow(image_grid(np.concatenate([real, by_column]), ncols=10), cmap="gray", vmin=0, vmax=255)
ax.set_axis_off()
ax.set_title("Top row: real held-out digits. Below: sampled from the class Gaussians", fontsize=9)
run.save_figure(fig, "samples.png")
run.show("samples.png", "A grid of blurry but recognisable digits 0 to 9, one class per column, "
         "under a row of real digits.", "New digits drawn from the generative model.")

# %% [markdown]
# ## Metrics
#
# Accuracies are on the held-out quarter of the digits; log-likelihoods are in nats per digit on
# the same split, in the standardised PCA feature space.

# %%
run.save_metrics({
    "heldout_accuracy_generative": acc_gen,
    "heldout_accuracy_discriminative": acc_disc,
    "heldout_accuracy_generative_2d": acc_gen2,
    "heldout_accuracy_discriminative_2d": acc_disc2,
    "heldout_loglik_generative": ll_gen,
    "heldout_loglik_single_gaussian_baseline": ll_single,
})
