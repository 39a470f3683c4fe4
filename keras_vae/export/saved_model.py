"""Export of a VAE as a versioned SavedModel for TF Serving."""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_vae.export import _checks
from keras_vae.export import _files
from keras_vae.export.warmup import write_warmup_requests

#: The signatures of the exported SavedModel.
SIGNATURES = ("serving_default", "reconstruct", "encode", "decode", "sample")


def export_saved_model(vae, path, version=None, overwrite=False):
    """Exports a VAE as a SavedModel version that TF Serving can serve.

    `path` is the model base directory that TF Serving watches; the model
    goes into its integer subdirectory `path/<version>`. The export is
    atomic: it is written into a hidden sibling `path/.tmp-<version>-*`
    (a name TF Serving ignores) and renamed into place only when complete,
    so an error never leaves a partial version behind. A process killed
    meanwhile leaves the hidden directory; the next export into `path`
    removes it.

    The SavedModel runs with TensorFlow alone (no Keras, no keras-vae). Its
    signatures take named inputs with a dynamic batch axis and return dicts
    of float32 tensors, under any dtype policy:

    - `serving_default` and `reconstruct`: `x` -> `{"reconstruction"}`, the
      mean of `p(x|z_mean)` (deterministic, as `vae(x)`).
    - `encode`: `x` -> `{"z_mean", "z_log_var"}`.
    - `decode`: `z` -> `{"x_mean"}`, the mean of `p(x|z)`, and `"logits"`
      if the likelihood has them (Bernoulli).
    - `sample`: `num_samples` (int32 scalar) and `seed` (int64 scalar) ->
      `{"samples"}`, the means of `p(x|z)` for `z ~ N(0, I)` drawn with
      `tf.random.stateless_normal`: the same seed gives the same samples.

    The version also holds TF Serving warm-up requests for each signature in
    `assets.extra/tf_serving_warmup_requests`.

    Args:
        vae: A built `keras_vae.VAE`.
        path: The model base directory, e.g. `"saved_models/mnist_vae"`.
        version: Optional positive integer. Defaults to one more than the
            largest existing version, or 1.
        overwrite: Whether to replace an existing `version`. Defaults to
            `False`.

    Returns:
        The path of the written version directory.

    Example:

    ```python
    version_dir = keras_vae.export.export_saved_model(
        vae, "saved_models/mnist_vae"
    )  # "saved_models/mnist_vae/1"
    serving = tf.saved_model.load(version_dir)
    z_mean = serving.signatures["encode"](x=x_test[:8])["z_mean"]
    ```
    """
    _checks.check_vae(vae)
    _checks.check_overwrite(overwrite)
    base_dir = _checks.check_path(path)
    if os.path.exists(base_dir) and not os.path.isdir(base_dir):
        raise ValueError(
            "Invalid value for argument `path`: expected a directory (the "
            "model base directory TF Serving watches), but it is a file. "
            f"Received: path={path!r}"
        )
    if version is None:
        version = _next_version(base_dir)
    elif (
        isinstance(version, bool)
        or not isinstance(version, (int, np.integer))
        or version < 1
    ):
        raise ValueError(
            "Invalid value for argument `version`: expected None or an "
            f"integer >= 1. Received: version={version!r}"
        )
    version_dir = os.path.join(base_dir, str(int(version)))
    if os.path.exists(version_dir) and not overwrite:
        raise ValueError(
            f"Version {version} of the model already exists at "
            f"{version_dir!r}. Pass `overwrite=True` to replace it, or "
            f"`version=None` for the next version. Received: version={version}"
        )

    created_dirs = _files.make_dirs(base_dir)
    _files.remove_stale(base_dir, ".tmp-")
    tmp_dir = None
    try:
        # Not `tempfile.mkdtemp`: its mode 0o700 would survive the rename
        # and hide the version from a server that runs as another user.
        tmp_dir = _files.hidden_name(base_dir, f".tmp-{version}-")
        os.mkdir(tmp_dir)
        module, signatures = _serving_module(vae)
        tf.saved_model.save(module, tmp_dir, signatures=signatures)
        write_warmup_requests(
            tmp_dir,
            _warmup_requests(vae),
            model_name=os.path.basename(base_dir),
        )
        _move_into_place(tmp_dir, version_dir, overwrite)
    except BaseException:
        if tmp_dir is not None:
            shutil.rmtree(tmp_dir, ignore_errors=True)
        _files.remove_empty_dirs(created_dirs)
        raise
    return version_dir


def _next_version(base_dir):
    if not os.path.isdir(base_dir):
        return 1
    versions = [
        int(name)
        for name in os.listdir(base_dir)
        if name.isascii() and name.isdigit()
    ]
    return max(versions, default=0) + 1


def _move_into_place(tmp_dir, version_dir, overwrite):
    if not os.path.exists(version_dir):
        # Should another export create `version_dir` meanwhile, the rename
        # fails: POSIX `rename` never replaces a non-empty directory.
        os.rename(tmp_dir, version_dir)
        return
    if not overwrite:
        raise ValueError(
            f"Version directory {version_dir!r} appeared during the export. "
            f"Received: overwrite={overwrite}"
        )
    # Move the old version aside (to a name TF Serving ignores), put the new
    # one in its place, then delete the old one; restore it on failure.
    old_dir = _files.hidden_name(
        os.path.dirname(version_dir), f".old-{os.path.basename(version_dir)}-"
    )
    os.rename(version_dir, old_dir)
    try:
        os.rename(tmp_dir, version_dir)
    except BaseException:
        os.rename(old_dir, version_dir)
        raise
    shutil.rmtree(old_dir, ignore_errors=True)


def _serving_module(vae):
    """Returns a `tf.Module` with the serving functions, and its signatures.

    The module tracks only the model's `tf.Variable`s, not the Keras objects,
    so the SavedModel's object graph holds nothing that needs Keras.
    """
    encoder = keras.Model(vae.encoder.input, vae.encoder.outputs[:2])
    decoder = vae.decoder
    likelihood = vae.likelihood
    x_spec = tf.TensorSpec((None,) + vae.data_shape, tf.float32, name="x")
    z_spec = tf.TensorSpec((None,) + vae.latent_shape, tf.float32, name="z")

    def encode_x(x):
        # The KL layer calls `add_loss`; a stateless scope keeps the traced
        # loss tensor out of the model's eager `losses`.
        with keras.StatelessScope():
            z_mean, z_log_var = encoder(x, training=False)
        return tf.cast(z_mean, tf.float32), tf.cast(z_log_var, tf.float32)

    def decode_z(z):
        with keras.StatelessScope():
            params = decoder(z, training=False)
        return params, tf.cast(likelihood.mean(params), tf.float32)

    @tf.function(input_signature=[x_spec])
    def reconstruct(x):
        z_mean, _ = encode_x(x)
        return {"reconstruction": decode_z(z_mean)[1]}

    @tf.function(input_signature=[x_spec])
    def encode(x):
        z_mean, z_log_var = encode_x(x)
        return {"z_mean": z_mean, "z_log_var": z_log_var}

    @tf.function(input_signature=[z_spec])
    def decode(z):
        params, x_mean = decode_z(z)
        outputs = {"x_mean": x_mean}
        if likelihood.has_logits:
            outputs["logits"] = tf.cast(params, tf.float32)
        return outputs

    @tf.function(
        input_signature=[
            tf.TensorSpec((), tf.int32, name="num_samples"),
            tf.TensorSpec((), tf.int64, name="seed"),
        ]
    )
    def sample(num_samples, seed):
        shape = tf.concat([[num_samples], vae.latent_shape], axis=0)
        z = tf.random.stateless_normal(
            shape, seed=tf.stack([seed, tf.constant(0, tf.int64)])
        )
        return {"samples": decode_z(z)[1]}

    module = tf.Module()
    module.model_variables = [v.value for v in vae.weights]
    module.reconstruct = reconstruct
    module.encode = encode
    module.decode = decode
    module.sample = sample
    signatures = {
        "serving_default": reconstruct.get_concrete_function(),
        "reconstruct": reconstruct.get_concrete_function(),
        "encode": encode.get_concrete_function(),
        "decode": decode.get_concrete_function(),
        "sample": sample.get_concrete_function(),
    }
    return module, signatures


def _warmup_requests(vae):
    """A few small requests per signature, at batch sizes 1 and 8."""
    rng = np.random.default_rng(0)
    requests = []
    for batch_size in (1, 8):
        x = rng.uniform(size=(batch_size,) + vae.data_shape)
        z = rng.standard_normal((batch_size,) + vae.latent_shape)
        x = {"x": x.astype("float32")}
        requests += [
            ("serving_default", x),
            ("reconstruct", x),
            ("encode", x),
            ("decode", {"z": z.astype("float32")}),
            (
                "sample",
                {
                    "num_samples": np.int32(batch_size),
                    "seed": np.int64(batch_size),
                },
            ),
        ]
    return requests
