"""The hierarchical VAE, `keras_vae.HierarchicalVAE`, in one class."""

import math

import keras
import numpy as np
from keras import ops

from keras_vae import backend
from keras_vae import priors as priors_module
from keras_vae import samplers
from keras_vae.callbacks.consecutive_skips_check import ConsecutiveSkipsCheck
from keras_vae.layers.group_kl_divergence_layer import GroupKLDivergenceLayer
from keras_vae.layers.monte_carlo_kl_divergence_layer import (
    MonteCarloKLDivergenceLayer,
)
from keras_vae.layers.update_guard import UpdateGuard
from keras_vae.models import submodel_checks
from keras_vae.models.vae import VAE
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.log_variance import clip_log_variance
from keras_vae.utils.normal import normal_log_prob
from keras_vae.utils.soft_clamp import soft_clamp


@keras.saving.register_keras_serializable(package="keras_vae")
class HierarchicalVAE(VAE):
    """A VAE with a top-down hierarchy of latent groups (LVAE, NVAE, VDVAE).

    The latent `z` is a sequence of groups `z_0, ..., z_{L-1}`, from the
    top (coarsest) down. The generative model is
    `p(x, z) = p(z_0) prod_{i>0} p(z_i | z_<i) p(x | z)`, with
    `p(z_0)` the `prior` (`N(0, I)` unless given another
    `keras_vae.priors.Prior`) and each `p(z_i | z_<i)` a diagonal Gaussian
    computed from the top-down state `h_i`, which carries `z_<i`. Inference
    is bidirectional: a bottom-up `encoder` maps `x` to one feature map per
    group, and the posterior of each group,
    `q(z_i | x, z_<i) = N(q_mean, exp(q_log_var))`, is computed from the
    same top-down state `h_i` and the bottom-up features of its group, so
    it shares the generative path (Sønderby et al., 2016).

    The networks, all `keras.Model`s:

    - `encoder`: `x` (in the model's units) -> `[e_0, ..., e_{L-1}]`;
    - `posteriors[0]`: `e_0` -> `[q_mean, q_log_var]`, and
      `posteriors[i]`: `[h_i, e_i]` -> `[q_mean, q_log_var]` for `i > 0`;
    - `priors[i - 1]`: `h_i` -> `[p_mean, p_log_var]` for `i > 0` (the
      conditional priors of the groups below the top; `prior` is the top
      group's);
    - `merges[0]`: `z_0` -> `h_1`, and `merges[i]`: `[h_i, z_i]` ->
      `h_{i+1}` (upsampling where the next group is finer);
    - `decoder`: `h_L` -> the likelihood's parameters, of shape
      `data_shape[:-1] + (likelihood.output_channels(channels),)`.

    `keras_vae.build_hierarchical_vae` builds them for images.

    Training minimizes the negative ELBO, `reconstruction_loss` (as in
    `keras_vae.VAE`, any likelihood) plus `kl_loss`, the sum of the losses
    the KL layers added (plus any other loss, as in `keras_vae.VAE`): one
    `GroupKLDivergenceLayer` per group adds
    `beta_i * KL(q(z_i | x, z_<i) || p(z_i | z_<i))` (the closed form, at
    one draw of the groups above), floored at `free_bits_i` nats; with a
    top prior other than the standard normal, the top group's KL is the
    Monte-Carlo estimate `log q(z_0|x) - log p(z_0)` instead, with the same
    `beta_0` and floor. `fit` and `evaluate` also log each group's KL in
    nats as `kl_group_i` (unweighted: with `beta = 1` and no free bits,
    `kl_loss` is their sum). `set_kl_warmup` and
    `keras_vae.callbacks.KLWarmup` schedule every group's `beta`. With
    `num_importance_samples=K > 1` the IWAE bound over all groups is
    trained instead, as in `keras_vae.VAE`.

    `log_importance_weights` gives
    `log p(x|z) + sum_i log p(z_i|z_<i) - sum_i log q(z_i|x, z_<i)` for
    draws of every group, so `keras_vae.evaluation.log_likelihood`
    estimates `log p(x)` as for any VAE. Its noise is that of the flat
    `z`: `latent_shape` is `(D,)`, `D` the total size of the groups, and
    `encode`, `decode` and the noise take the groups flattened and
    concatenated, top group first (`group_shapes` has their shapes).

    Stability options, as in NVAE and VDVAE:

    - `log_variance_bound=c` soft-clamps every posterior and prior
      log-variance to `c * tanh(v / c)` (see `keras_vae.utils.soft_clamp`);
    - `clip_gradient_norm` scales each update to at most that global norm;
    - `skip_gradient_norm` skips updates whose global gradient norm is
      non-finite or above it: the optimizer step is not applied at all,
      and `fit` logs the running count as `skipped_updates`; a skipped
      step whose loss is not finite stays out of the epoch's logged means,
      so one bad batch does not stop the run. Training stops with a
      `RuntimeError` when more than `max_consecutive_skips` updates in a
      row were skipped (see `keras_vae.layers.UpdateGuard`).
      One device only: under a `tf.distribute` strategy replicas could
      disagree on a skip.

    With either gradient option on, `fit` also logs `gradient_norm`, the
    epoch's mean global gradient norm before clipping (finite ones only).
    The loss is in nats per example, summed over the data's dimensions,
    so its gradient norms grow with the data size (thousands early on for
    MNIST): set both thresholds from the logged norms, not from papers
    that report their loss per dimension.

    Calling the model returns the deterministic reconstruction: each
    group set to its posterior mean, then the mean of `p(x|z)`.

    Beyond `keras_vae.VAE`'s extension API it overrides
    `compute_loss_terms` (the top-down pass, with each group's KL),
    `log_importance_weights`, `posterior_params`, `top_posterior_params`,
    `prior_params`, `decoder_params`, `sample_latents`, `apply_update` (the
    guard) and `update_metrics`, and adds `ancestral_latents`. A fitted
    sampler (`keras_vae.samplers`) models the top group, as `prior` does.

    Args:
        encoder: The bottom-up `keras.Model` from `x` to one feature tensor
            per group, top group first.
        posteriors: A list of `L` `keras.Model`s, as above.
        priors: A list of `L - 1` `keras.Model`s, as above.
        merges: A list of `L` `keras.Model`s, as above.
        decoder: The `keras.Model` from the last top-down state to the
            likelihood's parameters.
        likelihood: As for `keras_vae.VAE`.
        beta: The weight of the KL terms: a float, or one per group.
        free_bits: The KL floor of each group in nats: a float, or one per
            group. Defaults to `0.0` (off).
        num_importance_samples: As for `keras_vae.VAE`.
        seed: Optional integer seed of the latent draws.
        preprocessing: As for `keras_vae.VAE` (`None`, `"8bit"`, or a
            `keras.layers.Normalization`).
        log_variance_bound: `None` (the default: log-variances are only
            clipped to `[-30, 20]`) or a float `c > 0`.
        clip_gradient_norm: `None` (the default) or a float > 0.
        skip_gradient_norm: `None` (the default), a float >= 0, or
            `math.inf` to skip only non-finite gradients.
        max_consecutive_skips: See above. Defaults to 100.
        prior: The prior of the top group: `None` (the standard normal) or
            a `keras_vae.priors.Prior`, built with the top group's shape.
        sampler: `None` (the default) or a fitted
            `keras_vae.samplers.Sampler` of the top group, which `sample`
            draws it from instead of `prior` (see `set_sampler`).
        **kwargs: Base model keyword arguments, such as `name`.

    Example:

    ```python
    vae = keras_vae.build_hierarchical_vae(
        input_shape=(28, 28, 1), latent_channels=((4, 4), (4,)))
    vae.compile(optimizer=keras.optimizers.Adamax(2e-3))
    vae.fit(x_train, epochs=10, batch_size=128)
    images = vae.sample(16, temperature=0.8)
    nll = -keras_vae.evaluation.log_likelihood(vae, x_test[:100]).mean()
    ```

    Reference:
        Sønderby et al., "Ladder Variational Autoencoders", NeurIPS 2016;
        Vahdat and Kautz, "NVAE: A Deep Hierarchical Variational
        Autoencoder", NeurIPS 2020; Child, "Very Deep VAEs Generalize
        Autoregressive Models and Can Outperform Them on Images", ICLR
        2021.
    """

    # === Construction and config ===

    def __init__(
        self,
        encoder,
        posteriors,
        priors,
        merges,
        decoder,
        likelihood="bernoulli",
        beta=1.0,
        free_bits=0.0,
        num_importance_samples=1,
        seed=None,
        preprocessing=None,
        log_variance_bound=None,
        clip_gradient_norm=None,
        skip_gradient_norm=None,
        max_consecutive_skips=100,
        prior=None,
        sampler=None,
        **kwargs,
    ):
        # The encoder, decoder and likelihood first (and, tracked in this
        # order, the networks: Keras names the weights of a `.keras` file
        # by each layer's class and place among the model's layers, so
        # files saved before keep loading); the top group's prior last,
        # once the groups exist (see `_attach_prior`).
        super().__init__(
            encoder,
            decoder,
            likelihood=likelihood,
            num_importance_samples=num_importance_samples,
            seed=seed,
            preprocessing=preprocessing,
            **kwargs,
        )
        self.posteriors = list(posteriors)
        self.priors = list(priors)
        self.merges = list(merges)
        submodel_checks.check_hierarchy(self)
        num_groups = len(self.posteriors)
        betas = submodel_checks.per_group(beta, num_groups, "beta")
        floors = submodel_checks.per_group(free_bits, num_groups, "free_bits")
        # As given (one float, or one per group), as plain floats for the
        # config: a NumPy array would not load back.
        self._beta_argument = (
            betas if submodel_checks.is_sequence(beta) else betas[0]
        )
        self._free_bits_argument = (
            floors if submodel_checks.is_sequence(free_bits) else floors[0]
        )
        self.group_kl_layers = [
            GroupKLDivergenceLayer(
                beta=b, free_bits=f, dtype="float32", name=f"kl_group_{i}"
            )
            for i, (b, f) in enumerate(zip(betas, floors))
        ]
        if log_variance_bound is not None:
            log_variance_bound = check_non_negative_float(
                log_variance_bound, "log_variance_bound"
            )
            if log_variance_bound == 0:
                raise ValueError(
                    "Invalid value for argument `log_variance_bound`: "
                    "expected None or a float > 0. Received: "
                    "log_variance_bound=0"
                )
        self.log_variance_bound = log_variance_bound
        self.update_guard = UpdateGuard(
            clip_gradient_norm=clip_gradient_norm,
            skip_gradient_norm=skip_gradient_norm,
            max_consecutive_skips=max_consecutive_skips,
            name="update_guard",
        )
        self.group_kl_trackers = [
            keras.metrics.Mean(name=f"kl_group_{i}") for i in range(num_groups)
        ]
        # The mean finite global gradient norm of the epoch's steps, before
        # clipping: what to set the thresholds from. Logged by `fit` where
        # the guard is on; a metric of the training step only.
        self.gradient_norm_tracker = keras.metrics.Mean(name="gradient_norm")
        self.prior = super()._attach_prior(prior)
        self._attach_sampler(sampler)

    def _check_submodels(self, encoder, decoder):
        # Each with one input; `check_hierarchy` checks the rest.
        submodel_checks.check_network(encoder, "encoder", 1)
        submodel_checks.check_network(decoder, "decoder", 1)

    def _attach_prior(self, prior):
        # `VAE.__init__` attaches the prior before the groups exist; the
        # top group's is attached at the end of `__init__` instead.
        return None

    @property
    def _prior_latent_shape(self):
        # `prior` is the top group's.
        return self.group_shapes[0]

    def _use_monte_carlo_kl(self, prior):
        # The top group's closed form is simply not used: its KL layer
        # lends the Monte-Carlo estimate its `beta` and floor.
        self.monte_carlo_kl = MonteCarloKLDivergenceLayer(
            dtype="float32", name="monte_carlo_kl"
        )

    @property
    def num_groups(self):
        """The number of latent groups."""
        return len(self.posteriors)

    @property
    def group_shapes(self):
        """The shape of each group `z_i` without the batch axis, top first."""
        return [tuple(m.output_shape[0][1:]) for m in self.posteriors]

    @property
    def latent_shape(self):
        """`(D,)`: the groups flattened and concatenated, top first."""
        return (sum(math.prod(s) for s in self.group_shapes),)

    @property
    def kl_layers(self):
        """The `GroupKLDivergenceLayer` of each group, top first."""
        return list(self.group_kl_layers)

    @property
    def mean_encoder(self):
        raise ValueError(
            "A HierarchicalVAE has no single-model mean encoder: its "
            "posterior means come from the top-down pass. Use "
            "`vae.encode(x)` (the means of all groups, flattened)."
        )

    @property
    def _trackers(self):
        return super()._trackers + list(self.group_kl_trackers)

    def _compiled_metrics(self):
        return [
            m
            for m in super()._compiled_metrics()
            if m is not self.gradient_norm_tracker
        ]

    def get_config(self):
        serialize = keras.saving.serialize_keras_object
        return {
            **super().get_config(),
            "posteriors": [serialize(m) for m in self.posteriors],
            "priors": [serialize(m) for m in self.priors],
            "merges": [serialize(m) for m in self.merges],
            "beta": self._beta_argument,
            "free_bits": self._free_bits_argument,
            "log_variance_bound": self.log_variance_bound,
            "clip_gradient_norm": self.update_guard.clip_gradient_norm,
            "skip_gradient_norm": self.update_guard.skip_gradient_norm,
            "max_consecutive_skips": self.update_guard.max_consecutive_skips,
        }

    @classmethod
    def from_config(cls, config):
        config = cls._deserialized(config)
        deserialize = keras.saving.deserialize_keras_object
        for key in ("posteriors", "priors", "merges"):
            config[key] = [deserialize(c) for c in config[key]]
        return cls(**config)

    # === The top-down pass ===

    def _log_variance(self, log_var):
        return soft_clamp(ops.cast(log_var, "float32"), self.log_variance_bound)

    def _features(self, inputs, training):
        features = self.encoder(self.encoder_inputs(inputs), training=training)
        if not isinstance(features, (list, tuple)):
            features = [features]
        return list(features)

    def _top_down(self, features, choose, training, with_prior=True):
        """Runs the groups from the top down and returns the top-down state
        after the last one.

        For each group `i`, `choose(i, q, p)` returns `z_i`, where `q` is
        `(q_mean, q_log_var)` of the posterior (`None` without `features`)
        and `p` is `(p_mean, p_log_var)` of the prior (`None` for the top
        group, whose prior is `prior`, and without `with_prior`).
        Log-variances come soft-clamped where `log_variance_bound` is set.
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

    @property
    def _standard_top_prior(self):
        return isinstance(self.prior, priors_module.StandardNormal)

    # === Inference ===

    def call(self, inputs, training=False):
        features = self._features(inputs, training)
        h = self._top_down(
            features, lambda i, q, p: q[0], training, with_prior=False
        )
        params = self.decoder(h, training=training)
        return self.decoded_mean(params)

    def encode(self, x, batch_size=256):
        """Returns `(z_mean, z_log_var)` of the posterior of every group,
        flattened and concatenated (top first), as NumPy arrays, along the
        deterministic path: each group's posterior given the means of the
        groups above."""
        return super().encode(x, batch_size=batch_size)

    def sample(self, num_samples, seed=None, temperature=1.0, sampler=None):
        """Draws `z` group by group and returns the mean of `p(x|z)` for
        each, as a NumPy array; reproducible for an int `seed`.

        The top group comes from `sampler` (a fitted
        `keras_vae.samplers.Sampler`; when None, the attached one, else
        the top group's `prior`), each group below from its prior given
        the groups above. `temperature` scales the standard deviation of
        every group's draw (`N(0, T^2 I)` at the top, `N(p_mean, T^2
        p_var)` below): one float for all, or one per group, top first
        (0 for a group gives its prior mean given the groups above).
        Values of 0.6-1.0 trade diversity for cleaner samples (Vahdat
        and Kautz, 2020); 1.0 samples the model itself."""
        return super().sample(
            num_samples, seed=seed, temperature=temperature, sampler=sampler
        )

    def _check_temperature(self, temperature):
        # One float, or one per group (a tuple).
        if submodel_checks.is_sequence(temperature):
            return tuple(
                submodel_checks.per_group(
                    temperature, self.num_groups, "temperature"
                )
            )
        return super()._check_temperature(temperature)

    def _top_temperature(self, temperature):
        if isinstance(temperature, tuple):
            return temperature[0]
        return temperature

    def _latent_weights(self):
        # The top group's posterior is that of its features.
        return super()._latent_weights() + list(self.posteriors[0].weights)

    def posterior_params(self, inputs, training=False):
        qs = []

        def choose(i, q, p):
            qs.append(q)
            return q[0]

        features = self._features(inputs, training)
        self._top_down(features, choose, training, with_prior=False)
        return [self._flatten_groups([q[j] for q in qs]) for j in (0, 1)]

    def top_posterior_params(self, inputs, training=False):
        features = self._features(inputs, training)
        q_mean, q_log_var = self.posteriors[0](features[0], training=training)
        return [ops.cast(q_mean, "float32"), self._log_variance(q_log_var)]

    def prior_params(self, inputs):
        """The prior of each group along `posterior_params`'s path,
        `p(z_i | z_<i)` given the posterior means above (`N(0, I)` at the
        top), flattened and concatenated as `encode`'s outputs; `None`
        when the top group's prior is not the standard normal."""
        if not self._standard_top_prior:
            return None
        priors = []

        def choose(i, q, p):
            if p is None:
                p = (ops.zeros_like(q[0]), ops.zeros_like(q[1]))
            priors.append(p)
            return q[0]

        self._top_down(self._features(inputs, False), choose, False)
        return [self._flatten_groups([p[j] for p in priors]) for j in (0, 1)]

    def decoder_params(self, z, inputs=None, training=False):
        groups = self._split_groups(ops.convert_to_tensor(z))
        h = self._top_down(
            None, lambda i, q, p: groups[i], training, with_prior=False
        )
        return self.decoder(h, training=training)

    def ancestral_latents(self, noise):
        """The groups drawn from the top down for `noise` of shape `(n,) +
        latent_shape`, flattened and concatenated: the top group is
        `noise`'s slice itself (standard normal noise is a draw of `N(0,
        I)`; pass a draw of `prior` there for another prior), and each
        group below is `p_mean + p_std * noise_i` given the groups above.
        `vae.decode(vae.ancestral_latents(noise))` generates, as the TFLite
        decoder does."""
        noise = self._split_groups(ops.convert_to_tensor(noise))
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

    def sample_latents(
        self, num_samples, seed=None, temperature=1.0, sampler=None
    ):
        """Ancestral sampling: the top group from `sampler` (when None, the
        attached sampler, else `prior`), each group below from its prior
        given the draws above, every spread scaled by `temperature`, one
        float or one per group (see `sample`)."""
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)
        noise = keras.random.normal(
            (num_samples,) + self.latent_shape, seed=seed
        )
        top_temperature = temperature
        if submodel_checks.is_sequence(temperature):
            top_temperature = temperature[0]
            # Each group's temperature on each of its values.
            temperature = np.concatenate(
                [
                    np.full(math.prod(shape), t, "float32")
                    for shape, t in zip(self.group_shapes, temperature)
                ]
            )
        noise = noise * temperature
        if sampler is None:
            sampler = self.sampler
        # The noise of a standard normal top prior is a draw of it already.
        from_prior = sampler is None or isinstance(
            sampler, samplers.PriorSampler
        )
        if not (from_prior and self._standard_top_prior):
            top = super().sample_latents(
                num_samples, seed, top_temperature, sampler
            )
            size = math.prod(self.group_shapes[0])
            top = ops.reshape(top, (-1, size))
            noise = ops.concatenate([top, noise[:, size:]], axis=-1)
        return self.ancestral_latents(noise)

    # === The objective ===

    def _posterior_draw(self, kls):
        """A `choose` that draws `z_i ~ q` and adds each group's KL."""

        def choose(i, q, p):
            q_mean, q_log_var = q
            layer = self.group_kl_layers[i]
            if i == 0 and not self._standard_top_prior:
                z = self._draw(q_mean, q_log_var)
                kls.append(
                    self._monte_carlo_kl(
                        [q_mean, q_log_var, z], layer, layer.free_bits
                    )
                )
                return z
            if p is None:
                p = (ops.zeros_like(q_mean), ops.zeros_like(q_log_var))
            kls.append(layer([q_mean, q_log_var, *p]))
            return self._draw(q_mean, q_log_var)

        return choose

    def _draw(self, q_mean, q_log_var):
        epsilon = backend.replica_normal(
            ops.shape(q_mean), "float32", self.seed_generator
        )
        return q_mean + ops.exp(0.5 * clip_log_variance(q_log_var)) * epsilon

    def compute_loss_terms(self, inputs, training=False):
        """As `VAE.compute_loss_terms`, through the top-down pass, with the
        KL of each group, `"kl_group_i"`, batch means in nats."""
        # 8-bit pixels under a density get `x + u` (see `VAE.dequantize`).
        inputs = self.dequantize(inputs)
        if self.num_importance_samples > 1:
            return self._importance_weighted_terms(inputs, training)
        kls = []
        features = self._features(inputs, training)
        h = self._top_down(features, self._posterior_draw(kls), training)
        params = self.decoder(h, training=training)
        nll = self.negative_log_likelihood(self.data_of(inputs), params)
        reconstruction_loss = ops.mean(nll)
        kl_loss, others = self._kl_and_other_losses()
        return {
            "loss": reconstruction_loss + kl_loss + others,
            "reconstruction_loss": reconstruction_loss,
            "kl_loss": kl_loss,
            **_group_terms(kls),
        }

    def _training_log_weights(self, inputs, epsilon, training):
        # With each group's KL, which the metrics log.
        log_w, log_px_z, group_kls = self._log_weights(
            inputs, epsilon, training, "float32", with_kl=True
        )
        terms = {f"kl_group_{i}": kl for i, kl in enumerate(group_kls)}
        return log_w, log_px_z, terms

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
        The log-densities are computed in `dtype` (the top prior's, where
        it has weights, in float32). With `return_log_likelihood=True` it
        also returns `log p(x|z_k)`.
        """
        log_w, log_px_z, _ = self._log_weights(
            inputs, epsilon, training, dtype, with_kl=False
        )
        if return_log_likelihood:
            return log_w, log_px_z
        return log_w

    def _log_weights(self, inputs, epsilon, training, dtype, with_kl):
        """`(log w, log p(x|z), group_kls)`, where `group_kls` holds the
        batch mean of each group's KL (the KL layers called) only
        `with_kl`."""
        x = self.data_of(inputs)
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
            q_mean, q_log_var = (ops.cast(t, dtype) for t in q)
            scale = ops.exp(0.5 * clip_log_variance(q_log_var))
            z = q_mean + scale * noise[i]
            log_q = normal_log_prob(z, q_mean, q_log_var)
            if i == 0 and not self._standard_top_prior:
                if with_kl:
                    layer = self.group_kl_layers[0]
                    kls.append(
                        self._monte_carlo_kl(
                            [*q, ops.cast(z, "float32")],
                            layer,
                            layer.free_bits,
                        )
                    )
                log_ratio.append(self._prior_log_prob(z, dtype) - log_q)
                return ops.cast(z, "float32")
            if p is None:
                p = (ops.zeros_like(q[0]), ops.zeros_like(q[1]))
            if with_kl:
                kls.append(self.group_kl_layers[i]([*q, *p]))
            p_mean, p_log_var = (ops.cast(t, dtype) for t in p)
            log_ratio.append(normal_log_prob(z, p_mean, p_log_var) - log_q)
            return ops.cast(z, "float32")

        h = self._top_down(features, choose, training)
        params = self.decoder(h, training=training)
        tiled_x = ops.tile(x, (k,) + (1,) * len(self.data_shape))
        log_px_z = -self.negative_log_likelihood(tiled_x, params)
        log_px_z = ops.reshape(ops.cast(log_px_z, dtype), (k, -1))
        log_ratio = ops.sum(ops.stack(log_ratio), axis=0)
        log_w = log_px_z + ops.reshape(log_ratio, (k, -1))
        return log_w, log_px_z, [ops.mean(kl) for kl in kls]

    # === The training step ===

    def set_kl_warmup(self, warmup_steps, start_beta=0.0, target_beta=1.0):
        """As `VAE.set_kl_warmup`: one schedule of `beta` for every group.
        A model built with different betas per group refuses it, rather
        than lose them to the schedule's one value."""
        betas = self._beta_argument
        if warmup_steps and isinstance(betas, list) and len(set(betas)) > 1:
            raise ValueError(
                "A KL warm-up gives every latent group the same beta, which "
                "would replace this model's beta per group. Build it with "
                "one beta to warm it up, or warm up without per-group "
                f"betas. Received: beta={betas}"
            )
        super().set_kl_warmup(warmup_steps, start_beta, target_beta)

    def apply_update(self, gradients):
        """Updates the weights through the `UpdateGuard` (clipped, or
        skipped); returns `{"gradient_norm": norm}` where the guard is on,
        else `{}`."""
        guard = self.update_guard
        if guard.active and self._has_strategy():
            raise ValueError(
                "`clip_gradient_norm` and `skip_gradient_norm` work on one "
                "device only: under a `tf.distribute` strategy each replica "
                "would see its own gradient norm. The hierarchical builders "
                "switch both on by default: pass `clip_gradient_norm=None, "
                "skip_gradient_norm=None` there, and use the optimizer's "
                "`global_clipnorm`. Received: "
                f"clip_gradient_norm={guard.clip_gradient_norm}, "
                f"skip_gradient_norm={guard.skip_gradient_norm}"
            )
        norm = guard.apply_gradients(
            self.optimizer,
            gradients,
            self.trainable_weights,
            self._optimizer_apply,
        )
        return {} if norm is None else {"gradient_norm": norm}

    def update_metrics(self, inputs, terms, update=None):
        """As `VAE.update_metrics`, with each group's KL and, in a training
        step with the guard on, `gradient_norm` and `skipped_updates`."""
        logs = super().update_metrics(inputs, terms, update)
        if update is None:
            return logs
        norm = update.get("gradient_norm")
        if norm is not None:
            # A skipped non-finite norm stays out of the mean (the loss
            # shows it), so the log stays finite.
            finite = ops.isfinite(norm)
            self.gradient_norm_tracker.update_state(
                ops.where(finite, norm, 0.0),
                sample_weight=ops.cast(finite, "float32"),
            )
            logs["gradient_norm"] = self.gradient_norm_tracker.result()
        if self.update_guard.skip_gradient_norm is not None:
            logs["skipped_updates"] = ops.convert_to_tensor(
                self.update_guard.skipped_updates.value
            )
        return logs

    def _counted(self, terms, update):
        # A training step whose loss is not finite was skipped by the guard
        # (its gradients are not finite either): the epoch's means are
        # those of the steps that trained, `skipped_updates` counts it, and
        # `max_consecutive_skips` ends a run that never recovers. Without
        # this, one NaN batch made the epoch's loss NaN and `TerminateOnNaN`
        # stopped the run the guard had kept alive.
        if update is None or self.update_guard.skip_gradient_norm is None:
            return 1.0
        return ops.cast(ops.isfinite(terms["loss"]), "float32")

    def _fit_callbacks(self, callbacks):
        # The check that stops a run whose updates are all skipped.
        if self.update_guard.skip_gradient_norm is None or isinstance(
            callbacks, keras.callbacks.CallbackList
        ):
            return callbacks
        callbacks = list(callbacks or [])
        if not any(isinstance(c, ConsecutiveSkipsCheck) for c in callbacks):
            callbacks.append(ConsecutiveSkipsCheck(self.update_guard))
        return callbacks


def _group_terms(kls):
    """`{"kl_group_i": batch mean}` of each group's KL per example."""
    return {f"kl_group_{i}": ops.mean(kl) for i, kl in enumerate(kls)}
