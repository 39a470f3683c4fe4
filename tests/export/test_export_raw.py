"""SavedModels of models that take raw data (8-bit pixels, table rows in
their own units) and of conditional VAEs: dtypes, encoded image files
decoded as in training, the deterministic `score`, `labels`."""

import os
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from shared_data import CIFAR_JPEG
from shared_data import extract_cifar

import keras_vae
from keras_vae.cli import main
from keras_vae.datasets import image_folder
from keras_vae.export import export_saved_model
from keras_vae.export import fixed_noise_scores
from keras_vae.export import score_noise
from keras_vae.export.saved_model import SIGNATURES
from keras_vae.export.warmup import WARMUP_FILE

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

#: (height, width, channels) of the image model: not square, so that
#: "crop" and "pad" differ on CIFAR's 32x32 images.
IMAGE_SHAPE = (12, 16, 3)
SCORE_SAMPLES = 32
BYTES = ("encode_bytes", "reconstruct_bytes", "score_bytes")


def image_vae(shape=IMAGE_SHAPE, **kwargs):
    return keras_vae.build_mlp_vae(
        shape, latent_dim=4, hidden_units=(32,), preprocessing="8bit", **kwargs
    )


def pixels(n, shape=IMAGE_SHAPE, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n,) + shape).astype("uint8")


def inputs_of(signature):
    return signature.structured_input_signature[1]


@pytest.fixture(scope="module")
def vae():
    keras.utils.set_random_seed(0)
    vae = image_vae(seed=0)
    vae.compile(optimizer="adam")
    vae.fit(pixels(64), epochs=1, batch_size=16, verbose=0)
    return vae


@pytest.fixture(scope="module")
def serving(vae, tmp_path_factory):
    base_dir = tmp_path_factory.mktemp("serving") / "images"
    path = export_saved_model(vae, base_dir, score_samples=SCORE_SAMPLES)
    return path, tf.saved_model.load(path)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory):
    """A folder of PNGs made with PIL, of several sizes and colour modes."""
    directory = tmp_path_factory.mktemp("pngs")
    rng = np.random.default_rng(3)
    for name, size, mode in [
        ("rgb_wide.png", (20, 45), "RGB"),
        ("grey_tall.png", (33, 9), "L"),
        ("rgba_exact.png", IMAGE_SHAPE[:2], "RGBA"),
        ("palette.png", (16, 16), "P"),
    ]:
        array = rng.integers(0, 256, size=size + (3,)).astype("uint8")
        Image.fromarray(array).convert(mode).save(directory / name)
    return directory


def folder_images(directory, resize, shape=IMAGE_SHAPE):
    """The images `image_folder` yields for the files of `directory`, in
    its order, and the files' contents."""
    dataset = image_folder(
        directory,
        image_size=shape[:2],
        channels=shape[-1],
        batch_size=None,
        shuffle=False,
        resize=resize,
        labels=None,
    )
    images = np.stack(list(dataset.as_numpy_iterator()))
    contents = [Path(path).read_bytes() for path in dataset.file_paths]
    return images, tf.constant(contents)


def check_bytes_signatures(vae, signatures, directory, resize):
    images, contents = folder_images(directory, resize)
    arrays = {
        name: signatures[name.replace("_bytes", "")](x=images) for name in BYTES
    }
    for name in BYTES:
        outputs = signatures[name](image_bytes=contents)
        assert sorted(outputs) == sorted(arrays[name])
        for key, value in outputs.items():
            np.testing.assert_allclose(value, arrays[name][key], atol=1e-4)
    z_mean, z_log_var = vae.encode(images)
    np.testing.assert_allclose(
        arrays["encode_bytes"]["z_mean"], z_mean, 0, 1e-4
    )
    np.testing.assert_allclose(
        arrays["encode_bytes"]["z_log_var"], z_log_var, 0, 1e-4
    )
    np.testing.assert_allclose(
        arrays["reconstruct_bytes"]["reconstruction"],
        vae.reconstruct(images),
        rtol=1e-6,
        atol=1e-4,
    )


# === 8-bit images ===


def test_image_model_signatures_take_uint8_and_image_files(serving):
    _, loaded = serving
    signatures = loaded.signatures
    assert sorted(signatures) == sorted(SIGNATURES + BYTES)
    for name in ("serving_default", "reconstruct", "encode", "score"):
        spec = inputs_of(signatures[name])
        assert list(spec) == ["x"]
        assert spec["x"].dtype == tf.uint8
        assert spec["x"].shape.as_list() == [None, *IMAGE_SHAPE]
    for name in BYTES:
        spec = inputs_of(signatures[name])
        assert list(spec) == ["image_bytes"]
        assert spec["image_bytes"].dtype == tf.string
        assert spec["image_bytes"].shape.as_list() == [None]
    for name, outputs in signatures["score"].structured_outputs.items():
        assert name == "nll" and outputs.dtype == tf.float32


def test_uint8_signatures_match_keras(vae, serving):
    _, loaded = serving
    signatures = loaded.signatures
    x = pixels(5, seed=1)
    z_mean, z_log_var = vae.encode(x)
    encoded = signatures["encode"](x=x)
    np.testing.assert_allclose(encoded["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(encoded["z_log_var"], z_log_var, atol=1e-5)
    # Decoded outputs are pixel values 0-255, as the Keras model's.
    reconstruction = signatures["reconstruct"](x=x)["reconstruction"]
    np.testing.assert_allclose(
        reconstruction, vae.reconstruct(x), rtol=1e-6, atol=1e-4
    )
    assert 0 <= np.min(reconstruction) and np.max(reconstruction) <= 255
    assert np.max(reconstruction) > 1
    decoded = signatures["decode"](z=z_mean)
    np.testing.assert_allclose(
        decoded["x_mean"], vae.decode(z_mean), rtol=1e-6, atol=1e-4
    )
    samples = signatures["sample"](num_samples=3, seed=np.int64(4))["samples"]
    z = tf.random.stateless_normal((3, 4), seed=tf.constant([4, 0], tf.int64))
    np.testing.assert_allclose(
        samples, vae.decode(z.numpy()), rtol=1e-6, atol=1e-4
    )
    epsilon = score_noise(vae.latent_shape, SCORE_SAMPLES, seed=0)
    np.testing.assert_allclose(
        signatures["score"](x=x)["nll"],
        fixed_noise_scores(vae, x, epsilon),
        atol=1e-4,
    )


def test_score_is_the_same_whatever_the_batch(serving):
    _, loaded = serving
    score = loaded.signatures["score"]
    x = pixels(9, seed=2)
    alone = np.concatenate([score(x=x[i : i + 1])["nll"] for i in range(9)])
    batch = score(x=x)["nll"].numpy()
    assert batch.shape == (9,) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, alone)
    np.testing.assert_array_equal(score(x=x)["nll"], batch)
    # Example 4 among other neighbours, at other positions.
    others = pixels(6, seed=3)
    for mixed, position in [
        (np.concatenate([others[:2], x[4:5], others[2:]]), 2),
        (np.concatenate([x[4:5], others]), 0),
        (np.concatenate([others, x[4:5]]), 6),
    ]:
        assert score(x=mixed)["nll"][position] == alone[4]
    assert len(set(alone.tolist())) == 9
    assert np.all(np.isfinite(alone)) and np.all(alone > 0)


def test_bytes_signatures_on_cifar_jpegs(vae, serving, tmp_path):
    if CIFAR_JPEG is None:
        pytest.skip("no cifar10-jpeg.tar.gz in ../shared/data")
    folder = extract_cifar(tmp_path, "train", ["airplane", "automobile"], 3)
    check_bytes_signatures(vae, serving[1].signatures, folder, "crop")


def test_bytes_signatures_on_pngs(vae, serving, image_files):
    check_bytes_signatures(vae, serving[1].signatures, image_files, "crop")


def test_resize_pad(vae, image_files, tmp_path):
    path = export_saved_model(vae, tmp_path, resize="pad", score_samples=2)
    signatures = tf.saved_model.load(path).signatures
    check_bytes_signatures(vae, signatures, image_files, "pad")
    crop, contents = folder_images(image_files, "crop")
    pad, _ = folder_images(image_files, "pad")
    assert not np.array_equal(crop, pad)  # The test tells them apart.


def test_bad_image_files_fail_the_request(serving):
    encode_bytes = serving[1].signatures["encode_bytes"]
    bmp = tf.io.encode_png(pixels(1)[0]).numpy()  # A valid PNG ...
    with pytest.raises(tf.errors.InvalidArgumentError, match="BMP files"):
        encode_bytes(image_bytes=tf.constant([b"BM" + bmp[2:]]))
    with pytest.raises(tf.errors.InvalidArgumentError):
        encode_bytes(image_bytes=tf.constant([b"not an image"]))
    empty = encode_bytes(image_bytes=tf.constant([], tf.string))
    assert empty["z_mean"].shape == (0, 4)


def test_warmup_requests_use_the_signatures_dtypes(serving):
    from tensorflow_serving.apis import prediction_log_pb2

    path, loaded = serving
    names = []
    for record in tf.data.TFRecordDataset(os.path.join(path, WARMUP_FILE)):
        log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
        request = log.predict_log.request
        name = request.model_spec.signature_name
        names.append(name)
        signature = loaded.signatures[name]
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        specs = inputs_of(signature)
        assert sorted(inputs) == sorted(specs)
        for key, value in inputs.items():
            assert tf.as_dtype(value.dtype) == specs[key].dtype
        outputs = signature(**inputs)
        assert all(np.all(np.isfinite(v)) for v in outputs.values())
    assert sorted(names) == sorted(2 * list(loaded.signatures))


# === Table rows ===


def test_table_model_takes_rows_in_their_own_units(tmp_path):
    rng = np.random.default_rng(0)
    scales = np.array([0.01, 1.0, 300.0], "float32")
    rows = (rng.normal(size=(64, 3)) * scales + 1000 * scales).astype("float32")
    normalization = keras.layers.Normalization()
    normalization.adapt(rows)
    vae = keras_vae.build_mlp_vae(
        (3,),
        latent_dim=2,
        hidden_units=(8,),
        likelihood="gaussian",
        preprocessing=normalization,
    )
    vae.compile(optimizer="adam")
    vae.fit(rows, epochs=1, batch_size=16, verbose=0)
    path = export_saved_model(vae, tmp_path, score_samples=8, score_seed=5)
    signatures = tf.saved_model.load(path).signatures
    assert sorted(signatures) == sorted(SIGNATURES)
    assert inputs_of(signatures["encode"])["x"].dtype == tf.float32
    x = rows[:6]
    z_mean, _ = vae.encode(x)
    np.testing.assert_allclose(
        signatures["encode"](x=x)["z_mean"], z_mean, atol=1e-5
    )
    reconstruction = signatures["reconstruct"](x=x)["reconstruction"]
    np.testing.assert_allclose(reconstruction, vae.reconstruct(x), rtol=1e-5)
    # In the table's units: the third column is near 300,000.
    assert np.all(np.abs(reconstruction[:, 2] - 3e5) < 3e3)
    np.testing.assert_allclose(
        signatures["decode"](z=z_mean)["x_mean"], vae.decode(z_mean), rtol=1e-5
    )
    np.testing.assert_allclose(
        signatures["score"](x=x)["nll"],
        fixed_noise_scores(vae, x, score_noise((2,), 8, seed=5)),
        atol=1e-4,
    )


# === Conditional VAEs ===


def test_conditional_vae_takes_labels(tmp_path):
    cvae = keras_vae.build_mlp_vae(
        (6, 6, 1), latent_dim=3, hidden_units=(16,), num_classes=4, seed=0
    )
    path = export_saved_model(cvae, tmp_path, score_samples=8)
    signatures = tf.saved_model.load(path).signatures
    assert sorted(signatures) == sorted(SIGNATURES)
    for name, expected in [
        ("encode", ["labels", "x"]),
        ("reconstruct", ["labels", "x"]),
        ("score", ["labels", "x"]),
        ("decode", ["labels", "z"]),
        ("sample", ["labels", "num_samples", "seed"]),
    ]:
        specs = inputs_of(signatures[name])
        assert sorted(specs) == expected
        assert specs["labels"].dtype == tf.int32
        assert specs["labels"].shape.as_list() == [None]
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(5, 6, 6, 1)).astype("float32")
    labels = np.array([0, 3, 1, 2, 3], "int32")
    z_mean, z_log_var = cvae.encode(x, labels)
    encoded = signatures["encode"](x=x, labels=labels)
    np.testing.assert_allclose(encoded["z_mean"], z_mean, atol=1e-5)
    np.testing.assert_allclose(encoded["z_log_var"], z_log_var, atol=1e-5)
    np.testing.assert_allclose(
        signatures["reconstruct"](x=x, labels=labels)["reconstruction"],
        cvae.reconstruct(x, labels),
        atol=1e-5,
    )
    decoded = signatures["decode"](z=z_mean, labels=labels)
    np.testing.assert_allclose(
        decoded["x_mean"], cvae.decode(z_mean, labels), atol=1e-5
    )
    z = tf.random.stateless_normal((4, 3), seed=tf.constant([9, 0], tf.int64))
    for given, expected in [([2], 2), ([0, 1, 2, 3], [0, 1, 2, 3])]:
        samples = signatures["sample"](
            num_samples=4, seed=np.int64(9), labels=np.array(given, "int32")
        )["samples"]
        np.testing.assert_allclose(
            samples, cvae.decode(z.numpy(), expected), atol=1e-5
        )
    one_hot = tf.one_hot(labels, 4)
    np.testing.assert_allclose(
        signatures["score"](x=x, labels=labels)["nll"],
        fixed_noise_scores(cvae, [x, one_hot], score_noise((3,), 8)),
        atol=1e-4,
    )
    # The label changes the score; the batch does not.
    other = signatures["score"](x=x, labels=(labels + 1) % 4)["nll"]
    assert np.all(other != signatures["score"](x=x, labels=labels)["nll"])
    alone = signatures["score"](x=x[1:2], labels=labels[1:2])["nll"]
    assert alone[0] == signatures["score"](x=x, labels=labels)["nll"][1]

    for bad, message in [
        (np.array([0, 1, 2, 3, 4], "int32"), r"class indices in \[0, 4\)"),
        (np.array([0, 1, 2, -1, 0], "int32"), r"class indices in \[0, 4\)"),
        (np.array([0, 1], "int32"), "one class index per example"),
    ]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            signatures["encode"](x=x, labels=bad)
    with pytest.raises(tf.errors.InvalidArgumentError, match="one per sample"):
        signatures["sample"](
            num_samples=3, seed=np.int64(0), labels=np.array([1, 2], "int32")
        )


def test_conditional_image_model_takes_image_files(image_files, tmp_path):
    shape = (10, 10, 1)
    cvae = image_vae(shape, num_classes=3, seed=0)
    path = export_saved_model(cvae, tmp_path, score_samples=4)
    signatures = tf.saved_model.load(path).signatures
    assert sorted(signatures) == sorted(SIGNATURES + BYTES)
    images, contents = folder_images(image_files, "crop", shape)
    labels = np.arange(len(images), dtype="int32") % 3
    assert images.dtype == np.uint8 and images.shape[1:] == shape
    for name in BYTES:
        assert "labels" in inputs_of(signatures[name])
        from_bytes = signatures[name](image_bytes=contents, labels=labels)
        arrays = signatures[name[: -len("_bytes")]](x=images, labels=labels)
        for key, value in from_bytes.items():
            np.testing.assert_allclose(value, arrays[key], atol=1e-4)
    # The Keras encoder on the same images.
    inputs = cvae.encoder_inputs([tf.constant(images), tf.one_hot(labels, 3)])
    z_mean = cvae.encoder(inputs)[0]
    np.testing.assert_allclose(
        signatures["encode_bytes"](image_bytes=contents, labels=labels)[
            "z_mean"
        ],
        z_mean,
        atol=1e-4,
    )


# === Arguments and the command line ===


@pytest.mark.parametrize(
    "kwargs",
    [
        {"resize": "zoom"},
        {"score_samples": 0},
        {"score_samples": 2.5},
        {"score_seed": "0"},
    ],
    ids=["resize", "score_samples_0", "score_samples_float", "score_seed"],
)
def test_invalid_arguments_raise_and_write_nothing(tmp_path, kwargs):
    ((name, value),) = kwargs.items()
    with pytest.raises(ValueError, match=f"Received: {name}={value!r}"):
        export_saved_model(image_vae(), tmp_path / "model", **kwargs)
    assert os.listdir(tmp_path) == []


def test_tflite_still_refuses_a_conditional_vae(tmp_path):
    cvae = keras_vae.build_mlp_vae(
        (4,), latent_dim=2, hidden_units=(8,), num_classes=3
    )
    with pytest.raises(ValueError, match="does not take a ConditionalVAE"):
        keras_vae.export_tflite_decoder(cvae, tmp_path / "d.tflite")
    model_path = tmp_path / "cvae.keras"
    cvae.save(model_path)
    target = tmp_path / "serving"
    tflite = str(tmp_path / "d.tflite")
    arguments = ["export", str(model_path), "--saved-model", str(target)]
    # Nothing is written when one of the two exports cannot be done.
    assert main(arguments + ["--tflite", tflite]) == 2
    assert sorted(os.listdir(tmp_path)) == ["cvae.keras"]


def test_cli_resize_and_score_samples(vae, image_files, tmp_path):
    model_path = tmp_path / "images.keras"
    vae.save(model_path)
    target = tmp_path / "serving"
    arguments = ["export", str(model_path), "--saved-model", str(target)]
    assert main(arguments + ["--resize", "pad", "--score-samples", "3"]) == 0
    signatures = tf.saved_model.load(str(target / "1")).signatures
    check_bytes_signatures(vae, signatures, image_files, "pad")
    x = pixels(2)
    np.testing.assert_allclose(
        signatures["score"](x=x)["nll"],
        fixed_noise_scores(vae, x, score_noise(vae.latent_shape, 3)),
        atol=1e-4,
    )
    with pytest.raises(SystemExit):
        main(arguments + ["--resize", "zoom"])
    assert os.listdir(target) == ["1"]
