"""The head of the builders' encoders: `q(z|x)` from the features."""

import keras

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.sampling import Sampling


def gaussian_encoder_head(
    features, latent_dim, beta=1.0, free_bits=0.0, seed=None
):
    """Maps encoder features to `[z_mean, z_log_var, z]`.

    Adds the two linear heads of `q(z|x)`, the `KLDivergenceLayer` and the
    `Sampling` layer. They run in float32 under any mixed-precision policy,
    so `exp(z_log_var)` cannot overflow float16.
    """
    z_mean = keras.layers.Dense(latent_dim, dtype="float32", name="z_mean")(
        features
    )
    z_log_var = keras.layers.Dense(
        latent_dim, dtype="float32", name="z_log_var"
    )(features)
    z_mean, z_log_var = KLDivergenceLayer(
        beta=beta, free_bits=free_bits, dtype="float32", name="kl_divergence"
    )([z_mean, z_log_var])
    z = Sampling(seed=seed, dtype="float32", name="z")([z_mean, z_log_var])
    return [z_mean, z_log_var, z]
