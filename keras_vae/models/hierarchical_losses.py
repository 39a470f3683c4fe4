"""A `HierarchicalVAE`'s top-down pass and its objective, in `keras.ops`
and `keras.random`."""

import math

from keras import ops

from keras_vae import backend
from keras_vae.utils.log_variance import clip_log_variance
from keras_vae.utils.normal import normal_log_prob
from keras_vae.utils.soft_clamp import soft_clamp


class HierarchicalLossesMixin:
    """The top-down pass of `keras_vae.HierarchicalVAE` and its ELBO and
    IWAE losses (see the class docstring)."""

    def _log_variance(self, log_var):
        return soft_clamp(ops.cast(log_var, "float32"), self.log_variance_bound)

    def _features(self, inputs, training):
        features = self.encoder(self._encoder_inputs(inputs), training=training)
        if not isinstance(features, (list, tuple)):
            features = [features]
        return list(features)

    def _top_down(self, features, choose, training, with_prior=True):
        """Runs the groups from the top down and returns the top-down state
        after the last one.

        For each group `i`, `choose(i, q, p)` returns `z_i`, where `q` is
        `(q_mean, q_log_var)` of the posterior (`None` without `features`)
        and `p` is `(p_mean, p_log_var)` of the prior (`None` for the top
        group's `N(0, I)`, and without `with_prior`). Log-variances come
        soft-clamped where `log_variance_bound` is set.
        """
        h = None
        for i in range(self.num_groups):
            q = p = None
            if features is not None:
                net_inputs = features[0] if i == 0 else [h, features[i]]
                q_mean, q_log_var = self.posteriors[i](
                    net_inputs, training=training
                )
                q = (ops.cast(q_mean, "float32"), self._log_variance(q_log_var))
            if i > 0 and with_prior:
                p_mean, p_log_var = self.priors[i - 1](h, training=training)
                p = (ops.cast(p_mean, "float32"), self._log_variance(p_log_var))
            z = choose(i, q, p)
            h = self.merges[i](z if i == 0 else [h, z], training=training)
        return h

    def _split_groups(self, z):
        """The flat `z` of shape `(n, D)` as a list of groups."""
        groups, start = [], 0
        for shape in self.group_shapes:
            size = math.prod(shape)
            group = z[:, start : start + size]
            groups.append(ops.reshape(group, (-1,) + shape))
            start += size
        return groups

    @staticmethod
    def _flatten_groups(groups):
        return ops.concatenate(
            [ops.reshape(g, (ops.shape(g)[0], -1)) for g in groups], axis=-1
        )

    def _posterior_draw(self, kls):
        """A `choose` that draws `z_i ~ q` and adds each group's KL."""

        def choose(i, q, p):
            q_mean, q_log_var = q
            if p is None:
                p = (ops.zeros_like(q_mean), ops.zeros_like(q_log_var))
            kls.append(self.group_kl_layers[i]([q_mean, q_log_var, *p]))
            epsilon = backend.replica_normal(
                ops.shape(q_mean), "float32", self.seed_generator
            )
            scale = ops.exp(0.5 * clip_log_variance(q_log_var))
            return q_mean + scale * epsilon

        return choose

    def _training_terms(self, inputs, training):
        """`compute_losses` and the KL of each group, batch means."""
        # 8-bit pixels under a density get `x + u` (see `VAE._dequantized`).
        inputs = self._dequantized(inputs)
        if self.num_importance_samples > 1:
            return self._importance_weighted_losses(inputs, training)
        kls = []
        features = self._features(inputs, training)
        h = self._top_down(features, self._posterior_draw(kls), training)
        params = self.decoder(h, training=training)
        nll = self._negative_log_likelihood(self._data(inputs), params)
        reconstruction_loss = ops.mean(nll)
        kl_loss, others = self._kl_and_other_losses()
        group_kls = [ops.mean(kl) for kl in kls]
        return (
            reconstruction_loss + kl_loss + others,
            reconstruction_loss,
            kl_loss,
            group_kls,
        )

    def _training_log_weights(self, inputs, epsilon, training):
        # With each group's KL, which the metrics log.
        return self._log_weights(
            inputs, epsilon, training, "float32", with_kl=True
        )

    def log_importance_weights(
        self,
        inputs,
        epsilon,
        training=False,
        dtype="float32",
        return_log_likelihood=False,
    ):
        """Returns `log p(x|z_k) + sum_i log p(z_i,k|z_<i,k) - sum_i log
        q(z_i,k|x, z_<i,k)`, shape `(K, batch)`.

        `epsilon` has shape `(K, batch) + latent_shape`: the noise of every
        group, flattened and concatenated, top first. Each draw runs the
        top-down pass, `z_i = q_mean_i + sigma_i * epsilon_i` with the
        posterior and prior of group `i` computed from the draws above.
        The log-densities are computed in `dtype`. With
        `return_log_likelihood=True` it also returns `log p(x|z_k)`.
        """
        log_w, log_px_z, _ = self._log_weights(
            inputs, epsilon, training, dtype, with_kl=False
        )
        if return_log_likelihood:
            return log_w, log_px_z
        return log_w

    def _log_weights(self, inputs, epsilon, training, dtype, with_kl):
        x = self._data(inputs)
        k = ops.shape(epsilon)[0]
        # The encoder runs once per example; its features, the data and
        # the noise are laid out draw-major: row `k * batch + b`.
        features = [
            ops.tile(f, (k,) + (1,) * (len(f.shape) - 1))
            for f in self._features(inputs, training)
        ]
        epsilon = ops.cast(epsilon, dtype)
        epsilon = ops.reshape(epsilon, (-1,) + self.latent_shape)
        noise = self._split_groups(epsilon)
        log_ratio = []
        kls = []

        def choose(i, q, p):
            q_mean, q_log_var = q
            if p is None:
                p = (ops.zeros_like(q_mean), ops.zeros_like(q_log_var))
            if with_kl:
                kls.append(self.group_kl_layers[i]([q_mean, q_log_var, *p]))
            q_mean, q_log_var = (ops.cast(t, dtype) for t in q)
            p_mean, p_log_var = (ops.cast(t, dtype) for t in p)
            scale = ops.exp(0.5 * clip_log_variance(q_log_var))
            z = q_mean + scale * noise[i]
            log_ratio.append(
                normal_log_prob(z, p_mean, p_log_var)
                - normal_log_prob(z, q_mean, q_log_var)
            )
            return ops.cast(z, "float32")

        h = self._top_down(features, choose, training)
        params = self.decoder(h, training=training)
        tiled_x = ops.tile(x, (k,) + (1,) * len(self.data_shape))
        log_px_z = -self._negative_log_likelihood(tiled_x, params)
        log_px_z = ops.reshape(ops.cast(log_px_z, dtype), (k, -1))
        log_ratio = ops.sum(ops.stack(log_ratio), axis=0)
        log_w = log_px_z + ops.reshape(log_ratio, (k, -1))
        group_kls = [ops.mean(kl) for kl in kls]
        return log_w, log_px_z, group_kls
