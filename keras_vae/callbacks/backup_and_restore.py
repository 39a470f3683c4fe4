import glob
import json
import os
import re
import shutil

import h5py
import keras

from keras_vae.utils.atomic import atomic_path

#: The attribute of the backup file that records where training stood.
_PROGRESS = "keras_vae_progress"
#: The paths Keras's file utilities take for remote file systems: a URL,
#: or a mount point of one.
_REMOTE_PATH = re.compile(
    r"^(/cns|/cfs|/gcs|/hdfs|/readahead|/placer|/tfhub|.*://).*$"
)


class BackupAndRestore(keras.callbacks.BackupAndRestore):
    """Backs up the training state; a restarted `fit` resumes at the step
    where the last backup was made.

    As `keras.callbacks.BackupAndRestore`, it saves the training state into
    `backup_dir` every epoch (or every `save_freq` batches), restores it when
    `fit` starts again after a crash, and deletes it when `fit` completes.
    The state is everything a VAE's weights file holds: the weights, the
    optimizer's moments and `iterations` (so step-indexed learning-rate
    schedules continue), the KL warm-up schedule (`VAE.set_kl_warmup`,
    `KLWarmup`) and each `KLDivergenceLayer`'s `beta`. Unlike the Keras
    3.15 callback:

    - It resumes at the batch after the last backup. Keras resumes at the
      start of that backup's epoch, so after a mid-epoch backup it trains
      again on the batches the backup had already trained on: the run takes
      more optimizer steps than an uninterrupted one, and every schedule
      keyed on `optimizer.iterations` ends elsewhere. Here those batches
      are drawn from the data and skipped, so the resumed `fit` takes
      exactly the steps of an uninterrupted one. (With `shuffle=True` the
      resumed epoch draws a new order, so the skipped batches are not the
      ones trained on before the crash: the same number of steps, not the
      same examples.)
    - Each backup is one file, written under a hidden temporary name and
      renamed over the previous one, so a process killed while writing
      leaves the previous backup intact. Keras writes the weights in place
      and the epoch in a second file: a kill mid-write leaves a truncated
      file or a mismatched pair.
    - A resumed run records its own epoch. Keras records epoch 0 in the
      backups a resumed run makes before its first epoch ends, so a second
      crash there restarts training from the beginning.

    With `steps_per_execution=N` (32 by default in `VAE.compile`), Keras
    calls batch-level callbacks once per N steps, so a backup is written
    at the end of the first execution that completes `save_freq` or more
    batches since the last one: `save_freq` is rounded up to whole
    executions.

    Args:
        backup_dir: A local directory for the backup, used by nothing else
            (not by another run, nor by a `ModelCheckpoint`).
        save_freq: `"epoch"` to back up at the end of every epoch, or an
            integer `n` to back up every `n` batches.
        double_checkpoint: Whether to keep the previous backup too, and
            restore it if the latest one fails to load.
        delete_checkpoint: Whether to delete the backup when `fit`
            completes. Defaults to `True`.

    Example:

    ```python
    backup = keras_vae.callbacks.BackupAndRestore("backup", save_freq=64)
    vae.fit(x_train, epochs=10, callbacks=[backup])  # killed at epoch 4
    vae.fit(x_train, epochs=10, callbacks=[backup])  # goes on from there
    ```
    """

    # Built for `steps_per_execution > 1`: `VAE.fit` keeps running several
    # steps per execution with it (keras_vae/models/steps_per_execution.py).
    batch_hooks_per_execution = True

    def __init__(
        self,
        backup_dir,
        save_freq="epoch",
        double_checkpoint=False,
        delete_checkpoint=True,
    ):
        if backup_dir and _REMOTE_PATH.match(str(backup_dir)):
            raise ValueError(
                "Invalid value for argument `backup_dir`: expected a local "
                "directory (the backup is renamed into place atomically). "
                f"Received: backup_dir={backup_dir!r}"
            )
        if isinstance(save_freq, bool) or (
            isinstance(save_freq, int) and save_freq < 1
        ):
            raise ValueError(
                "Invalid value for argument `save_freq`: expected 'epoch' or "
                f"an integer >= 1. Received: save_freq={save_freq!r}"
            )
        super().__init__(
            os.fspath(backup_dir) if backup_dir else backup_dir,
            save_freq=save_freq,
            double_checkpoint=double_checkpoint,
            delete_checkpoint=delete_checkpoint,
        )
        self._batches_done = 0
        self._resume = None
        self._train_function = None

    def on_train_begin(self, logs=None):
        self._resume = None
        self._batches_done = 0
        self._batches_seen_since_last_saving = 0
        # Temporary files of a process killed while writing a backup.
        pattern = os.path.join(glob.escape(self.backup_dir), ".*.tmp-*")
        for path in glob.glob(pattern):
            shutil.rmtree(path, ignore_errors=True)
        super().on_train_begin(logs)
        progress = _read_progress(self._weights_path)
        if progress is None:
            return
        steps = self.params.get("steps")
        if steps and progress["steps_per_epoch"] not in (None, steps):
            raise ValueError(
                f"The backup in {self.backup_dir!r} was made by a `fit` of "
                f"{progress['steps_per_epoch']} steps per epoch, so it "
                "cannot resume this one: give `fit` the same data and "
                "batch size, or delete the backup to start afresh. "
                f"Received: {steps} steps per epoch"
            )
        epoch, batches_done = progress["epoch"], progress["batches_done"]
        if steps and batches_done >= steps:  # Saved as the epoch ended.
            epoch, batches_done = epoch + 1, 0
        self.model._initial_epoch = epoch
        self._current_epoch = epoch
        self._resume = (epoch, batches_done)
        if batches_done:
            self._skip_batches(batches_done)

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch
        resumed = self._resume is not None and self._resume[0] == epoch
        self._batches_done = self._resume[1] if resumed else 0

    def on_train_batch_end(self, batch, logs=None):
        # Keras's `batch` is that of the last step of an execution as if
        # the execution were full; the last one of an epoch may be shorter.
        done = batch + 1
        if self.params.get("steps"):
            done = min(done, self.params["steps"])
        # Batches skipped on resuming count neither as done nor as seen.
        self._batches_seen_since_last_saving += max(
            0, done - self._batches_done
        )
        self._batches_done = max(done, self._batches_done)
        if (
            self.save_freq != "epoch"
            and self._batches_seen_since_last_saving >= self.save_freq
        ):
            self._batches_seen_since_last_saving = 0
            self._save_model()

    def on_epoch_end(self, epoch, logs=None):
        self._restore_train_function()
        self._batches_done = 0
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        self._restore_train_function()
        # Keras would start the next `fit` of this model at that epoch.
        self.model._initial_epoch = None
        super().on_train_end(logs)

    def _save_model(self):
        progress = {
            "epoch": self._current_epoch,
            "batches_done": self._batches_done,
            "steps_per_epoch": self.params.get("steps"),
        }
        if self.double_checkpoint and os.path.exists(self._weights_path):
            with atomic_path(self._prev_weights_path, overwrite=True) as temp:
                shutil.copyfile(self._weights_path, temp)
        with atomic_path(self._weights_path, overwrite=True) as temp:
            self.model.save_weights(temp)
            with h5py.File(temp, "a") as f:
                f.attrs[_PROGRESS] = json.dumps(progress)

    def _skip_batches(self, count):
        """Makes the next `count` batches of `fit` be drawn and skipped."""
        model = self.model
        train_function = model.train_function
        remaining = [count]

        def skipping_train_function(*args):
            # `(iterator)` on TensorFlow, `(state, iterator)` on JAX, and
            # `(batches)` on PyTorch: the execution's batches, drawn.
            batches = args[-1]
            if remaining[0] <= 0:
                return train_function(*args)
            if isinstance(batches, list):
                skip = min(remaining[0], len(batches))
                remaining[0] -= skip
                if skip < len(batches):
                    return train_function(*args[:-1], batches[skip:])
                return {}
            skip = min(remaining[0], model.steps_per_execution)
            remaining[0] -= skip
            for _ in range(skip):
                _skip_batch(batches)
            if skip < model.steps_per_execution:
                # The backup ended inside an execution of this `fit`.
                return train_function(*args)
            if len(args) == 2:
                return {}, args[0]  # JAX's state, unchanged.
            return model.get_metrics_result()

        self._train_function = train_function
        model.train_function = skipping_train_function

    def _restore_train_function(self):
        if self._train_function is not None:
            self.model.train_function = self._train_function
            self._train_function = None


def _skip_batch(iterator):
    if hasattr(iterator, "get_next_as_optional"):  # A `tf.data` iterator.
        if not iterator.get_next_as_optional().has_value():
            raise StopIteration
    else:
        next(iterator)


def _read_progress(weights_path):
    if not os.path.exists(weights_path):
        return None
    with h5py.File(weights_path, "r") as f:
        progress = f.attrs.get(_PROGRESS)
    return None if progress is None else json.loads(progress)
