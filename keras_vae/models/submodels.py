"""Checks that an encoder, a decoder and a likelihood fit together as a
VAE's."""

import keras

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.models import preprocessing as preprocessing_module
from keras_vae.utils.layer_types import nested_layers


def kl_layers(model):
    """The `KLDivergenceLayer`s of `model`, at any depth."""
    return [
        layer
        for layer in nested_layers(model)
        if isinstance(layer, KLDivergenceLayer)
    ]


def check_submodels(encoder, decoder, num_inputs=1):
    """Checks that `encoder` and `decoder` fit together as a VAE's, each with
    `num_inputs` inputs (data or `z` first, then any conditions)."""
    for name, model in (("encoder", encoder), ("decoder", decoder)):
        if (
            not isinstance(model, keras.Model)
            or not model.built
            or len(getattr(model, "inputs", None) or []) != num_inputs
        ):
            raise ValueError(
                f"`{name}` must be a built `keras.Model` (e.g. a functional "
                f"model made from `keras.Input`) with {num_inputs} input(s). "
                f"Received: {name}={model!r}"
            )
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


def pixel_preprocessing(preprocessing, likelihood):
    """The preprocessing of a model whose likelihood is over pixel values:
    `"8bit"` (also for `None`), or an error."""
    if preprocessing in (None, preprocessing_module.PIXELS_8BIT):
        return preprocessing_module.PIXELS_8BIT
    raise ValueError(
        f"{type(likelihood).__name__} models 8-bit pixel values, so the "
        'model takes them as they are: pass `preprocessing="8bit"` (or '
        "None, which means the same here). Received: "
        f"preprocessing={preprocessing!r}"
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
