"""The backend-neutral parts of a VAE's training and test steps: the KL
warm-up, the update and the metrics. Each backend's trainer
(`keras_vae/backend/<name>/trainer.py`) runs them."""

import math
import warnings

import keras
from keras import ops

from keras_vae.models.keras_contract import check_sample_weight_absent
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.label_checks import check_labels_absent


class StepsMixin:
    """What `keras_vae.VAE`'s steps do on every backend.

    A step is `_unpack(data)`, `_apply_kl_warmup()` (training only),
    `_training_terms(inputs, training)` (the loss first, then what the
    metrics log), `_apply_gradients(gradients)` (training only) and
    `_step_logs(inputs, terms, applied)`. Subclasses override these, not
    the backend's `train_step`.
    """

    def set_kl_warmup(self, warmup_steps, start_beta=0.0, target_beta=1.0):
        """Schedules `beta = start + (target - start) * min(1, step /
        warmup_steps)` for every `KLDivergenceLayer`, where `step` is
        `optimizer.iterations`.

        The training step applies it before each step, inside the compiled
        program: it is exact for any `steps_per_execution`, and the schedule
        is saved with the model, so a resumed run continues it.
        `warmup_steps=0` turns it off. `keras_vae.callbacks.KLWarmup` sets
        it from a number of epochs.
        """
        warmup_steps = float(warmup_steps)
        if not 0 <= warmup_steps < math.inf:
            raise ValueError(
                "Invalid value for argument `warmup_steps`: expected a "
                f"finite number >= 0. Received: warmup_steps={warmup_steps!r}"
            )
        start_beta = check_non_negative_float(start_beta, "start_beta")
        target_beta = check_non_negative_float(target_beta, "target_beta")
        self.kl_warmup.assign([warmup_steps, start_beta, target_beta])

    def _apply_kl_warmup(self):
        warmup = self.kl_warmup.value
        steps, start, target = (warmup[i] for i in range(3))
        step = ops.cast(self.optimizer.iterations.value, "float32")
        fraction = ops.minimum(1.0, step / ops.maximum(steps, 1.0))
        beta = start + (target - start) * fraction
        for layer in self.kl_layers:
            layer.beta_variable.assign(
                ops.where(steps > 0, beta, layer.beta_variable.value)
            )

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        check_labels_absent(y)
        check_sample_weight_absent(sample_weight)
        return x

    def _apply_gradients(self, gradients):
        """Updates the weights; returns what `_step_logs` logs of the
        update (nothing here)."""
        if not self.trainable_weights:
            warnings.warn("The model does not have any trainable weights.")
            return ()
        self._optimizer_apply(gradients)
        return ()

    def _step_logs(self, inputs, terms, applied=()):
        """Updates the metrics with one batch's `terms` and returns the
        logs."""
        self._update_compiled_metrics(inputs)
        return self._update_metrics(inputs, *terms[:3])

    def _update_compiled_metrics(self, inputs):
        # The metrics given to `compile` compare `x` with what `predict`
        # returns: the deterministic reconstruction.
        if self._compiled_metrics():
            reconstruction = self(inputs, training=False)
            x = ops.cast(self._data(inputs), "float32")
            self.compute_metrics(inputs, x, reconstruction)

    def _compiled_metrics(self):
        return self.metrics[len(self._trackers) :]

    def _update_metrics(self, inputs, loss, reconstruction_loss, kl_loss):
        # Weighted by batch size, so the epoch value is the exact mean per
        # example even when the last batch is short.
        batch_size = ops.cast(ops.shape(self._data(inputs))[0], "float32")
        # A replica's share of a short last batch can be empty: its means
        # are NaN and must not reach the totals (NaN * 0 is NaN).
        loss, reconstruction_loss, kl_loss = (
            ops.where(batch_size > 0, value, 0.0)
            for value in (loss, reconstruction_loss, kl_loss)
        )
        self.loss_tracker.update_state(loss, sample_weight=batch_size)
        self.reconstruction_loss_tracker.update_state(
            reconstruction_loss, sample_weight=batch_size
        )
        self.kl_loss_tracker.update_state(kl_loss, sample_weight=batch_size)
        if self._reports_bits_per_dim:
            # The loss (the negative ELBO, or the IWAE bound) per data
            # value, in bits.
            dims = math.prod(self.data_shape)
            self.bits_per_dim_tracker.update_state(
                loss / (dims * math.log(2)), sample_weight=batch_size
            )
        results = self._tracker_results(self._trackers)
        for metric in self._compiled_metrics():
            result = metric.result()
            results.update(
                result if isinstance(result, dict) else {metric.name: result}
            )
        return results
