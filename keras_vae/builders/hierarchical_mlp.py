import functools
import math

import keras

from keras_vae import likelihoods
from keras_vae.builders.hierarchical_heads import gaussian_heads
from keras_vae.builders.hierarchical_stability import LOG_VARIANCE_BOUND
from keras_vae.builders.hierarchical_stability import SKIP_GRADIENT_NORM
from keras_vae.builders.hierarchical_stability import clip_gradient_norm_for
from keras_vae.builders.mlp import params_shape
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.utils.argument_checks import check_int_tuple


def build_hierarchical_mlp_vae(
    input_shape=(28, 28, 1),
    latent_dims=(32, 64),
    hidden_units=(256, 512),
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
    name="hierarchical_mlp_vae",
):
    """Builds a `HierarchicalVAE` of dense layers: a ladder of latent
    vectors over flat data, the top-down hierarchy of LVAE for examples of
    any shape (flattened), such as MNIST digits or table rows.

    `latent_dims` and `hidden_units` are given from the top group down,
    one entry per group. The bottom-up encoder flattens `x` and runs one
    stage per group from the bottom up: two `Dense` layers of that group's
    width, whose output is the group's features, the input of the next
    stage. The top-down path mirrors it: the top group's posterior reads
    its features, every lower group's posterior reads the top-down state
    and its features, its prior the state alone (a `Dense` layer of the
    group's width, then the Gaussian heads; the prior's heads start at
    zero, so every prior starts as `N(0, I)`), and a merge of two `Dense`
    layers maps the state and `z_i` to the next state, of the next group's
    width. The decoder maps the last state through a `Dense` layer of the
    bottom width to the likelihood's parameters, reshaped to the data's
    shape (for images, `likelihood.output_channels(channels)` per pixel).

    Unlike the convolutional `build_hierarchical_vae`, these models have no
    convolutions, so on a CPU they train under the default fused XLA loop.

    Args:
        input_shape: The shape of one example, any rank.
        latent_dims: The size of each latent group, top first.
        hidden_units: The width of each group's dense layers, top first (as
            many entries as `latent_dims`).
        activation: The activation of the dense layers.
        likelihood: `"bernoulli"`, `"gaussian"` or a `keras_vae.likelihoods`
            instance.
        beta: As for `keras_vae.HierarchicalVAE`.
        free_bits: As for `keras_vae.HierarchicalVAE`.
        num_importance_samples: As for `keras_vae.HierarchicalVAE`.
        seed: As for `keras_vae.HierarchicalVAE`.
        preprocessing: As for `keras_vae.HierarchicalVAE`.
        log_variance_bound: As for `build_hierarchical_vae`: 7 by
            default, `None` is off.
        clip_gradient_norm: As for `build_hierarchical_vae`: `"auto"` (the
            default) clips at 200 per value of one example (156,800 for
            28x28x1), `None` is off.
        skip_gradient_norm: As for `build_hierarchical_vae`: `math.inf`
            (the default) skips non-finite updates only, `None` is off.
        max_consecutive_skips: As for `keras_vae.HierarchicalVAE`.
        prior: The prior of the top group: `None` (the standard normal)
            or a `keras_vae.priors.Prior`, such as `MixtureOfGaussians(10)`
            or `VampPrior(500)`. See `keras_vae.HierarchicalVAE`.
        name: The model name.

    Returns:
        An uncompiled `keras_vae.HierarchicalVAE`.

    Example:

    ```python
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(28, 28, 1), latent_dims=(32, 64),
        hidden_units=(256, 512))
    vae.compile(optimizer=keras.optimizers.Adamax(2e-3))
    vae.fit(x_train_binarized, epochs=100, batch_size=100)
    ```
    """
    input_shape = check_int_tuple(input_shape, "input_shape")
    latent_dims = check_int_tuple(latent_dims, "latent_dims")
    hidden_units = check_int_tuple(hidden_units, "hidden_units")
    if len(hidden_units) != len(latent_dims):
        raise ValueError(
            "Invalid value for argument `hidden_units`: expected one width "
            f"per latent group, {len(latent_dims)} for latent_dims="
            f"{latent_dims}. Received: hidden_units={hidden_units}"
        )
    likelihood = likelihoods.get(likelihood)
    out_shape = params_shape(input_shape, likelihood)
    num_groups = len(latent_dims)

    def dense(width, name, act=activation):
        return keras.layers.Dense(width, act, name=name)

    # === Bottom-up encoder: one stage per group, the bottom group first ===
    x = keras.Input(shape=input_shape, name="x")
    h = keras.layers.Flatten()(x)
    features = [None] * num_groups
    for i in reversed(range(num_groups)):
        h = dense(hidden_units[i], f"encoder_{i}_0")(h)
        h = dense(hidden_units[i], f"encoder_{i}_1")(h)
        features[i] = h
    encoder = keras.Model(x, features, name="encoder")

    # === One posterior, prior and merge per group ===
    posteriors, priors, merges = [], [], []
    for i, (size, width) in enumerate(zip(latent_dims, hidden_units)):
        e = keras.Input(shape=(width,), name=f"e_{i}")
        state = keras.Input(shape=(width,), name=f"h_{i}")
        if i == 0:
            posteriors.append(
                keras.Model(
                    e, _heads(e, size, "posterior_0"), name="posterior_0"
                )
            )
        else:
            t = keras.layers.Concatenate()([state, e])
            t = dense(width, f"posterior_{i}_dense")(t)
            posteriors.append(
                keras.Model(
                    [state, e],
                    _heads(t, size, f"posterior_{i}"),
                    name=f"posterior_{i}",
                )
            )
            t = dense(width, f"prior_{i}_dense")(state)
            priors.append(
                keras.Model(
                    state,
                    _heads(t, size, f"prior_{i}", zeros=True),
                    name=f"prior_{i}",
                )
            )
        z = keras.Input(shape=(size,), name=f"z_{i}")
        next_width = hidden_units[min(i + 1, num_groups - 1)]
        t = z if i == 0 else keras.layers.Concatenate()([state, z])
        t = dense(next_width, f"merge_{i}_0")(t)
        t = dense(next_width, f"merge_{i}_1")(t)
        merges.append(
            keras.Model(z if i == 0 else [state, z], t, name=f"merge_{i}")
        )

    # === Decoder: the last state to the likelihood's parameters ===
    last = keras.Input(shape=(hidden_units[-1],), name="h")
    t = dense(hidden_units[-1], "decoder_dense")(last)
    t = keras.layers.Dense(math.prod(out_shape), name="params")(t)
    decoder = keras.Model(
        last, keras.layers.Reshape(out_shape)(t), name="decoder"
    )

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


def _heads(features, size, prefix, zeros=False):
    """`[mean, log_var]` dense heads in float32; with `zeros`, both start at
    0 (a standard normal). See `gaussian_heads`."""
    dense = functools.partial(keras.layers.Dense, size)
    return gaussian_heads(dense, features, prefix, zeros)
