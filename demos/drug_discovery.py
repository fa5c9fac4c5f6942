"""Drug discovery: a recurrent network that writes molecules

A character-level GRU learns to write molecules as SMILES strings from screening compounds shipped
with RDKit, is scored with the MOSES metrics against a character n-gram baseline, and is then
steered towards drug-likeness (higher QED) by fine-tuning on the most drug-like quarter.

Data: RDKit's WEHI screening set (Data/Pains/test_data/wehi_mols.csv, 10,000 SMILES), canonicalised and filtered, 10% held out.
Run time: quick ~28 s, default ~5.5 min on 2 CPU cores shared with another demo (as `make site` runs them).
Outputs: molecules.png, temperature.png, molecules_steered.png, properties.png, generated.smi, generated_ngram.smi, generated_steered.smi, metrics.json
Samples: generated.smi: the molecules the GRU wrote, one SMILES per line, read with
rdkit.Chem.MolFromSmiles (None for an invalid string); generated_ngram.smi: the n-gram baseline's
strings, same format; generated_steered.smi: the GRU's strings after steering towards higher QED,
same format
Headline: molecules.png
Page: introduction/overview.md#drug-discovery
"""

import collections
import csv
import os
import re
from io import BytesIO

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from PIL import Image
from rdkit import Chem, DataStructs, RDConfig, RDLogger
from rdkit.Chem import QED, Crippen, Descriptors, Draw, rdFingerprintGenerator
from rdkit.rdBase import BlockLogs
from scipy.stats import wasserstein_distance

from _shared import start

# Hyperparameters. `quick` keeps the run to seconds for tests; `default` is what the site shows.
PROFILES = {
    "quick": dict(max_molecules=1500, max_tokens=60, min_token_count=20, heldout=0.1,
                  embed=32, layers=(64, 64), epochs=4, batch_size=64, lr=5e-3,
                  steer_epochs=1, steer_lr=1e-3, ngram_order=5, temperature=0.75,
                  n_samples=200, sweep_temperatures=(0.5, 1.0), sweep_samples=100,
                  diversity_sample=200),
    "default": dict(max_molecules=10_000, max_tokens=60, min_token_count=20, heldout=0.1,
                    embed=32, layers=(192, 192), epochs=8, batch_size=64, lr=3e-3,
                    steer_epochs=4, steer_lr=1e-3, ngram_order=7, temperature=0.75,
                    n_samples=2000, sweep_temperatures=(0.5, 1.0, 1.25), sweep_samples=1000,
                    diversity_sample=1000),
}

# SMILES tokens: a bracketed atom such as [nH] or [N+], a two-letter halogen, a two-digit ring
# label, or else a single character.
TOKEN_PATTERN = re.compile(r"(\[[^\]]+\]|Br|Cl|%\d\d|.)")
PAD, BOS, EOS = "", "^", "$"  # padding, start and end of a molecule
METRIC_NAMES = ("validity", "uniqueness", "novelty", "internal_diversity")

RDLogger.DisableLog("rdApp.*")  # RDKit reports every unparsable SMILES on stderr otherwise
run = start(PROFILES)
hp = run.hp

# %% [markdown]
# ## Molecules as text
#
# A SMILES string spells a molecule as a line of text: atoms are letters (`C`, `N`, `O`, `Cl`;
# lower case for atoms in aromatic rings), branches sit in parentheses, `=` and `#` mark double
# and triple bonds, and a digit opens a ring that the same digit closes later. `CCO` is ethanol
# and `c1ccccc1` is benzene. One molecule can be written in many ways, so RDKit rewrites each
# one in its *canonical* form: one molecule, one string.
#
# The molecules are 10,000 compounds from a screening collection of the Walter and Eliza Hall
# Institute (identifiers `WEHI-...`), which RDKit ships as test data for its PAINS filters:
# small, drug-like organic molecules. We keep a molecule only if
#
# 1. RDKit can parse it,
# 2. it is a single piece (salts and mixtures, whose SMILES contain a `.`, are dropped),
# 3. its canonical SMILES has at most `max_tokens` tokens (60),
# 4. each of its tokens occurs at least `min_token_count` times (20) in the whole set, so that
#    the model never has to learn a symbol from a handful of examples,
#
# and we drop repeats. A random tenth is held out: no model trains on it.


# %%
def canonical(smiles):
    """RDKit's canonical SMILES, or None if the string is not a molecule (an empty string is not)."""
    if not smiles:
        return None
    with BlockLogs():  # otherwise RDKit prints an error for every invalid string
        mol = Chem.MolFromSmiles(smiles)
    if mol is None or mol.GetNumAtoms() == 0:
        return None
    return Chem.MolToSmiles(mol)


def tokenize(smiles):
    return TOKEN_PATTERN.findall(smiles)


def load_molecules(max_tokens, min_token_count):
    """Canonical, filtered SMILES from the WEHI set, and how many each filter removed."""
    path = os.path.join(RDConfig.RDDataDir, "Pains", "test_data", "wehi_mols.csv")
    with open(path, newline="") as f:
        raw = [row[0] for row in csv.reader(f) if row]
    too_long = f"over {max_tokens} tokens"
    dropped = {"unparsable": 0, "several fragments": 0, too_long: 0}
    kept = []
    for smiles in raw:
        can = canonical(smiles)
        if can is None:
            dropped["unparsable"] += 1
        elif "." in can:
            dropped["several fragments"] += 1
        elif len(tokenize(can)) > max_tokens:
            dropped[too_long] += 1
        else:
            kept.append(can)
    token_counts = collections.Counter(t for s in kept for t in tokenize(s))
    common = [s for s in kept if all(token_counts[t] >= min_token_count for t in tokenize(s))]
    dropped[f"rare token (< {min_token_count} uses)"] = len(kept) - len(common)
    unique = list(dict.fromkeys(common))
    dropped["repeats"] = len(common) - len(unique)
    return raw, unique, dropped


raw, molecules, dropped = load_molecules(hp.max_tokens, hp.min_token_count)
rng = np.random.default_rng(run.seed)
molecules = [molecules[i] for i in rng.permutation(len(molecules))][: hp.max_molecules]
n_heldout = int(round(hp.heldout * len(molecules)))
heldout, train = molecules[:n_heldout], molecules[n_heldout:]
train_set = set(train)

vocab = [PAD, BOS, EOS] + sorted({t for s in molecules for t in tokenize(s)})
index = {t: i for i, t in enumerate(vocab)}


def encode(smiles):
    return [index[t] for t in tokenize(smiles)] + [index[EOS]]


def decode(ids):
    out = []
    for i in ids:
        if vocab[i] in (EOS, PAD):
            break
        out.append(vocab[i])
    return "".join(out)


train_ids = [encode(s) for s in train]
heldout_ids = [encode(s) for s in heldout]
print(f"{len(raw)} SMILES read; dropped: " + ", ".join(f"{k} {v}" for k, v in dropped.items()))
print(f"{len(train)} training and {len(heldout)} held-out molecules; {len(vocab) - 3} distinct "
      f"tokens: {' '.join(vocab[3:])}")
print(f"median length {int(np.median([len(s) - 1 for s in train_ids]))} tokens; examples: "
      + ", ".join(train[:3]))

# %% [markdown]
# ## How drug-like are they? QED, weight and logP
#
# To describe a set of molecules we compute three standard properties with RDKit:
#
# - **QED** (quantitative estimate of drug-likeness, Bickerton et al. 2012), a score from 0 to 1
#   that merges eight properties (weight, logP, hydrogen-bond donors and acceptors, polar
#   surface area, rotatable bonds, aromatic rings, structural alerts) according to how close
#   each sits to the values typical of approved oral drugs;
# - **molecular weight** in daltons (oral drugs mostly weigh under 500);
# - **logP**, Crippen's estimate of how a molecule splits between octanol and water: how greasy
#   it is (above about 5, absorption tends to suffer).


# %%
def properties(smiles_list):
    """QED, molecular weight and Crippen logP of each SMILES (all assumed valid), as arrays."""
    mols = [Chem.MolFromSmiles(s) for s in smiles_list]
    return {"QED": np.array([QED.qed(m) for m in mols]),
            "molecular weight (Da)": np.array([Descriptors.MolWt(m) for m in mols]),
            "logP (Crippen)": np.array([Crippen.MolLogP(m) for m in mols])}


def mean_or_zero(values):
    return float(np.mean(values)) if len(values) else 0.0


props_train = properties(train)
props_heldout = properties(heldout)
qed_train = props_train["QED"]
print("training molecules: " + ", ".join(f"mean {k} {v.mean():.2f}" for k, v in props_train.items()))

# %% [markdown]
# ## The model: a GRU that predicts the next token
#
# The generator reads a SMILES one token at a time and after each one outputs a probability for
# every possible next token. It is a token embedding, two stacked GRU layers (recurrent layers
# whose state carries what has been written so far: which rings and branches are still open,
# which atoms came last) and a softmax over the tokens. Training maximises the probability of each
# true next token in the training molecules. To write a molecule, we start from the start
# symbol, draw a token from the predicted distribution, feed it back in, and stop at the end
# symbol.
#
# Batches hold molecules of similar length, so little computation goes to padding, and the
# learning rate follows a cosine decay.


# %%
class LengthBatches(keras.utils.PyDataset):
    """Batches of (input, target, weight): molecules of similar length, reshuffled every epoch."""

    def __init__(self, sequences, batch_size, seed):
        super().__init__()
        self.sequences, self.batch_size = sequences, batch_size
        self.rng = np.random.default_rng(seed)
        self.on_epoch_end()

    def on_epoch_end(self):
        lengths = np.array([len(s) for s in self.sequences])
        order = np.argsort(lengths + self.rng.uniform(0, 4, len(lengths)))
        self.batches = [order[i: i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        self.rng.shuffle(self.batches)

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, i):
        return padded_pairs([self.sequences[j] for j in self.batches[i]])


def padded_pairs(sequences):
    """Inputs start with BOS; targets are the same tokens one step ahead; padding has weight 0."""
    width = max(len(s) for s in sequences)
    x = np.zeros((len(sequences), width), dtype="int32")
    y = np.zeros((len(sequences), width), dtype="int32")
    for row, s in enumerate(sequences):
        x[row, 0] = index[BOS]
        x[row, 1: len(s)] = s[:-1]
        y[row, : len(s)] = s
    return x, y, (y != index[PAD]).astype("float32")


embed = keras.layers.Embedding(len(vocab), hp.embed)
grus = [keras.layers.GRU(units, return_sequences=True, return_state=True) for units in hp.layers]
head = keras.layers.Dense(len(vocab))
tokens_in = keras.Input((None,), dtype="int32")
hidden = embed(tokens_in)
for gru in grus:
    hidden, _ = gru(hidden)
model = keras.Model(tokens_in, head(hidden))
loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def cosine_lr(epoch):
    """Learning rate falling from hp.lr to 3% of it along a half cosine over the epochs."""
    return hp.lr * (0.03 + 0.97 * 0.5 * (1 + np.cos(np.pi * epoch / max(1, hp.epochs - 1))))


model.compile(keras.optimizers.Adam(hp.lr, clipnorm=1.0), loss)
model.fit(LengthBatches(train_ids, hp.batch_size, run.seed), epochs=hp.epochs, verbose=0,
          callbacks=[keras.callbacks.LearningRateScheduler(cosine_lr)])


def gru_token_nll(sequences, batch_size=256):
    """Mean negative log-likelihood per token (nats) under the GRU, end symbol included."""
    total, count = 0.0, 0.0
    for i in range(0, len(sequences), batch_size):
        x, y, w = padded_pairs(sequences[i: i + batch_size])
        logits = model.predict(x, verbose=0).astype("float64")
        top = logits.max(-1, keepdims=True)
        log_p = logits - top - np.log(np.exp(logits - top).sum(-1, keepdims=True))
        total -= (np.take_along_axis(log_p, y[..., None], -1)[..., 0] * w).sum()
        count += w.sum()
    return float(total / count)


nll_train, nll_gru = gru_token_nll(train_ids[: len(heldout_ids)]), gru_token_nll(heldout_ids)
print(f"trained {hp.epochs} epochs; cross-entropy (nats per token): training {nll_train:.3f}, "
      f"held-out {nll_gru:.3f}")

# %% [markdown]
# ## Writing molecules, many at once, and the temperature
#
# Sampling is batched: all the molecules of a run are written side by side, one token per step
# for every one of them, each with its own GRU state.
#
# The **temperature** $T$ reshapes the model's distribution before each draw: probabilities
# become proportional to $p^{1/T}$. At $T = 1$ we sample the model as trained; below 1 the likely
# tokens get likelier, so fewer slips (an unclosed ring, a stray bracket) but also less variety.
# We write the main samples at $T$ = `temperature` (0.75) and show further down what other
# temperatures give. Every string is saved as written, valid or not, in `generated.smi`.


# %%
def softmax_sample(logits, rng, temperature=1.0):
    """One draw per row from softmax(logits / temperature)."""
    z = logits / temperature
    p = np.exp(z - z.max(1, keepdims=True))
    cum = np.cumsum(p, 1)
    u = rng.random(len(p))[:, None] * cum[:, -1:]
    return np.minimum((cum < u).sum(1), p.shape[1] - 1)


@tf.function(reduce_retracing=True, autograph=False)  # one compiled step, not many eager calls
def gru_step(tok, states):
    h = embed(tok[:, None])
    new_states = []
    for gru, state in zip(grus, states):
        h, state = gru(h, initial_state=state)
        new_states.append(state)
    return head(h[:, 0]), new_states


def sample_gru(n, max_len, rng, temperature=1.0):
    states = [keras.ops.zeros((n, units)) for units in hp.layers]
    tok = np.full(n, index[BOS], dtype="int32")
    out = np.zeros((n, max_len), dtype="int32")
    done = np.zeros(n, dtype=bool)
    banned = np.zeros(len(vocab))
    banned[[index[PAD], index[BOS]]] = -np.inf  # never targets in training, never written
    for t in range(max_len):
        logits, states = gru_step(tok, states)
        logits = keras.ops.convert_to_numpy(logits).astype("float64") + banned
        tok = np.where(done, index[PAD], softmax_sample(logits, rng, temperature)).astype("int32")
        out[:, t] = tok
        done |= tok == index[EOS]
        if done.all():
            break
    return [decode(row) for row in out]


def save_smiles(samples, filename):
    with open(run.path(filename), "w") as f:
        f.write("".join(s + "\n" for s in samples))


max_len = hp.max_tokens + 20  # room to run past the longest training molecule, then cut off
samples_gru = sample_gru(hp.n_samples, max_len, np.random.default_rng(run.seed + 1), hp.temperature)
save_smiles(samples_gru, "generated.smi")
print("first samples, as written:", *samples_gru[:6], sep="\n  ")


# %% [markdown]
# ## A baseline in the same run: a character n-gram
#
# How much of this needs a neural network? The baseline predicts the next token from only the
# previous few tokens (an n-gram model of order `ngram_order`, 7 here), by counting them in the
# same training molecules. Where a context was seen rarely or never, it blends in the estimate
# from shorter contexts (Witten-Bell interpolation). It is sampled in the same way, at the same
# temperature. What it cannot do is remember a ring or a branch opened more than a few tokens
# back, and that should show in its validity.


# %%
class CharNgram:
    """Token n-gram model with Witten-Bell interpolated backoff; contexts are padded with BOS."""

    def __init__(self, order, vocab_size, bos, eos, banned=()):
        self.order, self.vocab_size, self.bos, self.eos = order, vocab_size, bos, eos
        self.allowed = np.ones(vocab_size, dtype=bool)
        self.allowed[list(banned)] = False
        self.counts, self.cache = {}, {}

    def fit(self, sequences):
        pairs = collections.Counter()
        for s in sequences:
            history = [self.bos] * (self.order - 1) + list(s)
            for i in range(self.order - 1, len(history)):
                for k in range(self.order):
                    pairs[tuple(history[i - k: i]), history[i]] += 1
        for (context, token), c in pairs.items():
            self.counts.setdefault(context, np.zeros(self.vocab_size))[token] += c
        self.cache = {}
        return self

    def distribution(self, context):
        """P(next token | the last order-1 tokens of context)."""
        context = tuple(context)[len(context) - (self.order - 1):] if self.order > 1 else ()
        if context in self.cache:
            return self.cache[context]
        counts = self.counts.get(context)
        if not context:  # add-one smoothed unigram at the bottom of the backoff chain
            base = ((counts if counts is not None else 0) + 1.0) * self.allowed
            p = base / base.sum()
        else:
            lower = self.distribution(context[1:])
            if counts is None:
                p = lower
            else:
                seen = (counts > 0).sum()
                p = (counts + seen * lower) / (counts.sum() + seen)
        self.cache[context] = p
        return p

    def sample(self, n, max_len, rng, temperature=1.0):
        histories = [[self.bos] * (self.order - 1) for _ in range(n)]
        out = np.zeros((n, max_len), dtype="int32")
        done = np.zeros(n, dtype=bool)
        for t in range(max_len):
            p = np.stack([self.distribution(h) for h in histories])
            with np.errstate(divide="ignore"):
                tok = softmax_sample(np.log(p), rng, temperature)
            tok = np.where(done, 0, tok)
            out[:, t] = tok
            for h, k in zip(histories, tok):
                h.append(int(k))
            done |= tok == self.eos
            if done.all():
                break
        return out

    def token_nll(self, sequences):
        """Mean negative log-likelihood per token (nats), end symbol included."""
        total, count = 0.0, 0
        for s in sequences:
            history = [self.bos] * (self.order - 1)
            for token in s:
                total -= np.log(self.distribution(history)[token])
                history.append(token)
                count += 1
        return total / count


ngram = CharNgram(hp.ngram_order, len(vocab), index[BOS], index[EOS],
                  banned=(index[PAD], index[BOS])).fit(train_ids)


def sample_ngram(n, rng, temperature):
    return [decode(row) for row in ngram.sample(n, max_len, rng, temperature)]


samples_ngram = sample_ngram(hp.n_samples, np.random.default_rng(run.seed + 2), hp.temperature)
save_smiles(samples_ngram, "generated_ngram.smi")
nll_ngram = ngram.token_nll(heldout_ids)
print(f"held-out cross-entropy (nats per token): GRU {nll_gru:.3f}, "
      f"{hp.ngram_order}-gram {nll_ngram:.3f}")

# %% [markdown]
# ## Scoring generated molecules: the MOSES metrics
#
# We use the definitions of MOSES (Polykovskiy et al. 2020), a benchmark for molecule
# generators. RDKit computes all of them from the strings alone:
#
# - **validity**: the fraction of generated strings RDKit turns into a molecule;
# - **uniqueness**: among the valid ones, the fraction of distinct canonical SMILES;
# - **novelty**: among those distinct valid molecules, the fraction not in the training set;
# - **internal diversity** (IntDiv1): one minus the mean Tanimoto similarity over pairs of
#   those distinct molecules (at most `diversity_sample`, 1,000, drawn at random), using Morgan
#   fingerprints of radius 2 and 1,024 bits. 0 means all alike; the training set itself sets
#   the level to expect.
#
# No one number is enough on its own: copying the training set scores perfect validity and
# uniqueness with zero novelty, and stringing random atoms together scores high novelty and
# little else.


# %%
def valid_canonical(samples):
    """Canonical SMILES of the valid samples, in order, repeats kept."""
    return [c for c in (canonical(s) for s in samples) if c is not None]


def validity(samples):
    return len(valid_canonical(samples)) / len(samples) if len(samples) else 0.0


def uniqueness(samples):
    valid = valid_canonical(samples)
    return len(set(valid)) / len(valid) if valid else 0.0


def novelty(samples, training):
    """`training` holds canonical SMILES."""
    unique = set(valid_canonical(samples))
    return len(unique - set(training)) / len(unique) if unique else 0.0


def internal_diversity(samples, max_molecules=1000, seed=0):
    """1 - mean pairwise Tanimoto similarity (Morgan r=2, 1024 bits) of distinct valid molecules."""
    unique = sorted(set(valid_canonical(samples)))
    if len(unique) > max_molecules:
        keep = np.random.default_rng(seed).choice(len(unique), max_molecules, replace=False)
        unique = [unique[i] for i in sorted(keep)]
    if len(unique) < 2:
        return 0.0
    generator = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=1024)
    fps = [generator.GetFingerprint(Chem.MolFromSmiles(s)) for s in unique]
    total = sum(sum(DataStructs.BulkTanimotoSimilarity(fps[i], fps[i + 1:]))
                for i in range(len(fps) - 1))
    return 1.0 - total / (len(fps) * (len(fps) - 1) / 2)


def moses_metrics(samples, training, max_molecules=1000, seed=0):
    return {"validity": validity(samples), "uniqueness": uniqueness(samples),
            "novelty": novelty(samples, training),
            "internal_diversity": internal_diversity(samples, max_molecules, seed)}


def print_table(rows):
    print(f"{'':30}{'validity':>10}{'unique':>10}{'novel':>10}{'IntDiv1':>10}")
    for name, scores in rows.items():
        print(f"{name:30}" + "".join(f"{scores[k]:10.3f}" for k in METRIC_NAMES))


scores = {
    "GRU": moses_metrics(samples_gru, train_set, hp.diversity_sample, run.seed),
    "n-gram baseline": moses_metrics(samples_ngram, train_set, hp.diversity_sample, run.seed),
    "training set (reference)": {"validity": 1.0, "uniqueness": 1.0, "novelty": 0.0,
                                 "internal_diversity": internal_diversity(
                                     train, hp.diversity_sample, run.seed)},
}
print(f"{hp.n_samples} samples each at temperature {hp.temperature}:")
print_table(scores)

# %% [markdown]
# ## What the GRU writes
#
# These are the first 20 distinct valid molecules of the run, in the order they were written,
# not a hand-picked selection. Each is labelled with its QED, and flagged if the very same
# molecule is in the training set.

# %%
unique_gru = list(dict.fromkeys(valid_canonical(samples_gru)))
props_gru = properties(unique_gru)


def molecule_grid(smiles, qed, per_row=5):
    legends = [f"QED {q:.2f}" + (" (in training set)" if s in train_set else "")
               for s, q in zip(smiles, qed)]
    if smiles:
        image = Draw.MolsToGridImage([Chem.MolFromSmiles(s) for s in smiles], molsPerRow=per_row,
                                     subImgSize=(230, 190), legends=legends)
        if not hasattr(image, "save"):  # RDKit's notebook hooks may hand back PNG bytes instead
            image = Image.open(BytesIO(getattr(image, "data", image)))
    else:
        image = Image.new("RGB", (460, 100), "white")
    # A white strip at the bottom keeps the quick-profile mark off the last row's legends.
    framed = Image.new("RGB", (image.width, image.height + 24), "white")
    framed.paste(image.convert("RGB"), (0, 0))
    return framed


run.save_image(molecule_grid(unique_gru[:20], props_gru["QED"][:20]), "molecules.png")
run.show("molecules.png",
         "A grid of 20 molecule drawings by RDKit, each labelled with its QED drug-likeness "
         "score: ring systems joined by amide, ether, amine or sulfonamide links, like the "
         "training compounds.",
         "Molecules written by the GRU, in the order they came, not hand-picked. The labels give "
         "each one's drug-likeness (QED, 0 to 1) and flag any already in the training set.")

# %% [markdown]
# ## Temperature: correctness against variety
#
# The main samples were drawn at one temperature. Here the same trained GRU, and the n-gram
# baseline, write at several: lower temperatures buy validity and pay in diversity and novelty,
# higher ones the reverse. The n-gram baseline stays low at every temperature: the bookkeeping
# of rings and branches needs a memory longer than a few tokens.

# %%
sweep = {hp.temperature: (scores["GRU"], scores["n-gram baseline"]["validity"])}
for i, temp in enumerate(hp.sweep_temperatures):
    if temp not in sweep:
        gru_samples = sample_gru(hp.sweep_samples, max_len, np.random.default_rng(run.seed + 10 + i), temp)
        ngram_samples = sample_ngram(hp.sweep_samples, np.random.default_rng(run.seed + 20 + i), temp)
        sweep[temp] = (moses_metrics(gru_samples, train_set, hp.diversity_sample, run.seed),
                       validity(ngram_samples))
temps = sorted(sweep)
print_table({f"GRU at temperature {t}": sweep[t][0] for t in temps})
print("n-gram validity: " + ", ".join(f"{sweep[t][1]:.3f} at {t}" for t in temps))

fig, ax = plt.subplots(figsize=(8, 4))
for key, style in zip(METRIC_NAMES, ("o-", "s-", "^-", "D-")):
    ax.plot(temps, [sweep[t][0][key] for t in temps], style, label=f"GRU {key.replace('_', ' ')}")
ax.plot(temps, [sweep[t][1] for t in temps], "o--", color="0.4", label="n-gram validity")
ax.axvline(hp.temperature, color="0.8", lw=6, zorder=0, label="temperature used above")
ax.set_xlabel("sampling temperature T")
ax.set_ylabel("fraction")
ax.set_ylim(0, 1.02)
ax.set_title("What the sampling temperature trades (MOSES metrics)")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
run.save_figure(fig, "temperature.png")
run.show("temperature.png",
         "Line chart of GRU validity, uniqueness, novelty and internal diversity, and n-gram "
         "validity, against sampling temperature.",
         "Validity falls as the temperature rises, while novelty and diversity rise; the n-gram "
         "baseline is far less valid at every temperature.")

# %% [markdown]
# ## Steering towards drug-likeness
#
# A generator is useful to a chemist when it can be pushed towards molecules with a wanted
# property. The simplest honest way: fine-tune the trained GRU for a few more epochs
# (`steer_epochs`, 4) on only the most drug-like quarter of its training molecules (the top 25%
# by QED), then sample again at the same temperature. The model keeps its grammar of SMILES and
# shifts its taste. The price: it now learns from a quarter of the molecules, so it may repeat
# itself and its training examples more, and it may forget part of what it knew; we measure both.

# %%
threshold = np.quantile(qed_train, 0.75)
top_ids = [s for s, q in zip(train_ids, qed_train) if q >= threshold]
model.optimizer.learning_rate.assign(hp.steer_lr)  # same optimizer: no recompiling needed
model.fit(LengthBatches(top_ids, hp.batch_size, run.seed + 3), epochs=hp.steer_epochs, verbose=0)
samples_steered = sample_gru(hp.n_samples, max_len, np.random.default_rng(run.seed + 4),
                             hp.temperature)
save_smiles(samples_steered, "generated_steered.smi")
scores["GRU steered to QED"] = moses_metrics(samples_steered, train_set, hp.diversity_sample,
                                             run.seed)
unique_steered = list(dict.fromkeys(valid_canonical(samples_steered)))
props_steered = properties(unique_steered)
print(f"fine-tuned {hp.steer_epochs} epochs on {len(top_ids)} molecules with QED >= {threshold:.2f}")
print_table({k: scores[k] for k in ("GRU", "GRU steered to QED")})
print(f"mean QED: training {qed_train.mean():.3f}, GRU {mean_or_zero(props_gru['QED']):.3f}, "
      f"steered GRU {mean_or_zero(props_steered['QED']):.3f}")

run.save_image(molecule_grid(unique_steered[:10], props_steered["QED"][:10]), "molecules_steered.png")
run.show("molecules_steered.png",
         "Ten molecule drawings from the fine-tuned GRU, each labelled with its QED score.",
         "After fine-tuning on the most drug-like quarter: the first 10 distinct valid molecules.")

# %% [markdown]
# ## Do the generated molecules look like the training ones?
#
# Validity says nothing about whether the molecules resemble the training set. Each panel below
# compares the distribution of one property over the training molecules (grey), the GRU's
# distinct valid molecules (blue) and the steered GRU's (orange). Watch molecular weight: every
# extra token is one more chance to slip, so short strings are more often valid, and sampling
# below temperature 1 favours the commonest, simplest patterns; both pull the generated
# molecules towards the light end. The same pull can lift QED a little on its own, which is why
# the steered model is judged against the unsteered one at the same temperature, not against
# the training set.
#
# To put a number on the match we compute the Wasserstein-1 distance (the average shift needed
# to move one distribution onto the other, in the property's own units) between each
# generator's molecules and the held-out ones. The distance between training and held-out
# molecules, two samples of the same library, is the floor.

# %%
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
groups = [("training", props_train, dict(color="0.75")),
          ("GRU", props_gru, dict(histtype="step", lw=2, color="tab:blue")),
          ("steered GRU", props_steered, dict(histtype="step", lw=2, color="tab:orange"))]
for ax, key in zip(axes, props_train):
    everything = np.concatenate([values[key] for _, values, _ in groups])
    bins = np.linspace(*np.percentile(everything, [0.5, 99.5]), 40)
    for label, values, style in groups:
        if len(values[key]):
            ax.hist(values[key], bins, density=True, **style,
                    label=f"{label} ({len(values[key])}), mean {values[key].mean():.2f}")
    ax.set_xlabel(key)
    ax.set_title(key)
    ax.legend(fontsize=7, loc="upper left")
axes[0].set_ylabel("density")
fig.suptitle("Distinct valid generated molecules vs training molecules (count and mean in legend)",
             y=1.02)
run.save_figure(fig, "properties.png")
run.show("properties.png",
         "Three histograms (QED, molecular weight, Crippen logP) comparing training molecules "
         "with molecules from the GRU and from the QED-steered GRU.",
         "The GRU's molecules roughly follow the training distributions but run lighter; after "
         "steering, the QED histogram moves right.")

unique_ngram = list(dict.fromkeys(valid_canonical(samples_ngram)))
props_ngram = properties(unique_ngram)
w1 = {}
for key, short in zip(props_train, ("qed", "weight", "logp")):
    for name, values in (("gru", props_gru), ("ngram", props_ngram), ("steered", props_steered),
                         ("train_floor", props_train)):
        w1[f"w1_{short}_{name}"] = (wasserstein_distance(values[key], props_heldout[key])
                                    if len(values[key]) else float(np.ptp(props_heldout[key])))  # none valid: worst case
print("Wasserstein-1 distance to held-out molecules:")
print(f"  {'':8}{'GRU':>9}{'n-gram':>9}{'steered':>9}{'floor':>9}")
for short in ("qed", "weight", "logp"):
    print(f"  {short:8}" + "".join(f"{w1[f'w1_{short}_{m}']:9.3f}"
                                   for m in ("gru", "ngram", "steered", "train_floor")))

# %% [markdown]
# ## Metrics
#
# MOSES metrics for the GRU, the n-gram baseline (suffix `_ngram`) and the steered GRU
# (`_steered`) at the main temperature, and for the GRU at each temperature of the sweep
# (`_t` and the temperature in hundredths); cross-entropy in nats per token on the held-out
# molecules; mean QED of distinct valid molecules (`mean_qed_top_quartile` is the mean over the
# fine-tuning set); Wasserstein-1 distances of properties to the held-out molecules.

# %%
metrics = {"n_train": len(train), "n_heldout": len(heldout), "n_samples": hp.n_samples,
           "temperature": hp.temperature}
for name, suffix in (("GRU", ""), ("n-gram baseline", "_ngram"), ("GRU steered to QED", "_steered")):
    for key, value in scores[name].items():
        metrics[key + suffix] = value
for t in temps:
    tag = f"_t{round(t * 100)}"
    metrics["validity" + tag] = sweep[t][0]["validity"]
    metrics["internal_diversity" + tag] = sweep[t][0]["internal_diversity"]
    metrics["validity_ngram" + tag] = sweep[t][1]
metrics.update({
    "internal_diversity_train": scores["training set (reference)"]["internal_diversity"],
    "nll_per_token_train": nll_train,
    "heldout_nll_per_token": nll_gru,
    "heldout_nll_per_token_ngram": nll_ngram,
    "mean_qed_train": qed_train.mean(),
    "mean_qed_top_quartile": qed_train[qed_train >= threshold].mean(),
    "mean_qed_base": mean_or_zero(props_gru["QED"]),
    "mean_qed_ngram": mean_or_zero(props_ngram["QED"]),
    "mean_qed_steered": mean_or_zero(props_steered["QED"]),
    "qed_shift_steered": mean_or_zero(props_steered["QED"]) - mean_or_zero(props_gru["QED"]),
    "mean_weight_train": props_train["molecular weight (Da)"].mean(),
    "mean_weight_base": mean_or_zero(props_gru["molecular weight (Da)"]),
    **w1,
})
run.save_metrics(metrics)
