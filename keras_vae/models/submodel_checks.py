"""Checks that a VAE's networks fit together: the encoder and decoder of a
`VAE` or `ConditionalVAE`, and the networks of a `HierarchicalVAE`."""

import keras
import numpy as np

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.utils.argument_checks import check_non_negative_float
from keras_vae.utils.layer_types import nested_layers


def check_network(model, name, num_inputs, num_outputs=None):
    """Raises unless `model` is a built `keras.Model` with `num_inputs`
    inputs (and `num_outputs` outputs, where given)."""
    if (
        not isinstance(model, keras.Model)
        or not model.built
        or len(getattr(model, "inputs", None) or []) != num_inputs
        or (
            num_outputs is not None
            and len(getattr(model, "outputs", None) or []) != num_outputs
        )
    ):
        outputs = "" if num_outputs is None else f" and {num_outputs} output(s)"
        raise ValueError(
            f"`{name}` must be a built `keras.Model` (e.g. a functional "
            f"model made from `keras.Input`) with {num_inputs} input(s)"
            f"{outputs}. Received: {name}={model!r}"
        )


def kl_layers(model):
    """The `KLDivergenceLayer`s of `model`, at any depth."""
    return [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, KLDivergenceLayer)
    ]


def check_encoder_and_decoder(encoder, decoder, num_inputs=1):
    """Checks that `encoder` and `decoder` fit together as a VAE's, each with
    `num_inputs` inputs (data or `z` first, then any conditions)."""
    check_network(encoder, "encoder", num_inputs)
    check_network(decoder, "decoder", num_inputs)
    outputs = encoder.outputs if hasattr(encoder, "outputs") else None
    if not outputs or len(outputs) != 3:
        raise ValueError(
            "`encoder` must output `[z_mean, z_log_var, z]`. Received: an "
            f"encoder with {len(outputs or [])} outputs"
        )
    if not kl_layers(encoder):
        raise ValueError(
            "`encoder` must contain a `keras_vae.layers.KLDivergenceLayer` "
            "applied to `[z_mean, z_log_var]`, or the VAE would train with "
            "no KL term. Received: an encoder without one"
        )
    z_shape = tuple(encoder.outputs[2].shape[1:])
    if tuple(decoder.inputs[0].shape[1:]) != z_shape:
        raise ValueError(
            "`decoder` must take the encoder's `z`, of shape "
            f"{z_shape}. Received: decoder.input_shape={decoder.input_shape}"
        )


def check_decoder_output(decoder, data_shape, likelihood):
    """Checks that `decoder` emits the likelihood's parameters for data of
    `data_shape`: its shape, with `likelihood.output_channels` channels."""
    channels = likelihood.output_channels(data_shape[-1]) if data_shape else 1
    expected = tuple(data_shape[:-1]) + (channels,)
    if tuple(decoder.output_shape[1:]) != expected:
        where = (
            f" ({type(likelihood).__name__} needs {channels} outputs for "
            f"each value of the data's last axis, of size {data_shape[-1]}: "
            "see its `output_channels`)"
            if expected != tuple(data_shape)
            else ""
        )
        raise ValueError(
            f"`decoder` must output shape {expected} for data of shape "
            f"{tuple(data_shape)}{where}. "
            f"Received: decoder.output_shape={decoder.output_shape}"
        )


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
        check_network(model, f"posteriors[{i}]", 1 if i == 0 else 2, 2)
        if tuple(model.outputs[0].shape) != tuple(model.outputs[1].shape):
            raise ValueError(
                f"`posteriors[{i}]` must output a mean and a log-variance "
                f"of one shape. Received: {model.output_shape}"
            )
    for i, model in enumerate(vae.priors):
        check_network(model, f"priors[{i}]", 1, 2)
        expected = [tuple(vae.posteriors[i + 1].output_shape[0])] * 2
        if [tuple(s) for s in model.output_shape] != expected:
            raise ValueError(
                f"`priors[{i}]` must output the shapes of group {i + 1}'s "
                f"posterior, {expected}. Received: {model.output_shape}"
            )
    for i, model in enumerate(vae.merges):
        check_network(model, f"merges[{i}]", 1 if i == 0 else 2, 1)
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
