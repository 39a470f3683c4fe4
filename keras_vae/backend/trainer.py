"""What every backend's trainer gives `keras_vae.VAE`, declared once.

Keras arranges its own training loops this way: `keras.Model` inherits
from the trainer of the backend it runs on
(`keras/src/backend/<name>/trainer.py`). `keras_vae.VAE` does the same with
`keras_vae.backend.Trainer`, one of the subclasses of `Trainer` below.
"""

import contextlib

from keras_vae.backend.function_per_steps import function_per_steps

#: The default `steps_per_execution` of `VAE.compile` where the backend
#: runs several steps per execution (TensorFlow on one device, and JAX):
#: one program runs 32 steps, and the callbacks and the progress bar see
#: each execution once.
STEPS_PER_EXECUTION = 32


class Trainer:
    """The base of the backends' trainers of `keras_vae.VAE`.

    A backend's trainer implements Keras's `train_step` and `test_step`
    for that backend by running the model's steps, which `keras_vae.VAE`
    documents as its extension API: `step_inputs(data)`,
    `apply_kl_warmup()`, `compute_loss_terms(inputs, training)` under the
    backend's automatic differentiation, `apply_update(gradients)` and
    `update_metrics(inputs, terms, update)`. It provides the model with
    the hooks below, each with a default that suits Keras's own loops.
    """

    # Each of the model's functions keeps what it compiled for every
    # `steps_per_execution` it ran with (`FunctionPerSteps`): `fit` switches
    # to one step per execution while a callback needs every batch, and
    # back after, where Keras would build and compile the step anew.

    def make_train_function(self, force=False):
        if self.train_function is None or force:
            self.train_function = function_per_steps(
                self, "train_function", self._make_train_function
            )
        self.train_function.prepare()
        return self.train_function

    def make_test_function(self, force=False):
        if self.test_function is None or force:
            self.test_function = function_per_steps(
                self, "test_function", self._make_test_function
            )
        self.test_function.prepare()
        return self.test_function

    def make_predict_function(self, force=False):
        if self.predict_function is None or force:
            self.predict_function = function_per_steps(
                self, "predict_function", self._make_predict_function
            )
        self.predict_function.prepare()
        return self.predict_function

    def _make_train_function(self, force=False):
        """Builds the model's `train_function` for its `steps_per_execution`
        of now and sets it on the model: Keras's own, by default."""
        super().make_train_function(force=force)

    def _make_test_function(self, force=False):
        """As `_make_train_function`, for `test_function`."""
        super().make_test_function(force=force)

    def _make_predict_function(self, force=False):
        """As `_make_train_function`, for `predict_function`."""
        super().make_predict_function(force=force)

    def _optimizer_apply(self, gradients):
        """Applies `gradients` to `trainable_weights` with the optimizer,
        as the backend's step can (inside its traced function)."""
        self.optimizer.apply(gradients, self.trainable_weights)

    def _tracker_results(self, trackers):
        """`{name: result}` of the model's `keras.metrics.Mean` trackers,
        global over the devices that ran the step."""
        return {m.name: m.result() for m in trackers}

    def _default_steps_per_execution(self):
        """The `steps_per_execution` of `compile` when the user gave none."""
        return STEPS_PER_EXECUTION

    def _default_jit_compile(self):
        """The `jit_compile` of `compile` when the user gave none."""
        return "auto"

    def _check_backend_runs(self, jit_compile):
        """Raises a `ValueError` at `compile` for what this backend's loop
        cannot run (a `jit_compile`, a distribution strategy)."""

    def _has_strategy(self):
        """Whether the model trains under a `tf.distribute` strategy (or
        raises, where the backend cannot)."""
        return False

    def _fit_data(self, x, y, arguments):
        """A context manager that `fit` runs Keras's `fit` in, for the
        backend to feed `x` (with `y` and `fit`'s other `arguments`) its own
        way; Keras still receives `x` itself, as do the callbacks and the
        tools that wrap `keras.Model.fit` (MLflow's autologging)."""
        return contextlib.nullcontext()
