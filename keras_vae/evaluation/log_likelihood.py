import math
import weakref

import keras
import numpy as np
from keras import ops

from keras_vae import backend
from keras_vae.utils.argument_checks import check_positive_int

# One compiled function per model, so repeated estimates do not retrace. The
# function holds the model weakly, so the cache never keeps a model alive.
_COMPILED = weakref.WeakKeyDictionary()


def log_likelihood(
    vae,
    x,
    num_samples=5000,
    batch_size=None,
    max_elements=2**24,
    seed=None,
    verbose="auto",
    labels=None,
):
    """Estimates `log p(x)` per example by importance sampling, in nats.

    `log p(x) ≈ log (1/K) Σ_k p(x|z_k) p(z_k) / q(z_k|x)` with
    `z_k ~ q(z|x)`, computed in float64 with log-sum-exp (Burda et al.'s
    IWAE bound: a lower bound in expectation that tightens as `K` grows;
    with `K = 1` its mean is the ELBO; see `VAE.log_importance_weights`).
    On JAX the densities are in float32 unless `jax_enable_x64` is on.
    Work is split into chunks of at
    most `max_elements` decoded values, so memory stays bounded for any `K`.

    Args:
        vae: A `keras_vae.VAE` or `keras_vae.ConditionalVAE`.
        x: Data, an array of shape `(n,) + vae.data_shape`.
        num_samples: `K`, the number of importance samples per example.
        batch_size: Examples per chunk; by default as many as fit in
            `max_elements` with all `K` samples, at least 1.
        max_elements: The most decoded values (`examples * samples *
            data size`) held at once.
        seed: Optional integer for reproducible estimates.
        verbose: `"auto"`, 0, 1 or 2, as in `keras.Model.predict`: a
            progress bar over the examples with its ETA (1, and `"auto"`),
            one line when done (2), or nothing (0).
        labels: The class of each example, for a `ConditionalVAE` only
            (which needs them): integer indices of shape `(n,)`, one-hot
            rows of shape `(n, num_classes)`, or one index for all. The
            estimate is then of `log p(x|y)`.

    Returns:
        A float64 NumPy array of shape `(n,)`: the estimates of `log p(x)`.
        Report `-mean` as the test NLL in nats, and
        `-mean / (data_size * log 2)` in bits per dimension.

    Example:

    ```python
    nll = -keras_vae.evaluation.log_likelihood(vae, x_test[:100]).mean()
    ```

    Reference:
        Burda, Grosse and Salakhutdinov, "Importance Weighted
        Autoencoders", ICLR 2016.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    max_elements = check_positive_int(max_elements, "max_elements")
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    if verbose == "auto":
        verbose = 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(
            'Invalid value for argument `verbose`: expected "auto", 0, 1 '
            f"or 2. Received: verbose={verbose!r}"
        )
    inputs = vae.model_inputs(x, labels)
    num_examples = len(vae.data_of(inputs))
    data_size = math.prod(vae.data_shape)
    # Examples per batch, then samples per chunk, so that one chunk holds at
    # most `max_elements` decoded values (one example at least).
    largest_batch = max(1, max_elements // data_size)
    if batch_size is None:
        batch_size = max(1, max_elements // (data_size * num_samples))
    batch_size = min(batch_size, largest_batch)
    samples_per_chunk = max(
        1, min(num_samples, max_elements // (data_size * batch_size))
    )
    if vae not in _COMPILED:
        _COMPILED[vae] = _log_weights_fn(vae)
    estimate, generator = _COMPILED[vae]
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] >> 1)
    generator.state.assign(
        ops.convert_to_tensor([seed, 0], dtype=generator.state.dtype)
    )
    progress = keras.utils.Progbar(
        num_examples, verbose=verbose, unit_name="example"
    )
    results = []
    for start in range(0, num_examples, batch_size):
        batch = keras.tree.map_structure(
            lambda a: ops.convert_to_tensor(a[start : start + batch_size]),
            inputs,
        )
        chunks = []
        for first in range(0, num_samples, samples_per_chunk):
            k = min(samples_per_chunk, num_samples - first)
            chunks.append(ops.convert_to_numpy(estimate(batch, k)))
        log_w = np.concatenate(chunks, axis=0).astype("float64")  # (K, batch)
        log_px = np.logaddexp.reduce(log_w, axis=0) - math.log(num_samples)
        results.append(log_px)
        progress.update(start + len(log_px))
    return np.concatenate(results)


def _log_weights_fn(vae):
    """A compiled `(inputs, K) -> log w` of shape `(K, batch)`, float64,
    and the `SeedGenerator` of its noise; `inputs` are the model's: `x`,
    or `(x, y_one_hot)`."""
    vae_ref = weakref.ref(vae)
    generator = keras.random.SeedGenerator(0)

    def log_weights(inputs, num_samples):
        vae = vae_ref()
        batch = ops.shape(vae.data_of(inputs))[0]
        shape = (num_samples, batch) + tuple(vae.latent_shape)
        dtype = backend.wide_float()
        epsilon = keras.random.normal(shape, dtype=dtype, seed=generator)
        # 8-bit values under a density: one draw of `x + u` per example and
        # chunk (see `VAE.dequantize`), still a bound on `log P(x)`.
        noise = keras.random.uniform(
            ops.shape(vae.data_of(inputs)), seed=generator
        )
        inputs = vae.dequantize(inputs, noise)
        return vae.log_importance_weights(inputs, epsilon, dtype=dtype)

    return backend.inference_function(log_weights), generator
