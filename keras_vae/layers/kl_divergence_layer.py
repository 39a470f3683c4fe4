import keras
from keras import ops

from keras_vae.layers.sampling import check_pair_shapes
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.log_variance import clip_log_variance


def gaussian_kl_divergence(z_mean, z_log_var, reduce=True):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) per example, in nats.

    The closed form `-0.5 * (1 + log_var - mean**2 - exp(log_var))`,
    computed in float32 and summed over every axis but the first (or, with
    `reduce=False`, left per latent dimension). `z_log_var` is clipped to
    `[-30, 20]` with a straight-through gradient, as in `Sampling`: the
    value is the exact closed form inside that range, and finite, with
    finite gradients, for any finite input.
    """
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = clip_log_variance(ops.cast(z_log_var, "float32"))
    kl = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    if not reduce:
        return kl
    return ops.sum(kl, axis=tuple(range(1, len(kl.shape))))


@keras.saving.register_keras_serializable(package="keras_vae")
class KLDivergenceLayer(keras.layers.Layer):
    """Adds the KL divergence of `q(z|x)` from the `N(0, I)` prior as a loss.

    The layer passes `(z_mean, z_log_var)` through unchanged and calls
    `add_loss` with `beta * mean_over_batch(KL)`, where
    `KL = -0.5 * sum_latent(1 + z_log_var - z_mean**2 - exp(z_log_var))`
    is the closed form in nats, computed in float32 under any dtype policy,
    with `z_log_var` clipped to `[-30, 20]` (see `gaussian_kl_divergence`).
    `beta` is held in a non-trainable variable: assigning `layer.beta` during
    training changes the weight without retracing a compiled step.

    With `free_bits=λ > 0`, each latent dimension's KL, averaged over the
    batch, counts as at least `λ` nats in the loss:
    `beta * sum_latent(max(λ, mean_over_batch(KL_j)))`, so the optimizer gains
    nothing by pushing a dimension below `λ` (Kingma et al., 2016).

    The closed form is the KL from `N(0, I)`. A `keras_vae.VAE` with another
    prior (`keras_vae.priors`) sets `closed_form = False` on its encoder's
    layer, which then passes its inputs through and adds nothing: the VAE
    adds the Monte-Carlo estimate of the KL from its prior instead
    (`MonteCarloKLDivergenceLayer`), weighted by this layer's `beta`.

    Args:
        beta: Non-negative float, the weight of the KL term (1 gives the
            ELBO, other values a beta-VAE). Defaults to `1.0`.
        free_bits: Non-negative float `λ`, the KL floor of each latent
            dimension in nats. Defaults to `0.0` (off).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list or tuple `(z_mean, z_log_var)` of two tensors of the
            same shape `(batch_size, ...)`.

    Returns:
        The inputs, unchanged, as a tuple `(z_mean, z_log_var)`.

    Example:

    ```python
    >>> layer = KLDivergenceLayer(beta=1.0)
    >>> z_mean, z_log_var = layer([keras.ops.ones((2, 3)),
    ...                            keras.ops.zeros((2, 3))])
    >>> round(float(layer.losses[0]), 4)  # 0.5 * sum(mean**2) = 1.5
    1.5

    ```

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
        appendix B; Kingma et al., "Improved Variational Inference with
        Inverse Autoregressive Flow", NeurIPS 2016 (free bits).
    """

    def __init__(self, beta=1.0, free_bits=0.0, **kwargs):
        super().__init__(**kwargs)
        beta = check_non_negative_float(beta, "beta")
        self.free_bits = check_non_negative_float(free_bits, "free_bits")
        self.beta_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(beta),
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
            name="beta",
        )
        # Whether `call` adds the closed form (see the class docstring).
        self.closed_form = True

    @property
    def beta(self):
        return float(ops.convert_to_numpy(self.beta_variable))

    @beta.setter
    def beta(self, value):
        self.beta_variable.assign(check_non_negative_float(value, "beta"))

    def build(self, input_shape):
        check_pair_shapes(input_shape, self.name)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        if not self.closed_form:
            return z_mean, z_log_var
        if self.free_bits:
            kl = gaussian_kl_divergence(z_mean, z_log_var, reduce=False)
            kl = ops.sum(ops.maximum(ops.mean(kl, axis=0), self.free_bits))
        else:
            kl = ops.mean(gaussian_kl_divergence(z_mean, z_log_var))
        self.add_loss(self.beta_variable * kl)
        return z_mean, z_log_var

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {
            **super().get_config(),
            "beta": self.beta,
            "free_bits": self.free_bits,
        }
