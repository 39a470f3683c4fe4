"""The one-hot label inputs of the builders' conditional models."""

import keras

from keras_vae.utils.argument_checks import check_positive_int


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
