import os

import keras
import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

import keras_vae
from keras_vae.export import export_tflite_decoder
from keras_vae.export import tflite

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only

# quantization -> (statistic of |tflite - keras|, its bound).
TOLERANCES = {
    None: ("max", 1e-5),
    "float16": ("max", 1e-2),
    "dynamic_range": ("mean", 0.03),
    "int8": ("mean", 0.03),
}


@pytest.fixture(scope="module")
def vae():
    (x_train, _), _ = keras_vae.datasets.load_mnist(embedded=True)
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_mlp_vae(input_shape=(28, 28, 1), latent_dim=20)
    vae.compile(optimizer=keras.optimizers.Adam(1e-3))
    vae.fit(x_train, epochs=2, batch_size=128, verbose=0)
    return vae


@pytest.fixture(scope="module")
def exported(vae, tmp_path_factory):
    """Exports the decoder once per quantization; returns their paths."""
    directory = tmp_path_factory.mktemp("tflite")
    return {
        quantization: export_tflite_decoder(
            vae, directory / f"decoder_{quantization}.tflite", quantization
        )
        for quantization in TOLERANCES
    }


def run_decoder(path, z):
    interpreter = Interpreter(model_path=path)
    input_index = interpreter.get_input_details()[0]["index"]
    if z.shape[0] != 1:
        interpreter.resize_tensor_input(input_index, z.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(input_index, z)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


@pytest.mark.parametrize("quantization", list(TOLERANCES))
@pytest.mark.parametrize("batch_size", [1, 32])
def test_matches_keras_decoder_mean(vae, exported, quantization, batch_size):
    z = np.random.default_rng(batch_size).standard_normal((batch_size, 20))
    z = z.astype("float32")
    outputs = run_decoder(exported[quantization], z)
    assert outputs.shape == (batch_size, 28, 28, 1)
    assert outputs.dtype == np.float32
    assert 0.0 <= outputs.min() and outputs.max() <= 1.0
    statistic, bound = TOLERANCES[quantization]
    error = np.abs(outputs - vae.decode(z))
    assert getattr(error, statistic)() <= bound


def test_signature_and_dynamic_batch(exported):
    interpreter = Interpreter(model_path=exported[None])
    assert interpreter.get_signature_list() == {
        "serving_default": {"inputs": ["z"], "outputs": ["x_mean"]}
    }
    details = interpreter.get_input_details()[0]
    assert list(details["shape_signature"]) == [-1, 20]
    assert details["dtype"] == np.float32
    decode = interpreter.get_signature_runner()
    x_mean = decode(z=np.zeros((3, 20), "float32"))["x_mean"]
    assert x_mean.shape == (3, 28, 28, 1)


def test_quantized_files_are_smaller(exported):
    sizes = {q: os.path.getsize(path) for q, path in exported.items()}
    # 784 * 400 + 400 * 20 float32 weights: about 1.26 MB.
    assert 1.2e6 < sizes[None] < 1.4e6
    assert sizes["float16"] < 0.55 * sizes[None]
    assert sizes["dynamic_range"] < 0.3 * sizes[None]
    assert sizes["int8"] < 0.3 * sizes[None]


def test_gaussian_decoder_returns_the_mean(tmp_path):
    vae = keras_vae.build_mlp_vae(
        input_shape=(4, 3), latent_dim=2, likelihood="gaussian"
    )
    path = export_tflite_decoder(vae, tmp_path / "decoder.tflite")
    z = np.array([[0.5, -1.0], [2.0, 0.0]], "float32")
    outputs = run_decoder(path, z)
    np.testing.assert_allclose(outputs, vae.decoder(z), atol=1e-5)


def test_unknown_quantization_raises(vae, tmp_path):
    with pytest.raises(ValueError, match="Received: quantization='int4'"):
        export_tflite_decoder(vae, tmp_path / "d.tflite", quantization="int4")
    assert os.listdir(tmp_path) == []


def test_existing_file_needs_overwrite(vae, tmp_path):
    path = tmp_path / "decoder.tflite"
    path.write_bytes(b"old")
    with pytest.raises(ValueError, match="Received: overwrite=False"):
        export_tflite_decoder(vae, path)
    assert path.read_bytes() == b"old"
    assert export_tflite_decoder(vae, path, overwrite=True) == str(path)
    assert os.listdir(tmp_path) == ["decoder.tflite"]
    assert run_decoder(str(path), np.zeros((1, 20), "float32")).size == 784


@pytest.mark.parametrize(
    "model",
    [None, keras.Sequential([keras.layers.Dense(2)])],
    ids=["none", "unbuilt_sequential"],
)
def test_non_vae_raises(tmp_path, model):
    with pytest.raises(ValueError, match="expected a `keras_vae.VAE`"):
        export_tflite_decoder(model, tmp_path / "decoder.tflite")
    assert os.listdir(tmp_path) == []


def test_file_that_does_not_load_is_not_renamed(vae, tmp_path, monkeypatch):
    def failing_check(path, latent_shape):
        raise RuntimeError("does not load")

    monkeypatch.setattr(tflite, "_check_runs", failing_check)
    with pytest.raises(RuntimeError, match="does not load"):
        export_tflite_decoder(vae, tmp_path / "a" / "b" / "decoder.tflite")
    assert os.listdir(tmp_path) == []


def test_conv_decoder(tmp_path):
    vae = keras_vae.build_conv_vae(input_shape=(28, 28, 1), latent_dim=4)
    path = export_tflite_decoder(vae, tmp_path / "decoder.tflite")
    z = np.random.default_rng(0).standard_normal((3, 4)).astype("float32")
    np.testing.assert_allclose(run_decoder(path, z), vae.decode(z), atol=1e-5)


@pytest.mark.parametrize("quantization", [None, "int8"])
def test_mixed_precision_decoder_converts_in_float32(tmp_path, quantization):
    keras.config.set_dtype_policy("mixed_float16")
    try:
        vae = keras_vae.build_mlp_vae(
            input_shape=(4, 3), latent_dim=2, hidden_units=(8,)
        )
    finally:
        keras.config.set_dtype_policy("float32")
    assert vae.decoder.layers[-2].compute_dtype == "float16"
    path = export_tflite_decoder(vae, tmp_path / "d.tflite", quantization)
    z = np.random.default_rng(0).standard_normal((5, 2)).astype("float32")
    outputs = run_decoder(path, z)
    assert outputs.dtype == np.float32
    # Keras computes in float16 here, the TFLite model in float32 or int8.
    np.testing.assert_allclose(outputs, vae.decode(z), atol=0.02)
