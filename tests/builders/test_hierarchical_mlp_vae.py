"""The dense hierarchical builder: its structure, training on binarized
MNIST digits and on a real table, estimates, saving and its argument
errors."""

import keras
import numpy as np
import pytest
from backend_defaults import JIT_COMPILE

import keras_vae
from keras_vae.evaluation import log_likelihood


@pytest.fixture(scope="module")
def digits():
    (x_train, _), (x_test, _) = keras_vae.datasets.load_mnist(embedded=True)
    binary = keras_vae.datasets.binarize
    return binary(x_train[:2000], seed=0), binary(x_test[:64], seed=1)


def build(**kwargs):
    return keras_vae.build_hierarchical_mlp_vae(
        latent_dims=(4, 8), hidden_units=(32, 64), seed=0, **kwargs
    )


def test_structure_follows_the_groups():
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(28, 28, 1), latent_dims=(3, 5, 7), hidden_units=(8, 16, 32)
    )
    assert isinstance(vae, keras_vae.HierarchicalVAE)
    assert vae.group_shapes == [(3,), (5,), (7,)]
    assert vae.latent_shape == (15,)
    # Features of each group's width, top first; one prior per lower group.
    assert [tuple(t.shape[1:]) for t in vae.encoder.outputs] == [
        (8,),
        (16,),
        (32,),
    ]
    assert len(vae.priors) == 2
    assert vae.decoder.output_shape == (None, 28, 28, 1)
    # Priors start as N(0, I); the model has no convolution, so XLA is on
    # (on TensorFlow and JAX; PyTorch steps eagerly).
    state = np.random.default_rng(0).normal(size=(4, 16)).astype("float32")
    for head in vae.priors[0](state):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(head), 0.0)
    vae.compile(optimizer="adam")
    assert vae.jit_compile is JIT_COMPILE


def test_trains_and_its_iwae_estimate_beats_the_elbo(digits, tmp_path):
    keras.utils.set_random_seed(0)
    x_train, x_test = digits
    vae = build()
    vae.compile(optimizer=keras.optimizers.Adam(2e-3))
    history = vae.fit(x_train, batch_size=100, epochs=4, verbose=0).history
    assert history["loss"][-1] < history["loss"][0] - 40, history["loss"]
    elbo = -vae.evaluate(x_test, verbose=0, return_dict=True)["loss"]
    iwae = log_likelihood(vae, x_test, num_samples=64, seed=0, verbose=0)
    assert iwae.mean() > elbo + 0.5, (iwae.mean(), elbo)
    # The .keras file rebuilds the same model.
    path = tmp_path / "ladder.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    np.testing.assert_allclose(
        loaded.predict(x_test, verbose=0), vae.predict(x_test, verbose=0)
    )
    np.testing.assert_allclose(
        loaded.sample(3, seed=2), vae.sample(3, seed=2), atol=1e-6
    )


def test_a_gaussian_ladder_on_raw_table_rows():
    from sklearn.datasets import load_wine

    rows = load_wine().data.astype("float32")
    normalization = keras.layers.Normalization()
    normalization.adapt(rows)
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(13,),
        latent_dims=(2, 4),
        hidden_units=(16, 32),
        likelihood="gaussian",
        preprocessing=normalization,
        seed=0,
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = vae.fit(rows, batch_size=32, epochs=30, verbose=0).history
    # The -ELBO, in nats per row of raw units, beats the best model of
    # independent columns (each its own maximum-likelihood Gaussian): the
    # latents carry the columns' correlations.
    independent = np.sum(0.5 * np.log(2 * np.pi * np.e * rows.var(axis=0)))
    assert history["loss"][-1] < independent - 2, (history["loss"], independent)
    # Reconstructions come back in the table's own units.
    reconstruction = vae.reconstruct(rows[:8])
    assert reconstruction.shape == (8, 13)
    assert np.abs(reconstruction[:, 12] - rows[:8, 12]).mean() < 400
    assert reconstruction[:, 12].mean() > 100  # Proline, in mg/L.


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"latent_dims": (4, 8), "hidden_units": (32,)}, "hidden_units"),
        ({"latent_dims": (), "hidden_units": ()}, "latent_dims"),
        ({"latent_dims": (4, 0), "hidden_units": (8, 8)}, "latent_dims"),
        ({"latent_dims": (4,), "hidden_units": (-1,)}, "hidden_units"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        keras_vae.build_hierarchical_mlp_vae(**kwargs)
