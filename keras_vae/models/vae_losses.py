"""A VAE's objective: the negative ELBO or the IWAE bound of a batch, in
nats per example, in `keras.ops` and `keras.random`."""

import math

import keras
from keras import ops

from keras_vae import backend
from keras_vae.models import preprocessing as preprocessing_module
from keras_vae.utils.log_variance import clip_log_variance
from keras_vae.utils.normal import normal_log_prob


class LossesMixin:
    """`keras_vae.VAE`'s losses (see the class docstring).

    `kl_loss` means the same under both objectives: the sum of the losses
    the KL layers add (the beta-weighted KL, with free bits). Other losses
    the layers add (weight regularizers) count in `loss` only. Under the
    ELBO `loss = reconstruction_loss + kl_loss + others`; under the IWAE
    bound `loss = bound + others`, and `kl_loss` is reported, not
    optimized.
    """

    @property
    def _dequantizes(self):
        """Whether `x` holds 8-bit values that a density models: they are
        then dequantized in the training and test steps (see
        `_dequantized`)."""
        return (
            self._preprocessing_argument == preprocessing_module.PIXELS_8BIT
            and self.likelihood.continuous
        )

    def _dequantized(self, inputs, noise=None):
        """`inputs` with `x + u`, `u ~ U[0, 1)` per value, where
        `_dequantizes` (else unchanged).

        A density `p` over pixel values then bounds the probability of the
        8-bit image: `log P(x) >= E_u log p(x + u)` (Theis et al., 2016), so
        its negative log-likelihood is in the bits per dimension of the
        discrete likelihoods, with no correction (the data's units already
        have bins of width 1). `noise` is `u`, or None to draw it.
        """
        if not self._dequantizes:
            return inputs
        x = ops.cast(self._data(inputs), "float32")
        if noise is None:
            noise = keras.random.uniform(ops.shape(x), seed=self.seed_generator)
        return self._with_data(inputs, x + ops.cast(noise, "float32"))

    def _with_data(self, inputs, x):
        """`inputs` with their data `x` replaced."""
        return x

    def _negative_log_likelihood(self, x, params):
        """`-log p(x|z)` per example, of `x` in its own units."""
        if self.likelihood.pixel_values:
            # The likelihood models the pixel values themselves.
            return self.likelihood.negative_log_likelihood(x, params)
        nll = self.likelihood.negative_log_likelihood(
            self._model_units(x), params
        )
        if self.preprocessing is not None and self.likelihood.continuous:
            # The density of `x` is that of `u = x * scale + offset` times
            # |du/dx|.
            nll -= preprocessing_module.log_abs_jacobian(
                self.preprocessing, self.data_shape
            )
        return nll

    def compute_losses(self, inputs, training=False):
        """Returns `(loss, reconstruction_loss, kl_loss)` of one batch: batch
        means in nats (see the class docstring)."""
        return self._training_terms(inputs, training)[:3]

    def _training_terms(self, inputs, training):
        """The loss terms of one batch, `loss` first, as the metrics log
        them."""
        inputs = self._dequantized(inputs)
        if self.num_importance_samples > 1:
            return self._importance_weighted_losses(inputs, training)
        x = self._data(inputs)
        _, _, z = self.encoder(self._encoder_inputs(inputs), training=training)
        params = self.decoder(
            self._decoder_inputs(z, inputs), training=training
        )
        nll = self._negative_log_likelihood(x, params)
        reconstruction_loss = ops.mean(nll)
        kl_loss, others = self._kl_and_other_losses()
        loss = reconstruction_loss + kl_loss + others
        return loss, reconstruction_loss, kl_loss

    def _kl_and_other_losses(self):
        """The sums of the losses the KL layers added, and of the others."""
        kl_ids = {id(t) for layer in self.kl_layers for t in layer.losses}
        losses = self.losses
        kl_loss = _sum_losses([t for t in losses if id(t) in kl_ids])
        others = _sum_losses([t for t in losses if id(t) not in kl_ids])
        return kl_loss, others

    def _importance_weighted_losses(self, inputs, training):
        k = self.num_importance_samples
        batch = ops.shape(self._data(inputs))[0]
        epsilon = backend.replica_normal(
            (k, batch) + self.latent_shape, None, self.seed_generator
        )
        log_w, log_px_z, *more = self._training_log_weights(
            inputs, epsilon, training
        )
        bound = ops.logsumexp(log_w, axis=0) - math.log(k)
        # The bound has its own KL: the KL layers' losses are reported.
        kl_loss, others = self._kl_and_other_losses()
        loss = -ops.mean(bound) + others
        return (loss, -ops.mean(log_px_z), kl_loss, *more)

    def _training_log_weights(self, inputs, epsilon, training):
        """`(log w, log p(x|z))` of the IWAE objective, and whatever else
        the model's training terms log (nothing here)."""
        return self.log_importance_weights(
            inputs, epsilon, training=training, return_log_likelihood=True
        )

    def log_importance_weights(
        self,
        inputs,
        epsilon,
        training=False,
        dtype="float32",
        return_log_likelihood=False,
    ):
        """Returns `log p(x|z_k) + log p(z_k) - log q(z_k|x)`, shape `(K,
        batch)`, for `z_k = z_mean + sigma * epsilon[k]`.

        `epsilon` has shape `(K, batch) + latent_shape`. `log p(z)` and
        `log q(z|x)` are computed in `dtype` (float64 needs JAX's
        `jax_enable_x64` on JAX). With `return_log_likelihood=True` it
        also returns `log p(x|z_k)`.
        """
        x = self._data(inputs)
        z_mean, z_log_var, _ = self.encoder(
            self._encoder_inputs(inputs), training=training
        )
        z_mean = ops.cast(z_mean, dtype)
        # Clipped to [-30, 20] as in `Sampling` and the KL layer.
        z_log_var = clip_log_variance(ops.cast(z_log_var, dtype))
        scale = ops.exp(0.5 * z_log_var)
        z = z_mean + scale * ops.cast(epsilon, dtype)
        event_ndims = len(self.latent_shape)
        zeros = ops.zeros_like(z_mean)
        log_ratio = normal_log_prob(
            z, zeros, zeros, event_ndims
        ) - normal_log_prob(z, z_mean, z_log_var, event_ndims)
        k = ops.shape(z)[0]
        flat_z = ops.reshape(ops.cast(z, "float32"), (-1,) + self.latent_shape)
        params = self.decoder(
            self._decoder_inputs(flat_z, inputs, repeats=k), training=training
        )
        tiled_x = ops.tile(x, (k,) + (1,) * len(self.data_shape))
        log_px_z = -self._negative_log_likelihood(tiled_x, params)
        log_px_z = ops.reshape(ops.cast(log_px_z, dtype), (k, -1))
        log_w = log_px_z + log_ratio
        if return_log_likelihood:
            return log_w, log_px_z
        return log_w


def _sum_losses(losses):
    if not losses:
        return ops.convert_to_tensor(0.0, "float32")
    return ops.sum(ops.stack([ops.cast(t, "float32") for t in losses]))
