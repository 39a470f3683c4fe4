import keras


class ProgbarLogger(keras.callbacks.ProgbarLogger):
    """Keras's progress bar, counting the batches that ran.

    Keras numbers the end of each execution of `steps_per_execution`
    steps as if the execution were full, so an epoch of 63 batches run 32
    at a time ends its bar at "64/63". This bar counts the steps that the
    model's function says it ran (`steps_run` of a fused function), and
    never past the number of batches when that is known; an epoch that a
    callback stopped ends at the batch where it stopped. `keras_vae.VAE`
    uses it in `fit`, `evaluate` and `predict` unless `callbacks` hold a
    `keras.callbacks.ProgbarLogger` already.
    """

    batch_hooks_per_execution = True

    def __init__(self):
        super().__init__()
        self._begin = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_test_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_predict_batch_begin(self, batch, logs=None):
        self._begin = batch

    def on_train_batch_end(self, batch, logs=None):
        batch = self._last_batch(batch, self.model.train_function)
        super().on_train_batch_end(batch, logs)

    def on_test_batch_end(self, batch, logs=None):
        batch = self._last_batch(batch, self.model.test_function)
        super().on_test_batch_end(batch, logs)

    def on_predict_batch_end(self, batch, logs=None):
        batch = self._last_batch(batch, self.model.predict_function)
        super().on_predict_batch_end(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training and self.target:
            # Stopped early by a callback: end the bar where it stopped.
            self.target = min(self.target, self.seen)
        super().on_epoch_end(epoch, logs)

    def _last_batch(self, batch, function):
        steps_run = getattr(function, "steps_run", None)
        if steps_run is not None:
            batch = self._begin + steps_run - 1
        if self.target is not None:
            batch = min(batch, self.target - 1)
        return batch
