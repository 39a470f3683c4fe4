"""Array checks shared by the data, label and latent checks."""

import numpy as np


def is_numeric_dtype(dtype):
    """Whether `dtype` holds numbers: an integer or float dtype, not bool."""
    dtype = np.dtype(dtype)
    numeric = np.issubdtype(dtype, np.integer) or np.issubdtype(
        dtype, np.floating
    )
    return numeric and dtype != np.bool_


def check_numbers(array, name):
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise ValueError(
            f"`{name}` must hold numbers. Received: {name}.dtype={array.dtype}"
        )


def count_non_finite(array):
    return int(array.size - np.count_nonzero(np.isfinite(array)))


def as_array(x, name):
    try:
        return np.asarray(x)
    except ValueError as e:  # Ragged nested lists.
        raise ValueError(
            f"`{name}` must be a rectangular array: its rows have different "
            f"lengths. Received: {name} that NumPy cannot stack ({e})"
        ) from e
