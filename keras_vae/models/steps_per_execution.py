"""How many steps one execution of a VAE's function runs: the default fast
path, kept from changing what `fit`, `evaluate` and `predict` were asked."""

import keras

_BATCH_HOOKS = (
    "on_batch_begin",
    "on_batch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
)


def needs_every_batch(callback):
    """Whether `callback` must see every training batch, as it would with
    Keras's default of one step per execution.

    Callbacks that override no batch hook do not; nor do those that say
    so with a true `batch_hooks_per_execution` attribute (keras-vae's own),
    Keras's `ProgbarLogger` and `History`, and Keras's `TensorBoard`,
    `ModelCheckpoint` and `BackupAndRestore` when they act once per epoch.
    """
    if getattr(callback, "batch_hooks_per_execution", False):
        return False
    if isinstance(
        callback, (keras.callbacks.ProgbarLogger, keras.callbacks.History)
    ):
        return False
    if isinstance(callback, keras.callbacks.TensorBoard):
        return callback.update_freq != "epoch"
    if isinstance(
        callback,
        (keras.callbacks.ModelCheckpoint, keras.callbacks.BackupAndRestore),
    ):
        return callback.save_freq != "epoch"
    # Keras marks the base class's empty hooks with `_is_default` (what its
    # own `CallbackList` reads to skip them); there is no public test.
    return any(
        not getattr(getattr(callback, name), "_is_default", False)
        for name in _BATCH_HOOKS
    )


def exact_steps_per_execution(steps_per_execution, *counts):
    """The largest number of steps up to `steps_per_execution` that divides
    every count given (`None` counts are ignored).

    Keras runs a full execution even when fewer steps remain of a
    `steps_per_epoch`, `validation_steps` or `steps`: with executions that
    divide them, every epoch runs exactly the steps asked.
    """
    counts = [c for c in counts if c is not None]
    for steps in range(steps_per_execution, 0, -1):
        if all(count % steps == 0 for count in counts):
            return steps
    return 1
