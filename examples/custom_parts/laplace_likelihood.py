"""A likelihood of your own: a Laplace density with a learned scale per
feature, `p(x|z) = prod_i Laplace(x_i; mu_i(z), b_i)`, whose negative
log-likelihood is `|x - mu| / b + log(2 b)` per value: heavier tails than a
Gaussian, so a few outlying values cost less.

Written against keras-vae's documented names only
(`keras_vae.likelihoods.Likelihood` and what it documents). Registered, so
`.keras` files that hold it load wherever this module has been imported.
See docs/guides/writing_your_own_parts.md.
"""

import math

import keras
from keras import ops

import keras_vae


@keras.saving.register_keras_serializable(package="custom_parts")
class LaplaceLikelihood(keras_vae.likelihoods.Likelihood):
    """A Laplace likelihood with a learned per-feature log-scale."""

    # A density over real values: a preprocessing's Jacobian applies.
    continuous = True

    def build(self, input_shape):
        # The decoder's output shape, `(batch,) + data_shape`.
        self.log_scale = self.add_weight(
            shape=tuple(input_shape[1:]), initializer="zeros", name="log_scale"
        )

    def negative_log_likelihood(self, x, params):
        x = ops.cast(x, "float32")
        mean = ops.cast(params, "float32")
        log_scale = ops.cast(self.log_scale, "float32")
        nll = ops.abs(x - mean) / ops.exp(log_scale) + log_scale + math.log(2.0)
        return ops.sum(ops.reshape(nll, (ops.shape(x)[0], -1)), axis=-1)

    def mean(self, params):
        return ops.cast(params, "float32")

    def draw(self, params, seed=None):
        # The inverse CDF at u ~ U(-1/2, 1/2).
        u = keras.random.uniform(ops.shape(params), -0.5, 0.5, seed=seed)
        scale = ops.exp(ops.cast(self.log_scale, "float32"))
        return self.mean(params) - scale * ops.sign(u) * ops.log1p(
            -2.0 * ops.abs(u)
        )

    def output_channels(self, data_channels):
        # One decoder output (the mean) per value of the data.
        return data_channels
