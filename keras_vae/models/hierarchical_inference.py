"""A `HierarchicalVAE`'s inference and generation: the top-down pass
along the posterior means, and ancestral sampling from the prior."""

from keras import ops

from keras_vae.utils.log_variance import clip_log_variance


class HierarchicalInferenceMixin:
    """`keras_vae.HierarchicalVAE`'s `call`, `encode`, `sample` and the
    tensor functions behind them and the exports."""

    def call(self, inputs, training=False):
        features = self._features(inputs, training)
        h = self._top_down(
            features, lambda i, q, p: q[0], training, with_prior=False
        )
        params = self.decoder(h, training=training)
        return self._decoded_mean(params)

    def encode(self, x, batch_size=256):
        """Returns `(z_mean, z_log_var)` of the posterior of every group,
        flattened and concatenated (top first), as NumPy arrays, along the
        deterministic path: each group's posterior given the means of the
        groups above."""
        return super().encode(x, batch_size=batch_size)

    def sample(self, num_samples, seed=None, temperature=1.0):
        """Draws `z` from the prior, group by group, and returns the mean of
        `p(x|z)` for each, as a NumPy array; reproducible for an int `seed`.

        `temperature` scales the standard deviation of every group's prior
        (`N(0, T^2 I)` at the top, `N(p_mean, T^2 p_var)` below): values
        of 0.6-1.0 trade diversity for cleaner samples (Vahdat and Kautz,
        2020); 1.0 samples the model itself."""
        return super().sample(num_samples, seed=seed, temperature=temperature)

    # The tensor inference of `encode`, `decode` and `sample` (and of the
    # exports): the top-down pass.
    def _posterior_tensors(self, inputs):
        qs = []

        def choose(i, q, p):
            qs.append(q)
            return q[0]

        features = self._features(inputs, False)
        self._top_down(features, choose, False, with_prior=False)
        return [self._flatten_groups([q[j] for q in qs]) for j in (0, 1)]

    def _prior_tensors(self, inputs):
        """The prior of each group along `_posterior_tensors`'s path,
        `p(z_i | z_<i)` given the posterior means above (`N(0, I)` at the
        top), flattened and concatenated as `encode`'s outputs."""
        priors = []

        def choose(i, q, p):
            if p is None:
                p = (ops.zeros_like(q[0]), ops.zeros_like(q[1]))
            priors.append(p)
            return q[0]

        self._top_down(self._features(inputs, False), choose, False)
        return [self._flatten_groups([p[j] for p in priors]) for j in (0, 1)]

    def _decoder_params(self, z, inputs):
        groups = self._split_groups(ops.convert_to_tensor(z))
        h = self._top_down(
            None, lambda i, q, p: groups[i], False, with_prior=False
        )
        return self.decoder(h, training=False)

    def _prior_latents(self, epsilon):
        """Ancestral sampling: the top group is `epsilon`'s, each group
        below `p_mean + p_std * epsilon_i` given the draws above (a
        `temperature` scales `epsilon`)."""
        noise = self._split_groups(ops.convert_to_tensor(epsilon))
        groups = []

        def choose(i, q, p):
            z = noise[i]
            if p is not None:
                p_mean, p_log_var = p
                z = p_mean + ops.exp(0.5 * clip_log_variance(p_log_var)) * z
            groups.append(z)
            return z

        self._top_down(None, choose, training=False)
        return self._flatten_groups(groups)
