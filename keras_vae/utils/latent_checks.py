"""Checks of the latent codes given to `decode`."""

import numpy as np

from keras_vae.utils.arrays import as_array
from keras_vae.utils.arrays import check_numbers
from keras_vae.utils.arrays import count_non_finite


def check_latent(z, latent_shape, name="z"):
    """Returns `z` as a float32 array of shape `(n,) + latent_shape`, `n >=
    1`, with finite values, or raises a `ValueError` naming the problem."""
    array = as_array(z, name)
    check_numbers(array, name)
    if np.iscomplexobj(array):
        raise ValueError(
            f"`{name}` must be real. Received: {name}.dtype={array.dtype}"
        )
    latent_shape = tuple(latent_shape)
    if array.ndim < 1 or tuple(array.shape[1:]) != latent_shape:
        raise ValueError(
            f"`{name}` must have shape (batch_size,) + {latent_shape}. "
            f"Received: {name}.shape={array.shape}"
        )
    if array.shape[0] == 0:
        raise ValueError(
            f"`{name}` is empty: there is nothing to decode. "
            f"Received: {name}.shape={array.shape}"
        )
    array = array.astype("float32")
    bad = count_non_finite(array)
    if bad:
        raise ValueError(
            f"`{name}` holds {bad} NaN or infinite values (or values beyond "
            f"float32). Received: {name} with {bad} non-finite values"
        )
    return array
