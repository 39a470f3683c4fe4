"""In-memory arrays fed to `fit` as Keras feeds them, without tf.data's
autotuner: part of the fast path of `VAE.fit`."""

import tensorflow as tf

# Keras has no public API for its array data adapter: it tells whether
# Keras feeds `x` through its array pipeline, and whether the epoch
# iterator of a `fit` is that pipeline.
from keras.src.trainers.data_adapters.array_data_adapter import ArrayDataAdapter
from keras.src.trainers.data_adapters.array_data_adapter import (
    can_convert_arrays,
)

from keras_vae.utils.tf_data import without_autotune


def is_array_input(x):
    """Whether Keras would feed `x` through its array pipeline: NumPy
    arrays or tensors, alone or in a tuple, list or dict."""
    return can_convert_arrays((x,))


def feed_without_autotune(epoch_iterator):
    """Turns tf.data's autotuner off in the dataset that Keras's TensorFlow
    `epoch_iterator` feeds to the steps, where Keras made it of arrays.
    Returns whether it did.

    `fit` hands Keras the user's arrays, as any Keras model does (so the
    callbacks, and tools that wrap `keras.Model.fit` such as MLflow's
    autologging, see them). Keras makes its array adapter of them and, on
    one device, one `tf.data` dataset that every epoch iterates: this
    replaces that dataset with the same one under other `tf.data` options
    (see `without_autotune`). The batches are exactly Keras's own: the same
    per-epoch permutation, drawn from the same seeds, and the same short
    last batch.
    """
    # The attribute is Keras's, not public: where it is gone or holds a
    # distributed dataset, Keras's own pipeline runs unchanged.
    dataset = getattr(epoch_iterator, "_distributed_dataset", None)
    adapter = getattr(epoch_iterator, "data_adapter", None)
    if not isinstance(adapter, ArrayDataAdapter) or not isinstance(
        dataset, tf.data.Dataset
    ):
        return False
    epoch_iterator._distributed_dataset = without_autotune(dataset)
    return True
