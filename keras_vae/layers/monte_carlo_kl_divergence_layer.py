import keras
from keras import ops

from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.normal import normal_log_prob


@keras.saving.register_keras_serializable(package="keras_vae")
class MonteCarloKLDivergenceLayer(keras.layers.Layer):
    """Adds a Monte-Carlo estimate of `KL(q(z|x) || p(z))` for any prior.

    At the `z` drawn from the posterior `q(z|x) = N(z_mean,
    exp(z_log_var))` for the reconstruction term, the estimate of each
    example is `log q(z|x) - log p(z)`, whose mean over `q` is the KL
    divergence: the ELBO stays an unbiased estimate, as with the closed
    form, for a prior whose KL has none (a mixture, a VampPrior). The layer
    calls `add_loss` with `beta * mean_over_batch(estimate)` (floored at
    `free_bits` nats, as a `GroupKLDivergenceLayer`'s, where given) and
    returns the estimate of each example, unweighted.

    A `keras_vae.VAE` whose prior is not the standard normal owns one and
    calls it after its encoder, with `beta` and `free_bits` read from the
    `KLDivergenceLayer` it turned off (so `set_kl_warmup`, `KLWarmup` and
    `layer.beta = ...` keep working); it has no weights of its own.

    Call arguments:
        inputs: `[z_mean, z_log_var, z]`, three tensors of shape
            `(batch_size,) + latent_shape`.
        prior: The `keras_vae.priors.Prior` whose `log_prob(z)` it uses.
        beta: The weight of the KL term, a float or a scalar tensor.
        free_bits: The floor of the batch mean in nats. Defaults to 0.

    Returns:
        The estimate of each example, shape `(batch_size,)`, float32.
    """

    def call(self, inputs, prior, beta, free_bits=0.0):
        z_mean, z_log_var, z = (ops.cast(t, "float32") for t in inputs)
        log_q = normal_log_prob(z, z_mean, z_log_var)
        estimate = log_q - ops.cast(prior.log_prob(z), "float32")
        mean = ops.mean(estimate)
        if check_non_negative_float(free_bits, "free_bits"):
            mean = ops.maximum(mean, free_bits)
        self.add_loss(ops.cast(beta, "float32") * mean)
        return estimate

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0],)
