import keras

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.sampling import Sampling
from keras_vae.utils.argument_checks import check_positive_int


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


def label_input(num_classes, name="y"):
    """A `keras.Input` for one-hot labels, or `None` if unconditional."""
    if num_classes is None:
        return None
    check_positive_int(num_classes, "num_classes")
    return keras.Input(shape=(num_classes,), name=name)


def concatenate_label(features, label):
    """Appends the one-hot `label` (if any) to flat `features`."""
    if label is None:
        return features
    return keras.layers.Concatenate()([features, label])


def assemble_vae(
    x,
    x_label,
    encoder_outputs,
    z,
    z_label,
    params,
    name,
    **vae_kwargs,
):
    """Wraps the encoder and decoder graphs in a `VAE`, or a
    `ConditionalVAE` when they take labels."""
    from keras_vae.models.conditional_vae import ConditionalVAE
    from keras_vae.models.vae import VAE

    if x_label is None:
        encoder = keras.Model(x, encoder_outputs, name="encoder")
        decoder = keras.Model(z, params, name="decoder")
        model_class = VAE
    else:
        encoder = keras.Model([x, x_label], encoder_outputs, name="encoder")
        decoder = keras.Model([z, z_label], params, name="decoder")
        model_class = ConditionalVAE
    return model_class(encoder, decoder, name=name, **vae_kwargs)
