"""Export of a VAE's SavedModel signatures as ONNX files, each checked in
ONNX Runtime before it is written."""

import contextlib
import logging
import os
import tempfile

import numpy as np
import tensorflow as tf

from keras_vae.evaluation.fixed_noise import score_noise
from keras_vae.export import _checks
from keras_vae.export.signatures import serving_archive
from keras_vae.export.signatures import signature_names
from keras_vae.export.signatures import warmup_requests
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.atomic import atomic_path

#: The signatures that convert to ONNX, one file `<name>.onnx` each.
ONNX_SIGNATURES = ("encode", "decode", "reconstruct", "score")

#: Why the other signatures of a SavedModel are not converted.
UNCONVERTIBLE = {
    "serving_default": "it is `reconstruct` under another name (use "
    "reconstruct.onnx)",
    "sample": "it draws with TensorFlow's stateless random ops "
    "(StatelessRandomNormalV2 and its seed), which ONNX has no operator "
    "for: draw z from the prior on the host and run decode.onnx",
    "encode_bytes": "it decodes image files (DecodeImage), which ONNX has "
    "no operator for: decode the images on the host and run encode.onnx",
    "reconstruct_bytes": "it decodes image files (DecodeImage), which ONNX "
    "has no operator for: decode the images on the host and run "
    "reconstruct.onnx",
    "score_bytes": "it decodes image files (DecodeImage), which ONNX has "
    "no operator for: decode the images on the host and run score.onnx",
}

#: The largest difference from the SavedModel a file may show, relative
#: to the largest magnitude of each output.
RTOL = 1e-4

_INSTALL = 'pip install "keras-vae[onnx]"'


def export_onnx(
    vae,
    directory,
    signatures=None,
    overwrite=False,
    resize="crop",
    score_samples=100,
    score_seed=0,
    opset=None,
):
    """Exports a VAE's serving signatures as ONNX files, one per signature.

    The SavedModel of `keras_vae.export.export_saved_model` (the same
    functions, the same fixed noise of `score`) is written into a temporary
    folder, and each of its signatures `encode`, `decode`, `reconstruct`
    and `score` is converted with `tf2onnx` into `directory/<name>.onnx`.
    Each file must then load in ONNX Runtime and agree with the SavedModel
    on a few batches (the TF Serving warm-up requests: batch sizes 1 and 8)
    to within `RTOL` (`1e-4`) of the largest magnitude of each output;
    only then does it count as written. The files take and return the
    signatures' named inputs and outputs, with the same dtypes and a
    dynamic batch axis (`x` is uint8 for a model with
    `preprocessing="8bit"`; a `keras_vae.ConditionalVAE`'s also take
    `labels`).

    The other signatures are not converted: `sample` draws with
    TensorFlow's stateless random ops and the `*_bytes` signatures decode
    image files, which ONNX has no operators for (`UNCONVERTIBLE` says why
    for each). Nor is one of the four that fails to convert or to agree
    (e.g. a likelihood of your own whose maths use an op that tf2onnx
    cannot convert, such as `keras.ops.log1p`): with `signatures=None` it
    is skipped, and the reason returned; named in `signatures`, it is an
    error.

    `directory` is written atomically (`keras_vae.utils.atomic.atomic_path`):
    the files go into a hidden folder beside it, which is renamed onto it
    only once every file has passed its check, so an error leaves nothing
    behind.

    Needs the `onnx` extra: `pip install "keras-vae[onnx]"` (`tf2onnx` and
    `onnxruntime`).

    Args:
        vae: A built `keras_vae.VAE` or `keras_vae.ConditionalVAE`.
        directory: The directory to write the `.onnx` files into.
        signatures: `None` (the default) for all of `ONNX_SIGNATURES` that
            convert, or a list of signature names, each of which must
            convert.
        overwrite: Whether to replace an existing `directory`. Defaults to
            `False`.
        resize: As for `export_saved_model` (it only concerns the `*_bytes`
            signatures, which are not converted).
        score_samples: `K`, the importance samples per example of `score`.
            Defaults to 100.
        score_seed: The integer seed of its fixed noise. Defaults to 0.
        opset: The ONNX opset to convert to. Defaults to `tf2onnx`'s.

    Returns:
        A pair of dicts: `written`, from signature name to the path of its
        file, and `skipped`, from the name of each signature of the
        SavedModel that was not converted to the reason.

    Example:

    ```python
    written, skipped = keras_vae.export.export_onnx(vae, "onnx/mnist_vae")
    session = onnxruntime.InferenceSession(written["encode"])
    z_mean, z_log_var = session.run(["z_mean", "z_log_var"], {"x": x})
    ```
    """
    _checks.check_vae(vae, conditional=True)
    _checks.check_overwrite(overwrite)
    score_samples = _checks.check_signature_options(
        resize, score_samples, score_seed
    )
    if opset is not None:
        opset = check_positive_int(opset, "opset")
    available = signature_names(vae)
    requested = check_signatures(signatures, vae)
    directory = _checks.check_path(directory, "directory")
    if os.path.exists(directory) and not overwrite:
        raise ValueError(
            f"{directory!r} exists already. Pass `overwrite=True` to replace "
            f"it. Received: overwrite={overwrite}"
        )
    tf2onnx, onnxruntime = import_converter()

    skipped = {
        name: UNCONVERTIBLE[name]
        for name in available
        if name not in ONNX_SIGNATURES
    }
    epsilon = score_noise(vae.latent_shape, score_samples, score_seed)
    archive = serving_archive(vae, resize, epsilon)
    written = {}
    with tempfile.TemporaryDirectory() as saved_model:
        archive.write_out(saved_model, verbose=False)
        serving = tf.saved_model.load(saved_model)
        requests = warmup_requests(vae)
        with atomic_path(directory, overwrite=overwrite) as temp:
            os.mkdir(temp)
            for name in requested or ONNX_SIGNATURES:
                path = os.path.join(temp, f"{name}.onnx")
                reason = _convert_and_check(
                    serving.signatures[name],
                    path,
                    [inputs for key, inputs in requests if key == name],
                    opset,
                    tf2onnx,
                    onnxruntime,
                )
                if reason is None:
                    written[name] = os.path.join(directory, f"{name}.onnx")
                elif requested:
                    raise ValueError(
                        f"The signature {name!r} cannot be exported to "
                        f"ONNX: {reason}. Received: signatures={signatures!r}"
                    )
                else:
                    skipped[name] = reason
                    if os.path.exists(path):
                        os.remove(path)
            if not written:
                raise ValueError(
                    "None of the signatures could be exported to ONNX: "
                    + "; ".join(f"{n}: {r}" for n, r in skipped.items())
                    + f". Received: vae={vae!r}"
                )
    return written, skipped


def check_signatures(signatures, vae):
    """Returns the requested signature names, a list (empty for `None`), or
    raises a `ValueError` naming one that cannot be converted and why."""
    available = signature_names(vae)
    if signatures is None:
        return []
    if isinstance(signatures, str) or not all(
        isinstance(name, str) for name in signatures
    ):
        raise ValueError(
            "Invalid value for argument `signatures`: expected None or a list "
            f"of signature names. Received: signatures={signatures!r}"
        )
    signatures = list(dict.fromkeys(signatures))
    if not signatures:
        raise ValueError(
            "Invalid value for argument `signatures`: expected None or a "
            "non-empty list of signature names. "
            f"Received: signatures={signatures!r}"
        )
    for name in signatures:
        if name in ONNX_SIGNATURES:
            continue
        if name in UNCONVERTIBLE:
            raise ValueError(
                f"The signature {name!r} cannot be exported to ONNX: "
                f"{UNCONVERTIBLE[name]}. Received: signatures={signatures!r}"
            )
        raise ValueError(
            f"Invalid value for argument `signatures`: {name!r} is not a "
            f"signature of the model's SavedModel {list(available)}; those "
            f"that convert to ONNX are {list(ONNX_SIGNATURES)}. "
            f"Received: signatures={signatures!r}"
        )
    return signatures


def import_converter():
    """Returns the modules `tf2onnx` and `onnxruntime`, or raises an
    `ImportError` that says how to install them."""
    try:
        import onnxruntime
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "The ONNX export needs tf2onnx and onnxruntime, which the "
            f"`onnx` extra installs: `{_INSTALL}`. Received: {error}"
        ) from error
    return tf2onnx, onnxruntime


def _convert_and_check(signature, path, requests, opset, tf2onnx, runtime):
    """Converts `signature` into the file `path` and runs it on `requests`
    in ONNX Runtime; returns why it failed, or `None`."""
    specs = signature.structured_input_signature[1]
    names = list(requests[0])
    input_signature = [specs[name] for name in names]

    @tf.function(input_signature=input_signature)
    def function(*args):
        return signature(**dict(zip(names, args)))

    concrete = function.get_concrete_function()
    # The arguments come first; the tensors the graph captures (such as a
    # `Normalization`'s mean) after them, to be frozen, not fed.
    input_names = [tensor.name for tensor in concrete.inputs[: len(names)]]
    outputs = concrete.structured_outputs
    output_names = [outputs[key].name for key in sorted(outputs)]
    renames = dict(zip(input_names, names))
    renames.update({outputs[key].name: key for key in outputs})
    try:
        with _quiet_converter():
            graph_def = tf2onnx.tf_loader.from_function(
                concrete, input_names, output_names
            )
            model, _ = tf2onnx.convert.from_graph_def(
                graph_def,
                name=signature.name,
                input_names=input_names,
                output_names=output_names,
                opset=opset,
                tensors_to_rename=renames,
            )
    except Exception as error:
        return f"tf2onnx failed: {_first_line(error)}"
    unknown = sorted(_unknown_ops(model.graph))
    if unknown:
        # tf2onnx leaves in the ops it cannot convert, and says it worked.
        return (
            "it uses TensorFlow ops that tf2onnx cannot convert to ONNX: "
            + ", ".join(unknown)
        )
    with open(path, "xb") as f:
        f.write(model.SerializeToString())
    try:
        session = runtime.InferenceSession(
            path, providers=["CPUExecutionProvider"]
        )
        for inputs in requests:
            expected = {
                key: value.numpy()
                for key, value in signature(
                    **{k: tf.constant(v) for k, v in inputs.items()}
                ).items()
            }
            outputs = [output.name for output in session.get_outputs()]
            actual = dict(zip(outputs, session.run(outputs, inputs)))
            if sorted(actual) != sorted(expected):
                return (
                    f"the ONNX file returns {sorted(actual)}, the "
                    f"SavedModel {sorted(expected)}"
                )
            for key, value in expected.items():
                difference = relative_difference(actual[key], value)
                if not difference <= RTOL:
                    return (
                        f"in ONNX Runtime its output {key!r} differs from "
                        f"the SavedModel's by {difference:.2g} of its "
                        f"largest value (more than {RTOL:g})"
                    )
    except Exception as error:
        return f"ONNX Runtime cannot run it: {_first_line(error)}"
    return None


def relative_difference(actual, expected):
    """`max |actual - expected| / max |expected|`: the largest difference,
    relative to the largest magnitude of the expected values (0 where both
    are all zeros, `inf` for a difference in shape or a NaN)."""
    actual = np.asarray(actual, "float64")
    expected = np.asarray(expected, "float64")
    if actual.shape != expected.shape:
        return float("inf")
    difference = np.max(np.abs(actual - expected), initial=0.0)
    if np.isnan(difference):
        return float("inf")
    scale = np.max(np.abs(expected), initial=0.0)
    if difference == 0.0:
        return 0.0
    return float(difference / scale) if scale > 0 else float("inf")


def _unknown_ops(graph):
    """The op types of `graph` (and of its loops' bodies) that ONNX does
    not define: those tf2onnx could not convert."""
    from onnx import defs

    unknown = set()
    for node in graph.node:
        if node.domain in ("", "ai.onnx") and not defs.has(node.op_type):
            unknown.add(node.op_type)
        for attribute in node.attribute:
            for subgraph in [attribute.g, *attribute.graphs]:
                unknown |= _unknown_ops(subgraph)
    return unknown


@contextlib.contextmanager
def _quiet_converter():
    """Silences the log lines of tf2onnx (whose errors are returned as
    reasons instead) and of the TensorFlow functions it calls while the
    block runs."""
    loggers = [logging.getLogger(name) for name in ("tf2onnx", "tensorflow")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _first_line(error):
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"
