"""Which kinds of layers a model holds."""

import keras

_CONVOLUTIONS = (
    keras.layers.Conv1D,
    keras.layers.Conv2D,
    keras.layers.Conv3D,
    keras.layers.Conv1DTranspose,
    keras.layers.Conv2DTranspose,
    keras.layers.Conv3DTranspose,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
)


def nested_layers(model):
    """Every layer `model` holds, at any depth (itself excluded)."""
    # `Model.layers` lists only the direct children; Keras's own walk also
    # finds the layers that a custom layer holds as attributes, and has no
    # public name.
    return list(model._flatten_layers(include_self=False))


def has_convolutions(model):
    """Whether `model` holds a convolution at any depth."""
    return any(
        isinstance(layer, _CONVOLUTIONS) for layer in nested_layers(model)
    )
