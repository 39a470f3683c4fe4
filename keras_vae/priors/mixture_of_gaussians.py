import math

import keras
from keras import ops

from keras_vae.priors.gaussian_mixture import mixture_log_prob
from keras_vae.priors.gaussian_mixture import mixture_sample
from keras_vae.priors.prior import Prior
from keras_vae.utils.argument_checks import check_optional_seed
from keras_vae.utils.argument_checks import check_positive_int


@keras.saving.register_keras_serializable(package="keras_vae")
class MixtureOfGaussians(Prior):
    """A learned mixture of diagonal Gaussians,
    `p(z) = sum_c pi_c N(z; mu_c, diag(sigma_c^2))`.

    The means, log-variances and mixture logits are trainable weights: the
    prior moves towards the aggregate posterior of the data while the VAE
    trains, as the Monte-Carlo KL term `log q(z|x) - log p(z)` pulls it.
    The means start as draws of `N(0, I)` (seeded by `seed`), the variances
    at 1 and the weights equal, so the components start apart.

    Args:
        num_components: The number of components, an integer >= 1.
        seed: Optional integer seed of the means' initial values.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    vae = keras_vae.build_mlp_vae(
        latent_dim=20, prior=keras_vae.priors.MixtureOfGaussians(10))
    ```

    Reference:
        Dilokthanakul et al., "Deep Unsupervised Clustering with Gaussian
        Mixture Variational Autoencoders", 2016; Tomczak and Welling, "VAE
        with a VampPrior", AISTATS 2018 (the mixture baseline).
    """

    def __init__(self, num_components=10, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.num_components = check_positive_int(
            num_components, "num_components"
        )
        self.seed = check_optional_seed(seed)

    def build(self, input_shape):
        super().build(input_shape)
        size = math.prod(self.latent_shape)
        shape = (self.num_components, size)
        self.means = self.add_weight(
            shape=shape,
            initializer=keras.initializers.RandomNormal(seed=self.seed),
            name="means",
        )
        self.log_vars = self.add_weight(
            shape=shape, initializer="zeros", name="log_vars"
        )
        self.logits = self.add_weight(
            shape=(self.num_components,), initializer="zeros", name="logits"
        )

    def log_prob(self, z):
        log_weights = ops.log_softmax(ops.cast(self.logits, z.dtype))
        return mixture_log_prob(z, self.means, self.log_vars, log_weights)

    def sample(self, num_samples, seed=None, temperature=1.0):
        # Two draws (the component, then the noise): one generator.
        if not isinstance(seed, keras.random.SeedGenerator):
            seed = keras.random.SeedGenerator(seed)
        components = keras.random.categorical(
            ops.expand_dims(self.logits, 0), num_samples, seed=seed
        )[0]
        return mixture_sample(
            self.means,
            self.log_vars,
            components,
            self.latent_shape,
            seed,
            temperature,
        )

    def get_config(self):
        return {
            **super().get_config(),
            "num_components": self.num_components,
            "seed": self.seed,
        }
