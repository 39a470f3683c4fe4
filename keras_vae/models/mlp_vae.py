import math

import keras

from keras_vae.models.gaussian_encoder_head import check_int_tuple
from keras_vae.models.gaussian_encoder_head import check_positive_int
from keras_vae.models.gaussian_encoder_head import gaussian_encoder_head
from keras_vae.models.vae import VAE


def build_mlp_vae(
    input_shape=(28, 28, 1),
    latent_dim=20,
    hidden_units=(400,),
    likelihood="bernoulli",
    activation="relu",
    beta=1.0,
    free_bits=0.0,
    seed=None,
    name="mlp_vae",
):
    """Builds a VAE whose encoder and decoder are multilayer perceptrons.

    The encoder flattens `x` and applies `Dense` layers of `hidden_units`;
    the decoder mirrors them and reshapes back to `input_shape`. With the
    defaults it is the 784-400-20 VAE of Kingma and Welling (and of the
    PyTorch example).

    Args:
        input_shape: The shape of one example, any rank.
        latent_dim: The number of latent dimensions.
        hidden_units: The widths of the encoder's hidden layers; the decoder
            uses them in reverse order. `()` gives linear maps.
        likelihood: `"bernoulli"`, `"gaussian"` or a `keras_vae.likelihoods`
            instance.
        activation: The activation of the hidden layers.
        beta: The weight of the KL term.
        free_bits: The KL floor per latent dimension in nats (0 is off).
        seed: Optional integer seed of the `Sampling` layer.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.VAE`.

    Example:

    ```python
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    ```
    """
    input_shape = check_int_tuple(input_shape, "input_shape")
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    hidden_units = check_int_tuple(hidden_units, "hidden_units", True)

    x = keras.Input(shape=input_shape, name="x")
    h = keras.layers.Flatten()(x)
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(units, activation, name=f"hidden_{i}")(h)
    outputs = gaussian_encoder_head(
        h, latent_dim, beta=beta, free_bits=free_bits, seed=seed
    )
    encoder = keras.Model(x, outputs, name="encoder")

    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, units in enumerate(reversed(hidden_units)):
        h = keras.layers.Dense(units, activation, name=f"hidden_{i}")(h)
    h = keras.layers.Dense(math.prod(input_shape), name="params")(h)
    params = keras.layers.Reshape(input_shape)(h)
    decoder = keras.Model(z, params, name="decoder")
    return VAE(encoder, decoder, likelihood=likelihood, name=name)
