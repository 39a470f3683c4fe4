import copy
import math

import keras

from keras_vae.layers.group_kl_divergence_layer import GroupKLDivergenceLayer
from keras_vae.models.hierarchical_inference import HierarchicalInferenceMixin
from keras_vae.models.hierarchical_losses import HierarchicalLossesMixin
from keras_vae.models.hierarchical_steps import HierarchicalStepsMixin
from keras_vae.models.hierarchy_checks import check_hierarchy
from keras_vae.models.hierarchy_checks import is_sequence
from keras_vae.models.hierarchy_checks import per_group
from keras_vae.models.update_guard import UpdateGuard
from keras_vae.models.vae import VAE
from keras_vae.utils.argument_checks import check_non_negative_float


@keras.saving.register_keras_serializable(package="keras_vae")
class HierarchicalVAE(
    HierarchicalStepsMixin,
    HierarchicalLossesMixin,
    HierarchicalInferenceMixin,
    VAE,
):
    """A VAE with a top-down hierarchy of latent groups (LVAE, NVAE, VDVAE).

    The latent `z` is a sequence of groups `z_0, ..., z_{L-1}`, from the
    top (coarsest) down. The generative model is
    `p(x, z) = p(z_0) prod_{i>0} p(z_i | z_<i) p(x | z)`, with
    `p(z_0) = N(0, I)` and each `p(z_i | z_<i)` a diagonal Gaussian computed
    from the top-down state `h_i`, which carries `z_<i`. Inference is
    bidirectional: a bottom-up `encoder` maps `x` to one feature map per
    group, and the posterior of each group,
    `q(z_i | x, z_<i) = N(q_mean, exp(q_log_var))`, is computed from the
    same top-down state `h_i` and the bottom-up features of its group, so
    it shares the generative path (Sønderby et al., 2016).

    The networks, all `keras.Model`s:

    - `encoder`: `x` (in the model's units) -> `[e_0, ..., e_{L-1}]`;
    - `posteriors[0]`: `e_0` -> `[q_mean, q_log_var]`, and
      `posteriors[i]`: `[h_i, e_i]` -> `[q_mean, q_log_var]` for `i > 0`;
    - `priors[i - 1]`: `h_i` -> `[p_mean, p_log_var]` for `i > 0`;
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
    one draw of the groups above), floored at `free_bits_i` nats. `fit`
    and `evaluate` also log each group's KL in nats as `kl_group_i`
    (unweighted: with `beta = 1` and no free bits, `kl_loss` is their
    sum). `set_kl_warmup` and `keras_vae.callbacks.KLWarmup` schedule
    every group's `beta`. With `num_importance_samples=K > 1` the IWAE
    bound over all groups is trained instead, as in `keras_vae.VAE`.

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
      and `fit` logs the running count as `skipped_updates`. Training
      stops with a `RuntimeError` when more than `max_consecutive_skips`
      updates in a row were skipped (see `keras_vae.models.update_guard`).
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
        **kwargs,
    ):
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
        check_hierarchy(self)
        num_groups = len(self.posteriors)
        betas = per_group(beta, num_groups, "beta")
        per_group_free_bits = per_group(free_bits, num_groups, "free_bits")
        # As given (one float, or one per group), as plain floats for the
        # config: a NumPy array would not load back.
        self._beta_argument = betas if is_sequence(beta) else betas[0]
        self._free_bits_argument = (
            per_group_free_bits
            if is_sequence(free_bits)
            else per_group_free_bits[0]
        )
        free_bits = per_group_free_bits
        self.group_kl_layers = [
            GroupKLDivergenceLayer(
                beta=b, free_bits=f, dtype="float32", name=f"kl_group_{i}"
            )
            for i, (b, f) in enumerate(zip(betas, free_bits))
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

    # === Structure ===

    def _check_submodels(self, encoder, decoder):
        # The base class checks these first; `_check_hierarchy` the rest.
        for name, model in (("encoder", encoder), ("decoder", decoder)):
            if (
                not isinstance(model, keras.Model)
                or not model.built
                or len(getattr(model, "inputs", None) or []) != 1
            ):
                raise ValueError(
                    f"`{name}` must be a built `keras.Model` with one input "
                    f"(e.g. a functional model). Received: {name}={model!r}"
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

    # === Config ===

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
        # Deep copy: Keras's deserialization empties the nested configs.
        config = copy.deepcopy(config)
        deserialize = keras.saving.deserialize_keras_object
        for key in ("encoder", "decoder", "likelihood"):
            config[key] = deserialize(config[key])
        for key in ("posteriors", "priors", "merges"):
            config[key] = [deserialize(c) for c in config[key]]
        if isinstance(config.get("preprocessing"), dict):
            config["preprocessing"] = deserialize(config["preprocessing"])
        return cls(**config)
