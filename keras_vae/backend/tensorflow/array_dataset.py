"""In-memory arrays fed to `fit` as Keras feeds them, without tf.data's
autotuner: part of the fast path of `VAE.fit`."""

# Keras has no public API for its array data adapter; `fit` accepts one in
# place of `x`, and subclassing it is the only way to get its exact batches
# (same permutation and seeds) with tf.data options of our own.
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
from keras.src.trainers.data_adapters.array_data_adapter import (
    can_convert_arrays,
)

from keras_vae.utils.tf_data import without_autotune


def is_array_input(x):
    """Whether Keras would feed `x` through its array pipeline: NumPy
    arrays or tensors, alone or in a tuple, list or dict."""
    return can_convert_arrays((x,))


class ArrayDataset(ArrayDataAdapter):
    """Keras's adapter for arrays, with tf.data's autotuner off.

    `fit` takes a data adapter in place of `x` and uses it as it is, so the
    batches are exactly those Keras would make of the arrays: the same
    per-epoch permutation, drawn from the same seeds, and the same short
    last batch. Only the `tf.data` options change (see `without_autotune`).
    """

    def get_tf_dataset(self):
        return without_autotune(super().get_tf_dataset())
