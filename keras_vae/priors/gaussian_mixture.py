"""The math of a mixture of diagonal Gaussians, in `keras.ops`: the priors
that are one (`MixtureOfGaussians`, `VampPrior`) differ only in where
their components come from."""

import math

import keras
from keras import ops

from keras_vae.utils.log_variance import clip_log_variance

_LOG_2PI = math.log(2.0 * math.pi)


def mixture_log_prob(z, means, log_vars, log_weights):
    """`log sum_c w_c N(z; means_c, diag(exp(log_vars_c)))` per example.

    Args:
        z: Shape `(batch,) + latent_shape`; the result is in its dtype.
        means: The components' means, shape `(C, size)`, `size` the
            latent shape's product.
        log_vars: Their log-variances, of the same shape, clipped to
            `[-30, 20]` as everywhere in keras-vae.
        log_weights: The log-weights of the components, shape `(C,)`,
            normalized (their exponentials sum to 1).

    Returns:
        A tensor of shape `(batch,)`.
    """
    dtype = z.dtype
    z = ops.reshape(z, (ops.shape(z)[0], 1, -1))  # (batch, 1, size)
    means = ops.cast(means, dtype)
    log_vars = clip_log_variance(ops.cast(log_vars, dtype))
    squared = ops.square(z - means) / ops.exp(log_vars)
    # (batch, C): the log-density of each component.
    log_p = -0.5 * ops.sum(_LOG_2PI + log_vars + squared, axis=-1)
    return ops.logsumexp(log_p + ops.cast(log_weights, dtype), axis=-1)


def mixture_sample(
    means, log_vars, components, latent_shape, seed, temperature
):
    """Draws one `z` from each chosen component: `means[c] + exp(0.5 *
    log_vars[c]) * epsilon * temperature` for each `c` of `components`
    (int indices, shape `(n,)`), reshaped to `(n,) + latent_shape`;
    `seed` as `keras.random` takes it."""
    means = ops.take(means, components, axis=0)
    log_vars = clip_log_variance(ops.take(log_vars, components, axis=0))
    epsilon = keras.random.normal(ops.shape(means), seed=seed)
    z = means + ops.exp(0.5 * log_vars) * epsilon * temperature
    return ops.reshape(z, (-1,) + tuple(latent_shape))
