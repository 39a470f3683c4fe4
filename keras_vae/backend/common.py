"""What the backends share: the noise and inference functions of JAX and
PyTorch (which have no `tf.distribute`), their trainers' base, and the
widest float of TensorFlow and PyTorch."""

import keras

from keras_vae.backend.trainer import Trainer


def replica_normal(shape, dtype, seed_generator):
    """`keras.random.normal(shape, dtype=dtype, seed=seed_generator)`: on
    JAX and PyTorch one draw serves all devices (under
    `keras.distribution` the batch is one global array)."""
    return keras.random.normal(shape, dtype=dtype, seed=seed_generator)


def inference_function(fn):
    """`fn` as it runs: eagerly, op by op."""
    return fn


def wide_float():
    """`"float64"`: the float TensorFlow and PyTorch compute densities and
    log-sum-exps in where float32 would round."""
    return "float64"


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


class KerasLoopTrainer(Trainer):
    """What the JAX and PyTorch trainers share: Keras's own loops on one
    process, no `tf.distribute`, and metrics built from `x`.

    Keras builds the metrics given to `compile` from a batch's `y` before
    the first step, which a VAE has none of: its metrics compare the
    reconstruction with `x` itself (see `VAE.update_metrics`).
    `_symbolic_build` is Keras's hook for this, and has no public
    counterpart.
    """

    def _make_train_function(self, force=False):
        super()._make_train_function(force)
        self.train_function = _counting(self.train_function)

    def _make_test_function(self, force=False):
        super()._make_test_function(force)
        self.test_function = _counting(self.test_function)

    def _make_predict_function(self, force=False):
        super()._make_predict_function(force)
        self.predict_function = _counting(self.predict_function)

    def _check_backend_runs(self, jit_compile):
        refuse_tf_distribute()

    def _has_strategy(self):
        refuse_tf_distribute()
        return False

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
            inputs = self.step_inputs(data_batch)
            data = keras.ops.cast(self.data_of(inputs), "float32")
            data_batch = (inputs, data)
        return super()._symbolic_build(data_batch=data_batch)


class _StepCounting:
    """A function of Keras's JAX or PyTorch loop, `(state, iterator)` or
    `(batches)`, that records how many batches it ran as `steps_run`: the
    loop numbers an execution's last step as if it were full, which the
    progress bar corrects with it (`callbacks.ProgbarLogger`)."""

    def __init__(self, function):
        self.function = function
        self.steps_run = None

    def __call__(self, *args):
        *first, batches = args
        if isinstance(batches, list):
            self.steps_run = len(batches)
            return self.function(*args)
        counting = _CountingIterator(batches)
        result = self.function(*first, counting)
        self.steps_run = counting.count
        return result


class _CountingIterator:
    def __init__(self, iterator):
        self.iterator = iterator
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        item = next(self.iterator)
        self.count += 1
        return item


def _counting(function):
    if function is None or isinstance(function, _StepCounting):
        return function
    return _StepCounting(function)
