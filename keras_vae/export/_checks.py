"""Argument checks shared by the exporters."""

import os

import keras
import numpy as np

from keras_vae.export.signatures import RESIZE_MODES
from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.vae import VAE
from keras_vae.utils.argument_checks import check_positive_int


def check_vae(vae, conditional=False):
    """Raises a `ValueError` unless `vae` is a built `keras_vae.VAE` (or,
    with `conditional=True`, a `keras_vae.ConditionalVAE`) on the
    TensorFlow backend."""
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "The SavedModel and TFLite exports are TensorFlow programs, so "
            "they run on Keras's TensorFlow backend. Save the model "
            "(`vae.save('vae.keras')`: a file from any backend loads on "
            "any other) and export it there: `keras-vae export vae.keras "
            "--saved-model DIR --tflite FILE` (which runs on TensorFlow "
            "whatever KERAS_BACKEND says), or `keras_vae.export_saved_model` "
            "in a process started with KERAS_BACKEND=tensorflow. "
            f"Received: backend={keras.backend.backend()!r}"
        )
    if not isinstance(vae, VAE):
        raise ValueError(
            "Invalid value for argument `vae`: expected a `keras_vae.VAE` "
            "(e.g. from `keras_vae.build_mlp_vae`). "
            f"Received: vae={vae!r}"
        )
    if isinstance(vae, ConditionalVAE) and not conditional:
        raise ValueError(
            "Invalid value for argument `vae`: this export does not take a "
            "ConditionalVAE (whose decoder needs labels); export it with "
            "`keras_vae.export_saved_model`, or export an unconditional "
            f"keras_vae.VAE. Received: vae={vae!r}"
        )
    if not (vae.built and vae.encoder.built and vae.decoder.built):
        raise ValueError(
            "Invalid value for argument `vae`: the model was never built, so "
            "it has no weights to export. Build it (call it on a batch or "
            f"train it) first. Received: vae={vae!r}"
        )


def check_overwrite(overwrite):
    """Raises a `ValueError` unless `overwrite` is a bool."""
    if not isinstance(overwrite, bool):
        raise ValueError(
            "Invalid value for argument `overwrite`: expected True or False. "
            f"Received: overwrite={overwrite!r}"
        )


def check_path(path, name="path"):
    """Returns `path` as an absolute `str`, or raises a `ValueError`."""
    try:
        path_str = os.fspath(path)
    except TypeError:
        path_str = None
    if not isinstance(path_str, str) or not path_str:
        raise ValueError(
            f"Invalid value for argument `{name}`: expected a non-empty path "
            f"string or `os.PathLike`. Received: {name}={path!r}"
        )
    return os.path.abspath(path_str)


def check_signature_options(resize, score_samples, score_seed):
    """Checks the options of the signatures an export writes (`resize` of
    the `*_bytes` ones, `score_samples` and `score_seed` of `score`), and
    returns `score_samples` as an `int`."""
    if resize not in RESIZE_MODES:
        raise ValueError(
            'Invalid value for argument `resize`: expected "crop" or "pad". '
            f"Received: resize={resize!r}"
        )
    score_samples = check_positive_int(score_samples, "score_samples")
    if isinstance(score_seed, bool) or not isinstance(
        score_seed, (int, np.integer)
    ):
        raise ValueError(
            "Invalid value for argument `score_seed`: expected an integer. "
            f"Received: score_seed={score_seed!r}"
        )
    return score_samples
