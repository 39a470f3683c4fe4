"""The training and test steps of a VAE on TensorFlow: a gradient tape,
`tf.distribute` replicas, and the fused multi-step XLA function."""

import contextlib

import tensorflow as tf

from keras_vae.backend.tensorflow.array_dataset import feed_without_autotune
from keras_vae.backend.tensorflow.array_dataset import is_array_input
from keras_vae.backend.tensorflow.distribute import has_strategy
from keras_vae.backend.tensorflow.distribute import metric_results
from keras_vae.backend.tensorflow.distribute import replica_share
from keras_vae.backend.tensorflow.fused_function import FusedFunction
from keras_vae.backend.trainer import STEPS_PER_EXECUTION
from keras_vae.backend.trainer import Trainer
from keras_vae.utils.layer_types import has_convolutions


class TensorFlowTrainer(Trainer):
    """The TensorFlow half of `keras_vae.VAE`'s training loop.

    It runs the model's steps (see `keras_vae.backend.trainer.Trainer`) in
    a `tf.GradientTape`, weights each replica's loss by its share of the
    global batch under a `tf.distribute` strategy, and, on one device,
    fuses `steps_per_execution` steps into one XLA program
    (`FusedFunction`).
    """

    def train_step(self, data):
        inputs = self.step_inputs(data)
        self.apply_kl_warmup()
        with tf.GradientTape() as tape:
            terms = self.compute_loss_terms(inputs, training=True)
            # Keras sums gradients over replicas: weight each replica's
            # batch mean by its share of the global batch.
            share = replica_share(self.data_of(inputs))
            scaled_loss = self.optimizer.scale_loss(terms["loss"] * share)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        update = self.apply_update(gradients)
        return self.update_metrics(inputs, terms, update)

    def test_step(self, data):
        inputs = self.step_inputs(data)
        terms = self.compute_loss_terms(inputs, training=False)
        return self.update_metrics(inputs, terms)

    def _tracker_results(self, trackers):
        return metric_results(trackers)

    def _default_steps_per_execution(self):
        # Keras's multi-step function fails under a strategy
        # (keras-team/keras#19246): one step per execution there.
        return 1 if self._has_strategy() else STEPS_PER_EXECUTION

    def _default_jit_compile(self):
        # XLA on one device, except for convolutions on a CPU, where XLA's
        # CPU convolutions inside the fused loop are far slower than
        # TensorFlow's own (docs/benchmarks/performance.md). Under a
        # strategy, Keras's own choice.
        if self._has_strategy():
            return "auto"
        if has_convolutions(self) and not tf.config.list_physical_devices(
            "GPU"
        ):
            return "auto"
        return True

    def _has_strategy(self):
        # Created under a strategy's scope, or used under one now.
        return self._distribute_strategy is not None or has_strategy()

    def _make_train_function(self, force=False):
        # Keras's function for the `steps_per_execution` of now, fused.
        super()._make_train_function(force=force)
        if self._fuses_steps():
            self.train_function = FusedFunction(
                self, self.train_step, self.train_function
            )

    def _make_test_function(self, force=False):
        super()._make_test_function(force=force)
        if self._fuses_steps():
            self.test_function = FusedFunction(
                self, self.test_step, self.test_function
            )

    def _fuses_steps(self):
        return (
            self.steps_per_execution > 1
            and not self._has_strategy()
            and not self.run_eagerly
        )

    @contextlib.contextmanager
    def _fit_data(self, x, y, arguments):
        """While `fit` runs, in-memory arrays go through Keras's own array
        pipeline with tf.data's autotuner off (`feed_without_autotune`: the
        same batches in the same order), where Keras makes one dataset of
        them (one device, no labels, no split or step count of its own to
        apply). Keras itself receives the user's `x`."""
        self._feeds_arrays_without_autotune = (
            y is None
            and is_array_input(x)
            and not self._has_strategy()
            and not arguments.get("validation_split")
            and arguments.get("steps_per_epoch") is None
        )
        try:
            yield
        finally:
            self._feeds_arrays_without_autotune = False

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        # Keras's TensorFlow `fit` (and `evaluate`) call this with their
        # epoch iterator as soon as they have made it, before its first
        # batch: the first call within `_fit_data` is `fit`'s own.
        if iterator is not None and getattr(
            self, "_feeds_arrays_without_autotune", False
        ):
            self._feeds_arrays_without_autotune = False
            feed_without_autotune(iterator)
        super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
