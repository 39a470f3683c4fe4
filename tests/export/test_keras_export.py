"""Keras's own `model.export` works on a VAE: a SavedModel that serves the
deterministic reconstruction, like `predict`, and a LiteRT file."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import keras_vae

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(256, 28, 28, 1)).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(28, 28, 1), latent_dim=4, hidden_units=(32,), seed=0
    )
    vae.compile(optimizer="adam")
    vae.fit(x, epochs=1, verbose=0)
    return vae, x


@pytest.fixture(scope="module", params=["trained", "reloaded"])
def model(request, trained, tmp_path_factory):
    vae, x = trained
    if request.param == "reloaded":
        path = tmp_path_factory.mktemp("keras") / "vae.keras"
        vae.save(path)
        vae = keras.saving.load_model(path)
    return vae, x


def test_export_saved_model_serves_the_reconstruction(model, tmp_path):
    vae, x = model
    vae.export(str(tmp_path / "exported"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "exported"))
    output = served.serve(tf.constant(x[:8])).numpy()
    np.testing.assert_allclose(
        output, vae.predict(x[:8], verbose=0), rtol=1e-5, atol=1e-6
    )
    assert output.shape == (8, 28, 28, 1)
    assert 0.0 <= output.min() and output.max() <= 1.0  # Probabilities.


def test_export_litert_runs_in_litert(model, tmp_path):
    vae, x = model
    path = tmp_path / "vae.tflite"
    vae.export(str(path), format="litert", verbose=False)
    interpreter = Interpreter(model_path=str(path))
    (signature,) = interpreter.get_signature_list().values()
    runner = interpreter.get_signature_runner()
    (input_name,) = signature["inputs"]
    (output,) = runner(**{input_name: x[:1]}).values()
    np.testing.assert_allclose(
        output, vae.predict(x[:1], verbose=0), rtol=1e-4, atol=1e-5
    )
