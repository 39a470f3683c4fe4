"""The dense layers on either side of the latent code of `build_mlp_vae`,
`build_conv_vae` and `build_resnet_vae`: from the encoder's features to the
input of `q(z|x)`'s head, and from `z` to the decoder's features."""

import keras

from keras_vae.builders.labels import concatenate_label
from keras_vae.builders.labels import label_input


def dense_encoder_features(
    features, num_classes, hidden_units, activation="relu"
):
    """The end of the encoder, before `gaussian_encoder_head`: `features`
    flattened, with the one-hot label appended (if `num_classes` is given),
    through `Dense` layers of `hidden_units`.

    Args:
        features: The encoder's features so far (any shape).
        num_classes: `None`, or the number of classes of the label input.
        hidden_units: The widths of the `Dense` layers.
        activation: The activation of the `Dense` layers.

    Returns:
        `(x_label, h)`: the label input (`None` without classes) and the
        features for the head.
    """
    x_label = label_input(num_classes)
    h = concatenate_label(keras.layers.Flatten()(features), x_label)
    for i, units in enumerate(hidden_units):
        h = keras.layers.Dense(units, activation, name=f"hidden_{i}")(h)
    return x_label, h


def dense_decoder_features(
    latent_dim, num_classes, hidden_units, activation="relu"
):
    """The start of the decoder, mirroring `dense_encoder_features`: `z`,
    with the one-hot label appended (if `num_classes` is given), through
    `Dense` layers of `hidden_units` in reverse order.

    Returns:
        `(z, z_label, h)`: the decoder's inputs (`z_label` is `None`
        without classes) and the features for the rest of the decoder.
    """
    z = keras.Input(shape=(latent_dim,), name="z")
    z_label = label_input(num_classes)
    h = concatenate_label(z, z_label)
    for i, units in enumerate(reversed(hidden_units)):
        h = keras.layers.Dense(units, activation, name=f"hidden_{i}")(h)
    return z, z_label, h
