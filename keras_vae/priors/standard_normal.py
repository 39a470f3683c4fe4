import keras
from keras import ops

from keras_vae.priors.prior import Prior
from keras_vae.utils.normal import normal_log_prob


@keras.saving.register_keras_serializable(package="keras_vae")
class StandardNormal(Prior):
    """The standard normal prior `p(z) = N(0, I)`, the default of every VAE.

    It has no weights. Its KL term is the closed form of
    `keras_vae.layers.KLDivergenceLayer`, and `log_prob` is exact in the
    dtype of `z` (float64 for `keras_vae.evaluation.log_likelihood`).

    Example:

    ```python
    >>> prior = StandardNormal()
    >>> prior.build((None, 2))
    >>> round(float(prior.log_prob(keras.ops.zeros((1, 2)))[0]), 4)
    -1.8379

    ```
    """

    def log_prob(self, z):
        zeros = ops.zeros_like(z)
        return normal_log_prob(z, zeros, zeros)

    def sample(self, num_samples, seed=None, temperature=1.0):
        epsilon = keras.random.normal(
            (num_samples,) + tuple(self.latent_shape), seed=seed
        )
        return epsilon * temperature
