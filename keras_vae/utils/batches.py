"""Running a function of tensors over arrays, one batch at a time."""

import numpy as np
from keras import ops

from keras_vae.utils.argument_checks import check_positive_int


def in_batches(fn, inputs, batch_size):
    """Runs `fn` over `inputs` in batches of `batch_size` examples and
    returns its results concatenated, as a list of NumPy arrays.

    Args:
        fn: A function of one batch, of the structure of `inputs`, that
            returns a list of tensors with the batch on the first axis.
        inputs: An array, or a tuple of arrays of the same length.
        batch_size: The examples per batch, an integer >= 1.
    """
    batch_size = check_positive_int(batch_size, "batch_size")
    arrays = inputs if isinstance(inputs, tuple) else (inputs,)
    parts = []
    for start in range(0, len(arrays[0]), batch_size):
        batch = tuple(a[start : start + batch_size] for a in arrays)
        if not isinstance(inputs, tuple):
            batch = batch[0]
        parts.append([ops.convert_to_numpy(t) for t in fn(batch)])
    return [np.concatenate(column) for column in zip(*parts)]
