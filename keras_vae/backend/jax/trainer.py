"""The training and test steps of a VAE on JAX: pure functions of the
model's state, as Keras's JAX trainer calls them."""

import jax
import keras

from keras_vae.backend.common import KerasLoopTrainer


class JAXTrainer(KerasLoopTrainer):
    """The JAX half of `keras_vae.VAE`'s training loop.

    Keras's JAX trainer calls `train_step(state, data)` with the model's
    variables as values and expects new values back. This class runs the
    model's backend-neutral, stateful steps (see
    `keras_vae.backend.trainer.Trainer`) inside a
    `keras.StatelessScope` that maps each variable to its value: the loss
    terms under `jax.value_and_grad` (the scope collects the losses the
    layers add with `add_loss`, the KL among them), then the update and the
    metrics, and reads the new values out of the scopes. The noise is
    fresh on every step because the seed generators' states are among the
    variables it carries. Under `keras.distribution.DataParallel` the batch
    is sharded over the devices and every mean is global, so an update
    equals that of one device on the whole batch.
    """

    def train_step(self, state, data):
        trainable, non_trainable, optimizer_values, metric_values = state
        inputs = self.step_inputs(data)
        model_variables = (
            self.trainable_variables + self.non_trainable_variables
        )
        optimizer_variables = self.optimizer.variables

        def loss_and_terms(trainable, non_trainable):
            def forward():
                self.apply_kl_warmup()
                terms = self.compute_loss_terms(inputs, training=True)
                return self.optimizer.scale_loss(terms["loss"]), terms

            (scaled_loss, terms), values = _run_stateless(
                forward,
                model_variables + optimizer_variables,
                trainable + non_trainable + optimizer_values,
                collect_losses=True,
            )
            return scaled_loss, (
                terms,
                values[len(trainable) : len(trainable) + len(non_trainable)],
            )

        grad_fn = jax.value_and_grad(loss_and_terms, has_aux=True)
        (_, (terms, non_trainable)), gradients = grad_fn(
            trainable, non_trainable
        )

        def update():
            update = self.apply_update(gradients)
            return self.update_metrics(inputs, terms, update)

        groups = (trainable, non_trainable, optimizer_values, metric_values)
        logs, values = _run_stateless(
            update,
            model_variables + optimizer_variables + self.metrics_variables,
            [value for group in groups for value in group],
        )
        return logs, _split_like(values, groups)

    def test_step(self, state, data):
        trainable, non_trainable, metric_values = state
        inputs = self.step_inputs(data)

        def evaluate():
            terms = self.compute_loss_terms(inputs, training=False)
            return self.update_metrics(inputs, terms)

        groups = (trainable, non_trainable, metric_values)
        logs, values = _run_stateless(
            evaluate,
            self.trainable_variables
            + self.non_trainable_variables
            + self.metrics_variables,
            [value for group in groups for value in group],
            collect_losses=True,
        )
        return logs, _split_like(values, groups)

    def _optimizer_apply(self, gradients):
        # Inside the step's `StatelessScope`: Keras's stateless update of
        # the values the scope holds (its stateful `apply` branches on
        # values, as a `LossScaleOptimizer` does, which JAX cannot trace).
        variables = self.trainable_variables
        optimizer_variables = self.optimizer.variables
        trainable, optimizer_values = self.optimizer.stateless_apply(
            [v.value for v in optimizer_variables],
            gradients,
            [v.value for v in variables],
        )
        for variable, value in zip(variables, trainable):
            variable.assign(value)
        for variable, value in zip(optimizer_variables, optimizer_values):
            variable.assign(value)


def _run_stateless(fn, variables, values, collect_losses=False):
    """Runs the stateful `fn()` with `variables` read as `values`; returns
    its result and the variables' values after it."""
    mapping = list(zip(variables, values))
    with keras.StatelessScope(
        state_mapping=mapping, collect_losses=collect_losses
    ) as scope:
        result = fn()
    return result, [scope.get_current_value(v) for v in variables]


def _split_like(values, groups):
    """`values` cut into lists of the lengths of `groups`."""
    parts, start = [], 0
    for group in groups:
        parts.append(values[start : start + len(group)])
        start += len(group)
    return tuple(parts)
