import keras

from keras_vae import likelihoods
from keras_vae.builders.assembly import assemble_vae
from keras_vae.builders.encoder_head import gaussian_encoder_head
from keras_vae.utils.argument_checks import check_int_tuple
from keras_vae.utils.argument_checks import check_positive_int

ARCHITECTURES = ("conv", "recurrent")


def build_sequence_vae(
    input_shape=(64, 1),
    architecture="conv",
    latent_dim=16,
    filters=32,
    dilations=(1, 2, 4, 8),
    units=64,
    hidden_units=(128,),
    likelihood="gaussian",
    beta=1.0,
    free_bits=0.0,
    num_importance_samples=1,
    seed=None,
    preprocessing=None,
    prior=None,
    name="sequence_vae",
):
    """Builds a VAE of windows of a time series, `(window, channels)`.

    Two architectures share one latent code per window:

    - `"conv"`, a temporal convolution network: the encoder is a stack of
      `Conv1D` layers of `filters` filters, kernel 3 and the given
      `dilations` (each layer sees twice as far back as the one before with
      the default `(1, 2, 4, 8)`: a receptive field of 31 steps), then
      `Dense` layers of `hidden_units`; the decoder mirrors it, from a
      `Dense` layer to `(window, filters)` through the dilated convolutions
      in reverse order.
    - `"recurrent"`: the encoder is a `GRU` of `units` read to the window's
      end, then `Dense` layers of `hidden_units`; the decoder repeats its
      `Dense` features at every step and runs a `GRU` over them.

    Each ends in a per-step linear map to the likelihood's parameters,
    `likelihood.output_channels(channels)` per step. Windows are
    `keras_vae.datasets.windows(series, window)`; raw sensor units go in
    with `preprocessing=` an adapted `keras.layers.Normalization(axis=-1)`
    (one mean and variance per channel), and the log-densities come out in
    those units, as for tables. `keras_vae.evaluation.point_scores` turns
    a trained model into one anomaly score per time step.

    Args:
        input_shape: `(window, channels)`.
        architecture: `"conv"` or `"recurrent"`.
        latent_dim: The number of latent dimensions.
        filters: The filters of each convolution (`"conv"`).
        dilations: The dilation rate of each convolution (`"conv"`).
        units: The units of the GRUs (`"recurrent"`).
        hidden_units: The widths of the dense layers on either side of the
            latent code; `()` for none.
        likelihood: `"gaussian"` (the default: real-valued sensors),
            `"bernoulli"` or a `keras_vae.likelihoods` instance.
        beta: The weight of the KL term.
        free_bits: The KL floor per latent dimension in nats (0 is off).
        num_importance_samples: `K` of the training objective: 1 for the
            ELBO, more for the IWAE bound (see `keras_vae.VAE`).
        seed: Optional integer seed of the `Sampling` layer and of the
            importance samples.
        preprocessing: `None` (windows already in the likelihood's units)
            or an adapted `keras.layers.Normalization(axis=-1)` (windows in
            their own units). See `keras_vae.VAE`.
        prior: The prior `p(z)`: `None` (the standard normal) or a
            `keras_vae.priors.Prior`. See `keras_vae.VAE`.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.VAE`.

    Example:

    ```python
    series = np.sin(np.arange(2000) / 10)[:, None].astype("float32")
    x = keras_vae.datasets.windows(series, window=32)
    normalization = keras.layers.Normalization(axis=-1)
    normalization.adapt(x)
    vae = keras_vae.build_sequence_vae(
        input_shape=(32, 1), preprocessing=normalization
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x, epochs=1, batch_size=64, verbose=0)
    ```
    """
    input_shape = check_int_tuple(input_shape, "input_shape")
    if len(input_shape) != 2:
        raise ValueError(
            "Invalid value for argument `input_shape`: expected `(window, "
            "channels)` of a window of a time series, e.g. (64, 8). "
            f"Received: input_shape={input_shape}"
        )
    if architecture not in ARCHITECTURES:
        raise ValueError(
            "Invalid value for argument `architecture`: expected one of "
            f"{ARCHITECTURES}. Received: architecture={architecture!r}"
        )
    latent_dim = check_positive_int(latent_dim, "latent_dim")
    filters = check_positive_int(filters, "filters")
    dilations = check_int_tuple(dilations, "dilations")
    units = check_positive_int(units, "units")
    hidden_units = check_int_tuple(hidden_units, "hidden_units", True)
    likelihood = likelihoods.get(likelihood)
    window, channels = input_shape

    x = keras.Input(shape=input_shape, name="x")
    if architecture == "conv":
        h = x
        for i, rate in enumerate(dilations):
            h = keras.layers.Conv1D(
                filters,
                3,
                dilation_rate=rate,
                padding="same",
                activation="relu",
                name=f"conv_{i}",
            )(h)
        h = keras.layers.Flatten()(h)
    else:
        h = keras.layers.GRU(units, name="gru")(x)
    for i, width in enumerate(hidden_units):
        h = keras.layers.Dense(width, "relu", name=f"hidden_{i}")(h)
    outputs = gaussian_encoder_head(
        h, latent_dim, beta=beta, free_bits=free_bits, seed=seed
    )

    z = keras.Input(shape=(latent_dim,), name="z")
    h = z
    for i, width in enumerate(reversed(hidden_units)):
        h = keras.layers.Dense(width, "relu", name=f"hidden_{i}")(h)
    if architecture == "conv":
        h = keras.layers.Dense(window * filters, "relu")(h)
        h = keras.layers.Reshape((window, filters))(h)
        for i, rate in enumerate(reversed(dilations)):
            h = keras.layers.Conv1D(
                filters,
                3,
                dilation_rate=rate,
                padding="same",
                activation="relu",
                name=f"deconv_{i}",
            )(h)
    else:
        h = keras.layers.Dense(units, "relu")(h)
        h = keras.layers.RepeatVector(window)(h)
        # Unrolled: a fixed, short window, and a plain graph that the
        # SavedModel and the TFLite converter take without a while loop.
        h = keras.layers.GRU(units, return_sequences=True, unroll=True)(h)
    params = keras.layers.Dense(
        likelihood.output_channels(channels), name="params"
    )(h)
    return assemble_vae(
        x,
        None,
        outputs,
        z,
        None,
        params,
        likelihood=likelihood,
        num_importance_samples=num_importance_samples,
        seed=seed,
        preprocessing=preprocessing,
        prior=prior,
        name=name,
    )
