"""The everyday Keras calls of a VAE: `compile`, `fit`, `evaluate`,
`predict`, `*_on_batch`, `save` and `export`, each checking what it is
given and behaving as on any Keras model."""

import contextlib
import warnings

import keras
import numpy as np

from keras_vae.callbacks.progbar_logger import ProgbarLogger
from keras_vae.callbacks.terminate_on_nan import with_terminate_on_nan
from keras_vae.models.steps_per_execution import exact_steps_per_execution
from keras_vae.models.steps_per_execution import needs_every_batch
from keras_vae.utils.argument_checks import check_fit_arguments
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.argument_checks import fit_arguments
from keras_vae.utils.label_checks import check_labels_absent

# The positional arguments of `keras.Model.evaluate` and `predict` after
# `x` (and `y`).
_EVALUATE_ARGUMENTS = ("batch_size", "verbose", "sample_weight", "steps")
_PREDICT_ARGUMENTS = ("batch_size", "verbose", "steps", "callbacks")


class KerasContractMixin:
    """`keras_vae.VAE`'s overrides of `keras.Model`'s public methods.

    `compile` refuses a `loss` and fills in the backend's defaults for
    `steps_per_execution` and `jit_compile` only where the user gave none
    (and saves what the user gave); `fit`, `evaluate` and `predict` check
    their data, refuse labels and weights a VAE would ignore, and run as
    many steps per execution as keep every callback exact.
    """

    def compile(
        self,
        optimizer="rmsprop",
        *args,
        steps_per_execution=None,
        jit_compile=None,
        **kwargs,
    ):
        self._check_backend_runs(jit_compile)
        # What the user asked for; `None` where our defaults apply.
        self._compile_arguments = {
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }
        if steps_per_execution is None:
            steps_per_execution = self._default_steps_per_execution()
        steps_per_execution = check_positive_int(
            steps_per_execution, "steps_per_execution"
        )
        loss = args[0] if args else kwargs.get("loss")
        if loss is not None:
            raise ValueError(
                "A VAE computes its own loss (the negative ELBO, or the IWAE "
                "bound), so a `loss` given to `compile` would be ignored. "
                f"Leave it out. Received: loss={loss!r}"
            )
        if jit_compile is None:
            jit_compile = self._default_jit_compile()
        super().compile(
            optimizer,
            *args,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            **kwargs,
        )

    def get_compile_config(self):
        config = super().get_compile_config()
        if config:
            # Saved as the user gave them, so a model reloaded on another
            # machine (say, with a GPU) takes the defaults of that machine.
            config.update(self._compile_arguments)
        return config

    def compile_from_config(self, config):
        # What Keras does for a model whose `compile` is its own: rebuild
        # the arguments `compile` recorded (the optimizer included).
        config = keras.saving.deserialize_keras_object(config)
        try:
            self._check_backend_runs(config.get("jit_compile"))
        except ValueError as error:
            # Saved on a backend that runs it (say, XLA on JAX): this one
            # takes its default, as for a model saved without a choice. A
            # strategy this backend lacks fails again in `compile`.
            warnings.warn(
                f"The model was saved with `jit_compile` this backend cannot "
                f"run; it takes the backend's default instead. {error}"
            )
            config["jit_compile"] = None
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    @contextlib.contextmanager
    def _steps_per_execution_of(self, callbacks, *counts):
        """Runs a `fit`, `evaluate` or `predict` with as many steps per
        execution as keep it exact: one when a callback must see every
        batch (unless the user chose `steps_per_execution`), and a divisor
        of any step counts asked."""
        compiled = self.steps_per_execution
        steps = compiled
        # An uncompiled model predicts, as any Keras model: nothing chosen.
        chosen = getattr(self, "_compile_arguments", {})
        if chosen.get("steps_per_execution") is None and any(
            map(needs_every_batch, _callback_list(callbacks))
        ):
            steps = 1
        steps = exact_steps_per_execution(steps, *counts)
        if steps != compiled:
            self._set_steps_per_execution(steps)
        try:
            yield
        finally:
            if steps != compiled:
                self._set_steps_per_execution(compiled)

    def _set_steps_per_execution(self, steps):
        self.steps_per_execution = steps
        self.train_function = None
        self.test_function = None
        self.predict_function = None

    def fit(self, x=None, y=None, *args, **kwargs):
        # Keras drops `sample_weight` from the batches when `y` is None, so
        # `_unpack` never sees it: check it here.
        check_sample_weight_absent(kwargs.get("sample_weight"))
        arguments = fit_arguments(args, kwargs)
        check_fit_arguments(arguments)
        _check_class_weight_absent(arguments.get("class_weight"))
        x = _single_input(x)
        self._check_inputs(x, y, arguments.get("validation_data"))
        callbacks = with_terminate_on_nan(arguments.get("callbacks"))
        callbacks = _with_progbar(callbacks, arguments.get("verbose", "auto"))
        arguments["callbacks"] = callbacks
        x = self._fit_data(x, y, arguments)
        with self._steps_per_execution_of(
            callbacks,
            arguments.get("steps_per_epoch"),
            arguments.get("validation_steps"),
        ):
            return super().fit(x, y, **arguments)

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if kwargs.get("_use_cached_eval_dataset"):
            # The validation of `fit`, whose data and callbacks `fit` set.
            return super().evaluate(x, y, *args, **kwargs)
        check_sample_weight_absent(kwargs.get("sample_weight"))
        arguments = dict(zip(_EVALUATE_ARGUMENTS, args), **kwargs)
        check_fit_arguments(arguments)
        x = _single_input(x)
        self._check_inputs(x, y)
        arguments["callbacks"] = _with_progbar(
            arguments.get("callbacks"), arguments.get("verbose", "auto")
        )
        with self._steps_per_execution_of((), arguments.get("steps")):
            return super().evaluate(x, y, **arguments)

    def predict(self, x, *args, **kwargs):
        arguments = dict(zip(_PREDICT_ARGUMENTS, args), **kwargs)
        check_fit_arguments(arguments)
        x = _single_input(x)
        arguments["callbacks"] = _with_progbar(
            arguments.get("callbacks"), arguments.get("verbose", "auto")
        )
        with self._steps_per_execution_of((), arguments.get("steps")):
            return super().predict(x, **arguments)

    def train_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        _check_class_weight_absent(kwargs.get("class_weight"))
        check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().train_on_batch(x, y, **kwargs)

    def test_on_batch(self, x, y=None, sample_weight=None, **kwargs):
        check_sample_weight_absent(sample_weight)
        x = _single_input(x)
        self._check_inputs(x, y)
        return super().test_on_batch(x, y, **kwargs)

    def save(self, filepath, *args, **kwargs):
        if str(filepath).endswith((".h5", ".hdf5")):
            raise ValueError(
                "A VAE saves to the native Keras format only: Keras's "
                "legacy HDF5 format cannot rebuild its encoder, decoder and "
                "likelihood, so the file would not load. Use a `.keras` "
                "file (or `save_weights('….weights.h5')` for the weights). "
                f"Received: filepath={str(filepath)!r}"
            )
        return super().save(filepath, *args, **kwargs)

    def export(self, filepath, format="tf_saved_model", **kwargs):
        # Keras reads the input signature of a subclassed model from its
        # first call; a VAE knows it from its encoder (and it may never
        # have been called itself: `fit` calls the encoder and decoder).
        if kwargs.get("input_signature") is None:
            kwargs["input_signature"] = self._input_signature()
        return super().export(filepath, format=format, **kwargs)

    def _input_signature(self):
        return [
            keras.InputSpec(
                shape=(None,) + tuple(self.data_shape), dtype=self.input_dtype
            )
        ]

    def _check_inputs(self, x, y, validation_data=None):
        check_labels_absent(y)
        self._data_checks.check_inputs(x, self.data_shape, "x")
        if validation_data is not None:
            val_x, val_y, val_weight = keras.utils.unpack_x_y_sample_weight(
                validation_data
            )
            check_sample_weight_absent(val_weight)
            check_labels_absent(val_y, "validation_data labels")
            self._data_checks.check_inputs(
                val_x, self.data_shape, "validation_data"
            )


def check_sample_weight_absent(sample_weight):
    if sample_weight is not None:
        raise ValueError(
            "This VAE does not take `sample_weight`: its KL term is a "
            "batch mean added by a layer, so weights would apply to only "
            "half of the loss. Resample the data instead. "
            "Received: sample_weight"
        )


def _single_input(x):
    """`x` of a one-element list or tuple, as Keras reads the inputs of a
    model with one input."""
    if (
        isinstance(x, (list, tuple))
        and len(x) == 1
        and (isinstance(x[0], np.ndarray) or keras.ops.is_tensor(x[0]))
    ):
        return x[0]
    return x


def _callback_list(callbacks):
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks.callbacks
    return list(callbacks or [])


def _with_progbar(callbacks, verbose):
    """`callbacks` with keras-vae's `ProgbarLogger` where Keras would add
    its own (its count stays exact under `steps_per_execution`)."""
    if isinstance(callbacks, keras.callbacks.CallbackList) or verbose == 0:
        return callbacks
    callbacks = list(callbacks or [])
    if not any(isinstance(c, keras.callbacks.ProgbarLogger) for c in callbacks):
        callbacks.append(ProgbarLogger())
    return callbacks


def _check_class_weight_absent(class_weight):
    if class_weight is not None:
        raise ValueError(
            "A VAE has no classes to weight: it learns from `x` alone, so "
            "`class_weight` would be silently ignored. Leave it out (to "
            "weight examples, resample the data). "
            f"Received: class_weight={class_weight!r}"
        )
