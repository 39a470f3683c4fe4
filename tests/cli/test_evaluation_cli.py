"""Latent statistics, and the `train`, `evaluate` and `plot` commands."""

import json
import math
import os

import matplotlib.image
import numpy as np
import pytest

import keras_vae
from keras_vae import evaluation
from keras_vae.cli import main
from keras_vae.datasets import load_mnist

LATENT_DIM = 4
INACTIVE = [1, 3]
ACTIVE = [0, 2]


@pytest.fixture
def half_dead_vae():
    """An 8-16-4 VAE whose dimensions 1 and 3 ignore the input: zero
    kernels in both heads, so their posterior is a constant."""
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=LATENT_DIM, hidden_units=(16,), seed=0
    )
    rng = np.random.default_rng(0)
    for head, bias in (("z_mean", 0.7), ("z_log_var", -0.5)):
        layer = vae.encoder.get_layer(head)
        kernel = rng.normal(scale=2.0, size=(16, LATENT_DIM)).astype("f4")
        kernel[:, INACTIVE] = 0.0
        layer.set_weights([kernel, np.full((LATENT_DIM,), bias, "float32")])
    return vae


def test_active_units_finds_the_dead_dimensions(half_dead_vae, vectors):
    count, variances = evaluation.active_units(half_dead_vae, vectors)
    assert count == len(ACTIVE)
    assert variances.shape == (LATENT_DIM,)
    assert variances.dtype == np.float64
    np.testing.assert_array_equal(variances[INACTIVE], 0.0)
    assert np.all(variances[ACTIVE] > 0.01)
    z_mean, _ = half_dead_vae.encode(vectors)
    np.testing.assert_allclose(
        variances, z_mean.astype("float64").var(axis=0), rtol=1e-12
    )
    # The threshold decides: above every variance, no unit is active.
    assert evaluation.active_units(half_dead_vae, vectors, 1e9)[0] == 0
    assert (
        evaluation.active_units(half_dead_vae, vectors, threshold=-1.0)[0]
        == LATENT_DIM
    )


def test_kl_per_dimension_matches_numpy(half_dead_vae, vectors):
    kl = evaluation.kl_per_dimension(half_dead_vae, vectors, batch_size=10)
    mean, log_var = (a.astype("float64") for a in half_dead_vae.encode(vectors))
    expected = (-0.5 * (1 + log_var - mean**2 - np.exp(log_var))).mean(0)
    np.testing.assert_allclose(kl, expected, rtol=1e-12)
    # A dead dimension's posterior is N(0.7, e^-0.5) for every x.
    dead = -0.5 * (1 - 0.5 - 0.7**2 - math.exp(-0.5))
    np.testing.assert_allclose(kl[INACTIVE], dead, rtol=1e-6)
    # Their sum is the VAE's KL term (beta = 1).
    _, _, kl_loss = half_dead_vae.compute_losses(vectors)
    np.testing.assert_allclose(kl.sum(), float(kl_loss), rtol=1e-5)


# --- The command line, on the embedded MNIST sample -------------------------


TRAIN_ARGS = [
    "train",
    "--dataset",
    "mnist-sample",
    "--epochs",
    "1",
    "--hidden-units",
    "64",
    "--latent-dim",
    str(LATENT_DIM),
    "--verbose",
    "0",
]
NAMES = ("mnist_sample_vae.keras", "mnist_sample_vae_metrics.json")
PNG = "mnist_sample_vae_samples.png"


@pytest.fixture(scope="module")
def trained_dir(tmp_path_factory):
    """The files of one `keras-vae train` run (a few seconds)."""
    out = tmp_path_factory.mktemp("train")
    assert main(TRAIN_ARGS + ["--output-dir", str(out)]) == 0
    return out


def read_png(path):
    image = matplotlib.image.imread(path, format="png")
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert image.std() > 0.01  # Not a blank canvas.
    return image


def test_train_writes_the_model_metrics_and_png(trained_dir):
    assert sorted(os.listdir(trained_dir)) == sorted(NAMES + (PNG,))
    vae = keras_vae.load_vae(trained_dir / NAMES[0])
    assert vae.latent_shape == (LATENT_DIM,)
    assert vae.data_shape == (28, 28, 1)
    metrics = json.loads((trained_dir / NAMES[1]).read_text())
    assert metrics["dataset"] == "mnist-sample"
    assert metrics["latent_dim"] == LATENT_DIM
    assert metrics["hidden_units"] == [64]
    assert metrics["epochs"] == 1
    assert metrics["train_examples"] == 8000
    assert metrics["test_examples"] == 2000
    assert metrics["units"] == "nats per example"
    test = metrics["test"]
    assert set(test) == {
        "loss",
        "reconstruction_loss",
        "kl_loss",
        "bits_per_dim",
    }
    parts = test["reconstruction_loss"] + test["kl_loss"]
    assert abs(test["loss"] - parts) < 1e-3
    assert test["bits_per_dim"] == pytest.approx(
        test["loss"] / (784 * math.log(2)), rel=1e-5
    )
    # One epoch brings the Bernoulli NLL of MNIST well below the 543 nats
    # of a model that predicts 0.5 everywhere (784 ln 2).
    assert 0 < test["loss"] < 784 * math.log(2)
    assert test["kl_loss"] > 0
    assert set(metrics["history"]) >= {"loss", "val_loss"}
    assert len(metrics["history"]["loss"]) == 1
    # The test loss recorded is that of the saved model.
    _, (x_test, _) = load_mnist(embedded=True)
    again = vae.evaluate(x_test, batch_size=128, verbose=0, return_dict=True)
    assert abs(again["kl_loss"] - test["kl_loss"]) < 1e-3
    # 10 x 5.5 inches at 100 dpi.
    assert read_png(trained_dir / PNG).shape[:2] == (550, 1000)


def test_train_refuses_to_overwrite(trained_dir, capsys):
    before = {
        name: (trained_dir / name).read_bytes() for name in NAMES + (PNG,)
    }
    assert main(TRAIN_ARGS + ["--output-dir", str(trained_dir)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    for name, content in before.items():
        assert (trained_dir / name).read_bytes() == content
    assert sorted(os.listdir(trained_dir)) == sorted(before)


def test_evaluate_writes_consistent_results(trained_dir, tmp_path):
    model = str(trained_dir / NAMES[0])
    output = tmp_path / "results.json"
    args = ["evaluate", model, "--dataset", "mnist-sample"]
    args += ["--num-samples", "20", "--limit", "200", "--output", str(output)]
    assert main(args) == 0
    results = json.loads(output.read_text())
    assert results["examples"] == 200
    assert results["num_samples"] == 20
    np.testing.assert_allclose(
        results["negative_elbo"],
        results["reconstruction_loss"] + results["kl_loss"],
        rtol=1e-5,
    )
    # IWAE with K=20 is tighter than the ELBO (up to its noise).
    assert results["nll"] <= results["negative_elbo"] + 1.0
    assert results["nll"] > 0
    np.testing.assert_allclose(
        results["bits_per_dim"], results["nll"] / (784 * math.log(2))
    )
    assert results["latent_dimensions"] == LATENT_DIM
    assert 0 <= results["active_units"] <= LATENT_DIM
    variances = np.array(results["posterior_mean_variance"])
    assert results["active_units"] == int(np.sum(variances > 0.01))
    # The KL term is the sum of the per-dimension KLs (beta = 1).
    np.testing.assert_allclose(
        sum(results["kl_per_dimension"]), results["kl_loss"], rtol=1e-4
    )
    # The NLL is that of the library call with the same seed.
    _, (x_test, _) = load_mnist(embedded=True)
    log_px = evaluation.log_likelihood(
        keras_vae.load_vae(model), x_test[:200], num_samples=20, seed=0
    )
    np.testing.assert_allclose(results["nll"], -log_px.mean(), rtol=1e-6)


def test_evaluate_a_missing_model_fails(tmp_path, capsys):
    missing = str(tmp_path / "missing.keras")
    assert main(["evaluate", missing, "--dataset", "mnist-sample"]) == 2
    assert "No model file" in capsys.readouterr().err


def test_plot_writes_four_pngs(trained_dir, tmp_path):
    model = str(trained_dir / NAMES[0])
    out = tmp_path / "plots"
    args = ["plot", model, "--dataset", "mnist-sample", "--output-dir"]
    assert main(args + [str(out)]) == 0
    names = ("samples", "latent_map", "manifold", "traversals")
    assert sorted(os.listdir(out)) == sorted(f"{n}.png" for n in names)
    for name in names:
        height, width = read_png(out / f"{name}.png").shape[:2]
        assert 200 <= height <= 2000 and 200 <= width <= 2000
    # A second run without --overwrite fails and keeps the files.
    before = (out / "manifold.png").read_bytes()
    assert main(args + [str(out)]) == 2
    assert (out / "manifold.png").read_bytes() == before


def test_image_snapshots_write_a_png_every_n_epochs(tmp_path):
    from matplotlib.image import imread

    from keras_vae.callbacks import ImageSnapshots

    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 8, 8, 1)).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(8, 8, 1), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.compile(optimizer="adam")
    snapshots = ImageSnapshots(x, tmp_path / "png", every_n_epochs=2)
    vae.fit(x, epochs=5, batch_size=16, callbacks=[snapshots], verbose=0)
    assert sorted(os.listdir(tmp_path / "png")) == [
        "epoch_002.png",
        "epoch_004.png",
    ]
    image = imread(snapshots.paths[-1])
    assert image.ndim == 3 and image.shape[0] > 100 and image.std() > 0.01
    with pytest.raises(ValueError, match="Received: every_n_epochs=0"):
        ImageSnapshots(x, tmp_path, every_n_epochs=0)
