"""Gradient-norm clipping and skipped updates, inside the compiled step.

Deep hierarchies of latent groups (NVAE, VDVAE) train with two guards on
each optimizer update, both read from the global norm of the gradients:
clipping to a maximum norm, and skipping an update outright when the norm
is non-finite or far above its usual size, a spike that one update would
turn into diverged weights (Child, 2021, section 4).
"""

import math

import keras
from keras import ops

from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.argument_checks import check_positive_int


def global_norm(gradients):
    """The global L2 norm of a list of gradients (`None`s skipped), float32.

    Non-finite when any gradient is."""
    squares = [
        ops.sum(ops.square(ops.cast(g, "float32")))
        for g in gradients
        if g is not None
    ]
    return ops.sqrt(ops.sum(ops.stack(squares))) if squares else 0.0


def clip_by_global_norm(gradients, clip_norm, norm):
    """`gradients` scaled by `min(1, clip_norm / norm)`, where `norm` is
    their global norm: the update keeps its direction and has a norm of
    at most `clip_norm`."""
    factor = ops.minimum(1.0, clip_norm / ops.maximum(norm, 1e-12))
    return [
        None if g is None else g * ops.cast(factor, g.dtype) for g in gradients
    ]


@keras.saving.register_keras_serializable(package="keras_vae")
class UpdateGuard(keras.layers.Layer):
    """Clips, or skips, each optimizer update by the global gradient norm.

    `apply_gradients(optimizer, gradients, variables)` computes the global
    norm of the gradients and

    - skips the update when the norm is non-finite or above
      `skip_gradient_norm`: neither the weights nor the optimizer's
      moments nor its `iterations` change. Skipped
      updates are counted in the non-trainable variable `skipped_updates`
      (saved with the model) and the consecutive ones in
      `consecutive_skips`, reset by each applied update;
    - otherwise scales the gradients to a global norm of at most
      `clip_gradient_norm` (where given) and applies them.

    Both run inside the compiled training step on every backend, in XLA
    and in the fused multi-step function alike. The norm compared
    is that of the gradients of the loss itself: under a
    `LossScaleOptimizer` the loss scale is divided out, and non-finite
    gradients are left to the optimizer, which lowers its scale for them.

    A model that skips every update would train nothing while its loss
    looks steady: `keras_vae.callbacks.ConsecutiveSkipsCheck`, which
    `HierarchicalVAE.fit` adds, raises an error once more than
    `max_consecutive_skips` updates in a row were skipped.

    Args:
        clip_gradient_norm: Positive float, or `None` (the default) for no
            clipping.
        skip_gradient_norm: Non-negative float, or `None` (the default) for
            no skipping. `math.inf` skips only non-finite gradients; 0
            skips every update.
        max_consecutive_skips: The most updates in a row that may be
            skipped before training stops with an error. Defaults to 100.
        **kwargs: Base layer keyword arguments, such as `name`.

    Reference:
        Child, "Very Deep VAEs Generalize Autoregressive Models and Can
        Outperform Them on Images", ICLR 2021.
    """

    def __init__(
        self,
        clip_gradient_norm=None,
        skip_gradient_norm=None,
        max_consecutive_skips=100,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if clip_gradient_norm is not None:
            clip_gradient_norm = check_non_negative_float(
                clip_gradient_norm, "clip_gradient_norm"
            )
            if clip_gradient_norm == 0:
                raise ValueError(
                    "Invalid value for argument `clip_gradient_norm`: "
                    "expected None or a float > 0. Received: "
                    "clip_gradient_norm=0"
                )
        if skip_gradient_norm is not None and skip_gradient_norm != math.inf:
            skip_gradient_norm = check_non_negative_float(
                skip_gradient_norm, "skip_gradient_norm"
            )
        self.clip_gradient_norm = clip_gradient_norm
        self.skip_gradient_norm = skip_gradient_norm
        self.max_consecutive_skips = check_positive_int(
            max_consecutive_skips, "max_consecutive_skips", minimum=0
        )
        self.skipped_updates = self._counter("skipped_updates")
        self.consecutive_skips = self._counter("consecutive_skips")
        self.built = True

    def _counter(self, name):
        return self.add_weight(
            shape=(),
            initializer="zeros",
            # int32: JAX has no int64 unless `jax_enable_x64` is on.
            dtype="int32",
            trainable=False,
            autocast=False,
            aggregation="only_first_replica",
            name=name,
        )

    @property
    def active(self):
        """Whether it clips or skips anything."""
        return (
            self.clip_gradient_norm is not None
            or self.skip_gradient_norm is not None
        )

    def apply_gradients(self, optimizer, gradients, variables, apply=None):
        """Applies, clips or skips the update; returns the global norm of
        the gradients before clipping (`None` when inactive).

        `apply(gradients)` updates `variables` with `optimizer` (by
        default `optimizer.apply(gradients, variables)`; a backend's
        trainer passes its own).
        """
        if apply is None:

            def apply(gradients):
                optimizer.apply(gradients, variables)

        if not self.active:
            apply(gradients)
            return None
        scaled = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        # The loss scale (1 for any other optimizer): the norm compared is
        # that of the gradients of the loss itself.
        scale = ops.cast(optimizer.scale_loss(1.0), "float32")
        norm = global_norm(gradients) / scale
        if self.clip_gradient_norm is not None:
            gradients = clip_by_global_norm(
                gradients, self.clip_gradient_norm * scale, norm * scale
            )
        if self.skip_gradient_norm is None:
            apply(gradients)
            return norm
        # NaN compares False: a non-finite norm skips only by this test.
        skip = norm > self.skip_gradient_norm
        if not scaled:
            skip = ops.logical_or(skip, ops.logical_not(ops.isfinite(norm)))
        else:
            skip = ops.logical_and(skip, ops.isfinite(norm))
        # No branch on a value (JAX cannot trace state changes inside
        # one): the update runs, and a skip gives every variable it
        # changed its value back.
        changed = list(variables) + list(optimizer.variables)
        before = [ops.copy(v.value) for v in changed]
        apply(gradients)
        for variable, value in zip(changed, before):
            variable.assign(ops.where(skip, value, variable.value))
        self.skipped_updates.assign_add(ops.cast(skip, "int32"))
        self.consecutive_skips.assign(
            ops.where(skip, self.consecutive_skips.value + 1, 0)
        )
        return norm

    def get_config(self):
        return {
            **super().get_config(),
            "clip_gradient_norm": self.clip_gradient_norm,
            "skip_gradient_norm": self.skip_gradient_norm,
            "max_consecutive_skips": self.max_consecutive_skips,
        }
