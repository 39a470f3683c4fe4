import math

import keras
import numpy as np


class TerminateOnNaN(keras.callbacks.TerminateOnNaN):
    """Stops training when a logged loss turns NaN or infinite, saying which.

    Keras's `TerminateOnNaN` watches `loss` only. This one checks every
    value `train_step` logs, the VAE's `reconstruction_loss` and `kl_loss`
    included, after each execution of the training function (every batch,
    or every `steps_per_execution` batches), and its message names the
    non-finite terms, the epoch, the batches of the execution that produced
    them and the weights that are no longer finite. The check reads logs
    that Keras converts once per execution anyway: it costs no extra step.

    `keras_vae.VAE.fit` adds one with `raise_error=True` unless its
    `callbacks` hold a `keras.callbacks.TerminateOnNaN` (this class or
    Keras's) already: a run whose loss went NaN has no weights worth
    keeping, and a script that went on would save or evaluate NaN weights.

    Args:
        raise_error: Boolean. If `True` (the default, unlike Keras's), raise
            a `RuntimeError` with the message; if `False`, print it and set
            `model.stop_training = True`, so `fit` returns normally.

    Example:

    ```python
    vae.fit(x, epochs=10, callbacks=[
        keras_vae.callbacks.TerminateOnNaN(raise_error=False)])
    ```
    """

    # Built for `steps_per_execution > 1`: `VAE.fit` keeps the fast path.
    batch_hooks_per_execution = True

    def __init__(self, raise_error=True):
        if not isinstance(raise_error, bool):
            raise ValueError(
                "Invalid value for argument `raise_error`: expected a bool. "
                f"Received: raise_error={raise_error!r}"
            )
        super().__init__(raise_error=raise_error)
        self._epoch = 0
        self._last_batch = -1

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._last_batch = -1

    def on_batch_end(self, batch, logs=None):
        first, self._last_batch = self._last_batch + 1, batch
        bad = {
            name: value
            for name, value in (logs or {}).items()
            if isinstance(value, (int, float)) and not math.isfinite(value)
        }
        if not bad:
            return
        message = self._message(bad, first, batch)
        if self.raise_error:
            self.model.stop_training = True
            raise RuntimeError(message)
        print(message)
        self.model.stop_training = True

    def _message(self, bad, first, last):
        terms = ", ".join(f"{name}={value}" for name, value in bad.items())
        steps = (self.params or {}).get("steps")
        if steps:  # Keras numbers a short last execution as a full one.
            last = min(last, steps - 1)
        if first == last:
            batches = f"batch {last}"
        else:
            batches = f"batches {first}-{last}"
        weights = [
            name
            for name, weight in _named_weights(self.model)
            if not np.all(np.isfinite(keras.ops.convert_to_numpy(weight)))
        ]
        if weights:
            shown = ", ".join(weights[:3])
            more = f" and {len(weights) - 3} more" if len(weights) > 3 else ""
            weights = f"Non-finite weights: {shown}{more}."
        else:
            weights = "The weights are all finite."
        return (
            f"Training stopped: non-finite {terms} in epoch {self._epoch} "
            f"(0-based), {batches} (the logs are epoch means so far, "
            f"checked after each execution of the training function). "
            f"{weights} Common causes: a learning rate too high for the "
            "model (try a lower one, or `clipnorm` in the optimizer), data "
            "with extreme values, or a float16 overflow outside the loss "
            "scale's reach."
        )


def with_terminate_on_nan(callbacks):
    """Returns `callbacks` (a list, or None) with a `TerminateOnNaN()`
    appended, unless it holds a `keras.callbacks.TerminateOnNaN` already or
    is a `keras.callbacks.CallbackList`, which Keras takes as it is."""
    if isinstance(callbacks, keras.callbacks.CallbackList):
        return callbacks
    callbacks = list(callbacks or [])
    if not any(
        isinstance(c, keras.callbacks.TerminateOnNaN) for c in callbacks
    ):
        callbacks.append(TerminateOnNaN())
    return callbacks


def _named_weights(model):
    """`(name, weight)` pairs, named after the VAE's submodel (`encoder/`,
    `decoder/`, `likelihood/`) where the model has one: layer names repeat
    between an encoder and a decoder."""
    named, seen = [], set()
    for attribute in ("encoder", "decoder", "likelihood"):
        submodel = getattr(model, attribute, None)
        if isinstance(submodel, keras.layers.Layer):
            for weight in submodel.weights:
                named.append((f"{attribute}/{weight.path}", weight))
                seen.add(id(weight))
    named += [(w.path, w) for w in model.weights if id(w) not in seen]
    return named
