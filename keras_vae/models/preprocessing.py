"""The units of a VAE's input: raw 8-bit pixels or table rows in their own
units, mapped inside the model to the units its likelihood works in.

A preprocessing is an affine map `u = x * scale + offset` per feature, done
by a Keras layer: `keras.layers.Rescaling(1 / 255)` for 8-bit pixels
(`"8bit"`), or a `keras.layers.Normalization` adapted on the training rows
of a table. Being affine, it can be undone for decoded outputs, and its
Jacobian keeps a continuous likelihood a density of the data in its own
units.
"""

import keras
import numpy as np
from keras import ops

from keras_vae.utils.arrays import is_numeric_dtype
from keras_vae.utils.data_checks import DataChecks
from keras_vae.utils.range_checks import check_8bit_range

#: Pixel values 0-255 (uint8, or floats in [0, 255]).
PIXELS_8BIT = "8bit"


def get(preprocessing):
    """Returns the layer for a `preprocessing` argument (None for none)."""
    if preprocessing is None:
        return None
    if preprocessing == PIXELS_8BIT:
        return keras.layers.Rescaling(1.0 / 255, name="rescaling")
    if isinstance(preprocessing, keras.layers.Normalization):
        if preprocessing.invert:
            raise ValueError(
                "`preprocessing` must map the data to the model's units, not "
                "back. Received: preprocessing=Normalization(invert=True)"
            )
        return preprocessing
    raise ValueError(
        "Invalid value for argument `preprocessing`: expected None, "
        f'"{PIXELS_8BIT}" (pixel values 0-255) or a '
        "`keras.layers.Normalization` adapted on the training data. "
        f"Received: preprocessing={preprocessing!r}"
    )


def pixel_preprocessing(preprocessing, likelihood):
    """The preprocessing of a model whose likelihood is over pixel values:
    `"8bit"` (also for `None`), or an error."""
    if preprocessing in (None, PIXELS_8BIT):
        return PIXELS_8BIT
    raise ValueError(
        f"{type(likelihood).__name__} models 8-bit pixel values, so the "
        'model takes them as they are: pass `preprocessing="8bit"` (or '
        "None, which means the same here). Received: "
        f"preprocessing={preprocessing!r}"
    )


def affine(layer):
    """`(scale, offset)`, float32 tensors broadcastable to a batch, such
    that `layer(x) == x * scale + offset`."""
    if isinstance(layer, keras.layers.Rescaling):
        scale = ops.convert_to_tensor(layer.scale, "float32")
        offset = ops.convert_to_tensor(layer.offset, "float32")
        return scale, offset
    # Exactly what `keras.layers.Normalization` computes.
    std = ops.maximum(
        ops.sqrt(ops.cast(layer.variance, "float32")), keras.config.epsilon()
    )
    scale = 1.0 / std
    return scale, -ops.cast(layer.mean, "float32") * scale


def log_abs_jacobian(layer, data_shape):
    """`log |du/dx|` of one example: the sum of `log |scale|` over its
    `data_shape` values."""
    scale, _ = affine(layer)
    log_scale = ops.broadcast_to(
        ops.log(ops.abs(scale)), (1,) + tuple(data_shape)
    )
    return ops.sum(log_scale)


class RawData(DataChecks):
    """Checks data given in its own units, as `likelihoods` check data in
    the model's units (`check_dtype`, `check_data`)."""

    def __init__(self, preprocessing):
        self.preprocessing = preprocessing

    def check_dtype(self, dtype, name="x"):
        dtype = np.dtype(dtype)
        if not is_numeric_dtype(dtype):
            raise ValueError(
                f"`{name}` must hold numbers. Received: {name}.dtype={dtype}"
            )

    def check_data(self, x, name="x"):
        self.check_dtype(x.dtype, name)
        if self.preprocessing != PIXELS_8BIT:
            return
        low, high = check_8bit_range(x, name, "This VAE takes", "rescaled")
        x = np.asarray(x)
        if high <= 1 and np.issubdtype(x.dtype, np.floating):
            if np.any(x != np.round(x)):
                raise ValueError(
                    "This VAE takes 8-bit pixel values, 0 to 255, but "
                    f"`{name}` holds values between 0 and 1 that are not whole "
                    "numbers: it looks rescaled to [0, 1]. Pass the values "
                    f"0-255 (the model rescales them itself). Received: "
                    f"min={low:g}, max={high:g}"
                )
