import keras
from keras import ops

from keras_vae.layers.sampling import check_pair_shapes


def gaussian_kl_divergence(z_mean, z_log_var):
    """KL(N(z_mean, exp(z_log_var)) || N(0, I)) per example, in nats.

    The closed form `-0.5 * sum(1 + log_var - mean**2 - exp(log_var))`,
    summed over every axis but the first and computed in float32.
    """
    z_mean = ops.cast(z_mean, "float32")
    z_log_var = ops.cast(z_log_var, "float32")
    kl = -0.5 * (1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var))
    return ops.sum(kl, axis=tuple(range(1, len(kl.shape))))


@keras.saving.register_keras_serializable(package="keras_vae")
class KLDivergenceLayer(keras.layers.Layer):
    """Adds the KL divergence of `q(z|x)` from the `N(0, I)` prior as a loss.

    The layer passes `(z_mean, z_log_var)` through unchanged and calls
    `add_loss` with `beta * mean_over_batch(KL)`, where
    `KL = -0.5 * sum_latent(1 + z_log_var - z_mean**2 - exp(z_log_var))`
    is the closed form in nats, computed in float32 under any dtype policy.
    `beta` is held in a non-trainable variable: assigning `layer.beta` during
    training changes the weight without retracing a compiled step.

    Args:
        beta: Non-negative float, the weight of the KL term (1 gives the
            ELBO, other values a beta-VAE). Defaults to `1.0`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list or tuple `(z_mean, z_log_var)` of two tensors of the
            same shape `(batch_size, ...)`.

    Returns:
        The inputs, unchanged, as a tuple `(z_mean, z_log_var)`.

    Example:

    >>> layer = KLDivergenceLayer(beta=1.0)
    >>> z_mean, z_log_var = layer([keras.ops.ones((2, 3)),
    ...                            keras.ops.zeros((2, 3))])
    >>> round(float(layer.losses[0]), 4)  # 0.5 * sum(mean**2) = 1.5
    1.5

    Reference:
        Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014,
        appendix B.
    """

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        beta = _check_beta(beta)
        self.beta_variable = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(beta),
            dtype="float32",
            trainable=False,
            autocast=False,
            name="beta",
        )

    @property
    def beta(self):
        return float(ops.convert_to_numpy(self.beta_variable))

    @beta.setter
    def beta(self, value):
        self.beta_variable.assign(_check_beta(value))

    def build(self, input_shape):
        check_pair_shapes(input_shape, self.name)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        kl = gaussian_kl_divergence(z_mean, z_log_var)
        self.add_loss(self.beta_variable * ops.mean(kl))
        return z_mean, z_log_var

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0]), tuple(input_shape[1])

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def _check_beta(beta):
    try:
        value = float(beta)
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(beta, bool) or not value >= 0 or value == float("inf"):
        raise ValueError(
            "Invalid value for argument `beta`: expected a finite float >= 0. "
            f"Received: beta={beta!r}"
        )
    return value
