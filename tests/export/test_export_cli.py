"""`keras-vae export`: from a `.keras` file to a SavedModel version and a
TFLite decoder, and clear errors that leave nothing on disk."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

from keras_vae.cli import main

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    import keras_vae

    vae = keras_vae.build_mlp_vae(
        input_shape=(8, 8, 1), latent_dim=3, hidden_units=(16,), seed=0
    )
    x = np.random.default_rng(0).uniform(size=(64, 8, 8, 1))
    vae.compile(optimizer="adam")
    vae.fit(x.astype("float32"), epochs=1, batch_size=16, verbose=0)
    path = tmp_path_factory.mktemp("model") / "vae.keras"
    vae.save(path)
    return path


def test_exports_both_and_outputs_match(model_path, tmp_path):
    saved_model = tmp_path / "serving" / "vae"
    tflite = tmp_path / "decoder.tflite"
    code = main(
        [
            "export",
            str(model_path),
            "--saved-model",
            str(saved_model),
            "--tflite",
            str(tflite),
        ]
    )
    assert code == 0
    assert sorted(os.listdir(saved_model)) == ["1"]

    vae = keras.saving.load_model(model_path)
    z = np.random.default_rng(1).standard_normal((1, 3)).astype("float32")
    expected = vae.decode(z)
    decode = tf.saved_model.load(str(saved_model / "1")).signatures["decode"]
    np.testing.assert_allclose(
        decode(z=tf.constant(z))["x_mean"].numpy(), expected, atol=1e-5
    )
    interpreter = Interpreter(model_path=str(tflite))
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], z)
    interpreter.invoke()
    output = interpreter.get_output_details()[0]["index"]
    np.testing.assert_allclose(
        interpreter.get_tensor(output), expected, atol=1e-5
    )

    # A second export is the next version.
    assert (
        main(["export", str(model_path), "--saved-model", str(saved_model)])
        == 0
    )
    assert sorted(os.listdir(saved_model)) == ["1", "2"]


def test_existing_tflite_needs_overwrite(model_path, tmp_path, capsys):
    tflite = tmp_path / "decoder.tflite"
    tflite.write_bytes(b"keep me")
    assert main(["export", str(model_path), "--tflite", str(tflite)]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert tflite.read_bytes() == b"keep me"
    assert os.listdir(tmp_path) == ["decoder.tflite"]


def test_a_keras_file_that_is_not_a_vae(tmp_path, capsys):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    path = tmp_path / "other.keras"
    model.save(path)
    target = tmp_path / "out"
    code = main(
        [
            "export",
            str(path),
            "--saved-model",
            str(target),
            "--tflite",
            str(tmp_path / "d.tflite"),
        ]
    )
    assert code == 2
    assert "not a keras_vae.VAE" in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["other.keras"]


def test_missing_model_and_no_target(model_path, tmp_path, capsys):
    assert (
        main(
            [
                "export",
                str(tmp_path / "missing.keras"),
                "--tflite",
                str(tmp_path / "d.tflite"),
            ]
        )
        == 2
    )
    assert "No model file" in capsys.readouterr().err
    assert main(["export", str(model_path)]) == 2
    assert "Nothing to export" in capsys.readouterr().err
    assert os.listdir(tmp_path) == []


def test_unknown_quantization_is_refused(model_path, tmp_path):
    with pytest.raises(SystemExit) as error:
        main(
            [
                "export",
                str(model_path),
                "--tflite",
                str(tmp_path / "d.tflite"),
                "--quantization",
                "int4",
            ]
        )
    assert error.value.code == 2
    assert os.listdir(tmp_path) == []
