"""`GaussianMixtureSampler` and `PriorSampler` on a VAE, on every backend:
the draws have the fitted mixture's moments, seeds reproduce them,
`vae.sample` decodes them, a `.keras` file keeps them, and every misuse
is refused with an error that names what it received."""

import math

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.samplers import GaussianMixtureSampler
from keras_vae.samplers import PriorSampler
from keras_vae.samplers import Sampler


def build_vae(latent_dim=2, seed=0):
    return keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=latent_dim, hidden_units=(16,), seed=seed
    )


@pytest.fixture
def data():
    """200 examples of 8 features in [0, 1]."""
    return np.random.default_rng(2).uniform(size=(200, 8)).astype("float32")


def mixture_moments(sampler, temperature=1.0):
    """The mean and covariance of the fitted mixture at `temperature`,
    from its weights, in float64."""
    weights = np.exp(keras.ops.convert_to_numpy(sampler.log_weights))
    weights = weights.astype("float64") / weights.sum()
    means = keras.ops.convert_to_numpy(sampler.means).astype("float64")
    if sampler.covariance_type == "full":
        scales = keras.ops.convert_to_numpy(sampler.scale_tril)
        covariances = scales @ np.swapaxes(scales, 1, 2)
    else:
        scales = keras.ops.convert_to_numpy(sampler.scale_diag)
        covariances = np.stack([np.diag(s**2) for s in scales])
    mean = weights @ means
    second = np.einsum(
        "c,cij->ij",
        weights,
        temperature**2 * covariances + np.einsum("ci,cj->cij", means, means),
    )
    return mean, second - np.outer(mean, mean)


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_draws_have_the_fitted_mixtures_moments(data, covariance_type):
    vae = build_vae()
    sampler = GaussianMixtureSampler(
        3, covariance_type=covariance_type, seed=0
    ).fit(vae, data)
    assert sampler.converged and sampler.latent_shape == (2,)
    n = 40_000
    for temperature in (1.0, 0.5):
        z = keras.ops.convert_to_numpy(
            sampler.sample(n, seed=1, temperature=temperature)
        ).astype("float64")
        mean, covariance = mixture_moments(sampler, temperature)
        assert z.shape == (n, 2)
        # Within 5 standard errors of the mean, 5% of the covariance.
        std_error = np.sqrt(np.diag(covariance) / n)
        assert np.all(np.abs(z.mean(axis=0) - mean) < 5 * std_error)
        np.testing.assert_allclose(
            np.cov(z.T),
            covariance,
            rtol=0.05,
            atol=0.05 * np.max(np.diag(covariance)),
        )
    # At temperature 0 every draw is a component's mean.
    z = keras.ops.convert_to_numpy(sampler.sample(100, seed=2, temperature=0))
    means = keras.ops.convert_to_numpy(sampler.means)
    distances = np.abs(z[:, None, :] - means[None]).max(axis=-1)
    assert np.all(distances.min(axis=1) == 0)


def test_the_fit_is_that_of_the_encoded_means(data):
    vae = build_vae()
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data, batch_size=7)
    z_mean, _ = vae.encode(data)
    reference = keras_vae.samplers.gaussian_mixture_em.fit_gaussian_mixture(
        z_mean.astype("float64"), 3, rng=np.random.default_rng(0)
    )
    assert sampler.log_likelihood == pytest.approx(
        reference["log_likelihood"], abs=1e-4
    )
    np.testing.assert_allclose(
        np.sort(keras.ops.convert_to_numpy(sampler.log_weights)),
        np.sort(np.log(reference["weights"])),
        atol=1e-4,
    )


def test_seeds_reproduce_the_draws(data):
    vae = build_vae()
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    first = keras.ops.convert_to_numpy(sampler.sample(10, seed=3))
    np.testing.assert_array_equal(
        first, keras.ops.convert_to_numpy(sampler.sample(10, seed=3))
    )
    assert not np.array_equal(
        first, keras.ops.convert_to_numpy(sampler.sample(10, seed=4))
    )
    images = vae.sample(10, seed=3, sampler=sampler)
    np.testing.assert_array_equal(
        images, vae.sample(10, seed=3, sampler=sampler)
    )
    # The flat VAE decodes the sampler's own draws.
    np.testing.assert_allclose(images, vae.decode(first), atol=1e-6)
    # And the fit itself is seeded.
    again = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(again.means),
        keras.ops.convert_to_numpy(sampler.means),
    )


def test_prior_sampler_is_the_default(data):
    vae = build_vae()
    np.testing.assert_array_equal(
        vae.sample(6, seed=5, sampler=PriorSampler()), vae.sample(6, seed=5)
    )
    np.testing.assert_array_equal(
        vae.sample(6, seed=5, temperature=0.5, sampler=PriorSampler()),
        vae.sample(6, seed=5, temperature=0.5),
    )
    # With a sampler attached, a PriorSampler still draws from the prior.
    without = vae.sample(6, seed=5)
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    assert not np.array_equal(vae.sample(6, seed=5), without)
    np.testing.assert_array_equal(
        vae.sample(6, seed=5, sampler=PriorSampler()), without
    )


def test_keras_file_keeps_the_attached_sampler(data, tmp_path):
    vae = build_vae()
    sampler = GaussianMixtureSampler(
        4, covariance_type="diag", seed=0, name="mixture"
    ).fit(vae, data)
    vae.set_sampler(sampler)
    path = tmp_path / "vae.keras"
    vae.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.sampler, GaussianMixtureSampler)
    assert loaded.sampler.get_config() == sampler.get_config()
    assert loaded.sampler.fingerprint == vae.latent_fingerprint()
    for name in ("means", "scale_diag", "log_weights"):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(getattr(loaded.sampler, name)),
            keras.ops.convert_to_numpy(getattr(sampler, name)),
        )
    np.testing.assert_array_equal(
        loaded.sample(8, seed=2), vae.sample(8, seed=2)
    )
    np.testing.assert_array_equal(
        loaded.sample(8, seed=2), vae.sample(8, seed=2, sampler=sampler)
    )


def test_a_model_without_a_sampler_saves_as_before(tmp_path):
    vae = build_vae()
    assert vae.sampler is None and vae.get_config()["sampler"] is None
    vae.save(tmp_path / "vae.keras")
    loaded = keras.saving.load_model(tmp_path / "vae.keras")
    assert loaded.sampler is None
    assert len(loaded.weights) == len(vae.weights)


def test_set_sampler_replaces_and_detaches(data):
    vae = build_vae()
    count = len(vae.weights)
    first = GaussianMixtureSampler(2, seed=0).fit(vae, data)
    second = GaussianMixtureSampler(3, covariance_type="diag").fit(vae, data)
    vae.set_sampler(first)
    assert len(vae.weights) == count + 3
    vae.set_sampler(second)  # The first one's weights leave the model.
    assert vae.sampler is second and len(vae.weights) == count + 3
    vae.set_sampler(None)
    assert vae.sampler is None and len(vae.weights) == count


def test_config_round_trip(data):
    sampler = GaussianMixtureSampler(
        5, covariance_type="diag", reg_covar=1e-4, max_iter=50, n_init=2
    )
    config = sampler.get_config()
    assert GaussianMixtureSampler.from_config(config).get_config() == config
    sampler.fit(build_vae(), data)
    config = keras.saving.serialize_keras_object(sampler)
    revived = keras.saving.deserialize_keras_object(config)
    assert revived.built and revived.latent_shape == (2,)
    assert revived.fingerprint == sampler.fingerprint


def test_fingerprint_follows_the_encoders_weights_only():
    vae = build_vae()
    fingerprint = vae.latent_fingerprint()
    assert len(fingerprint) == 16
    assert int(fingerprint, 16) >= 0  # Hexadecimal.
    vae.kl_layers[0].beta = 0.5  # Moves no mean.
    vae.decoder.weights[0].assign(vae.decoder.weights[0] + 1.0)
    assert vae.latent_fingerprint() == fingerprint
    kernel = vae.encoder.weights[0]
    kernel.assign(kernel + 1e-6)
    assert vae.latent_fingerprint() != fingerprint


# === Errors ===


@pytest.mark.parametrize(
    "kwargs, received",
    [
        ({"num_components": 0}, "num_components=0"),
        ({"num_components": 2.5}, "num_components=2.5"),
        ({"covariance_type": "spherical"}, "covariance_type='spherical'"),
        ({"reg_covar": -1.0}, "reg_covar=-1.0"),
        ({"max_iter": 0}, "max_iter=0"),
        ({"n_init": 0}, "n_init=0"),
        ({"seed": "one"}, "seed='one'"),
    ],
)
def test_bad_arguments_are_refused(kwargs, received):
    with pytest.raises(ValueError, match=f"Received: {received}"):
        GaussianMixtureSampler(**kwargs)


def test_an_unfitted_sampler_is_refused():
    vae = build_vae()
    sampler = GaussianMixtureSampler(3)
    for draw in (
        lambda: vae.sample(2, sampler=sampler),
        lambda: vae.set_sampler(sampler),
        lambda: sampler.sample(2),
    ):
        with pytest.raises(ValueError, match="never fitted"):
            draw()


def test_a_sampler_of_another_model_is_refused(data):
    vae = build_vae()
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    other_weights = build_vae(seed=1)
    with pytest.raises(ValueError, match="fitted to another model") as error:
        other_weights.sample(2, sampler=sampler)
    # Both fingerprints, the sampler's and the model's.
    assert sampler.fingerprint in str(error.value)
    assert other_weights.latent_fingerprint() in str(error.value)
    with pytest.raises(ValueError, match=r"shape \(2,\).*shape \(3,\)"):
        build_vae(latent_dim=3).set_sampler(sampler)
    with pytest.raises(ValueError, match="another shape"):
        sampler.fit(build_vae(latent_dim=3), data)


def test_a_model_trained_after_the_fit_refuses_its_sampler(data):
    vae = build_vae()
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    vae.compile(optimizer="adam")
    vae.fit(data, batch_size=50, epochs=1, verbose=0)
    with pytest.raises(ValueError, match="Fit it again"):
        vae.sample(2)
    vae.sampler.fit(vae, data)  # Fitted again: fine.
    assert vae.sample(2).shape == (2, 8)


def test_fewer_examples_than_components_are_refused(data):
    with pytest.raises(ValueError, match="Received: num_components=10"):
        GaussianMixtureSampler(10).fit(build_vae(), data[:9])


@pytest.mark.parametrize("temperature", [-1, math.nan, math.inf, "hot"])
def test_bad_temperatures_are_refused(data, temperature):
    vae = build_vae()
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    with pytest.raises(ValueError, match="Received: temperature="):
        vae.sample(2, temperature=temperature, sampler=sampler)
    with pytest.raises(ValueError, match="Received: temperature="):
        sampler.sample(2, temperature=temperature)


def test_a_flat_vae_takes_one_temperature():
    with pytest.raises(ValueError, match="this model has one group"):
        build_vae().sample(2, temperature=[0.5])


def test_other_objects_are_refused_as_samplers():
    vae = build_vae()
    with pytest.raises(ValueError, match="Received: sampler='gmm'"):
        vae.sample(2, sampler="gmm")
    with pytest.raises(ValueError, match="Received: sampler="):
        vae.set_sampler(keras_vae.priors.StandardNormal())


def test_a_prior_sampler_needs_a_model():
    with pytest.raises(ValueError, match="without a model"):
        PriorSampler().sample(2)


def test_an_incomplete_sampler_names_what_it_lacks(data):
    class Empty(Sampler):
        pass

    with pytest.raises(NotImplementedError, match="fit_latents"):
        Empty().fit(build_vae(), data)
    with pytest.raises(NotImplementedError, match="sample"):
        Empty().sample(2)


# === The conditional VAE ===


def test_a_conditional_vae_samples_from_a_sampler_fitted_with_labels(data):
    cvae = keras_vae.build_mlp_vae(
        input_shape=(8,), latent_dim=2, hidden_units=(16,), num_classes=3
    )
    labels = np.arange(len(data)) % 3
    sampler = GaussianMixtureSampler(3, seed=0).fit(cvae, data, labels=labels)
    z_mean, _ = cvae.encode(data, labels)
    assert sampler.latent_shape == (2,)
    images = cvae.sample(4, labels=1, seed=0, sampler=sampler)
    z = keras.ops.convert_to_numpy(sampler.sample(4, seed=0))
    np.testing.assert_allclose(images, cvae.decode(z, 1), atol=1e-6)
    with pytest.raises(ValueError, match="needs `labels`"):
        GaussianMixtureSampler(3).fit(cvae, data)
    # The mixture sits where the encoded means are.
    means = keras.ops.convert_to_numpy(sampler.means)
    assert np.all(means.min(0) >= z_mean.min(0) - 1e-6)
    assert np.all(means.max(0) <= z_mean.max(0) + 1e-6)
