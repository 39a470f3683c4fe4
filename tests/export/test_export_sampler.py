"""The SavedModel's `sample` signature with a fitted sampler: the one
attached to the model, or the one `export_saved_model(sampler=...)`
names; the same samples as `vae.sample(n, seed=seed, sampler=...)`, with
the signature's inputs unchanged."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_vae
from keras_vae.export import export_saved_model
from keras_vae.samplers import GaussianMixtureSampler
from keras_vae.samplers import PriorSampler

# TensorFlow's own machinery: skipped on the other backends.
pytestmark = pytest.mark.tensorflow_only


@pytest.fixture(scope="module")
def data():
    return np.random.default_rng(2).uniform(size=(200, 8)).astype("float32")


def signature_samples(version_dir, num_samples, seed):
    sample = tf.saved_model.load(version_dir).signatures["sample"]
    _, inputs = sample.structured_input_signature
    assert sorted(inputs) == ["num_samples", "seed"]
    return sample(
        num_samples=tf.constant(num_samples, tf.int32),
        seed=tf.constant(seed, tf.int64),
    )["samples"].numpy()


def export(vae, tmp_path, **kwargs):
    return export_saved_model(vae, tmp_path / "m", score_samples=2, **kwargs)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_the_attached_sampler_is_served(data, tmp_path, covariance_type):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=3, hidden_units=(16,), seed=0
    )
    sampler = GaussianMixtureSampler(
        4, covariance_type=covariance_type, seed=0
    ).fit(vae, data)
    vae.set_sampler(sampler)
    samples = signature_samples(export(vae, tmp_path), 7, seed=5)
    expected = vae.sample(7, seed=5, sampler=sampler)
    np.testing.assert_allclose(samples, expected, atol=1e-5)
    # Not the prior's draws.
    prior = vae.sample(7, seed=5, sampler=PriorSampler())
    assert np.abs(samples - prior).max() > 1e-3


def test_the_export_option_chooses_the_sampler(data, tmp_path):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    # Not attached: the export's sampler only; the model keeps the prior.
    version = export(vae, tmp_path, sampler=sampler)
    assert vae.sampler is None
    np.testing.assert_allclose(
        signature_samples(version, 5, seed=9),
        vae.sample(5, seed=9, sampler=sampler),
        atol=1e-5,
    )
    # Attached, but the prior's draws asked for.
    vae.set_sampler(sampler)
    version = export(vae, tmp_path, sampler=PriorSampler())
    np.testing.assert_allclose(
        signature_samples(version, 5, seed=9),
        vae.sample(5, seed=9, sampler=PriorSampler()),
        atol=1e-5,
    )


def test_a_hierarchical_models_sampler_is_served(data, tmp_path):
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(8,), latent_dims=(2, 3), hidden_units=(16, 16), seed=0
    )
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    np.testing.assert_allclose(
        signature_samples(export(vae, tmp_path), 6, seed=2),
        vae.sample(6, seed=2),
        atol=1e-5,
    )


def test_a_loaded_models_sampler_is_served(data, tmp_path):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    np.testing.assert_allclose(
        signature_samples(export(loaded, tmp_path), 4, seed=1),
        vae.sample(4, seed=1),
        atol=1e-5,
    )


def test_a_stale_sampler_is_refused(data, tmp_path):
    vae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), seed=0
    )
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    kernel = vae.encoder.weights[0]
    kernel.assign(kernel + 0.1)
    with pytest.raises(ValueError, match="fitted to another model"):
        export(vae, tmp_path)
    with pytest.raises(ValueError, match="never fitted"):
        export(vae, tmp_path, sampler=GaussianMixtureSampler(3))
    assert not (tmp_path / "m").exists()
