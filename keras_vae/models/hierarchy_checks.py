"""Checks of a `HierarchicalVAE`'s networks and per-group arguments."""

import keras
import numpy as np

from keras_vae.utils.argument_checks import check_non_negative_float


def check_hierarchy(vae):
    """Checks that a `HierarchicalVAE`'s networks fit together."""
    num_groups = len(vae.posteriors)
    if num_groups < 1:
        raise ValueError(
            "Invalid value for argument `posteriors`: expected one model "
            "per latent group, at least one. Received: posteriors=[]"
        )
    features = vae.encoder.outputs
    lengths = {
        "encoder outputs": (len(features), num_groups),
        "priors": (len(vae.priors), num_groups - 1),
        "merges": (len(vae.merges), num_groups),
    }
    for name, (length, expected) in lengths.items():
        if length != expected:
            raise ValueError(
                f"A hierarchy of {num_groups} groups needs {expected} "
                f"{name}. Received: {length}"
            )
    for i, model in enumerate(vae.posteriors):
        _check_network(model, f"posteriors[{i}]", 1 if i == 0 else 2, 2)
        if tuple(model.outputs[0].shape) != tuple(model.outputs[1].shape):
            raise ValueError(
                f"`posteriors[{i}]` must output a mean and a log-variance "
                f"of one shape. Received: {model.output_shape}"
            )
    for i, model in enumerate(vae.priors):
        _check_network(model, f"priors[{i}]", 1, 2)
        expected = [tuple(vae.posteriors[i + 1].output_shape[0])] * 2
        if [tuple(s) for s in model.output_shape] != expected:
            raise ValueError(
                f"`priors[{i}]` must output the shapes of group {i + 1}'s "
                f"posterior, {expected}. Received: {model.output_shape}"
            )
    for i, model in enumerate(vae.merges):
        _check_network(model, f"merges[{i}]", 1 if i == 0 else 2, 1)
    data_shape = vae.data_shape
    expected = data_shape[:-1] + (
        vae.likelihood.output_channels(data_shape[-1]),
    )
    if tuple(vae.decoder.output_shape[1:]) != expected:
        raise ValueError(
            "`decoder` must output the likelihood's parameters, of shape "
            f"{expected} for data of shape {data_shape}. Received: "
            f"decoder.output_shape={vae.decoder.output_shape}"
        )


def is_sequence(value):
    return isinstance(value, (list, tuple, np.ndarray))


def per_group(value, num_groups, name):
    """`value` (a float, or one per group) as a list of `num_groups`
    non-negative floats."""
    if is_sequence(value):
        values = list(value)
        if len(values) != num_groups:
            raise ValueError(
                f"Invalid value for argument `{name}`: expected a float or "
                f"one per latent group ({num_groups}). Received: "
                f"{name}={value!r}"
            )
    else:
        values = [value] * num_groups
    return [check_non_negative_float(v, name) for v in values]


def _check_network(model, name, num_inputs, num_outputs):
    if (
        not isinstance(model, keras.Model)
        or not model.built
        or len(getattr(model, "inputs", None) or []) != num_inputs
        or len(getattr(model, "outputs", None) or []) != num_outputs
    ):
        raise ValueError(
            f"`{name}` must be a built functional `keras.Model` with "
            f"{num_inputs} input(s) and {num_outputs} output(s). "
            f"Received: {name}={model!r}"
        )
