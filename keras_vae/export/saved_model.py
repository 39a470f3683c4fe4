"""Export of a VAE as a versioned SavedModel for TF Serving."""

import os

import numpy as np

from keras_vae.evaluation.fixed_noise import score_noise
from keras_vae.export import _checks
from keras_vae.export.signatures import SIGNATURES
from keras_vae.export.signatures import serving_archive
from keras_vae.export.signatures import signature_names
from keras_vae.export.signatures import warmup_requests
from keras_vae.export.warmup import write_warmup_requests
from keras_vae.utils.atomic import atomic_path

__all__ = ["SIGNATURES", "export_saved_model"]


def export_saved_model(
    vae,
    path,
    version=None,
    overwrite=False,
    resize="crop",
    score_samples=100,
    score_seed=0,
    sampler=None,
):
    """Exports a VAE as a SavedModel version that TF Serving can serve.

    `path` is the model base directory that TF Serving watches; the model
    goes into its integer subdirectory `path/<version>`. The export is
    atomic (`keras_vae.utils.atomic.atomic_path`): it is written into a
    hidden folder `path/.<version>.tmp-*` (a name TF Serving ignores) and
    renamed into place only when complete, so an error never leaves a
    partial version behind. A process killed meanwhile leaves the hidden
    folder; the next export into `path` removes it.

    The SavedModel runs with TensorFlow alone (no Keras, no keras-vae). Its
    signatures take named inputs with a dynamic batch axis and return dicts
    of float32 tensors, under any dtype policy. `x` is data as the model
    takes it (`vae.input_dtype`): uint8 pixel values 0-255 for a model with
    `preprocessing="8bit"`, float32 otherwise (table rows in their own units
    for a model with a `keras.layers.Normalization`); decoded outputs are in
    the same units (pixel values 0-255 as float32, table rows):

    - `serving_default` and `reconstruct`: `x` -> `{"reconstruction"}`, the
      mean of `p(x|z_mean)` (deterministic, as `vae(x)`).
    - `encode`: `x` -> `{"z_mean", "z_log_var"}`.
    - `decode`: `z` -> `{"x_mean"}`, the mean of `p(x|z)`, and `"logits"`
      if the likelihood has them (Bernoulli; in the model's units).
    - `sample`: `num_samples` (int32 scalar) and `seed` (int64 scalar) ->
      `{"samples"}`, the means of `p(x|z)` for `z` drawn as `vae.sample`
      draws it, with stateless random ops: from `sampler`, or the sampler
      attached to the model (`vae.set_sampler`), else from the model's
      prior (`vae.prior`; for a `keras_vae.HierarchicalVAE` the top group
      so, each group below from its prior given the groups above). The
      same seed gives the same samples, those of
      `vae.sample(n, seed=seed, sampler=sampler)`, at temperature 1.
    - `score`: `x` -> `{"nll"}`,
      `-log p(x)` per example in nats, estimated by importance sampling
      with `score_samples` draws of noise fixed at export time
      (`keras_vae.export.fixed_noise_scores` with `score_noise`): the same
      example always gets the same score, whatever else is in the batch
      (a density over 8-bit values is evaluated at the bins' centres,
      `x + 1/2`).
    - `encode_bytes`, `reconstruct_bytes`, `score_bytes` (8-bit image models
      of 1 or 3 channels): as `encode`, `reconstruct`, `score`, on
      `image_bytes`, a string tensor of encoded JPEG, PNG or GIF files (TF
      Serving's REST form `{"b64": ...}`), decoded and fitted to the
      model's size exactly as `keras_vae.datasets.image_folder` does with
      the same `resize`.

    A `keras_vae.ConditionalVAE`'s signatures also take `labels`, int32
    class indices of shape `(batch,)`; for `sample`, one per sample or one
    for all.

    The version also holds TF Serving warm-up requests for each signature in
    `assets.extra/tf_serving_warmup_requests`.

    Args:
        vae: A built `keras_vae.VAE`, `keras_vae.ConditionalVAE` or
            `keras_vae.HierarchicalVAE`.
        path: The model base directory, e.g. `"saved_models/mnist_vae"`.
        version: Optional positive integer. Defaults to one more than the
            largest existing version, or 1.
        overwrite: Whether to replace an existing `version`. Defaults to
            `False`.
        resize: How the `_bytes` signatures fit an image whose aspect ratio
            differs from the model's: `"crop"` (the default) or `"pad"`, as
            `image_folder`'s `resize`. Pass what the model was trained with.
        score_samples: `K`, the importance samples per example of the
            `score` signatures. Defaults to 100.
        score_seed: The integer seed of their fixed noise. Defaults to 0.
        sampler: The `keras_vae.samplers.Sampler` of the `sample`
            signature, fitted to this model, or None (the default): the
            attached sampler, else the prior. Pass
            `keras_vae.samplers.PriorSampler()` to serve the prior's draws
            from a model with a sampler attached.

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
    _checks.check_vae(vae, conditional=True)
    _checks.check_overwrite(overwrite)
    score_samples = _checks.check_signature_options(
        resize, score_samples, score_seed
    )
    # Fitted to this model's encoder, as it is now.
    sampler = vae.checked_sampler(sampler)
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

    epsilon = None
    if "score" in signature_names(vae):
        epsilon = score_noise(vae.latent_shape, score_samples, score_seed)
    archive = serving_archive(vae, resize, epsilon, sampler)
    with atomic_path(version_dir, overwrite=overwrite) as temp:
        os.mkdir(temp)
        archive.write_out(temp, verbose=False)
        write_warmup_requests(
            temp,
            warmup_requests(vae),
            model_name=os.path.basename(base_dir),
        )
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
