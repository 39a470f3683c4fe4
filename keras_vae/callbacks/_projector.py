"""The files of TensorBoard's Embedding Projector, for `VAETensorBoard`."""

import math
import os

import numpy as np
import tensorflow as tf

from keras_vae.utils.atomic import atomic_path

#: The checkpoint key of the embedded latent means.
EMBEDDING_TENSOR_NAME = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
#: The largest width and height of a sprite TensorBoard's projector shows.
MAX_SPRITE_SIZE = 8192


def write_projector(run_dir, model, x, labels, images):
    """Writes the posterior means of `x` for the Embedding Projector into
    `run_dir`: a checkpoint of an `embedding` variable in `embedding/`,
    `labels` (a list of strings, or `None`) in `metadata.tsv`, the
    examples of `x` in `sprite.png` if `images`, and
    `projector_config.pbtxt`.

    The old configuration is removed first, each file is written by
    `atomic_path`, and the new configuration comes last: TensorBoard never
    reads a half-written projector, nor one that mixes two runs' files."""
    from google.protobuf import text_format
    from tensorboard.plugins import projector

    z_mean, _ = model.encode(x)
    z_mean = z_mean.reshape(len(z_mean), -1).astype("float32")
    # No configuration while the files change: TensorBoard sees either
    # none or one whose files are all complete and of this run.
    config_path = os.path.join(run_dir, "projector_config.pbtxt")
    if os.path.exists(config_path):
        os.remove(config_path)
    config = projector.ProjectorConfig()
    embedding = config.embeddings.add()
    embedding.tensor_name = EMBEDDING_TENSOR_NAME
    embedding_dir = os.path.join(run_dir, "embedding")
    with atomic_path(embedding_dir, overwrite=True) as temp:
        os.makedirs(temp)
        checkpoint = tf.train.Checkpoint(embedding=tf.Variable(z_mean))
        checkpoint.write(os.path.join(temp, "embedding.ckpt"))
    if labels is not None:
        embedding.metadata_path = "metadata.tsv"
        rows = [f"{label}\t{i}\n" for i, label in enumerate(labels[: len(x)])]
        text = "label\tindex\n" + "".join(rows)
        _write_file(run_dir, "metadata.tsv", text.encode())
    if images:
        from keras_vae.plotting import image_grid
        from keras_vae.plotting import to_unit_range

        # A square of thumbnails, row by row, as the projector reads it.
        columns = sprite_columns(len(x))
        height, width = x.shape[1:3]
        sprite = image_grid(to_unit_range(model, x), columns)
        missing_rows = columns * height - sprite.shape[0]
        pad = [(0, missing_rows)] + [(0, 0)] * (sprite.ndim - 1)
        sprite = np.pad(sprite, pad, constant_values=1.0)
        _write_file(run_dir, "sprite.png", encode_png(sprite))
        embedding.sprite.image_path = "sprite.png"
        embedding.sprite.single_image_dim.extend([width, height])
    # TensorBoard finds the checkpoint through this file, relative to the
    # run, so a log directory can be moved.
    state = 'model_checkpoint_path: "embedding/embedding.ckpt"\n'
    _write_file(run_dir, "checkpoint", state.encode())
    _write_file(
        run_dir,
        "projector_config.pbtxt",
        text_format.MessageToString(config).encode(),
    )


def sprite_columns(num_images):
    """The columns (and rows) of the square sprite of `num_images`."""
    return math.isqrt(num_images - 1) + 1


def encode_png(grid):
    """A grid of values in [0, 1] as the bytes of an 8-bit PNG."""
    pixels = np.round(np.clip(grid, 0.0, 1.0) * 255).astype("uint8")
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    return tf.io.encode_png(pixels).numpy()


def _write_file(run_dir, name, data):
    with atomic_path(os.path.join(run_dir, name), overwrite=True) as temp:
        with open(temp, "wb") as f:
            f.write(data)
