"""`keras-vae train --data PATH`: a folder of images, a CSV table and an
.npz of uint8 arrays, each trained end to end into a model on raw inputs."""

import csv
import json
import os

import keras
import numpy as np
import pytest
from shared_data import extract_cifar
from shared_data import needs_cifar

import keras_vae
from keras_vae.cli import main
from keras_vae.datasets import load_mnist

FAST = ["--epochs", "1", "--latent-dim", "2", "--hidden-units", "16"]


def train(tmp_path, *arguments):
    out = tmp_path / "run"
    code = main(["train", *arguments, *FAST, "--output-dir", str(out)])
    assert code == 0
    with open(out / "model_metrics.json") as f:
        return out, json.load(f)


@needs_cifar
def test_an_image_folder_trains_a_model_on_8bit_pixels(tmp_path, capsys):
    folder = extract_cifar(tmp_path, "train", ["cat", "ship"], 40)
    out, metrics = train(
        tmp_path,
        "--data",
        str(folder),
        "--image-size",
        "16",
        "--architecture",
        "conv",
        "--batch-size",
        "16",
    )
    assert metrics["train_examples"] + metrics["test_examples"] == 80
    assert metrics["likelihood"] == "bernoulli"
    assert metrics["input_units"] == "8-bit pixel values"
    assert os.path.getsize(out / "model_samples.png") > 1000
    vae = keras.saving.load_model(out / "model.keras")
    assert vae.input_dtype == "uint8" and vae.data_shape == (16, 16, 3)
    images = np.random.default_rng(0).integers(0, 256, (4, 16, 16, 3))
    decoded = vae.reconstruct(images.astype("uint8"))
    assert decoded.shape == (4, 16, 16, 3)
    assert 0 <= decoded.min() and decoded.max() <= 255
    assert decoded.max() > 1  # Pixel values, not [0, 1].
    output = capsys.readouterr().out
    assert f"wrote {out / 'model.keras'}" in output


def breast_cancer_csv(path):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    table = sklearn_datasets.load_breast_cancer()
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(table.feature_names)
        writer.writerows(table.data.tolist())
    return table.data.astype("float32")


def test_a_csv_table_trains_a_model_on_raw_rows(tmp_path, capsys):
    rows = breast_cancer_csv(tmp_path / "cancer.csv")
    out, metrics = train(
        tmp_path, "--data", str(tmp_path / "cancer.csv"), "--batch-size", "32"
    )
    assert metrics["likelihood"] == "gaussian"
    assert metrics["train_examples"] + metrics["test_examples"] == len(rows)
    assert not (out / "model_samples.png").exists()  # No picture of rows.
    vae = keras.saving.load_model(out / "model.keras")
    assert vae.input_dtype == "float32"
    # The model standardizes inside: its Normalization holds the training
    # rows' statistics, and decoded rows come back in the table's units.
    mean = np.asarray(vae.preprocessing.mean).ravel()
    assert np.all(np.abs(mean - rows.mean(axis=0)) < 0.2 * rows.std(axis=0))
    decoded = vae.reconstruct(rows[:64])
    error = np.abs(decoded - rows[:64]).mean(axis=0) / rows.std(axis=0)
    assert np.all(error < 3)
    assert decoded[:, 3].mean() > 100  # "mean area", hundreds of units.
    code = main(
        ["train", "--data", str(tmp_path / "cancer.csv"), *FAST]
        + ["--likelihood", "bernoulli", "--output-dir", str(tmp_path / "b")]
    )
    assert code == 2
    assert "likelihood='gaussian'" in capsys.readouterr().err


@pytest.fixture(
    scope="module",
    params=[(28, 28), (28, 28, 1)],
    ids=["n_28_28", "n_28_28_1"],
)
def uint8_digits_run(request, tmp_path_factory):
    """`train --data digits.npz`, the keras.datasets layout of uint8 digits
    stored as `keras.datasets.mnist` stores them, `(n, 28, 28)`, or with
    their channel axis: `(out, metrics)`."""
    tmp_path = tmp_path_factory.mktemp("digits")
    (x, y), (x_test, y_test) = load_mnist(embedded=True)

    def to_uint8(images):
        pixels = np.round(images * 255).astype("uint8")
        return pixels.reshape(-1, *request.param)

    np.savez(
        tmp_path / "digits.npz",
        x_train=to_uint8(x[:256]),
        y_train=y[:256],
        x_test=to_uint8(x_test[:64]),
        y_test=y_test[:64],
    )
    return train(tmp_path, "--data", str(tmp_path / "digits.npz"))


def test_an_npz_of_uint8_images_trains_an_image_model(uint8_digits_run):
    out, metrics = uint8_digits_run
    assert (metrics["train_examples"], metrics["test_examples"]) == (256, 64)
    assert metrics["input_units"] == "8-bit pixel values"
    # An image model: bits per dimension, and a picture of samples.
    assert "bits_per_dim" in metrics["test"]
    assert "bits_per_dim" in metrics["history"]
    assert (out / "model_samples.png").exists()
    vae = keras.saving.load_model(out / "model.keras")
    assert vae.input_dtype == "uint8" and vae.data_shape == (28, 28, 1)


@pytest.mark.tensorflow_only  # The SavedModel export.
def test_an_npz_of_uint8_images_exports_bytes_signatures(
    uint8_digits_run, tmp_path
):
    import tensorflow as tf

    out, _ = uint8_digits_run
    serving = tmp_path / "serving"
    arguments = ["export", str(out / "model.keras")]
    assert main(arguments + ["--saved-model", str(serving)]) == 0
    signatures = tf.saved_model.load(str(serving / "1")).signatures
    for name in ("encode_bytes", "reconstruct_bytes", "score_bytes"):
        assert name in signatures


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--dataset", "mnist-sample", "--data", "x.csv"], "not both"),
        (["--data", "{folder}", "--image-size", "0"], "--image-size 0"),
        (["--data", "{csv}", "--binarize", "static"], "--binarize"),
    ],
)
def test_bad_data_arguments(tmp_path, capsys, arguments, message):
    folder = tmp_path / "images"
    folder.mkdir()
    keras.utils.save_img(
        folder / "a.png", np.zeros((8, 8, 3), "uint8"), scale=False
    )
    rows = "".join(f"{i},{2 * i}\n" for i in range(30))
    (tmp_path / "t.csv").write_text("a,b\n" + rows)
    arguments = [
        a.format(folder=folder, csv=tmp_path / "t.csv") for a in arguments
    ]
    out = tmp_path / "run"
    code = main(["train", *arguments, *FAST, "--output-dir", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_folder_without_class_subfolders_trains_without_labels(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(40):  # Mixed sizes, no classes.
        size = (8 + i % 5, 10)
        image = rng.integers(0, 256, size + (3,)).astype("uint8")
        keras.utils.save_img(folder / f"{i}.png", image, scale=False)
    out, metrics = train(tmp_path, "--data", str(folder), "--image-size", "8x6")
    assert metrics["train_examples"] + metrics["test_examples"] == 40
    vae = keras.saving.load_model(out / "model.keras")
    assert vae.data_shape == (8, 6, 3) and vae.input_dtype == "uint8"
    # Its pictures: the latent map in one colour, there being no labels.
    plots = tmp_path / "plots"
    arguments = ["--data", str(folder), "--image-size", "8x6"]
    code = main(
        [
            "plot",
            str(out / "model.keras"),
            *arguments,
            "--output-dir",
            str(plots),
        ]
    )
    assert code == 0
    assert sorted(os.listdir(plots)) == [
        "latent_map.png",
        "manifold.png",
        "samples.png",
        "traversals.png",
    ]


def test_score_writes_one_row_per_example_and_a_threshold(tmp_path, capsys):
    rows = breast_cancer_csv(tmp_path / "cancer.csv")
    out, _ = train(
        tmp_path, "--data", str(tmp_path / "cancer.csv"), "--batch-size", "32"
    )
    new = tmp_path / "new.csv"
    new.write_text(
        "\n".join(",".join(map(str, row)) for row in rows[:20].tolist())
    )
    scores_csv = tmp_path / "scores.csv"
    arguments = ["score", str(out / "model.keras"), "--data", str(new)]
    arguments += ["--reference", str(tmp_path / "cancer.csv")]
    arguments += ["--output", str(scores_csv), "--num-samples", "8"]
    assert main(arguments + ["--verbose", "0"]) == 0
    with open(scores_csv) as f:
        table = list(csv.DictReader(f))
    assert [r["id"] for r in table] == [str(i) for i in range(20)]
    vae = keras.saving.load_model(out / "model.keras")
    expected = keras_vae.evaluation.anomaly_scores(
        vae, rows[:20], num_samples=8, seed=0, verbose=0
    )
    np.testing.assert_allclose(
        [float(r["score_nats"]) for r in table], expected, rtol=1e-5
    )
    bits = expected / (30 * np.log(2))
    np.testing.assert_allclose(
        [float(r["bits_per_dim"]) for r in table], bits, rtol=1e-4
    )
    reference = keras_vae.evaluation.anomaly_scores(
        vae, rows, num_samples=8, seed=0, verbose=0
    )
    threshold = np.quantile(reference, 0.99)
    flagged = [int(r["above_threshold"]) for r in table]
    assert flagged == [int(s > threshold) for s in expected]
    output = capsys.readouterr().out
    assert f"suggested threshold {threshold:.2f} nats" in output
    assert f"wrote {scores_csv}" in output
    # An existing file is kept unless --overwrite.
    assert main(arguments) == 2
