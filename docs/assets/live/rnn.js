/* The recurrent step shared by the text and chorale widgets (text.js, music.js).
 *
 * tfjs-layers cannot run Keras 3's default GRU (reset_after=True), so the step is written here
 * in plain JavaScript over the exported weights: one character or note per call is a few
 * hundred thousand multiply-adds, well under a millisecond, and the same on every backend.
 * Everything about the network (which layers, their sizes, their activations) is read from the
 * Keras config that the demo exported; nothing is typed in twice. Pure functions, no DOM.
 */
(function () {
  "use strict";

  const ACTIVATIONS = {
    sigmoid: (x) => 1 / (1 + Math.exp(-x)),
    tanh: Math.tanh,
    linear: (x) => x,
  };

  function activation(name, where) {
    const fn = ACTIVATIONS[name];
    if (!fn) throw new Error(`${where} uses the activation "${name}", which this page cannot run`);
    return fn;
  }

  /* The layers of a Keras Sequential or functional model config, by name, in order. */
  function layersOf(modelConfig) {
    const layers = (modelConfig.config || modelConfig).layers || [];
    return layers.map((l) => ({ className: l.class_name, config: l.config, name: l.config.name }));
  }

  function findLayer(layers, test, what) {
    const found = layers.find(test);
    if (!found) throw new Error(`the exported model has no ${what}`);
    return found;
  }

  /* out = bias + x @ W for a row-major (rows, cols) matrix W; accumulates in float64. */
  function affine(x, W, rows, cols, bias, biasOffset) {
    const out = new Float64Array(cols);
    if (bias) for (let j = 0; j < cols; j++) out[j] = bias[biasOffset + j];
    for (let i = 0; i < rows; i++) {
      const xi = x[i];
      if (xi === 0) continue;
      const base = i * cols;
      for (let j = 0; j < cols; j++) out[j] += xi * W[base + j];
    }
    return out;
  }

  /* A GRU cell from its Keras config and weights [kernel, recurrent_kernel, bias].
   * Keras 3's formulation: gates in the order z, r, h; with reset_after the reset gate
   * multiplies the recurrent projection (bias included) after the matrix product. */
  function gruCell(config, weights) {
    const [kernel, recurrent, bias] = weights;
    const units = config.units;
    const inputDim = kernel.shape[0];
    if (kernel.shape[1] !== 3 * units) throw new Error("GRU kernel shape does not match its units");
    const act = activation(config.activation, "the GRU");
    const gate = activation(config.recurrent_activation, "the GRU");
    const resetAfter = config.reset_after !== false;
    const useBias = config.use_bias !== false && bias;
    const inBias = useBias ? bias.data : null;
    const recBias = useBias && resetAfter ? bias.data : null;
    return {
      units,
      inputDim,
      zeroState: () => new Float64Array(units),
      step(x, h) {
        const mx = affine(x, kernel.data, inputDim, 3 * units, inBias, 0);
        const out = new Float64Array(units);
        if (resetAfter) {
          const mh = affine(h, recurrent.data, units, 3 * units, recBias, recBias ? 3 * units : 0);
          for (let j = 0; j < units; j++) {
            const z = gate(mx[j] + mh[j]);
            const r = gate(mx[units + j] + mh[units + j]);
            const hh = act(mx[2 * units + j] + r * mh[2 * units + j]);
            out[j] = Math.fround(z * h[j] + (1 - z) * hh);
          }
        } else {
          // reset_after=False: the reset gate scales the state before its product.
          const mzr = affine(h, recurrent.data, units, 3 * units, null, 0);
          const z = new Float64Array(units), rh = new Float64Array(units);
          for (let j = 0; j < units; j++) {
            z[j] = gate(mx[j] + mzr[j]);
            rh[j] = gate(mx[units + j] + mzr[units + j]) * h[j];
          }
          for (let j = 0; j < units; j++) {
            let s = mx[2 * units + j];
            for (let i = 0; i < units; i++) s += rh[i] * recurrent.data[i * 3 * units + 2 * units + j];
            out[j] = Math.fround(z[j] * h[j] + (1 - z[j]) * act(s));
          }
        }
        return out;
      },
    };
  }

  function denseLayer(config, weights) {
    const [kernel, bias] = weights;
    const act = activation(config.activation || "linear", "the output layer");
    const rows = kernel.shape[0], cols = kernel.shape[1];
    return {
      size: cols,
      apply(h) {
        const out = affine(h, kernel.data, rows, cols, config.use_bias !== false ? bias.data : null, 0);
        // Keras keeps float32 results: round the same way, so long runs stay in step.
        for (let j = 0; j < cols; j++) out[j] = Math.fround(act(out[j]));
        return out;
      },
    };
  }

  function embeddingTable(weights) {
    const [table] = weights;
    const dim = table.shape[1];
    return {
      size: table.shape[0],
      dim,
      addInto(out, id) {
        if (!(id >= 0 && id < table.shape[0])) throw new Error(`token id ${id} is outside the embedding`);
        for (let j = 0; j < dim; j++) out[j] += table.data[id * dim + j];
      },
    };
  }

  /* A token-by-token runner for models made of Embedding layers (summed), one GRU and one Dense
   * head: the text model (one embedding) and the chorale model (token, voice and bar position).
   * `weightsOf(layerName)` returns that layer's arrays as [{shape, data}], in Keras order.
   * `embeddingNames` lists the embeddings in the order step() receives their ids. */
  function recurrentModel(modelConfig, weightsOf, embeddingNames) {
    const layers = layersOf(modelConfig);
    const embeddingLayers = layers.filter((l) => l.className === "Embedding");
    const names = embeddingNames || embeddingLayers.map((l) => l.name);
    const embeddings = names.map((n) => {
      findLayer(embeddingLayers, (l) => l.name === n, `embedding called "${n}"`);
      return embeddingTable(weightsOf(n));
    });
    const gruLayer = findLayer(layers, (l) => l.className === "GRU", "GRU layer");
    const denseLayerConfig = findLayer(layers, (l) => l.className === "Dense", "Dense layer");
    const cell = gruCell(gruLayer.config, weightsOf(gruLayer.name));
    const head = denseLayer(denseLayerConfig.config, weightsOf(denseLayerConfig.name));
    if (embeddings.some((e) => e.dim !== cell.inputDim)) {
      throw new Error("the embeddings and the GRU disagree on their width");
    }
    return {
      units: cell.units,
      outputs: head.size,
      zeroState: cell.zeroState,
      /* ids: one id per embedding. Returns {logits, state} (Float64Array each). */
      step(ids, state) {
        const x = new Float64Array(cell.inputDim);
        embeddings.forEach((e, k) => e.addInto(x, ids[k]));
        // Keras computes in float32: round the input the same way before the cell.
        for (let j = 0; j < x.length; j++) x[j] = Math.fround(x[j]);
        const h = cell.step(x, state);
        return { logits: head.apply(h), state: h };
      },
    };
  }

  /* The index chosen by one uniform draw u in [0, 1) from softmax(logits / temperature), by
   * walking the cumulative distribution; `banned` indices get probability 0. The Python
   * sampler in demos/text_generation.py (pick_index) does exactly the same, so equal draws
   * give equal picks. */
  function pickIndex(logits, temperature, u, banned) {
    const n = logits.length;
    const z = new Float64Array(n);
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      z[i] = banned && banned.includes(i) ? -Infinity : logits[i] / temperature;
      if (z[i] > max) max = z[i];
    }
    const w = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) { w[i] = Math.exp(z[i] - max); total += w[i]; }
    const target = u * total;
    let cumulative = 0;
    for (let i = 0; i < n; i++) {
      cumulative += w[i];
      if (cumulative > target) return i;
    }
    for (let i = n - 1; i >= 0; i--) if (w[i] > 0) return i;
    return n - 1;
  }

  function softmax(logits, temperature) {
    let max = -Infinity;
    for (const v of logits) if (v / temperature > max) max = v / temperature;
    const p = Array.from(logits, (v) => Math.exp(v / temperature - max));
    const total = p.reduce((a, b) => a + b, 0);
    return p.map((v) => v / total);
  }

  /* The runner for an exported description (window.LIVE_MODELS[key], see demos/_live.py):
   * its weights decoded once into Float32Arrays with Live.decodeWeight. */
  const built = new WeakMap();
  function fromDescription(desc, embeddingNames) {
    if (!built.has(desc)) {
      const weightsOf = (name) => {
        const list = desc.weights[name];
        if (!list) throw new Error(`the model file has no weights for layer ${name}`);
        return list.map((w) => ({ shape: w.shape, data: window.Live.decodeWeight(w) }));
      };
      built.set(desc, recurrentModel(desc.model, weightsOf, embeddingNames));
    }
    return built.get(desc);
  }

  /* The same GRU for Live.Model (whole sequences with tfjs-core ops), so model.predict works
   * on the exported text and chorale models too; tfjs-layers' own GRU refuses reset_after. */
  function gruLayer(c, w) {
    const [kernel, recurrent, bias] = w.list;
    const units = c.units;
    if (c.go_backwards || c.stateful) throw new Error(`GRU ${c.name}: go_backwards and stateful are not supported`);
    const act = window.Live.activation(c.activation), gate = window.Live.activation(c.recurrent_activation);
    const resetAfter = c.reset_after !== false, useBias = c.use_bias !== false && bias;
    return function (x) {
      const tf = window.tf;
      const [batch, steps, dim] = x.shape;
      let mx = tf.matMul(tf.reshape(x, [-1, dim]), kernel);
      const inBias = useBias ? (resetAfter ? tf.gather(bias, 0) : bias) : null;
      const recBias = useBias && resetAfter ? tf.gather(bias, 1) : null;
      if (inBias) mx = tf.add(mx, inBias);
      mx = tf.reshape(mx, [batch, steps, 3 * units]);
      const [rz, rr, rh] = tf.split(recurrent, 3, 1);
      let h = tf.zeros([batch, units]);
      const outs = [];
      for (let t = 0; t < steps; t++) {
        const [xz, xr, xh] = tf.split(tf.squeeze(tf.slice(mx, [0, t, 0], [batch, 1, 3 * units]), [1]), 3, 1);
        let hz = tf.matMul(h, rz), hr = tf.matMul(h, rr), hh;
        if (resetAfter) {
          hh = tf.matMul(h, rh);
          if (recBias) {
            const [bz, br, bh] = tf.split(recBias, 3, 0);
            hz = tf.add(hz, bz); hr = tf.add(hr, br); hh = tf.add(hh, bh);
          }
        }
        const z = gate(tf.add(xz, hz)), r = gate(tf.add(xr, hr));
        const cand = resetAfter ? act(tf.add(xh, tf.mul(r, hh))) : act(tf.add(xh, tf.matMul(tf.mul(r, h), rh)));
        h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), cand));
        outs.push(h);
      }
      return c.return_sequences ? tf.stack(outs, 1) : h;
    };
  }
  if (window.Live && window.Live.registerLayer) window.Live.registerLayer("GRU", gruLayer);

  window.LiveRNN = { recurrentModel, fromDescription, pickIndex, softmax, gruCell, layersOf };
})();
