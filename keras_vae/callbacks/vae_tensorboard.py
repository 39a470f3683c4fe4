import contextlib
import os

import keras
import numpy as np
import tensorflow as tf

from keras_vae.callbacks._projector import EMBEDDING_TENSOR_NAME
from keras_vae.callbacks._projector import MAX_SPRITE_SIZE
from keras_vae.callbacks._projector import sprite_columns
from keras_vae.callbacks._projector import write_projector
from keras_vae.evaluation.latent_statistics import active_units
from keras_vae.evaluation.latent_statistics import kl_per_dimension
from keras_vae.utils.argument_checks import check_positive_int

__all__ = [
    "EMBEDDING_TENSOR_NAME",
    "MAX_SPRITE_SIZE",
    "RUN_NAME",
    "VAETensorBoard",
]

#: The subdirectory of `log_dir` this callback writes: its TensorBoard run.
RUN_NAME = "vae"
_GRID_COLUMNS = 8


class VAETensorBoard(keras.callbacks.Callback):
    """Shows a VAE's pictures, latent statistics and latent space in
    TensorBoard.

    It writes into the run `log_dir/vae`, beside the `train` and
    `validation` runs of `keras.callbacks.TensorBoard` (use both: that one
    draws the loss curves). Every `every_n_epochs` epochs, at the epoch's
    step (Keras's epoch scalars use the same steps):

    - images, if `x` holds images (`(height, width)` or
      `(height, width, channels)` with 1, 3 or 4 channels): `prior_samples`,
      a grid of `num_samples` decoded prior draws (the same draws every
      time), and `reconstructions`, the first `num_pairs` examples of `x`,
      each above its reconstruction. For other data (flat vectors) no
      images are written; everything else is;
    - scalars: `active_units`, the number of latent dimensions in use, and
      `kl_per_dimension/z_<i>`, each dimension's KL in nats, over all of
      `x` (`keras_vae.evaluation.active_units` and `kl_per_dimension`).

    When training starts it writes the encoder and decoder as conceptual
    graphs (tags `encoder`, `decoder`; Keras's callback draws none for a
    VAE). When training ends it writes the posterior means of the first
    `num_embedded` examples of `x` for the Embedding Projector: a
    checkpoint of an `embedding` variable in `vae/embedding/`, the labels
    in `metadata.tsv`, the images in `sprite.png` (image data only) and
    `projector_config.pbtxt`. The old configuration is removed first, each
    file is written to a temporary name and renamed into place, and the
    new configuration comes last: TensorBoard never reads a half-written
    projector, nor one that mixes two runs' files (see
    docs/guides/tensorboard.md).

    Args:
        x: The data to picture and embed, usually the validation set, of
            the model's example shape.
        log_dir: The TensorBoard log directory (that of
            `keras.callbacks.TensorBoard`).
        labels: One label per example of `x` (class indices or names), the
            projector's metadata; `None` writes no metadata.
        every_n_epochs: How often to write images and scalars. Defaults
            to `1`.
        num_samples: How many prior samples to show. Defaults to `64`.
        num_pairs: How many originals and reconstructions to show.
            Defaults to `16`.
        num_embedded: How many examples of `x` to embed (the first ones);
            `None` (the default) embeds all of them. With images, the sprite of
            `ceil(sqrt(num_embedded))` columns must fit in 8192 pixels.
        seed: The seed of the prior samples. Defaults to `0`.
        write_graph: Whether to write the encoder and decoder graphs.
            Defaults to `True`.

    Example:

    ```python
    callbacks = [
        keras.callbacks.TensorBoard("logs"),
        keras_vae.callbacks.VAETensorBoard(x_test, "logs", labels=y_test),
    ]
    vae.fit(x_train, epochs=10, validation_data=x_test, callbacks=callbacks)
    # tensorboard --logdir logs
    ```
    """

    def __init__(
        self,
        x,
        log_dir,
        labels=None,
        every_n_epochs=1,
        num_samples=64,
        num_pairs=16,
        num_embedded=None,
        seed=0,
        write_graph=True,
    ):
        super().__init__()
        x = np.asarray(x)
        if x.ndim < 2 or not len(x):
            raise ValueError(
                "Invalid value for argument `x`: expected a non-empty array "
                f"of examples. Received: x.shape={x.shape}"
            )
        self.x = x
        self.log_dir = os.fspath(log_dir)
        self.every_n_epochs = check_positive_int(
            every_n_epochs, "every_n_epochs"
        )
        self.num_samples = check_positive_int(num_samples, "num_samples")
        self.num_pairs = check_positive_int(num_pairs, "num_pairs")
        if num_embedded is None:
            num_embedded = len(x)
        self.num_embedded = min(
            check_positive_int(num_embedded, "num_embedded"), len(x)
        )
        self.labels = _check_labels(labels, len(x))
        self.seed = seed
        self.write_graph = bool(write_graph)
        self.run_dir = os.path.join(self.log_dir, RUN_NAME)
        self.images = _is_image_shape(x.shape[1:])
        if self.images:
            columns = sprite_columns(self.num_embedded)
            if columns * max(x.shape[1:3]) > MAX_SPRITE_SIZE:
                raise ValueError(
                    "Invalid value for argument `num_embedded`: the sprite "
                    f"of {columns} columns of {x.shape[1]}x{x.shape[2]} "
                    f"images is over {MAX_SPRITE_SIZE} pixels wide. "
                    f"Received: num_embedded={num_embedded}"
                )
        self._writer = None

    def on_train_begin(self, logs=None):
        # Any model with the VAE's public API; a conditional one (whose
        # inputs carry labels) would need them to encode `x`.
        if not hasattr(self.model, "model_inputs") or hasattr(
            self.model, "num_classes"
        ):
            raise ValueError(
                "VAETensorBoard needs an unconditional keras_vae.VAE (it "
                "encodes `x` without labels). Received: "
                f"model={type(self.model).__name__}"
            )
        # Before the first epoch, not after it.
        self.model.model_inputs(self.x)
        self._kl_per_dimension = (
            self.model.prior_params(self.model.model_inputs(self.x[:1]))
            is not None
        )
        self._writer = tf.summary.create_file_writer(self.run_dir)
        if self.write_graph:
            with _recording(self._writer):
                _write_conceptual_graph("encoder", self.model.encoder)
                _write_conceptual_graph("decoder", self.model.decoder)

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        with _recording(self._writer):
            if self.images:
                for name, grid in self._image_grids().items():
                    tf.summary.image(name, grid[None], step=epoch)
            count, _ = active_units(self.model, self.x)
            tf.summary.scalar("active_units", count, step=epoch)
            if not self._kl_per_dimension:
                # A prior with no KL per dimension (a mixture).
                return
            kl = kl_per_dimension(self.model, self.x)
            digits = len(str(len(kl) - 1))
            for i, value in enumerate(kl):
                tag = f"kl_per_dimension/z_{i:0{digits}d}"
                tf.summary.scalar(tag, value, step=epoch)

    def on_train_end(self, logs=None):
        try:
            x = self.x[: self.num_embedded]
            write_projector(
                self.run_dir, self.model, x, self.labels, self.images
            )
        finally:
            self._writer.close()

    def _image_grids(self):
        from keras_vae.plotting import image_grid
        from keras_vae.plotting import interleave_rows
        from keras_vae.plotting import to_unit_range
        from keras_vae.samplers import PriorSampler

        model = self.model
        # The prior: an attached sampler is fitted to the encoder as it was
        # before this training, and refuses the one training changes.
        samples = model.sample(
            self.num_samples, seed=self.seed, sampler=PriorSampler()
        )
        originals = self.x[: self.num_pairs]
        reconstructions = model.reconstruct(originals)
        columns = min(_GRID_COLUMNS, self.num_pairs, len(originals))
        pairs = interleave_rows(
            to_unit_range(model, originals),
            to_unit_range(model, reconstructions),
            columns,
        )
        samples = to_unit_range(model, samples)
        grids = {
            "prior_samples": image_grid(samples, _GRID_COLUMNS),
            "reconstructions": image_grid(pairs, columns),
        }
        return {
            name: (grid[..., None] if grid.ndim == 2 else grid).astype(
                "float32"
            )
            for name, grid in grids.items()
        }


@contextlib.contextmanager
def _recording(writer):
    """Makes `writer` the default and records, whatever `record_if` another
    callback has set (Keras's TensorBoard with an integer `update_freq`);
    flushes, so a running TensorBoard sees the summaries at once."""
    with writer.as_default(), tf.summary.record_if(True):
        yield
    writer.flush()


def _check_labels(labels, num_examples):
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != num_examples:
        raise ValueError(
            "Invalid value for argument `labels`: expected one label per "
            f"example of `x`, a 1-D array of length {num_examples}. "
            f"Received: labels.shape={labels.shape}"
        )
    # A tab or line break inside a label would break the TSV.
    return [" ".join(str(label).split()) for label in labels]


def _is_image_shape(shape):
    return len(shape) == 2 or (len(shape) == 3 and shape[-1] in (1, 3, 4))


def _write_conceptual_graph(tag, model):
    """Writes a functional model's configuration as a summary that
    TensorBoard's Graphs tab draws as a conceptual graph (what
    `keras.callbacks.TensorBoard` writes for a `Functional` model only)."""
    metadata = tf.compat.v1.SummaryMetadata()
    metadata.plugin_data.plugin_name = "graph_keras_model"
    metadata.plugin_data.content = b"1"
    tf.summary.write(tag=tag, tensor=model.to_json(), step=0, metadata=metadata)
