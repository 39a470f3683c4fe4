"""The deterministic score of the `score` signatures: an importance-sampled
negative log-likelihood with noise fixed at export time."""

import math

import keras
import numpy as np
from keras import ops

from keras_vae import backend
from keras_vae.utils.argument_checks import check_positive_int


def score_noise(latent_shape, num_samples, seed=0):
    """The fixed noise of the `score` signatures: `epsilon`, float32 of
    shape `(num_samples,) + latent_shape`, standard normal, drawn with
    `np.random.default_rng(seed)`.

    Args:
        latent_shape: The shape of `z` without the batch axis
            (`vae.latent_shape`).
        num_samples: `K`, the number of importance samples per example.
        seed: The integer seed. Defaults to 0, as `export_saved_model`.

    Returns:
        A float32 NumPy array.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(
            "Invalid value for argument `seed`: expected an integer. "
            f"Received: seed={seed!r}"
        )
    rng = np.random.default_rng(int(seed))
    shape = (num_samples,) + tuple(latent_shape)
    return rng.standard_normal(shape).astype("float32")


def fixed_noise_scores(vae, inputs, epsilon):
    """`-log p(x)` per example, in nats, estimated with the same `K` noise
    draws for every example.

    `log p(x) ≈ logsumexp_k(log w_k) - log K` with the importance weights
    `w_k = p(x|z_k) p(z_k) / q(z_k|x)` of `vae.log_importance_weights`, for
    `z_k = z_mean + sigma * epsilon[k]`: the estimate of
    `keras_vae.evaluation.log_likelihood`, but with `epsilon` broadcast over
    the batch instead of drawn anew, so an example always gets the same
    score. The densities and the log-sum-exp are computed in float64 (in
    float32 on JAX unless `jax_enable_x64` is on). A
    density over 8-bit pixel values (a Gaussian with
    `preprocessing="8bit"`), which `log_likelihood` evaluates at `x + u`
    for a random `u ~ U[0, 1)`, is evaluated at the centre of each value's
    bin, `x + 1/2`: fixed as the noise is.

    Args:
        vae: A `keras_vae.VAE`.
        inputs: The model's inputs, as `vae.log_importance_weights` takes
            them: `x`, or `[x, one_hot_labels]` for a `ConditionalVAE`; `x`
            in the data's own units (`vae.input_dtype`).
        epsilon: The noise, shape `(K,) + vae.latent_shape`
            (`score_noise`).

    Returns:
        A tensor of shape `(batch,)`, float64 where the densities are.
    """
    inputs = keras.tree.map_structure(ops.convert_to_tensor, inputs)
    data = ops.cast(vae.data_of(inputs), "float32")
    inputs = vae.dequantize(inputs, ops.full_like(data, 0.5))
    epsilon = ops.convert_to_tensor(epsilon, "float32")
    k = int(epsilon.shape[0])
    batch = ops.shape(vae.data_of(inputs))[0]
    epsilon = ops.broadcast_to(
        ops.expand_dims(epsilon, 1), (k, batch) + tuple(vae.latent_shape)
    )
    # The KL layer's `add_loss` stays in the scope, out of `vae.losses`.
    with keras.StatelessScope():
        log_w = vae.log_importance_weights(
            inputs, epsilon, training=False, dtype=backend.wide_float()
        )
    return -(ops.logsumexp(log_w, axis=0) - math.log(k))
