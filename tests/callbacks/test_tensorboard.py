"""callbacks.VAETensorBoard and `keras-vae train --tensorboard`: the event
files, checkpoint and projector files are read back and compared with the
model."""

import glob
import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from backend_defaults import MULTI_STEP
from google.protobuf import text_format
from tensorboard.plugins import projector

import keras_vae
from keras_vae import evaluation
from keras_vae.callbacks import VAETensorBoard
from keras_vae.callbacks import _projector
from keras_vae.callbacks import vae_tensorboard
from keras_vae.cli import main
from keras_vae.datasets import load_mnist

SHAPE = (12, 10, 1)  # Not square: a swapped height and width shows.
LATENT_DIM = 3


def read_events(run_dir):
    """`{tag: {step: (plugin name, value)}}` of every event file of a run;
    images as their PNG bytes, strings as `str`."""
    events = {}
    for path in sorted(glob.glob(os.path.join(run_dir, "events.out.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                array = tf.make_ndarray(value.tensor)
                if plugin == "images":
                    array = list(array)  # width, height, PNG, PNG, ...
                elif array.dtype == object:
                    array = array.item().decode()
                steps = events.setdefault(value.tag, {})
                steps[event.step] = (plugin, array)
    return events


def decode_png(data):
    return tf.io.decode_png(data).numpy()


def as_pixels(images):
    """What `tf.summary.image` stores for floats in [0, 1]."""
    return (np.clip(images, 0, 1) * 255.5).astype("uint8")


def tile(images, columns):
    rows = -(-len(images) // columns)
    height, width = images.shape[1:3]
    grid = np.ones((rows * height, columns * width) + images.shape[3:])
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        grid[r * height : (r + 1) * height, c * width : (c + 1) * width] = image
    return grid


def tiles(grid, height, width):
    """The images of a grid, row by row."""
    rows, columns = grid.shape[0] // height, grid.shape[1] // width
    return np.stack(
        [
            grid[r * height : (r + 1) * height, c * width : (c + 1) * width]
            for r in range(rows)
            for c in range(columns)
        ]
    )


def small_vae(shape):
    vae = keras_vae.build_mlp_vae(
        input_shape=shape, latent_dim=LATENT_DIM, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    return vae


@pytest.fixture
def x():
    rng = np.random.default_rng(0)
    return rng.uniform(size=(40,) + SHAPE).astype("float32")


@pytest.mark.parametrize(
    "steps_per_execution", [1, pytest.param(32, marks=MULTI_STEP)]
)
def test_summaries_match_the_model_beside_keras_tensorboard(
    tmp_path, x, steps_per_execution
):
    log_dir = tmp_path / "logs"
    vae = small_vae(SHAPE)
    vae.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        steps_per_execution=steps_per_execution,
    )
    labels = np.arange(len(x)) % 10
    callbacks = [
        keras.callbacks.TensorBoard(log_dir),
        VAETensorBoard(x, log_dir, labels=labels, num_samples=20, num_pairs=10),
    ]
    history = vae.fit(
        x,
        epochs=3,
        batch_size=8,
        validation_data=x[:16],
        callbacks=callbacks,
        verbose=0,
    )
    epochs = [0, 1, 2]

    # Keras's own callback: the loss curves, in its runs.
    for run, prefix in (("train", ""), ("validation", "val_")):
        events = read_events(log_dir / run)
        for name in ("loss", "reconstruction_loss", "kl_loss"):
            steps = events[f"epoch_{name}"]
            assert sorted(steps) == epochs
            np.testing.assert_allclose(
                [steps[e][1] for e in epochs],
                history.history[prefix + name],
                rtol=1e-6,
            )

    events = read_events(log_dir / "vae")
    height, width = SHAPE[:2]
    # 20 prior samples in rows of 8, the same draws as vae.sample(seed=0).
    plugin, (png_width, png_height, png) = events["prior_samples"][2]
    assert plugin == "images"
    assert (int(png_width), int(png_height)) == (8 * width, 3 * height)
    samples = decode_png(png)
    assert samples.shape == (3 * height, 8 * width, 1)
    expected = as_pixels(tile(vae.sample(20, seed=0), 8))
    np.testing.assert_allclose(samples, expected, atol=1)
    # 10 originals in rows of 8, each row above its reconstructions.
    pairs = tiles(decode_png(events["reconstructions"][2][1][2]), height, width)
    assert len(pairs) == 4 * 8
    reconstructions = vae.reconstruct(x[:10])
    for i in range(10):
        row, column = divmod(i, 8)
        original = pairs[2 * row * 8 + column]
        np.testing.assert_allclose(original, as_pixels(x[i]), atol=1)
        below = pairs[(2 * row + 1) * 8 + column]
        np.testing.assert_allclose(below, as_pixels(reconstructions[i]), atol=1)
    # The empty places of the last row pair are white.
    for empty in (*range(18, 24), *range(26, 32)):
        np.testing.assert_array_equal(pairs[empty], 255)
    assert sorted(events["prior_samples"]) == epochs

    # The latent statistics of the trained model, and their closed form:
    # with beta = 1 the KLs of the dimensions sum to the KL term.
    kl = evaluation.kl_per_dimension(vae, x)
    tags = [f"kl_per_dimension/z_{i}" for i in range(LATENT_DIM)]
    assert sorted(t for t in events if t.startswith("kl_")) == tags
    np.testing.assert_allclose([events[t][2][1] for t in tags], kl, rtol=1e-6)
    kl_loss = vae.evaluate(x, batch_size=40, return_dict=True, verbose=0)
    np.testing.assert_allclose(kl.sum(), kl_loss["kl_loss"], rtol=1e-5)
    count, _ = evaluation.active_units(vae, x)
    assert events["active_units"][2][1] == count
    assert sorted(events["active_units"]) == epochs

    # The encoder and decoder as conceptual graphs (Keras writes none for
    # a VAE: it is not a Functional model).
    for name, submodel in (("encoder", vae.encoder), ("decoder", vae.decoder)):
        plugin, text = events[name][0]
        assert plugin == "graph_keras_model"
        config = json.loads(text)
        layers = [layer["name"] for layer in config["config"]["layers"]]
        assert layers == [layer.name for layer in submodel.layers]

    # The projector: every example's posterior mean, label and image.
    z_mean, _ = vae.encode(x)
    check_projector(log_dir / "vae", z_mean, labels, x)


def check_projector(run_dir, z_mean, labels, images):
    config = projector.ProjectorConfig()
    text_format.Parse((run_dir / "projector_config.pbtxt").read_text(), config)
    (embedding,) = config.embeddings
    assert embedding.tensor_name == vae_tensorboard.EMBEDDING_TENSOR_NAME
    # TensorBoard finds the checkpoint as tf.train does, by the run.
    checkpoint = tf.train.latest_checkpoint(str(run_dir))
    assert checkpoint == str(run_dir / "embedding" / "embedding.ckpt")
    stored = tf.train.load_checkpoint(checkpoint).get_tensor(
        embedding.tensor_name
    )
    np.testing.assert_allclose(stored, z_mean.reshape(len(z_mean), -1))
    lines = (run_dir / embedding.metadata_path).read_text().splitlines()
    assert lines[0] == "label\tindex"
    assert lines[1:] == [f"{y}\t{i}" for i, y in enumerate(labels)]
    if images is None:
        assert not embedding.sprite.image_path
        assert not (run_dir / "sprite.png").exists()
    else:
        height, width = images.shape[1:3]
        assert list(embedding.sprite.single_image_dim) == [width, height]
        sprite = decode_png(
            (run_dir / embedding.sprite.image_path).read_bytes()
        )
        columns = math.ceil(math.sqrt(len(images)))
        assert sprite.shape == (columns * height, columns * width, 1)
        thumbnails = tiles(sprite, height, width)[: len(images)]
        expected = np.round(images * 255).astype("uint8")
        np.testing.assert_array_equal(thumbnails, expected)
    # Nothing half-written or temporary is left.
    assert not [name for name in os.listdir(run_dir) if name.startswith(".")]


def test_records_whatever_record_if_keras_tensorboard_sets(tmp_path, x):
    # With an integer update_freq, Keras's callback sets a `record_if` for
    # the whole fit that is false between its updates (Keras 3.15 then
    # drops its own epoch scalars too, unless the last batch count is a
    # multiple of update_freq).
    vae = small_vae(SHAPE)
    callbacks = [
        keras.callbacks.TensorBoard(tmp_path, update_freq=1000),
        VAETensorBoard(x, tmp_path, write_graph=False),
    ]
    vae.fit(x, epochs=2, batch_size=8, callbacks=callbacks, verbose=0)
    events = read_events(tmp_path / "vae")
    for tag in ("prior_samples", "reconstructions", "active_units"):
        assert sorted(events[tag]) == [0, 1]
    assert "encoder" not in events
    assert "epoch_loss" not in read_events(tmp_path / "train")


def test_flat_vectors_get_scalars_and_a_projector_without_images(
    tmp_path, vectors
):
    vae = small_vae((8,))
    labels = [f"class {i % 3}\twith a tab" for i in range(len(vectors))]
    callback = VAETensorBoard(
        vectors, tmp_path, labels=labels, every_n_epochs=2, num_embedded=50
    )
    vae.fit(vectors, epochs=5, batch_size=16, callbacks=[callback], verbose=0)
    events = read_events(tmp_path / "vae")
    assert "prior_samples" not in events and "reconstructions" not in events
    # Epochs 2 and 4 (steps 1 and 3), none after the last.
    assert sorted(events["active_units"]) == [1, 3]
    assert sorted(events["kl_per_dimension/z_0"]) == [1, 3]
    z_mean, _ = vae.encode(vectors[:50])
    # A tab inside a label would break the TSV: it becomes a space.
    clean = [f"class {i % 3} with a tab" for i in range(50)]
    check_projector(tmp_path / "vae", z_mean, clean, None)


def test_a_failed_projector_write_leaves_no_configuration(
    tmp_path, x, monkeypatch
):
    vae = small_vae(SHAPE)
    callback = VAETensorBoard(x, tmp_path, labels=np.zeros(len(x), int))
    vae.fit(x, epochs=1, batch_size=8, callbacks=[callback], verbose=0)
    run_dir = tmp_path / "vae"
    assert (run_dir / "projector_config.pbtxt").exists()
    before = (run_dir / "sprite.png").read_bytes()

    def fail(grid):
        raise OSError("disk full")

    monkeypatch.setattr(_projector, "encode_png", fail)
    with pytest.raises(OSError, match="disk full"):
        vae.fit(x, epochs=1, batch_size=8, callbacks=[callback], verbose=0)
    # The projector of the first fit no longer shows (its checkpoint was
    # replaced), and the new one never showed: no mixed set is visible.
    assert not (run_dir / "projector_config.pbtxt").exists()
    assert (run_dir / "sprite.png").read_bytes() == before
    assert not [name for name in os.listdir(run_dir) if name.startswith(".")]

    monkeypatch.undo()
    vae.fit(x, epochs=1, batch_size=8, callbacks=[callback], verbose=0)
    z_mean, _ = vae.encode(x)
    check_projector(run_dir, z_mean, np.zeros(len(x), int), x)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"every_n_epochs": 0}, "Received: every_n_epochs=0"),
        ({"num_samples": -1}, "Received: num_samples=-1"),
        ({"num_pairs": 1.5}, "Received: num_pairs=1.5"),
        ({"num_embedded": 0}, "Received: num_embedded=0"),
        ({"labels": [1, 2]}, r"Received: labels.shape=\(2,\)"),
        ({"labels": np.zeros((40, 10))}, r"Received: labels.shape=\(40, 10\)"),
    ],
)
def test_invalid_arguments(tmp_path, x, kwargs, message):
    with pytest.raises(ValueError, match=message):
        VAETensorBoard(x, tmp_path, **kwargs)


def test_invalid_data(tmp_path):
    with pytest.raises(ValueError, match=r"Received: x.shape=\(5,\)"):
        VAETensorBoard(np.zeros(5), tmp_path)
    with pytest.raises(ValueError, match=r"Received: x.shape=\(0, 4\)"):
        VAETensorBoard(np.zeros((0, 4)), tmp_path)
    # 6,562 images of 100x100 need 82 sprite columns: 8,200 pixels.
    many = np.broadcast_to(np.float32(0), (6562, 100, 100, 1))
    with pytest.raises(ValueError, match="Received: num_embedded=6562"):
        VAETensorBoard(many, tmp_path)
    VAETensorBoard(many, tmp_path, num_embedded=6561)  # 81 columns fit.


def test_data_of_another_shape_fails_before_training(tmp_path, x):
    vae = small_vae((8,))
    callback = VAETensorBoard(x, tmp_path)
    message = r"shape \(8,\)\. Received: x.shape=\(40, 12, 10, 1\)"
    with pytest.raises(ValueError, match=message):
        vae.fit(x.reshape(40, -1)[:, :8], callbacks=[callback], verbose=0)
    assert int(vae.optimizer.iterations) == 0
    assert not (tmp_path / "vae").exists()


def test_needs_an_unconditional_vae(tmp_path, vectors):
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8)])
    model.compile(optimizer="sgd", loss="mse")
    callback = VAETensorBoard(vectors, tmp_path)
    with pytest.raises(ValueError, match="Received: model=Sequential"):
        model.fit(vectors, vectors, callbacks=[callback], verbose=0)
    cvae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(8,), num_classes=3
    )
    cvae.compile(optimizer="adam")
    labels = np.arange(len(vectors)) % 3
    with pytest.raises(ValueError, match="Received: model=ConditionalVAE"):
        cvae.fit(vectors, labels, callbacks=[callback], verbose=0)


def test_cli_tensorboard_writes_loss_curves_and_the_labelled_projector(
    tmp_path,
):
    log_dir = tmp_path / "tb"
    output_dir = tmp_path / "out"
    args = [
        "train",
        "--dataset=mnist-sample",
        "--hidden-units=16",
        "--latent-dim=2",
        "--epochs=2",
        "--verbose=0",
        f"--output-dir={output_dir}",
        f"--tensorboard={log_dir}",
    ]
    assert main(args) == 0
    assert sorted(os.listdir(log_dir)) == ["train", "vae", "validation"]
    with open(output_dir / "mnist_sample_vae_metrics.json") as f:
        history = json.load(f)["history"]
    for run, prefix in (("train", ""), ("validation", "val_")):
        steps = read_events(log_dir / run)["epoch_loss"]
        np.testing.assert_allclose(
            [steps[e][1] for e in (0, 1)], history[prefix + "loss"], rtol=1e-6
        )
    events = read_events(log_dir / "vae")
    assert sorted(events["reconstructions"]) == [0, 1]
    assert sorted(events["kl_per_dimension/z_1"]) == [0, 1]
    # The whole test set, with the dataset's labels.
    _, (x_test, y_test) = load_mnist(embedded=True)
    vae = keras_vae.load_vae(output_dir / "mnist_sample_vae.keras")
    z_mean, _ = vae.encode(x_test)
    check_projector(log_dir / "vae", z_mean, y_test, x_test)
