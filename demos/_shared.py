"""What the demos share: run settings, seeding, saving outputs, and independent evaluators.

A demo calls `start(PROFILES)` once and gets a `Run`: the profile's hyperparameters, the seed
(already applied to Python, NumPy and TensorFlow) and the folder to write into. Everything a
demo writes goes through `Run`, so that every figure made in the quick profile carries the
"quick preview" mark and every GIF stays within the page-weight budget. A demo whose header
says `Needs: other` reads that demo's outputs from `run.inputs("other")`.

Only what two or more demos really use belongs here.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import math
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np

PROFILE_NAMES = ("quick", "default")
DEFAULT_SEED = 42
MAX_ASSET_BYTES = 1_000_000  # every image, GIF and audio file on the site stays under 1 MB
QUICK_MARK = "QUICK PREVIEW (not published quality)"
HERE = Path(__file__).resolve().parent
ROOT = HERE.parent           # the project, when this file is its demos/_shared.py
# Inside the project, a demo run by hand writes to build/NAME; in a downloaded demo (this file
# beside the notebook), to outputs/NAME beside it, and needed outputs come from inputs/.
IN_PROJECT = (ROOT / "scripts" / "build.py").exists()


class NeedsError(LookupError):
    """A demo asked for outputs it has not declared in `Needs:`, or that are not there."""


@dataclass
class Run:
    """One run of one demo: where to write, with which settings."""

    name: str
    profile: str
    seed: int
    out: Path
    hp: SimpleNamespace
    written: list[str] = field(default_factory=list)
    needs: tuple[str, ...] = ()          # the demos named in the header's `Needs:` field
    inputs_root: Path | None = None      # where their output folders are

    @property
    def quick(self) -> bool:
        return self.profile == "quick"

    def inputs(self, demo: str) -> Path:
        """The folder of outputs of a demo this one needs (declared in its `Needs:` field)."""
        if demo not in self.needs:
            raise NeedsError(f"{self.name} reads the outputs of {demo!r} without declaring it: "
                             f"add `Needs: {', '.join([*self.needs, demo])}` to its header")
        folder = (self.inputs_root or _default_inputs_root()) / demo
        if not folder.is_dir():
            raise NeedsError(f"the outputs of {demo!r} are not in {folder}: build it first "
                             f"(python scripts/build.py --only {demo} --assets-only)")
        return folder

    def path(self, filename: str) -> Path:
        """Path of an output file; use it for files written by other libraries (MIDI, WAV)."""
        self.written.append(filename)
        return self.out / filename

    # --- figures and images -------------------------------------------------------------

    def save_figure(self, fig, filename: str, dpi: int = 110) -> Path:
        """Save a matplotlib figure (marked in the quick profile) and close it."""
        import matplotlib.pyplot as plt

        if self.quick:
            fig.text(0.995, 0.005, QUICK_MARK, ha="right", va="bottom", fontsize=8,
                     color="white", weight="bold",
                     bbox=dict(facecolor="#c62828", edgecolor="none", pad=2))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
        plt.close(fig)
        from PIL import Image

        return self._save_png(Image.open(buffer), filename)

    def save_image(self, image, filename: str) -> Path:
        """Save a PIL image or a uint8 array (marked in the quick profile)."""
        image = _mark(_to_pil(image)) if self.quick else _to_pil(image)
        return self._save_png(image, filename)

    def _save_png(self, image, filename: str) -> Path:
        # A 256-colour palette makes figures two to three times lighter with no visible loss,
        # which keeps pages with many figures within their weight budget.
        if image.mode in ("RGB", "RGBA"):
            image = image.convert("RGB").quantize(256)
        path = self.path(filename)
        image.save(path, optimize=True)
        _check_size(path)
        return path

    def save_gif(self, frames, filename: str, duration_ms: int = 100, hold_last_ms: int = 1500) -> Path:
        """Save frames (PIL images or uint8 arrays) as a looping GIF with Pillow."""
        images = [_to_pil(f).convert("RGB") for f in frames]
        if self.quick:
            images = [_mark(im) for im in images]
        durations = [duration_ms] * len(images)
        durations[-1] = max(duration_ms, hold_last_ms)
        path = self.path(filename)
        images[0].save(path, save_all=True, append_images=images[1:], duration=durations,
                       loop=0, optimize=True, disposal=1)
        _check_size(path)
        return path

    # --- metrics and display ------------------------------------------------------------

    def save_metrics(self, metrics: dict[str, float]) -> None:
        """Write metrics.json (finite numbers only) and print them as a table."""
        clean = {}
        for key, value in metrics.items():
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(f"metric {key!r} is {value}; metrics must be finite numbers")
            clean[key] = value
        path = self.path("metrics.json")
        path.write_text(json.dumps(clean, indent=2) + "\n")
        width = max(len(k) for k in clean)
        print(f"Metrics ({self.profile} profile, seed {self.seed}):")
        for key, value in clean.items():
            print(f"  {key:<{width}}  {value:.4g}")

    def show(self, filename: str, alt: str, caption: str = "") -> None:
        """Show a written file on the demo's page (the executed notebook), or print its path."""
        if not _in_kernel():
            print(f"wrote {self.out / filename}")
            return
        from IPython.display import HTML, Audio, Image, display

        if "DEMO_OUT" not in os.environ:
            # A reader's own Jupyter: the files are not beside the notebook, so embed them.
            path = self.out / filename
            display(Audio(filename=str(path)) if filename.endswith((".wav", ".mp3", ".ogg"))
                    else Image(filename=str(path)))
            if caption:
                print(caption)
            return
        # The published page is generated/<name>/<name>.html, beside its files.
        src = filename
        if self.quick:
            caption = f"{caption} (quick preview, not published quality)".strip()
        alt_text = html.escape(alt, quote=True)
        if filename.endswith((".wav", ".mp3", ".ogg")):
            body = f'<audio controls preload="none" src="{src}" aria-label="{alt_text}"></audio>'
        else:
            body = f'<img src="{src}" alt="{alt_text}" loading="lazy" style="max-width:100%">'
        cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
        display(HTML(f"<figure>{body}{cap}</figure>"))


def start(profiles: dict[str, dict]) -> Run:
    """Read the run settings, seed everything, and return the Run.

    Run by the build pipeline (in a Jupyter kernel), the settings come from DEMO_* environment
    variables; run as a script, from the command line:
    `python demos/<name>.py --profile quick --out DIR [--seed N]`.
    """
    run = read_settings(profiles)
    seed_everything(run.seed)
    return run


def read_settings(profiles: dict[str, dict]) -> Run:
    """The Run, without seeding: `start` without TensorFlow, for tests of the pipeline."""
    if set(profiles) != set(PROFILE_NAMES):
        raise ValueError(f"PROFILES must define exactly {PROFILE_NAMES}, got {sorted(profiles)}")
    needs = [n.strip() for n in os.environ.get("DEMO_NEEDS", "").split(",") if n.strip()]
    inputs_root = Path(os.environ["DEMO_INPUTS"]) if os.environ.get("DEMO_INPUTS") else None
    if "DEMO_OUT" in os.environ:
        name = os.environ["DEMO_NAME"]
        profile = os.environ.get("DEMO_PROFILE", "default")
        seed = int(os.environ.get("DEMO_SEED", DEFAULT_SEED))
        out = Path(os.environ["DEMO_OUT"])
    else:
        script = Path(sys.argv[0]) if not _in_kernel() else None
        name = os.environ.get("DEMO_NAME") or (script.stem if script else "notebook")
        if script and "DEMO_NEEDS" not in os.environ:
            needs = _needs_from_header(script)
        parser = argparse.ArgumentParser(description=f"Run the {name} demo.")
        parser.add_argument("--profile", choices=PROFILE_NAMES,
                            default=os.environ.get("DEMO_PROFILE", "default"),
                            help="quick: seconds, for tests; default: what the site shows")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        default_out = (ROOT / "build" if IN_PROJECT else HERE / "outputs") / name
        parser.add_argument("--out", type=Path, default=default_out,
                            help=f"folder for the figures and metrics.json (default: {default_out})")
        args = parser.parse_args([] if _in_kernel() else None)
        profile, seed, out = args.profile, args.seed, args.out
    out.mkdir(parents=True, exist_ok=True)
    return Run(name=name, profile=profile, seed=seed, out=out,
               hp=SimpleNamespace(**profiles[profile]), needs=tuple(needs),
               inputs_root=inputs_root)


def _needs_from_header(script: Path) -> list[str]:
    """The `Needs:` field of a demo file's header docstring, for runs outside the pipeline."""
    import ast

    try:
        doc = ast.get_docstring(ast.parse(script.read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, UnicodeDecodeError):
        return []
    for line in doc.splitlines():
        if line.startswith("Needs:"):
            return [n.strip() for n in line.partition(":")[2].split(",") if n.strip()]
    return []


def _default_inputs_root() -> Path:
    return ROOT / "docs" / "generated" if IN_PROJECT else HERE / "inputs"


def seed_everything(seed: int) -> None:
    """One seed for Python, NumPy and TensorFlow, and deterministic TensorFlow ops."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# --- data --------------------------------------------------------------------------------

def load_digits_split(seed: int, test_size: float = 0.25):
    """scikit-learn's bundled 8x8 digits scaled to [0, 1], split stratified into train/test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = (digits.images / 16.0).astype("float32")
    return train_test_split(x, digits.target, test_size=test_size, random_state=seed,
                            stratify=digits.target)


def image_grid(images: np.ndarray, ncols: int, pad: int = 1, scale: int = 1) -> np.ndarray:
    """Tile (N, H, W) images in [0, 1] into one uint8 grid (white gaps), scaled up by `scale`."""
    n, h, w = images.shape[:3]
    nrows = math.ceil(n / ncols)
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad), dtype="float32")
    for i, im in enumerate(images):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad): pad + r * (h + pad) + h,
             pad + c * (w + pad): pad + c * (w + pad) + w] = 1.0 - np.clip(im, 0, 1)
    grid = np.kron(grid, np.ones((scale, scale), dtype="float32"))
    return (grid * 255).round().astype("uint8")


# --- independent evaluators ----------------------------------------------------------------

class DigitJudge:
    """A CNN trained on real digits only, used to judge what generators make.

    It is independent of every generator: it never sees generated data. Its penultimate layer
    gives the feature space for the Fréchet distance.
    """

    def __init__(self, x_train, y_train, epochs: int = 30, seed: int = DEFAULT_SEED):
        import keras
        from keras import layers

        inputs = keras.Input((8, 8, 1))
        h = layers.Conv2D(32, 3, padding="same", activation="relu")(inputs)
        h = layers.Conv2D(64, 3, padding="same", activation="relu")(h)
        h = layers.MaxPooling2D()(h)
        h = layers.Flatten()(h)
        h = layers.Dropout(0.3, seed=seed)(h)
        features = layers.Dense(64, activation="relu", name="features")(h)
        outputs = layers.Dense(10, activation="softmax")(features)
        self.model = keras.Model(inputs, outputs)
        self.features_model = keras.Model(inputs, features)
        self.model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        self.model.fit(x_train[..., None], y_train, epochs=epochs, batch_size=64, verbose=0)

    def proba(self, x) -> np.ndarray:
        return self.model.predict(np.asarray(x)[..., None], verbose=0, batch_size=256)

    def features(self, x) -> np.ndarray:
        return self.features_model.predict(np.asarray(x)[..., None], verbose=0, batch_size=256)

    def accuracy(self, x, y) -> float:
        return float((self.proba(x).argmax(1) == np.asarray(y)).mean())


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (the FID formula)."""
    from scipy import linalg

    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    with warnings.catch_warnings():
        # ReLU features that are always zero make both covariances singular; the square root
        # is still well defined, so SciPy's warning about it is noise.
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = np.real(linalg.sqrtm(cov_a @ cov_b))
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def class_evenness(labels: np.ndarray, n_classes: int = 10) -> float:
    """Normalised entropy of the label histogram: 1.0 when every class appears equally often."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=n_classes).astype(float)
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum() / np.log(n_classes))


# --- internals ---------------------------------------------------------------------------

def _in_kernel() -> bool:
    return "ipykernel" in sys.modules


def _to_pil(image):
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    array = np.asarray(image)
    if array.dtype != np.uint8:
        array = (np.clip(array, 0, 1) * 255).round().astype("uint8")
    return Image.fromarray(array)


def _mark(image):
    """Stamp the quick-preview band along the bottom of an image."""
    from PIL import ImageDraw, ImageFont

    image = image.convert("RGB")
    w, h = image.size
    size = max(8, min(14, w // 22))
    font = ImageFont.load_default(size=size)
    text = QUICK_MARK if w >= 22 * size // 2 * 1.6 else "QUICK"
    band = size + 4
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, h - band, w, h], fill=(198, 40, 40))
    draw.text((3, h - band + 1), text, fill=(255, 255, 255), font=font)
    return image


def _check_size(path: Path) -> None:
    size = path.stat().st_size
    if size > MAX_ASSET_BYTES:
        raise ValueError(f"{path.name} is {size / 1e6:.2f} MB, over the 1 MB page budget: "
                         "use fewer or smaller frames, or fewer colours")


# --- the model-families bench ---------------------------------------------------------------
#
# Every model family (VAE, GAN, autoregressive, flow, diffusion) and every baseline on the
# "How generative models work" pages is trained on the same split and scored by the same code
# with the same referee. `DigitBench.for_run(run)` builds that referee; `bench.score(images)`
# returns the scores; `family_metrics(...)` assembles the metrics.json every family demo writes.
#
# metrics.json keys, the same for every family demo:
#   frechet                   Fréchet distance, judge features of the samples vs held-out digits
#   precision                 share of samples inside the held-out digits' k-NN manifold (quality)
#   recall                    share of held-out digits inside the samples' k-NN manifold (coverage)
#   class_coverage            overlap of the judge's label histogram with the held-out one (0.1..1)
#   memorised                 share of samples closer to a training digit than 95% of held-out
#                             digits are (held-out digits themselves score about 0.05)
#   bits_per_pixel            held-out negative log-likelihood per pixel in bits, over the 17 grey
#                             levels; absent when the family gives none (see each page: exact or bound)
#   train_seconds             measured wall-clock training time of the family's model
#   sample_seconds_per_1000   measured wall-clock time to draw 1,000 digits
#   parameters                trainable and non-trainable weights of everything needed to sample
# and samples.npz with `images` (float32, (N, 8, 8), in [0, 1]) and `labels` (int, (N,): the
# requested digit for a conditional model, otherwise the judge's reading).

BENCH_SEED = 42            # the split and the judge, whatever seed the run itself uses
BENCH_JUDGE_EPOCHS = 10    # the same in every profile, so the quick judge is the default judge
BENCH_SAMPLES = 1000       # digits each family draws for its scores
BENCH_K = 3                # neighbours that set a k-NN ball's radius (Kynkäänniemi et al. use 3)
MEMORISED_QUANTILE = 0.05  # a sample is "memorised" if nearer a training digit than 95% of held-out
GREY_LEVELS = 17           # scikit-learn's digits take the values 0..16
PIXELS = 64
BENCH_METRIC_KEYS = ("frechet", "precision", "recall", "class_coverage", "memorised",
                     "bits_per_pixel", "train_seconds", "sample_seconds_per_1000", "parameters")


class DigitBench:
    """The shared data split and referee of the model-families pages.

    Attributes: `x_train`, `x_test` (float32 (N, 8, 8) in [0, 1], i.e. grey level / 16),
    `levels_train`, `levels_test` (the same digits as integer grey levels 0..16), `y_train`,
    `y_test`, and `judge` (a `DigitJudge` trained with a fixed seed and epochs, so it comes out
    identical in every demo and profile: `judge_sha256()` proves it).
    """

    def __init__(self, seed: int = BENCH_SEED, judge_epochs: int = BENCH_JUDGE_EPOCHS):
        import keras
        import tensorflow as tf

        self.x_train, self.x_test, self.y_train, self.y_test = load_digits_split(seed)
        self.levels_train = np.rint(self.x_train * 16).astype("int64")
        self.levels_test = np.rint(self.x_test * 16).astype("int64")
        # The judge gets its own fixed seed, so that it does not depend on the run's seed, and
        # deterministic kernels (already on in a demo), so that every process gets the same bits.
        keras.utils.set_random_seed(seed)
        tf.config.experimental.enable_op_determinism()
        self.judge = DigitJudge(self.x_train, self.y_train, epochs=judge_epochs, seed=seed)
        self.judge_accuracy = self.judge.accuracy(self.x_test, self.y_test)
        self.test_features = self.judge.features(self.x_test)
        self.test_class_share = np.bincount(self.y_test, minlength=10) / len(self.y_test)
        # Memorisation threshold: the distance to the nearest training digit that 95% of
        # held-out digits exceed (pixel space, pixels in [0, 1]).
        self.heldout_nearest = nearest_train_distances(self.x_test, self.x_train)
        self.memorised_threshold = float(np.quantile(self.heldout_nearest, MEMORISED_QUANTILE))
        self._rng_seed = seed

    @classmethod
    def for_run(cls, run: Run) -> "DigitBench":
        """The bench for one demo run; writes judge.sha256 and restores the run's seed."""
        import keras

        bench = cls()
        run.path("judge.sha256").write_text(bench.judge_sha256() + "\n")
        keras.utils.set_random_seed(run.seed)
        print(f"bench: {len(bench.x_train)} training and {len(bench.x_test)} held-out digits; "
              f"judge {bench.judge_sha256()[:12]} reads {bench.judge_accuracy:.1%} of held-out "
              f"digits correctly")
        return bench

    def judge_sha256(self) -> str:
        """Hash of the judge's weights: equal hashes mean an identical referee."""
        import hashlib

        digest = hashlib.sha256()
        for weight in self.judge.model.get_weights():
            digest.update(np.ascontiguousarray(weight, dtype="float32").tobytes())
        return digest.hexdigest()

    def labels(self, images) -> np.ndarray:
        """The judge's reading of each image."""
        return self.judge.proba(_as_digits(images)).argmax(1)

    def score(self, images, labels=None) -> dict:
        """The bench's scores of a set of digits (see the key list above this class).

        `labels`, for a conditional model, are the requested digits; then `agreement` (how often
        the judge reads the requested digit) is added.
        """
        images = _as_digits(images)
        proba = self.judge.proba(images)
        features = self.judge.features(images)
        read = proba.argmax(1)
        precision, recall = precision_recall(self.test_features,
                                             _equal_size(features, len(self.test_features),
                                                         self._rng_seed), BENCH_K)
        scores = {
            "frechet": _quiet_frechet(features, self.test_features),
            "precision": precision,
            "recall": recall,
            "class_coverage": class_coverage(read, self.test_class_share),
            "memorised": memorised_share(images, self.x_train, self.memorised_threshold),
        }
        if labels is not None:
            scores["agreement"] = float((read == np.asarray(labels)).mean())
        return scores

    def floor(self) -> dict:
        """Real digits scored like samples: the best a generator can hope for at these sizes.

        Fréchet distance, precision, recall and class coverage: BENCH_SAMPLES training digits
        (a fixed subset) against the held-out digits. Memorised: the share for the held-out
        digits themselves, MEMORISED_QUANTILE by construction (training digits would all count
        as copies of themselves).
        """
        rng = np.random.default_rng(self._rng_seed)
        subset = self.x_train[rng.choice(len(self.x_train), BENCH_SAMPLES, replace=False)]
        scores = self.score(subset)
        scores["memorised"] = memorised_share(self.x_test, self.x_train, self.memorised_threshold)
        return scores


def nearest_train_distances(images, train) -> np.ndarray:
    """Euclidean pixel distance from each image to its nearest image in `train`."""
    a = np.asarray(images, dtype="float64").reshape(len(images), -1)
    b = np.asarray(train, dtype="float64").reshape(len(train), -1)
    return np.sqrt(np.maximum(_squared_distances(a, b).min(axis=1), 0.0))


def memorised_share(images, train, threshold: float) -> float:
    """Share of images nearer to some training image than `threshold` (pixel distance)."""
    return float((nearest_train_distances(images, train) < threshold).mean())


def precision_recall(real_features, fake_features, k: int = BENCH_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019).

    Each set's manifold is the union of balls around its points, each ball reaching the point's
    k-th nearest neighbour within the same set. Precision: share of fake points inside the real
    manifold. Recall: share of real points inside the fake manifold.
    """
    real = np.asarray(real_features, dtype="float64")
    fake = np.asarray(fake_features, dtype="float64")
    real_radii = _kth_neighbour_radius(real, k)
    fake_radii = _kth_neighbour_radius(fake, k)
    cross = np.sqrt(np.maximum(_squared_distances(fake, real), 0.0))  # (fake, real)
    precision = float((cross <= real_radii[None, :]).any(axis=1).mean())
    recall = float((cross <= fake_radii[:, None]).any(axis=0).mean())
    return precision, recall


def class_coverage(read_labels, reference_share, n_classes: int = 10) -> float:
    """Overlap of a label histogram with a reference one: sum over classes of the smaller share.

    1 when the samples' classes are as frequent as in the reference; about 0.1 when a generator
    draws one digit only (mode collapse).
    """
    counts = np.bincount(np.asarray(read_labels, dtype=int), minlength=n_classes)
    share = counts / max(counts.sum(), 1)
    return float(np.minimum(share, np.asarray(reference_share)).sum())


def bits_per_pixel(nll_nats_total: float, n_images: int, pixels: int = PIXELS) -> float:
    """Negative log-likelihood summed over images (nats) as bits per pixel.

    Exact when the NLL is the exact probability of the 17 discrete grey levels (autoregressive
    model); an upper bound when the NLL is itself a bound (the negative ELBO of a VAE or of
    diffusion). A model that knows nothing (uniform over 17 levels) scores log2(17) = 4.09.
    """
    return float(nll_nats_total / (n_images * pixels * math.log(2)))


def dequantized_bits_per_pixel(nll_nats_total: float, n_images: int, bin_width: float,
                               pixels: int = PIXELS) -> float:
    """Bits per pixel of a continuous density fitted to uniformly dequantized digits.

    The model's density p is over continuous pixels, each grey level owning a cell of width
    `bin_width` (1/17 for x = (level + u) / 17 with u uniform in [0, 1); 1 for x = level + u).
    The discrete model P(level) = ∫ p over the cell then has -log P <= E_u[-log p] - log(volume),
    so the result is an upper bound on the bits per pixel of that discrete model (exact for the
    density, a bound for the 17 levels). `nll_nats_total` is E_u[-log p] summed over images.
    """
    nll = nll_nats_total / n_images - pixels * math.log(bin_width)
    return float(nll / (pixels * math.log(2)))


def family_metrics(scores: dict, *, train_seconds: float, sample_seconds_per_1000: float,
                   parameters: int, bits_per_pixel: float | None = None, **extra) -> dict:
    """The metrics.json of a family demo: the shared keys in a fixed order, then `extra`."""
    metrics = {key: scores[key] for key in BENCH_METRIC_KEYS[:5]}
    if bits_per_pixel is not None:
        metrics["bits_per_pixel"] = bits_per_pixel
    metrics.update(train_seconds=train_seconds, sample_seconds_per_1000=sample_seconds_per_1000,
                   parameters=parameters)
    metrics.update(extra)
    return metrics


def save_digit_samples(run: Run, images, labels, filename: str = "samples.npz") -> Path:
    """Save a family's digits: `images` float32 (N, 8, 8) in [0, 1], `labels` int (N,)."""
    images = _as_digits(images)
    labels = np.asarray(labels, dtype="int64").reshape(-1)
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels: give one label each")
    path = run.path(filename)
    np.savez_compressed(path, images=images, labels=labels)
    return path


def load_digit_samples(path) -> tuple[np.ndarray, np.ndarray]:
    """Read a samples.npz written by `save_digit_samples`: (images, labels)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: run the demo that writes it first")
    with np.load(path) as data:
        return _as_digits(data["images"]), np.asarray(data["labels"], dtype="int64")


def closest_pairs_image(bench: DigitBench, images, n: int = 10, scale: int = 4):
    """The `n` samples nearest to a training digit (top row) above those training digits.

    Returns (uint8 image for `run.save_image`, their pixel distances); compare the distances
    with `bench.memorised_threshold`.
    """
    images = _as_digits(images)
    flat_train = bench.x_train.reshape(len(bench.x_train), -1).astype("float64")
    squared = _squared_distances(images.reshape(len(images), -1).astype("float64"), flat_train)
    nearest = squared.argmin(axis=1)
    distance = np.sqrt(np.maximum(squared[np.arange(len(images)), nearest], 0.0))
    order = np.argsort(distance, kind="stable")[:n]
    pairs = np.concatenate([images[order], bench.x_train[nearest[order]]])
    return image_grid(pairs, ncols=len(order), scale=scale), distance[order]


def timed(fn, *args, **kwargs):
    """(fn(*args, **kwargs), wall-clock seconds it took)."""
    import time

    t0 = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - t0


def count_parameters(*models) -> int:
    """Total weights of Keras models (everything needed to sample)."""
    return int(sum(model.count_params() for model in models))


def _as_digits(images) -> np.ndarray:
    array = np.asarray(images, dtype="float32")
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim == 2 and array.shape[1] == PIXELS:
        array = array.reshape(-1, 8, 8)
    if array.ndim != 3 or array.shape[1:] != (8, 8):
        raise ValueError(f"expected digits shaped (N, 8, 8), got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError("digits contain NaN or infinite pixels: the model diverged")
    return np.clip(array, 0.0, 1.0)


def _equal_size(features, n: int, seed: int) -> np.ndarray:
    """A fixed random subset of `n` rows (all rows if there are fewer): precision and recall
    compare sets of equal size, as in the paper, so that neither manifold is denser."""
    if len(features) <= n:
        return features
    return features[np.random.default_rng(seed).choice(len(features), n, replace=False)]


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a**2).sum(1)[:, None] - 2 * a @ b.T + (b**2).sum(1)[None, :]


def _kth_neighbour_radius(points: np.ndarray, k: int) -> np.ndarray:
    squared = np.maximum(_squared_distances(points, points), 0.0)
    # Column 0 of the sorted row is the point itself (distance 0).
    return np.sqrt(np.sort(squared, axis=1)[:, min(k, len(points) - 1)])


def _quiet_frechet(a, b) -> float:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Matrix is singular")
        return frechet_distance(a, b)
