/* Live widgets: the site's own trained models, run in the reader's browser.
 *
 * A classic script (no modules, no eval, nothing from another host), so it works from a folder
 * opened with file://. It defines window.Live:
 *
 *   Live.widget(name, init[, options])  for every <div class="live-widget" data-widget="name"
 *       data-model="page-relative/path/model.js [more.js]">: when its Start button is pressed,
 *       or when the reader scrolls it to within 200 px of the window (never on page open),
 *       load the TF.js runtime from assets/vendor/ and the model scripts, then call
 *       init(el, models, ui). Whatever fails leaves the static figure inside
 *       the div in place and says so in one line.
 *   Live.Model       a network rebuilt with TF.js core ops from the description that
 *       demos/_live.py exported (Keras's own config plus base64 weights); model.predict(inputs).
 *   Live.layers, Live.registerLayer(className, fn)   the layer implementations, by Keras class.
 *   Live.rng(seed), Live.normal(rng)   reproducible random numbers (mulberry32, Box-Muller),
 *       replayed number for number by rng()/normal() in demos/_live.py.
 *   Live.ui          labelled controls built with textContent only (never innerHTML).
 *   Live.chunked(step, {onDone, signal})   long work in slices, so the page stays responsive.
 */
(function () {
  "use strict";
  if (window.Live) { return; }   // the script may be included once per widget on a page

  var Live = {};
  window.Live = Live;
  var own = document.currentScript && document.currentScript.src;
  // live.js lives in assets/live/; the runtime in assets/vendor/.
  Live.base = own ? new URL(".", own).href : new URL("assets/live/", document.baseURI).href;
  Live.vendor = new URL("../vendor/", Live.base).href;
  Live.timeoutMs = 20000;
  Live.models = {};   // built models by key ("demo/name"), for widgets and tests

  // --- random numbers ------------------------------------------------------------------------

  /* mulberry32: returns a function giving uniform floats in [0, 1). The state is a 32-bit
   * integer; each draw adds 0x6D2B79F5 and scrambles it. Same sequence as _live.rng(seed). */
  Live.rng = function (seed) {
    var state = Number(seed) >>> 0;
    return function () {
      state = (state + 0x6D2B79F5) | 0;
      var t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  };

  /* A standard normal number from two draws: sqrt(-2 ln(1 - u1)) * cos(2 pi u2). */
  Live.normal = function (rng) {
    var u1 = rng(), u2 = rng();
    return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  };

  /* n normal numbers from a fresh Live.rng(seed), as a Float32Array (= _live.normals). */
  Live.normals = function (seed, n) {
    var rng = Live.rng(seed), out = new Float32Array(n);
    for (var i = 0; i < n; i++) { out[i] = Live.normal(rng); }
    return out;
  };

  // --- loading scripts -------------------------------------------------------------------------

  var scripts = {};
  /* Load a classic script once; resolves when it ran, rejects with a one-line message. */
  Live.loadScript = function (url, what) {
    if (scripts[url]) { return scripts[url]; }
    scripts[url] = new Promise(function (resolve, reject) {
      var tag = document.createElement("script");
      var timer = setTimeout(function () {
        reject(new Error((what || url) + " did not load within " + Live.timeoutMs / 1000 + " s"));
      }, Live.timeoutMs);
      tag.src = url;
      tag.async = false;
      tag.onload = function () { clearTimeout(timer); resolve(); };
      tag.onerror = function () {
        clearTimeout(timer);
        delete scripts[url];
        reject(new Error((what || "a file") + " is missing or unreadable: " + url.split("/").slice(-3).join("/")));
      };
      document.head.appendChild(tag);
    });
    return scripts[url];
  };

  var runtime = null;
  /* The TF.js runtime from assets/vendor/: core plus the CPU backend; the WebGL backend too
   * when asked for. For the site's small models the CPU backend is fast enough and exact. */
  Live.loadRuntime = function (backend) {
    backend = backend || "cpu";
    if (runtime && runtime.backend === backend) { return runtime.promise; }
    var files = ["tf-core.min.js", "tf-backend-cpu.min.js"];
    if (backend === "webgl") { files.push("tf-backend-webgl.min.js"); }
    var chain = Promise.resolve();
    files.forEach(function (f) {
      chain = chain.then(function () { return Live.loadScript(Live.vendor + f, "the TF.js runtime (" + f + ")"); });
    });
    var promise = chain.then(function () {
      if (!window.tf || !tf.setBackend) { throw new Error("the TF.js runtime loaded but did not start"); }
      return tf.setBackend(backend).then(function (ok) {
        if (!ok && backend !== "cpu") { return tf.setBackend("cpu"); }
        return ok;
      }).then(function () { return tf.ready(); }).then(function () { return tf; });
    });
    runtime = { backend: backend, promise: promise };
    promise.catch(function () { runtime = null; });
    return promise;
  };

  /* "../generated/image_synthesis/generator.js" -> "image_synthesis/generator". */
  Live.modelKey = function (url) {
    var parts = String(url).split("?")[0].split("/");
    return parts.slice(-2).join("/").replace(/\.js$/, "");
  };

  /* Load a model script (page-relative or absolute URL) and build it. */
  Live.loadModel = function (url) {
    var href = new URL(url, document.baseURI).href, key = Live.modelKey(href);
    if (Live.models[key]) { return Promise.resolve(Live.models[key]); }
    return Live.loadScript(href, "the model file " + key + ".js").then(function () {
      var desc = window.LIVE_MODELS && window.LIVE_MODELS[key];
      if (!desc) { throw new Error("the model file " + key + ".js loaded but holds no model '" + key + "'"); }
      try {
        Live.models[key] = new Live.Model(desc);
      } catch (e) {
        throw new Error("the model " + key + " could not be rebuilt: " + e.message);
      }
      return Live.models[key];
    });
  };

  // --- weights -----------------------------------------------------------------------------------

  function bytesOf(b64) {
    var s = atob(b64), out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) { out[i] = s.charCodeAt(i); }
    return out;
  }

  function halfToFloat(h) {
    var sign = (h & 0x8000) ? -1 : 1, exp = (h >> 10) & 0x1f, frac = h & 0x3ff;
    if (exp === 0) { return sign * Math.pow(2, -14) * (frac / 1024); }
    if (exp === 31) { return frac ? NaN : sign * Infinity; }
    return sign * Math.pow(2, exp - 15) * (1 + frac / 1024);
  }

  /* One exported weight ({shape, dtype, data}) as a Float32Array. */
  Live.decodeWeight = function (w) {
    var bytes = bytesOf(w.data), n = w.shape.reduce(function (a, b) { return a * b; }, 1), out;
    if (w.dtype === "float16") {
      if (bytes.length !== 2 * n) { throw new Error("weight " + (w.name || "") + " has " + bytes.length + " bytes, expected " + 2 * n); }
      var view = new DataView(bytes.buffer);
      out = new Float32Array(n);
      for (var i = 0; i < n; i++) { out[i] = halfToFloat(view.getUint16(2 * i, true)); }
    } else if (w.dtype === "float32") {
      if (bytes.length !== 4 * n) { throw new Error("weight " + (w.name || "") + " has " + bytes.length + " bytes, expected " + 4 * n); }
      out = new Float32Array(bytes.buffer);
    } else {
      throw new Error("weights of type " + w.dtype + " are not supported");
    }
    return out;
  };

  // --- activations and layers --------------------------------------------------------------------

  function activationName(a) {
    if (a === null || a === undefined) { return "linear"; }
    if (typeof a === "string") { return a; }
    if (a.config && a.config.name) { return a.config.name; }
    return a.class_name || String(a);
  }

  Live.activations = {
    linear: function (x) { return x; },
    relu: function (x) { return tf.relu(x); },
    relu6: function (x) { return tf.relu6(x); },
    sigmoid: function (x) { return tf.sigmoid(x); },
    tanh: function (x) { return tf.tanh(x); },
    softmax: function (x) { return tf.softmax(x, -1); },
    log_softmax: function (x) { return tf.logSoftmax(x, -1); },
    softplus: function (x) { return tf.softplus(x); },
    softsign: function (x) { return tf.div(x, tf.add(tf.abs(x), 1)); },
    elu: function (x) { return tf.elu(x); },
    selu: function (x) { return tf.selu(x); },
    exponential: function (x) { return tf.exp(x); },
    leaky_relu: function (x) { return tf.leakyRelu(x, 0.2); },
    silu: function (x) { return tf.mul(x, tf.sigmoid(x)); },
    swish: function (x) { return tf.mul(x, tf.sigmoid(x)); },
    gelu: function (x) { return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))); },
    hard_sigmoid: function (x) { return tf.div(tf.relu6(tf.add(x, 3)), 6); },
    hard_silu: function (x) { return tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)); }
  };
  Live.activations.hard_swish = Live.activations.hard_silu;
  Live.activation = function (a) {
    var name = activationName(a), fn = Live.activations[name];
    if (!fn) { throw new Error("activation '" + name + "' is not implemented in live.js"); }
    return fn;
  };

  /* Live.layers[className] = function (config, weights) { return function (inputs..., kwargs) }.
   * weights: {name: tf.Tensor} by Keras variable name ("kernel", "bias", "gamma", ...), plus
   * weights.list in Keras's order. The returned function gets the layer's positional
   * arguments as Keras got them (a tensor, or an array of tensors for merge layers), then an
   * object with the keyword arguments. */
  Live.layers = {};
  Live.registerLayer = function (className, fn) { Live.layers[className] = fn; };
  var L = Live.layers;

  function identity() { return function (x) { return x; }; }
  function pad(p) { return p === "same" ? "same" : "valid"; }
  function pair(v) { return Array.isArray(v) ? v : [v, v]; }
  function axisOf(axis, rank) { return axis < 0 ? rank + axis : axis; }

  L.InputLayer = identity;
  L.Dropout = L.SpatialDropout1D = L.SpatialDropout2D = L.GaussianNoise = L.GaussianDropout =
    L.AlphaDropout = L.ActivityRegularization = identity;

  L.Activation = function (c) { return Live.activation(c.activation); };
  L.ReLU = function (c) {
    return function (x) {
      var slope = c.negative_slope || 0, thr = c.threshold || 0, y;
      y = slope ? tf.where(tf.greaterEqual(x, thr), x, tf.mul(tf.sub(x, thr), slope)) :
        tf.where(tf.greaterEqual(x, thr), x, tf.zerosLike(x));
      return (c.max_value === null || c.max_value === undefined) ? y : tf.minimum(y, c.max_value);
    };
  };
  L.LeakyReLU = function (c) {
    var slope = c.negative_slope !== undefined ? c.negative_slope : (c.alpha !== undefined ? c.alpha : 0.3);
    return function (x) { return tf.leakyRelu(x, slope); };
  };
  L.ELU = function (c) { var a = c.alpha === undefined ? 1 : c.alpha; return function (x) { return tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), a)); }; };
  L.Softmax = function (c) { return function (x) { return tf.softmax(x, c.axis === undefined ? -1 : c.axis); }; };

  L.Dense = function (c, w) {
    var act = Live.activation(c.activation);
    return function (x) {
      var shape = x.shape, flat = shape.length > 2 ? tf.reshape(x, [-1, shape[shape.length - 1]]) : x;
      var y = tf.matMul(flat, w.kernel);
      if (c.use_bias !== false && w.bias) { y = tf.add(y, w.bias); }
      if (shape.length > 2) { y = tf.reshape(y, shape.slice(0, -1).concat([c.units])); }
      return act(y);
    };
  };

  function checkChannelsLast(c) {
    if (c.data_format && c.data_format !== "channels_last") {
      throw new Error("layer " + c.name + ": only channels_last data is supported");
    }
  }

  L.Conv2D = function (c, w) {
    checkChannelsLast(c);
    var act = Live.activation(c.activation);
    return function (x) {
      var y = tf.conv2d(x, w.kernel, pair(c.strides || 1), pad(c.padding), "NHWC", pair(c.dilation_rate || 1));
      if (c.use_bias !== false && w.bias) { y = tf.add(y, w.bias); }
      return act(y);
    };
  };

  L.Conv1D = function (c, w) {
    checkChannelsLast(c);
    if (c.padding === "causal") { throw new Error("layer " + c.name + ": causal Conv1D is not supported"); }
    var act = Live.activation(c.activation);
    return function (x) {
      var s = Array.isArray(c.strides) ? c.strides[0] : (c.strides || 1);
      var d = Array.isArray(c.dilation_rate) ? c.dilation_rate[0] : (c.dilation_rate || 1);
      var y = tf.conv1d(x, w.kernel, s, pad(c.padding), "NWC", d);
      if (c.use_bias !== false && w.bias) { y = tf.add(y, w.bias); }
      return act(y);
    };
  };

  L.Conv2DTranspose = function (c, w) {
    checkChannelsLast(c);
    if (c.output_padding) { throw new Error("layer " + c.name + ": output_padding is not supported"); }
    var act = Live.activation(c.activation), k = pair(c.kernel_size), s = pair(c.strides || 1);
    var filters = w.kernel.shape[2];
    return function (x) {
      var h = x.shape[1], wd = x.shape[2], oh, ow;
      if (c.padding === "same") { oh = h * s[0]; ow = wd * s[1]; }
      else { oh = (h - 1) * s[0] + k[0]; ow = (wd - 1) * s[1] + k[1]; }
      var y = tf.conv2dTranspose(x, w.kernel, [x.shape[0], oh, ow, filters], s, pad(c.padding));
      if (c.use_bias !== false && w.bias) { y = tf.add(y, w.bias); }
      return act(y);
    };
  };

  function pool2d(op) {
    return function (c) {
      checkChannelsLast(c);
      return function (x) {
        var size = pair(c.pool_size), strides = pair(c.strides || c.pool_size);
        return tf[op](x, size, strides, pad(c.padding));
      };
    };
  }
  L.MaxPooling2D = pool2d("maxPool");
  L.AveragePooling2D = pool2d("avgPool");
  L.GlobalAveragePooling2D = function (c) { return function (x) { return tf.mean(x, [1, 2], !!c.keepdims); }; };
  L.GlobalMaxPooling2D = function (c) { return function (x) { return tf.max(x, [1, 2], !!c.keepdims); }; };
  L.GlobalAveragePooling1D = function (c) { return function (x) { return tf.mean(x, 1, !!c.keepdims); }; };
  L.GlobalMaxPooling1D = function (c) { return function (x) { return tf.max(x, 1, !!c.keepdims); }; };

  L.UpSampling2D = function (c) {
    checkChannelsLast(c);
    var s = pair(c.size || 2);
    return function (x) {
      var size = [x.shape[1] * s[0], x.shape[2] * s[1]];
      return c.interpolation === "bilinear" ? tf.image.resizeBilinear(x, size, false, true) :
        tf.image.resizeNearestNeighbor(x, size);
    };
  };

  L.Reshape = function (c) { return function (x) { return tf.reshape(x, [x.shape[0]].concat(c.target_shape)); }; };
  L.Flatten = function () { return function (x) { return tf.reshape(x, [x.shape[0], -1]); }; };
  L.Permute = function (c) { return function (x) { return tf.transpose(x, [0].concat(c.dims)); }; };
  L.RepeatVector = function (c) { return function (x) { return tf.tile(tf.expandDims(x, 1), [1, c.n, 1]); }; };

  L.Embedding = function (c, w) {
    return function (ids) { return tf.gather(w.embeddings, tf.cast(ids, "int32")); };
  };

  L.Concatenate = function (c) { return function (xs) { return tf.concat(xs, c.axis === undefined ? -1 : c.axis); }; };
  function merge(op) {
    return function () { return function (xs) { return xs.slice(1).reduce(function (a, b) { return tf[op](a, b); }, xs[0]); }; };
  }
  L.Add = merge("add");
  L.Multiply = merge("mul");
  L.Maximum = merge("maximum");
  L.Minimum = merge("minimum");
  L.Subtract = function () { return function (xs) { return tf.sub(xs[0], xs[1]); }; };
  L.Average = function () { return function (xs) { return tf.div(tf.addN(xs), xs.length); }; };
  L.Dot = function (c) {
    return function (xs) {
      if (xs[0].shape.length !== 2 || c.normalize) { throw new Error("layer " + c.name + ": only Dot of two plain vectors is supported"); }
      return tf.sum(tf.mul(xs[0], xs[1]), -1, true);
    };
  };

  L.BatchNormalization = function (c, w) {
    var eps = c.epsilon === undefined ? 1e-3 : c.epsilon;
    return function (x) {
      var axis = axisOf(c.axis === undefined ? -1 : c.axis, x.rank);
      if (axis !== x.rank - 1) { throw new Error("layer " + c.name + ": only BatchNormalization over the last axis is supported"); }
      var y = tf.div(tf.sub(x, w.moving_mean), tf.sqrt(tf.add(w.moving_variance, eps)));
      if (c.scale !== false && w.gamma) { y = tf.mul(y, w.gamma); }
      if (c.center !== false && w.beta) { y = tf.add(y, w.beta); }
      return y;
    };
  };

  L.LayerNormalization = function (c, w) {
    var eps = c.epsilon === undefined ? 1e-3 : c.epsilon;
    return function (x) {
      var axes = [].concat(c.axis === undefined ? -1 : c.axis).map(function (a) { return axisOf(a, x.rank); });
      if (axes.length !== 1 || axes[0] !== x.rank - 1) { throw new Error("layer " + c.name + ": only LayerNormalization over the last axis is supported"); }
      var y;
      if (c.rms_scaling) {
        y = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
      } else {
        var m = tf.moments(x, -1, true);
        y = tf.div(tf.sub(x, m.mean), tf.sqrt(tf.add(m.variance, eps)));
      }
      if (c.scale !== false && w.gamma) { y = tf.mul(y, w.gamma); }
      if (c.center !== false && w.beta && !c.rms_scaling) { y = tf.add(y, w.beta); }
      return y;
    };
  };

  // --- the model --------------------------------------------------------------------------------

  function isTensorRef(v) { return v && typeof v === "object" && v.class_name === "__keras_tensor__"; }

  /* Build a network from an exported description (see demos/_live.py). */
  function Model(desc) {
    if (!desc || desc.format !== 1) { throw new Error("unknown model format " + (desc && desc.format)); }
    if (!window.tf) { throw new Error("the TF.js runtime is not loaded"); }
    this.key = desc.name;
    this.meta = desc.meta || {};
    this.inputs = desc.inputs || [];
    this.outputs = desc.outputs || [];
    this.kind = desc.model.class_name;
    var cfg = desc.model.config, self = this;
    this.layerConfigs = cfg.layers.map(function (l) { return { className: l.class_name, config: l.config, inbound: l.inbound_nodes || [] }; });
    this.calls = {};
    this.layerConfigs.forEach(function (l) {
      var name = l.config.name, impl = Live.layers[l.className];
      if (!impl) { throw new Error("layer type " + l.className + " (" + name + ") is not implemented in live.js"); }
      var weights = { list: [] };
      (desc.weights[name] || []).forEach(function (w) {
        var t = tf.tensor(Live.decodeWeight(w), w.shape, "float32");
        weights.list.push(t);
        if (w.name) { weights[w.name] = t; }
      });
      self.calls[name] = impl(l.config, weights);
    });
    if (this.kind === "Functional") {
      this.inputLayers = cfg.input_layers;
      this.outputLayers = cfg.output_layers;
      // Keras writes a single input or output as one [name, node, index] triple.
      if (typeof this.inputLayers[0] === "string") { this.inputLayers = [this.inputLayers]; }
      if (typeof this.outputLayers[0] === "string") { this.outputLayers = [this.outputLayers]; }
      this.byName = {};
      this.layerConfigs.forEach(function (l) { self.byName[l.config.name] = l; });
    } else if (this.kind !== "Sequential") {
      throw new Error("model kind " + this.kind + " is not supported");
    }
  }

  Model.prototype.inputDtype = function (i) {
    var spec = this.inputs[i];
    if (spec && spec.dtype) { return /int/.test(spec.dtype) ? "int32" : "float32"; }
    if (this.kind === "Sequential") {
      var first = this.layerConfigs[0];
      if (first.className === "InputLayer" && /int/.test(first.config.dtype || "")) { return "int32"; }
    }
    return "float32";
  };

  Model.prototype.toTensor = function (x, i) {
    if (x instanceof tf.Tensor) { return x; }
    return tf.tensor(x, undefined, this.inputDtype(i));
  };

  /* predict(inputs): inputs is one input, an array with one entry per model input, or an
   * object keyed by input name; each a tf.Tensor or a (nested) array with the batch first.
   * Returns a tf.Tensor (an array of them for several outputs); the caller disposes it. */
  Model.prototype.predict = function (inputs) {
    var self = this;
    return tf.tidy(function () {
      var n = self.kind === "Functional" ? self.inputLayers.length : 1, list;
      var isObject = inputs && typeof inputs === "object" && !Array.isArray(inputs) && !(inputs instanceof tf.Tensor) &&
        !ArrayBuffer.isView(inputs);
      if (isObject) {
        var specs = self.inputs.length ? self.inputs : self.inputLayers.map(function (r) { return { name: r[0] }; });
        list = specs.map(function (spec) {
          if (!(spec.name in inputs)) { throw new Error("missing model input '" + spec.name + "'"); }
          return inputs[spec.name];
        });
      } else if (n === 1) {
        list = Array.isArray(inputs) && inputs.length === 1 && inputs[0] instanceof tf.Tensor ? inputs : [inputs];
      } else {
        list = inputs;
      }
      if (list.length !== n) { throw new Error("the model takes " + n + " inputs, got " + list.length); }
      var tensors = list.map(function (x, i) { return self.toTensor(x, i); });
      return self.kind === "Sequential" ? self.runSequential(tensors[0]) : self.runFunctional(tensors);
    });
  };

  Model.prototype.runSequential = function (x) {
    var self = this;
    this.layerConfigs.forEach(function (l) { x = self.calls[l.config.name](x, {}); });
    return x;
  };

  Model.prototype.runFunctional = function (tensors) {
    var self = this, memo = {};
    this.inputLayers.forEach(function (ref, i) { memo[ref[0] + ":" + ref[1]] = tensors[i]; });

    function resolve(v) {
      if (isTensorRef(v)) {
        var h = v.config.keras_history;
        return output(h[0], h[1], h[2]);
      }
      if (Array.isArray(v)) { return v.map(resolve); }
      if (v && typeof v === "object") {
        var o = {};
        Object.keys(v).forEach(function (k) { o[k] = resolve(v[k]); });
        return o;
      }
      return v;
    }

    function output(layer, node, index) {
      var id = layer + ":" + node;
      if (!(id in memo)) {
        var l = self.byName[layer];
        if (!l || !l.inbound[node]) { throw new Error("the model description has no node " + id); }
        var call = l.inbound[node];
        var args = resolve(call.args || []), kwargs = resolve(call.kwargs || {});
        memo[id] = self.calls[layer].apply(null, args.concat([kwargs]));
      }
      var out = memo[id];
      return Array.isArray(out) ? out[index] : out;
    }

    var outs = this.outputLayers.map(function (r) { return output(r[0], r[1], r[2]); });
    return outs.length === 1 ? outs[0] : outs;
  };

  Live.Model = Model;

  // --- chunked work -----------------------------------------------------------------------------

  /* Run step() in slices of about `sliceMs` between which the browser can paint and handle
   * input. step() returns true while there is more to do (it may return a Promise of that).
   * Stops when step() returns anything else, when stop() is called, or when `signal` (an
   * AbortSignal) aborts; then calls onDone({stopped, steps}). Returns {stop, done}. */
  Live.chunked = function (step, opts) {
    opts = opts || {};
    var sliceMs = opts.sliceMs || 12, steps = 0, stopped = false, finished = false, resolveDone;
    var done = new Promise(function (r) { resolveDone = r; });
    function finish(err) {
      if (finished) { return; }
      finished = true;
      var result = { stopped: stopped, steps: steps, error: err || null };
      if (err && opts.onError) { opts.onError(err); }
      if (opts.onDone) { opts.onDone(result); }
      resolveDone(result);
    }
    function stop() { stopped = true; }
    if (opts.signal) {
      if (opts.signal.aborted) { stopped = true; }
      opts.signal.addEventListener("abort", stop);
    }
    function slice() {
      var start = performance.now();
      try {
        while (!stopped) {
          var more = step();
          steps++;
          if (more && typeof more.then === "function") {
            more.then(function (m) { if (m === true && !stopped) { setTimeout(slice, 0); } else { finish(); } },
              function (e) { finish(e); });
            return;
          }
          if (more !== true) { return finish(); }
          if (performance.now() - start > sliceMs) { setTimeout(slice, 0); return; }
        }
        finish();
      } catch (e) { finish(e); }
    }
    setTimeout(slice, 0);
    return { stop: function () { stop(); }, done: done };
  };

  // --- UI helpers: every text goes in as textContent -------------------------------------------

  var uid = 0;
  function nextId(prefix) { uid += 1; return "live-" + (prefix || "c") + "-" + uid; }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    return e;
  }

  function makeUI(root) {
    var ui = {};
    function place(node, opts) {
      var parent = (opts && opts.parent) || root;
      if (parent) { parent.appendChild(node); }
      return node;
    }
    ui.el = el;
    ui.row = function (opts) { return place(el("div", "live-row"), opts); };

    /* A range slider with a visible label and its value beside it. Arrow keys, Page Up/Down,
     * Home and End work (a native range input). onInput(value) runs while it moves. */
    ui.slider = function (label, opts) {
      opts = opts || {};
      var id = nextId("slider"), wrap = el("div", "live-field live-slider");
      var lab = el("label", null, label), input = el("input"), out = el("output", "live-value");
      lab.htmlFor = id;
      input.type = "range"; input.id = id;
      input.min = opts.min === undefined ? 0 : opts.min;
      input.max = opts.max === undefined ? 1 : opts.max;
      input.step = opts.step === undefined ? "any" : opts.step;
      input.value = opts.value === undefined ? input.min : opts.value;
      out.htmlFor = id;
      var format = opts.format || function (v) { return String(v); };
      // The value shown (and returned) is the one set, even where the thumb snaps to a step.
      var current = Number(input.value);
      function show() { out.textContent = format(current); input.setAttribute("aria-valuetext", out.textContent); }
      show();
      input.addEventListener("input", function () { current = Number(input.value); show(); if (opts.onInput) { opts.onInput(current); } });
      input.addEventListener("change", function () { if (opts.onChange) { opts.onChange(current); } });
      wrap.appendChild(lab); wrap.appendChild(input); wrap.appendChild(out);
      place(wrap, opts);
      return {
        el: wrap, input: input, label: lab, output: out,
        get value() { return current; },
        set value(v) { current = Number(v); input.value = v; show(); }
      };
    };

    ui.button = function (label, onClick, opts) {
      var b = el("button", "live-button" + (opts && opts.primary ? " live-primary" : ""), label);
      b.type = "button";
      if (onClick) { b.addEventListener("click", onClick); }
      return place(b, opts);
    };

    /* A select with a visible label; options: [{value, label}] or plain strings. */
    ui.select = function (label, options, onChange, opts) {
      opts = opts || {};
      var id = nextId("select"), wrap = el("div", "live-field"), lab = el("label", null, label), s = el("select");
      lab.htmlFor = id; s.id = id;
      options.forEach(function (o) {
        var opt = el("option", null, typeof o === "object" ? o.label : o);
        opt.value = typeof o === "object" ? o.value : o;
        s.appendChild(opt);
      });
      if (opts.value !== undefined) { s.value = opts.value; }
      if (onChange) { s.addEventListener("change", function () { onChange(s.value); }); }
      wrap.appendChild(lab); wrap.appendChild(s);
      place(wrap, opts);
      return { el: wrap, select: s, label: lab, get value() { return s.value; }, set value(v) { s.value = v; } };
    };

    function textField(kind) {
      return function (label, opts) {
        opts = opts || {};
        var id = nextId(kind), wrap = el("div", "live-field live-" + kind), lab = el("label", null, label);
        var input = el(kind === "textarea" ? "textarea" : "input");
        lab.htmlFor = id; input.id = id;
        if (kind === "text") { input.type = "text"; }
        if (kind === "number") { input.type = "number"; input.inputMode = "numeric"; }
        ["min", "max", "step", "maxLength", "rows", "placeholder"].forEach(function (k) { if (opts[k] !== undefined) { input[k] = opts[k]; } });
        if (opts.value !== undefined) { input.value = opts.value; }
        if (opts.onInput) { input.addEventListener("input", function () { opts.onInput(input.value); }); }
        if (opts.onChange) { input.addEventListener("change", function () { opts.onChange(input.value); }); }
        wrap.appendChild(lab); wrap.appendChild(input);
        place(wrap, opts);
        return { el: wrap, input: input, label: lab, get value() { return input.value; }, set value(v) { input.value = v; } };
      };
    }
    ui.text = textField("text");
    ui.textarea = textField("textarea");
    ui.number = textField("number");

    /* The seed of a result, shown and editable, so a result can be found again. onChange gets
     * the integer seed when the reader enters one (Enter or leaving the field). */
    ui.seedField = function (label, opts) {
      opts = opts || {};
      var f = ui.number(label || "Seed", { min: 0, max: 4294967295, step: 1, value: opts.value === undefined ? 1 : opts.value, parent: opts.parent });
      f.el.classList.add("live-seed");
      f.input.addEventListener("change", function () {
        var v = Math.floor(Number(f.input.value));
        if (!isFinite(v) || v < 0 || v > 4294967295) {
          if (opts.onInvalid) { opts.onInvalid("A seed is a whole number from 0 to 4294967295."); }
          return;
        }
        f.input.value = v;
        if (opts.onChange) { opts.onChange(v); }
      });
      return f;
    };

    ui.fieldset = function (legend, opts) {
      var f = el("fieldset", "live-fieldset");
      f.appendChild(el("legend", null, legend));
      return place(f, opts);
    };

    ui.link = function (text, href, opts) {
      var a = el("a", "live-link", text);
      a.href = href;
      return place(a, opts);
    };

    ui.paragraph = function (text, opts) { return place(el("p", "live-note", text), opts); };

    /* A status line read out by screen readers (aria-live). */
    ui.statusLine = function (opts) {
      var p = el("p", "live-status");
      p.setAttribute("role", "status");
      p.setAttribute("aria-live", "polite");
      place(p, opts);
      return { el: p, say: function (t) { p.textContent = String(t); } };
    };

    /* A canvas that shows a small image scaled up with square pixels. draw(values, w, h,
     * channels) takes values in [0, 1] (row-major, channels last: 1 grey, 3 RGB). The canvas
     * is an image for assistive technology; set its text alternative with describe(text). */
    ui.canvas = function (opts) {
      opts = opts || {};
      var c = el("canvas", "live-canvas"), scale = opts.scale || 16;
      c.width = (opts.width || 8) * scale; c.height = (opts.height || 8) * scale;
      c.setAttribute("role", "img");
      c.setAttribute("aria-label", opts.label || "Generated image");
      var small = document.createElement("canvas");
      place(c, opts);
      return {
        el: c,
        draw: function (values, w, h, channels) {
          channels = channels || 1;
          small.width = w; small.height = h;
          var ctx = small.getContext("2d"), img = ctx.createImageData(w, h);
          for (var i = 0; i < w * h; i++) {
            for (var k = 0; k < 3; k++) {
              var v = values[i * channels + (channels === 1 ? 0 : k)];
              img.data[4 * i + k] = Math.round(255 * Math.min(1, Math.max(0, opts.invert ? 1 - v : v)));
            }
            img.data[4 * i + 3] = 255;
          }
          ctx.putImageData(img, 0, 0);
          var big = c.getContext("2d");
          big.imageSmoothingEnabled = false;
          big.drawImage(small, 0, 0, c.width, c.height);
        },
        describe: function (text) { c.setAttribute("aria-label", String(text)); },
        toBlob: function () { return new Promise(function (r) { c.toBlob(r, "image/png"); }); }
      };
    };

    return ui;
  }
  Live.makeUI = makeUI;
  Live.ui = makeUI(null);
  Live.seedInput = Live.ui.seedField;

  /* Let the reader keep a result: save a Blob under a file name (works from file:// too). */
  Live.download = Live.ui.download = function (filename, blob) {
    var url = URL.createObjectURL(blob), a = document.createElement("a");
    a.href = url; a.download = filename; a.hidden = true;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(url); a.remove(); }, 1000);
  };

  // --- widgets -----------------------------------------------------------------------------------

  function addStylesheet() {
    if (document.querySelector("link[data-live-css]")) { return; }
    var link = document.createElement("link");
    link.rel = "stylesheet"; link.href = Live.base + "live.css";
    link.setAttribute("data-live-css", "");
    document.head.appendChild(link);
  }

  /* Each widget div gets a bar with a Start button and a status line, then, once started, a
   * panel that init() fills. init may return a Promise. options.backend: "cpu" (default) or
   * "webgl"; options.startLabel: the button's text. */
  Live.widget = function (name, init, options) {
    options = options || {};
    function setup() {
      addStylesheet();
      var nodes = document.querySelectorAll('.live-widget[data-widget="' + name + '"]');
      Array.prototype.forEach.call(nodes, function (node) { attach(node, init, options); });
    }
    if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", setup); }
    else { setup(); }
  };

  function attach(node, init, options) {
    if (node.liveState) { return; }
    node.liveState = "waiting";
    node.classList.add("live-enhanced");
    var bar = el("div", "live-bar"), ui = makeUI(null);
    var start = ui.button(options.startLabel || "Start the live demo", null, { parent: bar, primary: true });
    var status = ui.statusLine({ parent: bar });
    status.say("Live demo: runs the site's own trained model in your browser.");
    node.insertBefore(bar, node.firstChild);
    var observer = null;

    function fail(err) {
      node.liveState = "failed";
      node.classList.add("live-failed");
      start.hidden = true;
      status.say("Live demo unavailable: " + (err && err.message ? err.message : String(err)) + ". The figure below is from the build.");
      if (window.console && console.warn) { console.warn("live widget " + node.dataset.widget + ": " + (err && err.message)); }
    }

    function begin() {
      if (node.liveState !== "waiting") { return; }
      node.liveState = "loading";
      node.liveStartedAt = performance.now();   // read by scripts/bench_live.py
      if (observer) { observer.disconnect(); }
      start.hidden = true;
      var loading = "Loading the model…";
      status.say(loading);
      var urls = (node.dataset.model || "").split(/\s+/).filter(Boolean);
      Live.loadRuntime(options.backend).then(function () {
        return Promise.all(urls.map(Live.loadModel));
      }).then(function (list) {
        var models = {};
        list.forEach(function (m, i) {
          models[Live.modelKey(urls[i]).split("/").pop()] = m;
          models[Live.modelKey(urls[i])] = m;
        });
        var panel = el("div", "live-panel");
        bar.insertAdjacentElement("afterend", panel);
        var wui = makeUI(panel);
        wui.panel = panel;
        wui.status = status;
        wui.say = status.say;
        wui.fail = fail;
        wui.download = Live.download;
        return Promise.resolve(init(node, models, wui)).then(function () {
          node.liveState = "ready";
          // A widget that said nothing while starting must not be left saying "Loading".
          if (status.el.textContent === loading) { status.say(""); }
          node.liveReadyAt = performance.now();
          node.classList.add("live-ready");
          node.dispatchEvent(new CustomEvent("live-ready", { bubbles: true }));
        });
      }).catch(fail);
    }

    start.addEventListener("click", begin);
    node.liveStart = begin;
    // A widget starts by itself only once the reader has scrolled, when it comes within 200 px
    // of the window: opening a page loads no model, even for a widget on the first screen (that
    // one waits for its Start button or the first scroll). data-manual on the div (or
    // window.LIVE_MANUAL, for benchmarks) waits for the Start button alone.
    if ("IntersectionObserver" in window && !node.hasAttribute("data-manual") && !window.LIVE_MANUAL) {
      afterReaderScrolls(function () {
        if (node.liveState !== "waiting") { return; }
        observer = new IntersectionObserver(function (entries) {
          if (entries.some(function (e) { return e.isIntersecting; })) { begin(); }
        }, { rootMargin: "200px 0px" });
        observer.observe(node);
      });
    }
  }

  /* Calls `then` at the first scroll after the page's load event: the browser's own scrolling
   * while the page opens (to a #fragment, or back to where the reader was) does not count. */
  var scrolled = false, waitingForScroll = [];
  function afterReaderScrolls(then) {
    if (scrolled) { then(); return; }
    if (!waitingForScroll.length) {
      var listen = function () {
        window.addEventListener("scroll", function onScroll() {
          window.removeEventListener("scroll", onScroll);
          scrolled = true;
          waitingForScroll.splice(0).forEach(function (f) { f(); });
        }, { passive: true });
      };
      if (document.readyState === "complete") { listen(); }
      else { window.addEventListener("load", function () { setTimeout(listen, 0); }, { once: true }); }
    }
    waitingForScroll.push(then);
  }
})();
