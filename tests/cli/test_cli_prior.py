"""`keras-vae train --prior`: a mixture or a VampPrior, trained, saved,
recorded in the metrics, and the argument errors."""

import json

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.cli import main

FAST = ["--epochs", "1", "--latent-dim", "3", "--hidden-units", "16"]


def test_a_vamp_prior_on_images(tmp_path):
    out = tmp_path / "run"
    code = main(
        ["train", "--dataset", "mnist-sample", *FAST]
        + ["--prior", "vamp", "--prior-components", "7"]
        + ["--output-dir", str(out), "--verbose", "0"]
    )
    assert code == 0
    metrics = json.loads((out / "mnist_sample_vae_metrics.json").read_text())
    assert (metrics["prior"], metrics["prior_components"]) == ("vamp", 7)
    vae = keras_vae.load_vae(out / "mnist_sample_vae.keras")
    assert isinstance(vae.prior, keras_vae.priors.VampPrior)
    assert vae.prior.pseudo_inputs.shape == (7, 28, 28, 1)
    # Images: pseudo-inputs in [0, 1], as the encoder sees pixels.
    assert vae.prior.pseudo_input_range == (0.0, 1.0)
    assert np.isfinite(metrics["test"]["loss"])


def test_a_mixture_prior_on_a_table(tmp_path):
    from sklearn.datasets import load_wine

    rows = load_wine().data
    header = ",".join(f"f{i}" for i in range(rows.shape[1]))
    path = tmp_path / "wine.csv"
    np.savetxt(path, rows, delimiter=",", header=header, comments="")
    out = tmp_path / "run"
    code = main(
        ["train", "--data", str(path), *FAST, "--prior", "mog"]
        + ["--output-dir", str(out), "--verbose", "0"]
    )
    assert code == 0
    metrics = json.loads((out / "model_metrics.json").read_text())
    assert (metrics["prior"], metrics["prior_components"]) == ("mog", 10)
    vae = keras.saving.load_model(out / "model.keras")
    assert isinstance(vae.prior, keras_vae.priors.MixtureOfGaussians)
    assert vae.prior.means.shape == (10, 3)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--prior-components", "4"], "--prior-components 4"),
        (["--prior", "mog", "--prior-components", "0"], "prior_components=0"),
        (["--prior", "vamp", "--free-bits", "0.5"], "free_bits=[0.5]"),
    ],
)
def test_bad_prior_arguments(tmp_path, capsys, arguments, message):
    out = tmp_path / "run"
    code = main(
        ["train", "--dataset", "mnist-sample", *FAST, *arguments]
        + ["--output-dir", str(out)]
    )
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (out / "mnist_sample_vae.keras").exists()
