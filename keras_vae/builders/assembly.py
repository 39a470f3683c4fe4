"""The last step of the dense and convolutional builders: the model."""

import keras

from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.vae import VAE


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
    if x_label is None:
        encoder = keras.Model(x, encoder_outputs, name="encoder")
        decoder = keras.Model(z, params, name="decoder")
        model_class = VAE
    else:
        encoder = keras.Model([x, x_label], encoder_outputs, name="encoder")
        decoder = keras.Model([z, z_label], params, name="decoder")
        model_class = ConditionalVAE
    return model_class(encoder, decoder, name=name, **vae_kwargs)
