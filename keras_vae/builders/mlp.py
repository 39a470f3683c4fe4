import math

import keras

from keras_vae import likelihoods
from keras_vae.builders.assembly import assemble_vae
from keras_vae.builders.dense_latent import dense_decoder_features
from keras_vae.builders.dense_latent import dense_encoder_features
from keras_vae.builders.encoder_head import gaussian_encoder_head
from keras_vae.utils.argument_checks import check_int_tuple
from keras_vae.utils.argument_checks import check_positive_int


def build_mlp_vae(
    input_shape=(28, 28, 1),
    latent_dim=20,
    hidden_units=(400,),
    likelihood="bernoulli",
    activation="relu",
    beta=1.0,
    free_bits=0.0,
    num_classes=None,
    num_importance_samples=1,
    seed=None,
    preprocessing=None,
    prior=None,
    name="mlp_vae",
):
    """Builds a VAE whose encoder and decoder are multilayer perceptrons.

    The encoder flattens `x` and applies `Dense` layers of `hidden_units`;
    the decoder mirrors them and reshapes back to `input_shape`, or for
    `(height, width, channels)` images to `(height, width,
    likelihood.output_channels(channels))` (the same shape for Bernoulli and
    Gaussian). With the
    defaults it is the 784-400-20 VAE of Kingma and Welling (and of the
    PyTorch example).

    Args:
        input_shape: The shape of one example, any rank (`(height, width,
            channels)` for a likelihood with more outputs than channels).
        latent_dim: The number of latent dimensions.
        hidden_units: The widths of the encoder's hidden layers; the decoder
            uses them in reverse order. `()` gives linear maps.
        likelihood: `"bernoulli"`, `"gaussian"` or a `keras_vae.likelihoods`
            instance.
        activation: The activation of the hidden layers.
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
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    ```
    """
    input_shape = check_int_tuple(input_shape, "input_shape")
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    hidden_units = check_int_tuple(hidden_units, "hidden_units", True)
    likelihood = likelihoods.get(likelihood)
    out_shape = params_shape(input_shape, likelihood)

    x = keras.Input(shape=input_shape, name="x")
    x_label, h = dense_encoder_features(
        x, num_classes, hidden_units, activation
    )
    outputs = gaussian_encoder_head(
        h, latent_dim, beta=beta, free_bits=free_bits, seed=seed
    )

    z, z_label, h = dense_decoder_features(
        latent_dim, num_classes, hidden_units, activation
    )
    h = keras.layers.Dense(math.prod(out_shape), name="params")(h)
    params = keras.layers.Reshape(out_shape)(h)
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


def params_shape(input_shape, likelihood):
    """The shape of the decoder's output: `input_shape` with the channels
    of a pixel replaced by the likelihood's outputs for them."""
    outputs = likelihood.output_channels(input_shape[-1])
    if outputs == input_shape[-1]:
        return input_shape
    if len(input_shape) != 3:
        raise ValueError(
            f"The likelihood {type(likelihood).__name__} needs "
            f"{outputs} outputs for {input_shape[-1]} channels, which "
            "the dense builders give images only: expected `input_shape` of "
            "(height, width, channels). Received: "
            f"input_shape={input_shape!r}"
        )
    return input_shape[:2] + (outputs,)
