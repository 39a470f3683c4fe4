"""Export of a VAE's decoder as a TFLite (LiteRT) model."""

import os

import keras
import numpy as np
import tensorflow as tf

from keras_vae.export import _checks
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.utils.atomic import atomic_path

#: The accepted values of `quantization`.
QUANTIZATIONS = (None, "float16", "dynamic_range", "int8")

_NUM_CALIBRATION_SAMPLES = 200


def export_tflite_decoder(vae, path, quantization=None, overwrite=False):
    """Exports the decoder of a VAE as a `.tflite` file, z -> mean of p(x|z).

    Only the deterministic decoder is exported: the caller supplies `z`
    (from the `N(0, I)` prior to generate, or an encoder's `z_mean`). The
    model returns the mean of `p(x|z)` as float32 (probabilities, i.e.
    pixels, for the Bernoulli likelihood). Its input is float32 `z` of shape
    `(batch_size,) + vae.latent_shape`, batch size 1 by default; call
    `interpreter.resize_tensor_input` for other sizes. It uses builtin ops
    only, so it runs in `ai_edge_litert.interpreter.Interpreter` without the
    Flex delegate.

    For a `keras_vae.HierarchicalVAE`, `z` is the standard normal noise of
    every group, flattened and concatenated (top first): the model draws
    each group from its prior given the groups above and decodes the last,
    so `z ~ N(0, I)` generates, as for any VAE, and equals
    `vae.decode(vae.ancestral_latents(z))`. With a prior other than the
    standard normal (`keras_vae.priors`), generating needs `z` from that
    prior: draw it with `vae.prior.sample(n)` (for a hierarchy, its top
    group's slice of `z`), on the host or ahead of time; likewise from a
    fitted sampler (`keras_vae.samplers`), `vae.sampler.sample(n)`.

    A decoder under a mixed-precision policy is converted in float32, as
    TFLite's builtin kernels have no float16 matrix product (not for a
    `HierarchicalVAE`: export a float32 copy of it).

    The file is written atomically (`keras_vae.utils.atomic.atomic_path`):
    into a hidden folder beside `path`, where it must load and run in the
    LiteRT interpreter before it is renamed onto `path`. A process killed
    meanwhile leaves the hidden folder; the next export into that directory
    removes it.

    Args:
        vae: A built `keras_vae.VAE`.
        path: The path of the `.tflite` file to write.
        quantization: `None` (float32 weights), `"float16"` (float16
            weights), `"dynamic_range"` (int8 weights, float activations) or
            `"int8"` (full integer: int8 weights and activations, calibrated
            on `z` drawn from the prior). The input and output stay float32
            in every case.
        overwrite: Whether to replace an existing file. Defaults to `False`.

    Returns:
        The path of the written file.

    Example:

    ```python
    path = keras_vae.export.export_tflite_decoder(
        vae, "saved_models/mnist_decoder.tflite", quantization="float16"
    )
    interpreter = ai_edge_litert.interpreter.Interpreter(model_path=path)
    ```
    """
    _checks.check_vae(vae)
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            "Invalid value for argument `quantization`: expected one of "
            f"{list(QUANTIZATIONS)}. Received: quantization={quantization!r}"
        )
    _checks.check_overwrite(overwrite)
    path = _checks.check_path(path)
    if os.path.isdir(path):
        raise ValueError(
            "Invalid value for argument `path`: expected a file path, but it "
            f"is a directory. Received: path={path!r}"
        )
    if os.path.exists(path) and not overwrite:
        raise ValueError(
            f"A file already exists at {path!r}. Pass `overwrite=True` to "
            f"replace it. Received: overwrite={overwrite}"
        )

    content = _convert(vae, quantization)
    with atomic_path(path, overwrite=overwrite) as temp:
        with open(temp, "xb") as f:
            f.write(content)
        _check_runs(temp, vae.latent_shape)
    return path


def _convert(vae, quantization):
    hierarchical = isinstance(vae, HierarchicalVAE)
    generative = vae if hierarchical else vae.decoder
    decoder = None
    if any(
        layer.compute_dtype != "float32"
        for layer in generative._flatten_layers(include_self=False)
    ):
        if hierarchical:
            raise ValueError(
                "A HierarchicalVAE under a mixed-precision policy cannot be "
                "exported to TFLite (its builtin kernels have no float16 "
                "matrix product). Build the same model under the float32 "
                "policy, `set_weights` from this one, and export that."
            )
        # TFLite's builtin kernels have no float16 `MatMul`: convert a
        # float32 copy (`quantization="float16"` still stores float16).
        decoder = _float32_copy(vae.decoder)
    latent_shape = vae.latent_shape

    @tf.function(
        input_signature=[
            tf.TensorSpec((None,) + latent_shape, tf.float32, name="z")
        ]
    )
    def decode(z):
        with keras.StatelessScope():
            if decoder is not None:
                params = decoder(z, training=False)
            else:
                if hierarchical:
                    # The groups below the top drawn from `z`'s noise.
                    z = vae.ancestral_latents(z)
                params = vae.decoder_params(z)
        # In the data's units, as `vae.decode`: pixel values 0-255 for an
        # 8-bit model.
        x_mean = vae.decoded_mean(params)
        return {"x_mean": tf.cast(x_mean, tf.float32)}

    module = tf.Module()
    weights = vae.weights if decoder is None else decoder.weights
    weights = {id(v): v for v in weights + vae.likelihood.weights}
    module.model_variables = [v.value for v in weights.values()]
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [decode.get_concrete_function()], trackable_obj=module
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quantization is not None:
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantization == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.TFLITE_BUILTINS_INT8
        ]
        converter.representative_dataset = _prior_samples(latent_shape)
    return converter.convert()


def _float32_copy(model):
    def clone_layer(layer):
        config = {**layer.get_config(), "dtype": "float32"}
        return layer.__class__.from_config(config)

    copy = keras.models.clone_model(model, clone_function=clone_layer)
    copy.set_weights(model.get_weights())
    return copy


def _prior_samples(latent_shape):
    def generate():
        rng = np.random.default_rng(0)
        for _ in range(_NUM_CALIBRATION_SAMPLES):
            yield [rng.standard_normal((1,) + latent_shape).astype("float32")]

    return generate


def _check_runs(path, latent_shape):
    """Raises unless the file at `path` loads and runs in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path)
    interpreter.allocate_tensors()
    interpreter.set_tensor(
        interpreter.get_input_details()[0]["index"],
        np.zeros((1,) + latent_shape, "float32"),
    )
    interpreter.invoke()
