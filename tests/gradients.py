"""Gradients with the autodiff of the Keras backend the tests run on."""

import keras
import numpy as np


def value_and_grad(fn, variables):
    """Calls `fn()`, which returns a tuple whose first item is a scalar,
    and differentiates that item with respect to `variables` (Keras
    variables `fn` reads). Returns the tuple and the gradients, as NumPy
    arrays. On JAX, `fn` runs in a `keras.StatelessScope` that collects
    the layers' `add_loss` terms, so `model.losses` works inside it."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            outputs = fn()
        grads = tape.gradient(outputs[0], [v.value for v in variables])
    elif backend == "jax":
        import jax

        def scalar(values):
            mapping = list(zip(variables, values))
            with keras.StatelessScope(
                state_mapping=mapping, collect_losses=True
            ):
                outputs = fn()
            return outputs[0], outputs

        values = [v.value for v in variables]
        (_, outputs), grads = jax.value_and_grad(scalar, has_aux=True)(values)
    elif backend == "torch":
        import torch

        outputs = fn()
        grads = torch.autograd.grad(outputs[0], [v.value for v in variables])
    else:
        raise ValueError(f"No gradients on the {backend} backend")
    as_numpy = lambda t: np.asarray(keras.ops.convert_to_numpy(t))  # noqa: E731
    return [as_numpy(t) for t in outputs], [as_numpy(g) for g in grads]
