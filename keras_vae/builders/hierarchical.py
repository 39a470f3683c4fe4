import functools

import keras

from keras_vae import likelihoods
from keras_vae.builders.hierarchical_heads import gaussian_heads
from keras_vae.builders.hierarchical_stability import LOG_VARIANCE_BOUND
from keras_vae.builders.hierarchical_stability import SKIP_GRADIENT_NORM
from keras_vae.builders.hierarchical_stability import clip_gradient_norm_for
from keras_vae.builders.image_sizes import (
    check_image_shape as _check_image_shape,
)
from keras_vae.builders.image_sizes import halved_sizes
from keras_vae.builders.image_sizes import output_padding as _output_padding
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.utils.argument_checks import check_int_tuple


def build_hierarchical_vae(
    input_shape=(28, 28, 1),
    latent_channels=((4, 4), (4,)),
    filters=(32, 64),
    activation="swish",
    likelihood="bernoulli",
    beta=1.0,
    free_bits=0.0,
    num_importance_samples=1,
    seed=None,
    preprocessing=None,
    log_variance_bound=LOG_VARIANCE_BOUND,
    clip_gradient_norm="auto",
    skip_gradient_norm=SKIP_GRADIENT_NORM,
    max_consecutive_skips=100,
    prior=None,
    name="hierarchical_vae",
):
    """Builds a convolutional `HierarchicalVAE` for `(height, width,
    channels)` images, with groups of latent channels at several
    resolutions.

    The bottom-up encoder is a 3x3 convolution, then one stride-2 3x3
    convolution and one residual block per entry of `filters`: each halves
    the height and width (rounding up, as in `build_conv_vae`). The latent
    groups live at the coarsest resolutions, from the top: the first entry
    of `latent_channels` at the coarsest, the next at twice that, and so
    on; an entry is the channels of one group, or a tuple of them for
    several groups at one resolution. With the defaults on 28x28 images:
    two groups of 4 channels at 7x7, then one of 4 channels at 14x14.

    Each group's networks are small convolutional ones (see
    `keras_vae.HierarchicalVAE` for their roles): the posterior reads the
    top-down state and the encoder's features of its resolution, the prior
    the top-down state (its heads start at zero, so every prior starts as
    `N(0, I)`), and the merge adds a 1x1 projection of `z_i` to the state,
    then a residual block, and upsamples with a stride-2 transposed
    convolution where the next group is finer. The decoder upsamples the
    last state to the image and ends in a 3x3 convolution to
    `likelihood.output_channels(channels)` channels, so any likelihood with
    that method (Bernoulli, Gaussian, a discretized logistic mixture) fits.

    The stability options of `keras_vae.HierarchicalVAE` are on by default,
    as NVAE and VDVAE train: log-variances soft-clamped to `±7`, gradients
    clipped at 200 per value of an example, non-finite updates skipped
    (so `fit` logs `gradient_norm` and `skipped_updates`). Measured on the
    CIFAR-10 recipe of docs/benchmarks/cifar10.md: without them its
    gradient norm grew from about 4,400 to 265,000 in three epochs, and at
    a learning rate of 5e-3 the lower groups' KL overflowed within 32
    steps; the bound alone or the clip alone did not hold it, the three
    together did. `None` switches each off.

    Args:
        input_shape: `(height, width, channels)`, any sizes >= 1.
        latent_channels: The groups per resolution, coarsest first: a tuple
            whose entries are an int (one group) or a tuple of ints.
            At most one entry per entry of `filters`.
        filters: The width of the encoder and of the top-down path at each
            resolution below the input's, finest first.
        activation: The activation of the convolutions.
        likelihood: `"bernoulli"`, `"gaussian"` or a `keras_vae.likelihoods`
            instance.
        beta: The weight of the KL terms: a float, or one per group.
        free_bits: The KL floor of each group in nats: a float, or one per
            group (0 is off).
        num_importance_samples: `K` of the training objective (see
            `keras_vae.VAE`).
        seed: Optional integer seed of the latent draws.
        preprocessing: `None`, `"8bit"` (pixel values 0-255) or an adapted
            `keras.layers.Normalization`. See `keras_vae.VAE`.
        log_variance_bound: Soft clamp of every posterior and prior
            log-variance to `c * tanh(v / c)`: a float `c > 0`, by default
            7 (variances within `e^±7`), or `None` (off: only the clip to
            `[-30, 20]`).
        clip_gradient_norm: Global gradient-norm clipping: `"auto"` (the
            default) clips at 200 per value of one example, VDVAE's 200 on
            a loss per dimension (614,400 for 32x32x3 images, 156,800 for
            28x28x1); a float > 0 clips there, `None` is off.
        skip_gradient_norm: Updates whose global gradient norm is
            non-finite or above this are skipped and counted in
            `skipped_updates`: by default `math.inf` (only non-finite
            ones), a float >= 0, or `None` (off).
        max_consecutive_skips: Training stops with an error after more
            updates than this were skipped in a row.
        prior: The prior of the top group: `None` (the standard normal)
            or a `keras_vae.priors.Prior`, such as `MixtureOfGaussians(10)`
            or `VampPrior(500)`. See `keras_vae.HierarchicalVAE`.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.HierarchicalVAE`.

    Example:

    ```python
    vae = keras_vae.build_hierarchical_vae(
        input_shape=(28, 28, 1), latent_channels=((4, 4), (4,)),
        filters=(32, 64), preprocessing="8bit")
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train_uint8, epochs=10, batch_size=128)
    ```
    """
    input_shape = _check_image_shape(input_shape)
    filters = check_int_tuple(filters, "filters")
    groups = _check_latent_channels(latent_channels, len(filters))
    likelihood = likelihoods.get(likelihood)
    out_channels = likelihood.output_channels(input_shape[2])
    # The (height, width) at each level: the image's, then halved per
    # entry of `filters`; the width of the paths at each level.
    sizes = halved_sizes(input_shape[:2], len(filters))
    widths = (filters[0],) + filters

    def conv(width, kernel=3, act=activation, **kwargs):
        return keras.layers.Conv2D(
            width, kernel, padding="same", activation=act, **kwargs
        )

    def residual_block(h, width, prefix):
        r = conv(width, name=f"{prefix}_conv_0")(h)
        r = conv(width, act=None, name=f"{prefix}_conv_1")(r)
        return keras.layers.Add(name=f"{prefix}_add")([h, r])

    def upsample(h, level, prefix):
        return keras.layers.Conv2DTranspose(
            widths[level - 1],
            3,
            strides=2,
            padding="same",
            output_padding=_output_padding(sizes[level], sizes[level - 1]),
            activation=activation,
            name=f"{prefix}_up_{level}",
        )(h)

    def state_input(level, name):
        return keras.Input(shape=sizes[level] + (widths[level],), name=name)

    # === Bottom-up encoder ===
    x = keras.Input(shape=input_shape, name="x")
    h = conv(filters[0], name="stem")(x)
    by_level = {}
    for j, width in enumerate(filters, start=1):
        h = conv(width, strides=2, name=f"down_{j}")(h)
        h = residual_block(h, width, f"encoder_block_{j}")
        by_level[j] = h
    features = [
        conv(widths[level], kernel=1, name=f"features_{i}")(by_level[level])
        for i, (level, _) in enumerate(groups)
    ]
    encoder = keras.Model(x, features, name="encoder")

    # === One posterior, prior and merge per group ===
    posteriors, priors, merges = [], [], []
    for i, (level, channels) in enumerate(groups):
        width = widths[level]
        e = state_input(level, f"e_{i}")
        h = state_input(level, f"h_{i}")
        t = e if i == 0 else keras.layers.Concatenate()([h, e])
        t = conv(width, name=f"posterior_{i}_conv")(t)
        q = _gaussian_heads(t, channels, f"posterior_{i}")
        posteriors.append(
            keras.Model(e if i == 0 else [h, e], q, name=f"posterior_{i}")
        )
        if i > 0:
            t = conv(width, name=f"prior_{i}_conv")(h)
            p = _gaussian_heads(t, channels, f"prior_{i}", zeros=True)
            priors.append(keras.Model(h, p, name=f"prior_{i}"))
        z = keras.Input(shape=sizes[level] + (channels,), name=f"z_{i}")
        projected = conv(width, kernel=1, act=None, name=f"merge_{i}_z")(z)
        t = projected
        if i > 0:
            t = keras.layers.Add(name=f"merge_{i}_add")([h, projected])
        t = residual_block(t, width, f"merge_{i}_block")
        if i + 1 < len(groups) and groups[i + 1][0] < level:
            t = upsample(t, level, f"merge_{i}")
        merges.append(
            keras.Model(z if i == 0 else [h, z], t, name=f"merge_{i}")
        )

    # === Decoder: the last state up to the image ===
    last_level = groups[-1][0]
    h_last = state_input(last_level, "h")
    t = h_last
    for level in range(last_level, 0, -1):
        t = upsample(t, level, "decoder")
    params = keras.layers.Conv2D(
        out_channels, 3, padding="same", name="params"
    )(t)
    decoder = keras.Model(h_last, params, name="decoder")

    return HierarchicalVAE(
        encoder,
        posteriors,
        priors,
        merges,
        decoder,
        likelihood=likelihood,
        beta=beta,
        free_bits=free_bits,
        num_importance_samples=num_importance_samples,
        seed=seed,
        preprocessing=preprocessing,
        log_variance_bound=log_variance_bound,
        clip_gradient_norm=clip_gradient_norm_for(
            clip_gradient_norm, input_shape
        ),
        skip_gradient_norm=skip_gradient_norm,
        max_consecutive_skips=max_consecutive_skips,
        prior=prior,
        name=name,
    )


def _gaussian_heads(features, channels, prefix, zeros=False):
    """`[mean, log_var]` 3x3 convolutions, in float32; with `zeros`, both
    start at 0 (a standard normal). See `gaussian_heads`."""
    conv = functools.partial(keras.layers.Conv2D, channels, 3, padding="same")
    return gaussian_heads(conv, features, prefix, zeros)


def _check_latent_channels(latent_channels, num_levels):
    """`latent_channels` as a list of `(level, channels)` per group, top
    first, where level `j` is the resolution after `j` halvings."""
    try:
        entries = list(latent_channels)
        groups = []
        for k, entry in enumerate(entries):
            for channels in check_int_tuple(entry, "latent_channels"):
                groups.append((num_levels - k, channels))
        valid = 0 < len(entries) <= num_levels
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "Invalid value for argument `latent_channels`: expected the "
            "channels of the groups at each resolution, coarsest first, "
            f"one entry (an int or a tuple of ints) for each of at most "
            f"{num_levels} resolutions (one per entry of `filters`). "
            f"Received: latent_channels={latent_channels!r}"
        )
    return groups
