"""VAEs trained on JAX or PyTorch, with each prior (and a user's own prior
and likelihood): same file format, exported through TensorFlow, and JAX's
data parallelism equal to one device."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter
from backend_run import PRIORS

import keras_vae

# Runs from the TensorFlow suite only: it starts its own JAX and PyTorch
# processes, and exports through TensorFlow.
pytestmark = pytest.mark.tensorflow_only

RUN = Path(__file__).parent / "backend_run.py"
BACKENDS = ["jax", "torch"]


def _run(backend, out, *flags, env=None):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(
            f"{backend} is not installed (pip install keras-vae[{backend}])"
        )
    env = {**os.environ, "KERAS_BACKEND": backend, **(env or {})}
    result = subprocess.run(
        [sys.executable, str(RUN), str(out), *flags],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module", params=BACKENDS)
def run(request, tmp_path_factory):
    out = tmp_path_factory.mktemp(request.param)
    _run(request.param, out)
    return request.param, out


@pytest.fixture(params=PRIORS)
def trained(request, run):
    backend, out = run
    if request.param == "custom":
        import example_parts  # noqa: F401 (registers the user's classes)
    return backend, out / request.param


def test_training_on_the_backend_lowers_the_loss(trained):
    _, out = trained
    history = json.loads((out / "history.json").read_text())
    assert history["loss"][1] < history["loss"][0]
    for first, second in zip(history["loss"], history["reconstruction_loss"]):
        assert first >= second  # loss = reconstruction + KL, KL >= 0.


def test_the_file_loads_here_with_equal_outputs(trained):
    _, out = trained
    expected = np.load(out / "outputs.npz")
    vae = keras.saving.load_model(out / "model.keras")
    z_mean, z_log_var = vae.encode(expected["x"])
    np.testing.assert_allclose(z_mean, expected["z_mean"], atol=1e-5)
    np.testing.assert_allclose(z_log_var, expected["z_log_var"], atol=1e-5)
    np.testing.assert_allclose(
        vae.reconstruct(expected["x"]), expected["reconstruction"], atol=1e-5
    )
    np.testing.assert_allclose(
        vae.decode(expected["z"]), expected["decoded"], atol=1e-5
    )


def test_the_saved_model_and_tflite_decoder_match_the_backend(
    trained, tmp_path
):
    _, out = trained
    expected = np.load(out / "outputs.npz")
    vae = keras.saving.load_model(out / "model.keras")
    path = keras_vae.export_saved_model(
        vae, tmp_path / "serving", score_samples=10
    )
    signatures = tf.saved_model.load(path).signatures
    encoded = signatures["encode"](x=tf.constant(expected["x"]))
    np.testing.assert_allclose(encoded["z_mean"], expected["z_mean"], atol=1e-5)
    outputs = signatures["reconstruct"](x=tf.constant(expected["x"]))
    np.testing.assert_allclose(
        outputs["reconstruction"], expected["reconstruction"], atol=1e-5
    )
    decoded = signatures["decode"](z=tf.constant(expected["z"]))
    np.testing.assert_allclose(
        decoded["x_mean"], expected["decoded"], atol=1e-5
    )
    # The fixed-noise score, in float64 here (float32 on JAX there).
    scores = signatures["score"](x=tf.constant(expected["x"]))["nll"]
    np.testing.assert_allclose(scores, expected["scores"], rtol=1e-4)
    # Samples of the prior: the backend's own random numbers differ, their
    # values stay in the likelihood's range.
    samples = signatures["sample"](num_samples=5, seed=np.int64(3))["samples"]
    assert samples.shape == expected["samples"].shape
    assert np.all(np.isfinite(samples))

    tflite = keras_vae.export_tflite_decoder(vae, tmp_path / "decoder.tflite")
    decode = Interpreter(model_path=str(tflite)).get_signature_runner()
    x_mean = decode(z=expected["z"])["x_mean"]
    np.testing.assert_allclose(x_mean, expected["decoded"], atol=1e-5)


def test_jax_data_parallel_updates_equal_one_device(tmp_path):
    _run(
        "jax",
        tmp_path,
        "--data-parallel",
        env={"XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
    )
    result = np.load(tmp_path / "data_parallel.npz")
    assert int(result["devices"]) == 2
    np.testing.assert_allclose(
        result["data_parallel_loss"], result["one_device_loss"], rtol=1e-5
    )
    names = [n for n in result.files if n.startswith("one_device_")]
    names = [n for n in names if n != "one_device_loss"]
    assert names
    for name in names:
        parallel = result[name.replace("one_device", "data_parallel")]
        np.testing.assert_allclose(parallel, result[name], atol=1e-6)
