import warnings

import keras
from keras import ops


class ConsecutiveSkipsCheck(keras.callbacks.Callback):
    """Stops training with an error when a model's `UpdateGuard` skipped
    more than its `max_consecutive_skips` updates in a row.

    It reads the guard's counter after each execution of the training
    function (every `steps_per_execution` steps), so a run stops at the
    end of the first execution past the limit. With
    `raise_error=False` it warns and sets `model.stop_training` instead.
    """

    # Reads a counter kept on the device: the fused fast path stays on.
    batch_hooks_per_execution = True

    def __init__(self, guard, raise_error=True):
        super().__init__()
        self.guard = guard
        self.raise_error = raise_error

    def on_train_batch_end(self, batch, logs=None):
        guard = self.guard
        if guard.skip_gradient_norm is None:
            return
        # On JAX, `self.model` puts the loop's state back in the variables.
        self.model
        consecutive = int(ops.convert_to_numpy(guard.consecutive_skips))
        if consecutive <= guard.max_consecutive_skips:
            return
        message = (
            f"Training stopped: the last {consecutive} updates were all "
            "skipped (global gradient norm non-finite or above "
            f"skip_gradient_norm={guard.skip_gradient_norm}), more than "
            f"max_consecutive_skips={guard.max_consecutive_skips}. The "
            "weights have not changed since. Raise `skip_gradient_norm` "
            "(to a few times the usual global gradient norm, which `fit` "
            "logs as `gradient_norm`), lower the learning rate, or clip "
            "with `clip_gradient_norm`."
        )
        self.model.stop_training = True
        if self.raise_error:
            raise RuntimeError(message)
        warnings.warn(message, stacklevel=2)
