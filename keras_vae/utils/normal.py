"""The log-density of diagonal Gaussians, in `keras.ops`."""

import math

from keras import ops

from keras_vae.utils.log_variance import clip_log_variance

_LOG_2PI = math.log(2.0 * math.pi)


def normal_log_prob(z, mean, log_var, event_ndims=None):
    """`log N(z; mean, exp(log_var))` of diagonal Gaussians, summed over the
    last `event_ndims` axes (every axis but the first when None), in the
    dtype of `z`. `log_var` is clipped to `[-30, 20]`, as where `z` was
    drawn."""
    log_var = clip_log_variance(log_var)
    squared = ops.square(z - mean) / ops.exp(log_var)
    log_p = -0.5 * (_LOG_2PI + log_var + squared)
    ndim = len(log_p.shape)
    if event_ndims is None:
        event_ndims = ndim - 1
    return ops.sum(log_p, axis=tuple(range(ndim - event_ndims, ndim)))
