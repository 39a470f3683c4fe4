"""What the backends without `tf.distribute` share."""

import keras


def replica_normal(shape, dtype, seed_generator):
    """`keras.random.normal(shape, dtype=dtype, seed=seed_generator)`: on
    JAX and PyTorch one draw serves all devices (under
    `keras.distribution` the batch is one global array)."""
    return keras.random.normal(shape, dtype=dtype, seed=seed_generator)


def inference_function(fn):
    """`fn` as it runs: eagerly, op by op."""
    return fn


def refuse_tf_distribute():
    """Raises a `ValueError` under a `tf.distribute` strategy, which only the
    TensorFlow backend runs."""
    import tensorflow as tf  # The data pipeline's; always installed.

    if tf.distribute.has_strategy():
        raise ValueError(
            "`tf.distribute` strategies run on the TensorFlow backend only, "
            "and this model would silently train on one device. Set "
            "KERAS_BACKEND=tensorflow, or on JAX use "
            "`keras.distribution.set_distribution("
            "keras.distribution.DataParallel())`. Received: backend="
            f"{keras.backend.backend()!r} under "
            f"{type(tf.distribute.get_strategy()).__name__}"
        )


class KerasLoopTrainer:
    """What the JAX and PyTorch trainers share: Keras's own loops on one
    process, no `tf.distribute`, and metrics built from `x`.

    Keras builds the metrics given to `compile` from a batch's `y` before
    the first step, which a VAE has none of: its metrics compare the
    reconstruction with `x` itself (see
    `StepsMixin._update_compiled_metrics`). `_symbolic_build` is Keras's
    hook for this, and has no public counterpart.
    """

    def _tracker_results(self, trackers):
        return {m.name: m.result() for m in trackers}

    def _default_jit_compile(self):
        return "auto"

    def _has_strategy(self):
        refuse_tf_distribute()
        return False

    def _fit_data(self, x, y, arguments):
        return x

    def _symbolic_build(self, iterator=None, data_batch=None):
        if data_batch is None and iterator is not None:
            # The first batch, taken as Keras's own method takes it.
            for _, _, data_or_iterator in iterator:
                if isinstance(data_or_iterator, (list, tuple)):
                    data_batch = data_or_iterator[0]
                else:
                    data_batch = next(data_or_iterator)
                break
        if data_batch is not None:
            inputs = self._unpack(data_batch)
            data = keras.ops.cast(self._data(inputs), "float32")
            data_batch = (inputs, data)
        return super()._symbolic_build(data_batch=data_batch)
