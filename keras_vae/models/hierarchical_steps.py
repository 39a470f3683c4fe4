"""A `HierarchicalVAE`'s hooks in `VAE`'s training and test steps: the
guarded update, each group's KL, and the logs of the update guard."""

import keras
from keras import ops

from keras_vae.models.update_guard import ConsecutiveSkipsCheck
from keras_vae.utils.argument_checks import fit_arguments


class HierarchicalStepsMixin:
    """`keras_vae.HierarchicalVAE`'s update (through its `UpdateGuard`),
    metrics and KL warm-up."""

    def _apply_gradients(self, gradients):
        guard = self.update_guard
        if guard.active and self._has_strategy():
            raise ValueError(
                "`clip_gradient_norm` and `skip_gradient_norm` work on one "
                "device only: under a `tf.distribute` strategy each replica "
                "would see its own gradient norm. Use the optimizer's "
                "`global_clipnorm` there."
            )
        norm = guard.apply_gradients(
            self.optimizer,
            gradients,
            self.trainable_weights,
            self._optimizer_apply,
        )
        return (norm,)

    def _step_logs(self, inputs, terms, applied=()):
        batch_size = ops.cast(ops.shape(self._data(inputs))[0], "float32")
        for tracker, kl in zip(self.group_kl_trackers, terms[3]):
            # As in `_update_metrics`: an empty replica batch adds nothing.
            kl = ops.where(batch_size > 0, kl, 0.0)
            tracker.update_state(kl, sample_weight=batch_size)
        logs = super()._step_logs(inputs, terms)
        if not applied:
            return logs
        (norm,) = applied
        if norm is not None:
            # A skipped non-finite norm stays out of the mean (the loss
            # shows it), so the log stays finite.
            finite = ops.isfinite(norm)
            self.gradient_norm_tracker.update_state(
                ops.where(finite, norm, 0.0),
                sample_weight=ops.cast(finite, "float32"),
            )
            logs["gradient_norm"] = self.gradient_norm_tracker.result()
        if self.update_guard.skip_gradient_norm is not None:
            logs["skipped_updates"] = ops.convert_to_tensor(
                self.update_guard.skipped_updates.value
            )
        return logs

    def set_kl_warmup(self, warmup_steps, start_beta=0.0, target_beta=1.0):
        """As `VAE.set_kl_warmup`: one schedule of `beta` for every group.
        A model built with different betas per group refuses it, rather
        than lose them to the schedule's one value."""
        betas = self._beta_argument
        if warmup_steps and isinstance(betas, list) and len(set(betas)) > 1:
            raise ValueError(
                "A KL warm-up gives every latent group the same beta, which "
                "would replace this model's beta per group. Build it with "
                "one beta to warm it up, or warm up without per-group "
                f"betas. Received: beta={betas}"
            )
        super().set_kl_warmup(warmup_steps, start_beta, target_beta)

    def fit(self, x=None, y=None, *args, **kwargs):
        arguments = fit_arguments(args, kwargs)
        callbacks = arguments.get("callbacks")
        if self.update_guard.skip_gradient_norm is not None and not isinstance(
            callbacks, keras.callbacks.CallbackList
        ):
            callbacks = list(callbacks or [])
            if not any(isinstance(c, ConsecutiveSkipsCheck) for c in callbacks):
                callbacks.append(ConsecutiveSkipsCheck(self.update_guard))
            arguments["callbacks"] = callbacks
        return super().fit(x, y, **arguments)
