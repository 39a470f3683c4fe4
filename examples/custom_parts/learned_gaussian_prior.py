"""A prior of your own: a diagonal Gaussian whose mean and variance are
learned with the VAE, `p(z) = N(m, diag(exp(v)))`.

Written against keras-vae's documented names only (`keras_vae.priors.Prior`
and what it documents). Registered, so `.keras` files that hold it load
wherever this module has been imported. See
docs/guides/writing_your_own_parts.md.
"""

import math

import keras
from keras import ops

import keras_vae


@keras.saving.register_keras_serializable(package="custom_parts")
class LearnedGaussianPrior(keras_vae.priors.Prior):
    """A diagonal Gaussian prior with a learned mean and log-variance."""

    def build(self, input_shape):
        super().build(input_shape)  # Sets `self.latent_shape`.
        self.mean = self.add_weight(
            shape=self.latent_shape, initializer="zeros", name="mean"
        )
        self.log_var = self.add_weight(
            shape=self.latent_shape, initializer="zeros", name="log_var"
        )

    def log_prob(self, z):
        # One log-density per example: summed over every latent axis.
        mean = ops.cast(self.mean, z.dtype)
        log_var = ops.cast(self.log_var, z.dtype)
        log_p = -0.5 * (
            math.log(2.0 * math.pi)
            + log_var
            + ops.square(z - mean) / ops.exp(log_var)
        )
        return ops.sum(ops.reshape(log_p, (ops.shape(z)[0], -1)), axis=-1)

    def sample(self, num_samples, seed=None, temperature=1.0):
        epsilon = keras.random.normal(
            (num_samples,) + tuple(self.latent_shape), seed=seed
        )
        return self.mean + ops.exp(0.5 * self.log_var) * epsilon * temperature
