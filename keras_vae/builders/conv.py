import keras

from keras_vae.builders.arguments import check_conv_arguments
from keras_vae.builders.assembly import assemble_vae
from keras_vae.builders.dense_latent import dense_decoder_features
from keras_vae.builders.dense_latent import dense_encoder_features
from keras_vae.builders.encoder_head import gaussian_encoder_head
from keras_vae.builders.image_sizes import halved_sizes
from keras_vae.builders.image_sizes import output_padding


def build_conv_vae(
    input_shape=(28, 28, 1),
    latent_dim=20,
    filters=(32, 64),
    hidden_units=(256,),
    likelihood="bernoulli",
    beta=1.0,
    free_bits=0.0,
    num_classes=None,
    num_importance_samples=1,
    seed=None,
    preprocessing=None,
    prior=None,
    name="conv_vae",
):
    """Builds a convolutional VAE for `(height, width, channels)` images.

    The encoder is a stack of 3x3 `Conv2D` layers with stride 2 and
    `"same"` padding (one per entry of `filters`), then `Dense` layers of
    `hidden_units`; the decoder mirrors it with `Conv2DTranspose` layers and
    a final 3x3 convolution to the likelihood's parameters,
    `likelihood.output_channels(channels)` of them per pixel (the image's
    channels for Bernoulli and Gaussian). Each stride halves the
    height and width, rounding up (30 -> 15 -> 8); on an axis where it
    rounded up, the mirroring `Conv2DTranspose` has an `output_padding` of 0
    and returns the odd size (8 -> 15 -> 30), so the decoder's output has
    the input's shape exactly, with no padded or cropped pixels.

    Args:
        input_shape: `(height, width, channels)`, any sizes >= 1.
        latent_dim: The number of latent dimensions.
        filters: The filters of each strided convolution of the encoder.
        hidden_units: The widths of the dense layers after the convolutions.
        likelihood: `"bernoulli"`, `"gaussian"` or a `keras_vae.likelihoods`
            instance.
        beta: The weight of the KL term.
        free_bits: The KL floor per latent dimension in nats (0 is off).
        num_classes: If given, a `keras_vae.ConditionalVAE`: the one-hot
            label is concatenated to the encoder's features and to `z`.
        num_importance_samples: `K` of the training objective: 1 for the
            ELBO, more for the IWAE bound (see `keras_vae.VAE`).
        seed: Optional integer seed of the `Sampling` layer and of the
            importance samples.
        preprocessing: The units of the data the model takes: `None`
            (already those of the likelihood, e.g. floats in [0, 1]),
            `"8bit"` (pixel values 0-255) or an adapted
            `keras.layers.Normalization` (table rows in their own units).
            See `keras_vae.VAE`.
        prior: The prior `p(z)`: `None` (the standard normal) or a
            `keras_vae.priors.Prior`, such as `MixtureOfGaussians(10)` or
            `VampPrior(500)` (which need `free_bits=0`). See
            `keras_vae.VAE`.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.VAE` (or `ConditionalVAE`).

    Example:

    ```python
    vae = keras_vae.build_conv_vae(input_shape=(28, 28, 1), latent_dim=16)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    # Any height, width and channels: 100x75 RGB, decoded at 100x75.
    rgb = keras_vae.build_conv_vae(input_shape=(100, 75, 3))
    rgb.decoder.output_shape  # (None, 100, 75, 3)
    ```
    """
    input_shape, latent_dim, filters, hidden_units, likelihood = (
        check_conv_arguments(
            input_shape, latent_dim, filters, hidden_units, likelihood
        )
    )
    channels = likelihood.output_channels(input_shape[2])
    # The (height, width) of the image and after each strided convolution.
    sizes = halved_sizes(input_shape[:2], len(filters))

    x = keras.Input(shape=input_shape, name="x")
    h = x
    for i, f in enumerate(filters):
        h = keras.layers.Conv2D(
            f, 3, strides=2, padding="same", activation="relu", name=f"conv_{i}"
        )(h)
    x_label, h = dense_encoder_features(h, num_classes, hidden_units)
    outputs = gaussian_encoder_head(
        h, latent_dim, beta=beta, free_bits=free_bits, seed=seed
    )

    z, z_label, h = dense_decoder_features(
        latent_dim, num_classes, hidden_units
    )
    small = sizes[-1] + (filters[-1],)
    h = keras.layers.Dense(small[0] * small[1] * small[2], "relu")(h)
    h = keras.layers.Reshape(small)(h)
    for i, f in enumerate(reversed(filters)):
        h = keras.layers.Conv2DTranspose(
            f,
            3,
            strides=2,
            padding="same",
            output_padding=output_padding(sizes[-1 - i], sizes[-2 - i]),
            activation="relu",
            name=f"deconv_{i}",
        )(h)
    params = keras.layers.Conv2D(channels, 3, padding="same", name="params")(h)
    return assemble_vae(
        x,
        x_label,
        outputs,
        z,
        z_label,
        params,
        likelihood=likelihood,
        num_importance_samples=num_importance_samples,
        seed=seed,
        preprocessing=preprocessing,
        prior=prior,
        name=name,
    )
