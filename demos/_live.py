"""From a trained Keras model to a live widget: the export, and the random numbers the page uses.

A demo that feeds a widget calls, once its model is trained,

    export = export_model(run, generator, "generator", meta={...}, probe=[noise, labels])

which writes two build outputs into the demo's folder:

- `<name>.js`, a classic script (it loads from `file://`, where `fetch()` is refused) that adds
  one entry to a global:

      (window.LIVE_MODELS = window.LIVE_MODELS || {})["<demo>/<name>"] = {
        format: 1, meta: {...}, inputs: [...], outputs: [...],
        model: {class_name: "Functional" | "Sequential", config: <model.get_config()>},
        weights: {<layer name>: [{name, shape, dtype, data: <base64, little-endian>}]}}

  `model` is Keras's own description of the architecture (layers with class_name, config and
  inbound nodes); docs/assets/live/live.js rebuilds the network from it with TF.js core ops, so
  the architecture is written down once, in the demo.
- `<name>.keras`, the same network with exactly the weights the page receives, so a parity test
  can load it in Python and compare outputs with the page's.

Weights are stored as float16 (half the bytes) only if that changes the model's outputs on the
`probe` inputs by no more than `tolerance`; otherwise, or without a probe, as float32. The
returned dict (bytes, dtype, largest output change) belongs in the demo's metrics.

`rng(seed)` and `normal(draw)` replay, number for number, `Live.rng` and `Live.normal` of the
page, so Python can compute what the page will draw for a given seed.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np

FORMAT = 1
DEFAULT_TOLERANCE = 1e-3   # largest change float16 storage may make to any model output


# --- the page's random numbers, replayed -----------------------------------------------------

MASK32 = 0xFFFFFFFF


def rng(seed: int):
    """mulberry32: a function returning uniform floats in [0, 1), the same sequence as
    `Live.rng(seed)` in live.js for the same integer seed (taken modulo 2**32).

    Each call adds 0x6D2B79F5 to a 32-bit state and scrambles it with two multiplications and
    xor-shifts; the 32-bit result divided by 2**32 is the draw.
    """
    state = int(seed) & MASK32

    def draw() -> float:
        nonlocal state
        state = (state + 0x6D2B79F5) & MASK32
        t = state
        t = ((t ^ (t >> 15)) * (t | 1)) & MASK32
        t ^= (t + (((t ^ (t >> 7)) * (t | 61)) & MASK32)) & MASK32
        return ((t ^ (t >> 14)) & MASK32) / 4294967296.0

    return draw


def normal(draw) -> float:
    """One standard normal number from two uniform draws (Box-Muller, cosine branch), exactly as
    `Live.normal(rng)`: sqrt(-2 ln(1 - u1)) * cos(2 pi u2). The sine branch is not kept, so
    every normal number costs exactly two draws."""
    u1, u2 = draw(), draw()
    return math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)


def normals(seed: int, n: int) -> np.ndarray:
    """`n` normal numbers from a fresh `rng(seed)`, as float32 (what a widget feeds its model)."""
    draw = rng(seed)
    return np.array([normal(draw) for _ in range(n)], dtype="float32")


# --- the export ----------------------------------------------------------------------------------

def pick_index(logits, temperature, draw, banned=()):
    """The index that the uniform `draw` in [0, 1) selects from softmax(logits / temperature),
    walking the cumulative weights in order (rnn.js's pickIndex does the same on the page); `banned` indices get no weight."""
    z = np.asarray(logits, dtype="float64") / temperature
    z[list(banned)] = -np.inf
    w = np.exp(z - z.max())
    cumulative = np.cumsum(w)
    hit = np.flatnonzero(cumulative > draw * cumulative[-1])
    return int(hit[0]) if len(hit) else int(np.flatnonzero(w > 0)[-1])


def _encode(array: np.ndarray, dtype: str) -> dict:
    data = np.ascontiguousarray(array, dtype="<f2" if dtype == "float16" else "<f4")
    return {"shape": list(array.shape), "dtype": dtype,
            "data": base64.b64encode(data.tobytes()).decode("ascii")}


def _outputs(model, inputs) -> list[np.ndarray]:
    import keras

    result = model(inputs, training=False)
    result = result if isinstance(result, (list, tuple)) else [result]
    return [np.asarray(keras.ops.convert_to_numpy(r), dtype="float64") for r in result]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} into a live model description")


def describe(model) -> dict:
    """Keras's description of the architecture, checked to be one the page can rebuild."""
    import keras

    from keras.src.models.functional import Functional

    if not isinstance(model, (keras.Sequential, Functional)):
        raise ValueError(f"model {model.name!r} is a subclassed Keras model; the page can only "
                         "rebuild Functional or Sequential models from their config")
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            raise ValueError(f"layer {layer.name!r} of {model.name!r} is itself a model; build the "
                             "exported model from plain layers")
    kind = "Sequential" if isinstance(model, keras.Sequential) else "Functional"
    return {"class_name": kind, "config": model.get_config()}


def export_model(run, model, name: str, meta: dict | None = None, probe=None,
                 dtype: str = "float16", tolerance: float = DEFAULT_TOLERANCE) -> dict:
    """Write `<name>.js` (for the page) and `<name>.keras` (for parity tests) into the run's
    folder; see the module docstring. Returns {"bytes", "dtype", "max_abs_diff", "parameters"}.

    `probe`: inputs to call the model on (as the model takes them) to decide whether float16
    storage is faithful enough; `max_abs_diff` is the largest change it made to an output there
    (0 when float32 is used).
    """
    import keras

    if dtype not in ("float16", "float32"):
        raise ValueError(f"dtype must be 'float16' or 'float32', not {dtype!r}")
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"model name {name!r}: use letters, digits, '_' or '-' only")
    description = describe(model)
    weights = model.get_weights()
    stored, diff = "float32", 0.0
    if dtype == "float16" and probe is not None:
        rounded = [w.astype("float16").astype(w.dtype) if np.issubdtype(w.dtype, np.floating)
                   else w for w in weights]
        half = keras.models.clone_model(model)
        half.set_weights(rounded)
        diff = max(float(np.max(np.abs(a - b))) if a.size else 0.0
                   for a, b in zip(_outputs(model, probe), _outputs(half, probe)))
        if diff <= tolerance:
            stored = "float16"
        else:
            print(f"{name}: float16 weights change the outputs by {diff:.2g} > {tolerance:g}; "
                  "storing float32")
            diff = 0.0

    # The page receives exactly these values; the .keras file carries the same ones.
    page_model = keras.models.clone_model(model)
    page_weights = [w.astype(stored).astype(w.dtype) if np.issubdtype(w.dtype, np.floating)
                    else w for w in weights]
    page_model.set_weights(page_weights)
    by_layer = {}
    for layer in page_model.layers:
        if layer.weights:
            by_layer[layer.name] = [
                dict(name=w.name, **_encode(keras.ops.convert_to_numpy(w), stored))
                for w in layer.weights]

    def tensor_spec(tensor):
        return {"name": getattr(tensor, "name", None), "shape": list(tensor.shape),
                "dtype": str(tensor.dtype)}

    key = f"{run.name}/{name}"
    entry = {"format": FORMAT, "name": key, "meta": meta or {},
             "inputs": [tensor_spec(t) for t in model.inputs],
             "outputs": [tensor_spec(t) for t in model.outputs],
             "model": description, "weights": by_layer}
    body = json.dumps(entry, separators=(",", ":"), default=_json_default)
    script = (f"// {key}: exported by demos/{run.name}.py (demos/_live.py); loaded by "
              "docs/assets/live/live.js\n"
              f"(window.LIVE_MODELS = window.LIVE_MODELS || {{}})[{json.dumps(key)}] = {body};\n")
    js_path = Path(run.path(f"{name}.js"))
    js_path.write_text(script, encoding="utf-8")
    page_model.save(run.path(f"{name}.keras"))
    return {"bytes": js_path.stat().st_size, "dtype": stored, "max_abs_diff": diff,
            "parameters": int(sum(np.size(w) for w in weights))}


def load_description(path) -> dict:
    """The description written by `export_model`, read back from its .js file (for tests)."""
    text = Path(path).read_text(encoding="utf-8")
    start = text.index("] = ") + 4
    return json.loads(text[start:].rstrip().rstrip(";"))


def decode_weights(description: dict) -> dict[str, list[np.ndarray]]:
    """The weights of a description as NumPy arrays, by layer name (for tests)."""
    out = {}
    for layer, items in description["weights"].items():
        out[layer] = [np.frombuffer(base64.b64decode(w["data"]),
                                    dtype="<f2" if w["dtype"] == "float16" else "<f4")
                      .astype("float32").reshape(w["shape"]) for w in items]
    return out
