"""Shared fixtures: small data sets and a clean global Keras state; and
which tests run on which Keras backend (`KERAS_BACKEND`)."""

import keras
import numpy as np
import pytest

import keras_vae


def pytest_collection_modifyitems(config, items):
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return
    skip = pytest.mark.skip(
        reason=f"TensorFlow's own machinery; this run is on {backend}"
    )
    for item in items:
        # TensorFlow's own machinery (`tf.distribute`, the SavedModel and
        # TFLite exports, the fused XLA loop): a file marks itself with
        # `pytestmark = pytest.mark.tensorflow_only`, a test with the
        # decorator.
        if item.get_closest_marker("tensorflow_only") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def clean_keras_state():
    """Seeds every test the same way and undoes any dtype policy it sets."""
    keras.utils.set_random_seed(0)
    yield
    keras.config.set_dtype_policy("float32")


@pytest.fixture
def images():
    """64 grey images in [0, 1], shape (64, 28, 28, 1), float32."""
    rng = np.random.default_rng(0)
    return rng.uniform(size=(64, 28, 28, 1)).astype("float32")


@pytest.fixture
def vectors():
    """64 examples of 8 features in [0, 1], float32, for tiny models."""
    rng = np.random.default_rng(1)
    return rng.uniform(size=(64, 8)).astype("float32")


@pytest.fixture
def tiny_vae():
    """An uncompiled 8-16-2 MLP VAE with a Bernoulli likelihood."""
    return keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
