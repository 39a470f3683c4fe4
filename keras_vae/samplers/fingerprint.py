"""The fingerprint of a model's weights: how a fitted sampler knows the
encoder it was fitted to."""

import hashlib

import numpy as np
from keras import ops

#: The hexadecimal digits a fingerprint keeps (64 bits of the sha256).
FINGERPRINT_DIGITS = 16


def weights_fingerprint(weights):
    """A short sha256 of the values of `weights` (a list of variables or
    arrays), with their shapes and dtypes, in their order: the same on
    every backend for the same values, different for any other value."""
    digest = hashlib.sha256()
    for weight in weights:
        value = np.ascontiguousarray(ops.convert_to_numpy(weight))
        digest.update(f"{value.dtype.str}{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()[:FINGERPRINT_DIGITS]
