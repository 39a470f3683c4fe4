import math

import keras

from keras_vae.builders.arguments import check_conv_arguments
from keras_vae.builders.assembly import assemble_vae
from keras_vae.builders.dense_latent import dense_decoder_features
from keras_vae.builders.dense_latent import dense_encoder_features
from keras_vae.builders.encoder_head import gaussian_encoder_head
from keras_vae.builders.image_sizes import halved_sizes
from keras_vae.builders.image_sizes import output_padding
from keras_vae.utils.argument_checks import check_positive_int


def build_resnet_vae(
    input_shape=(32, 32, 3),
    latent_dim=128,
    filters=(32, 64, 128),
    blocks_per_stage=1,
    hidden_units=(),
    likelihood="bernoulli",
    beta=1.0,
    free_bits=0.0,
    num_classes=None,
    num_importance_samples=1,
    seed=None,
    preprocessing=None,
    prior=None,
    name="resnet_vae",
):
    """Builds a VAE with residual convolutional encoder and decoder.

    The builder for colour images of 32 to 64 pixels (CIFAR-10, small
    photos). The encoder has one stage per entry of `filters`: a 3x3
    `Conv2D` with stride 2 that halves the height and width (rounding up,
    30 -> 15 -> 8), then `blocks_per_stage` residual blocks at that size.
    Its features go through `Dense` layers of `hidden_units` to the
    Gaussian head of `q(z|x)`. The decoder mirrors it: a `Dense` layer to
    the smallest feature map, then per stage the residual blocks and a
    stride-2 `Conv2DTranspose` back up, whose `output_padding` returns odd
    sizes exactly (8 -> 15 -> 30), and a final 3x3 convolution to the
    likelihood's parameters, `likelihood.output_channels(channels)` per
    pixel (the image's channels for Bernoulli and Gaussian).

    A residual block is pre-activation, `h + conv(relu(conv(relu(h))))`
    with two 3x3 convolutions of the stage's width, so the sum itself never
    goes through an activation: the identity path from each stage's input
    to its output is exact, and gradients reach the first layers through
    it unchanged. It has no normalization (BatchNorm behaves differently in
    training and inference, and couples the examples of a batch, which a
    VAE's per-example likelihood should not); instead the second
    convolution of each block starts at zero, so every block starts as the
    identity and the scale of the features does not grow with depth.

    Args:
        input_shape: `(height, width, channels)`, any sizes >= 1.
        latent_dim: The number of latent dimensions.
        filters: The width of each stage; each stage halves the height and
            width.
        blocks_per_stage: The number of residual blocks in each stage of
            the encoder and of the decoder.
        hidden_units: The widths of the dense layers between the last stage
            and the latent code. `()` (the default) maps the flattened
            features to `z`'s mean and log-variance directly.
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
            `keras.layers.Normalization`. See `keras_vae.VAE`.
        prior: The prior `p(z)`: `None` (the standard normal) or a
            `keras_vae.priors.Prior`, such as `MixtureOfGaussians(10)` or
            `VampPrior(500)` (which need `free_bits=0`). See
            `keras_vae.VAE`.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.VAE` (or `ConditionalVAE`).

    Example:

    ```python
    # CIFAR-10: 32x32 RGB images as uint8.
    (x_train, _), _ = keras.datasets.cifar10.load_data()
    vae = keras_vae.build_resnet_vae(
        input_shape=(32, 32, 3), preprocessing="8bit"
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, batch_size=128, epochs=10)
    # Any height, width and channels: 100x75 RGB, decoded at 100x75.
    photos = keras_vae.build_resnet_vae(input_shape=(100, 75, 3))
    photos.decoder.output_shape  # (None, 100, 75, 3)
    ```
    """
    input_shape, latent_dim, filters, hidden_units, likelihood = (
        check_conv_arguments(
            input_shape, latent_dim, filters, hidden_units, likelihood
        )
    )
    blocks_per_stage = check_positive_int(blocks_per_stage, "blocks_per_stage")
    channels = likelihood.output_channels(input_shape[2])
    # The (height, width) of the image and after each stage.
    sizes = halved_sizes(input_shape[:2], len(filters))

    # === Encoder ===
    x = keras.Input(shape=input_shape, name="x")
    h = x
    for i, f in enumerate(filters):
        if i:
            h = keras.layers.Activation("relu", name=f"down_{i}_relu")(h)
        h = keras.layers.Conv2D(
            f, 3, strides=2, padding="same", name=f"down_{i}"
        )(h)
        for j in range(blocks_per_stage):
            h = _residual_block(h, f, name=f"stage_{i}_block_{j}")
    h = keras.layers.Activation("relu", name="features_relu")(h)
    x_label, h = dense_encoder_features(h, num_classes, hidden_units)
    outputs = gaussian_encoder_head(
        h, latent_dim, beta=beta, free_bits=free_bits, seed=seed
    )

    # === Decoder ===
    z, z_label, h = dense_decoder_features(
        latent_dim, num_classes, hidden_units
    )
    smallest = sizes[-1] + (filters[-1],)
    h = keras.layers.Dense(math.prod(smallest), name="features")(h)
    h = keras.layers.Reshape(smallest)(h)
    for i in reversed(range(len(filters))):
        for j in range(blocks_per_stage):
            h = _residual_block(h, filters[i], name=f"stage_{i}_block_{j}")
        h = keras.layers.Activation("relu", name=f"up_{i}_relu")(h)
        h = keras.layers.Conv2DTranspose(
            filters[max(i - 1, 0)],
            3,
            strides=2,
            padding="same",
            output_padding=output_padding(sizes[i + 1], sizes[i]),
            name=f"up_{i}",
        )(h)
    h = keras.layers.Activation("relu", name="params_relu")(h)
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


def _residual_block(h, filters, name):
    """`h + conv(relu(conv(relu(h))))`, pre-activation, the second
    convolution starting at zero (the block starts as the identity)."""
    r = keras.layers.Activation("relu", name=f"{name}_relu")(h)
    r = keras.layers.Conv2D(
        filters, 3, padding="same", activation="relu", name=f"{name}_conv_0"
    )(r)
    r = keras.layers.Conv2D(
        filters,
        3,
        padding="same",
        kernel_initializer="zeros",
        name=f"{name}_conv_1",
    )(r)
    return keras.layers.Add(name=f"{name}_add")([h, r])
