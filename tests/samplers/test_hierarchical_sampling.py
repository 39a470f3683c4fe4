"""Samplers on a `HierarchicalVAE`, on every backend: a sampler models the
top group (fitted to its posterior means), the groups below come from
their priors given it, and the temperature is one float or one per
group."""

import keras
import numpy as np
import pytest

import keras_vae
from keras_vae.samplers import GaussianMixtureSampler
from keras_vae.samplers import PriorSampler


@pytest.fixture
def data():
    return np.random.default_rng(2).uniform(size=(200, 8)).astype("float32")


@pytest.fixture
def vae():
    """Two groups of 2 and 3 dimensions; the lower group's prior made
    non-trivial (it starts as N(0, I) in the builder)."""
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(8,), latent_dims=(2, 3), hidden_units=(16, 16), seed=0
    )
    rng = np.random.default_rng(0)
    for weight in vae.priors[0].weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return vae


def lower_prior(vae, top):
    """`(p_mean, p_log_var)` of the lower group given the top group."""
    mean, log_var = vae.priors[0](vae.merges[0](top))
    return keras.ops.convert_to_numpy(mean), keras.ops.convert_to_numpy(log_var)


def test_the_sampler_is_fitted_to_the_top_groups_means(vae, data):
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    assert sampler.latent_shape == vae.group_shapes[0] == (2,)
    z_mean, _ = vae.encode(data)  # Every group, top first.
    reference = keras_vae.samplers.gaussian_mixture_em.fit_gaussian_mixture(
        z_mean[:, :2].astype("float64"), 3, rng=np.random.default_rng(0)
    )
    assert sampler.log_likelihood == pytest.approx(
        reference["log_likelihood"], abs=1e-4
    )


def test_the_sampler_draws_the_top_group_and_the_priors_the_rest(vae, data):
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    means = keras.ops.convert_to_numpy(sampler.means)
    # The top group at temperature 0: a component's mean; the lower one
    # at 0: its prior's mean given the top group.
    z = vae._prior_sample(50, seed=1, temperature=(0.0, 0.0), sampler=sampler)
    top, lower = z[:, :2], z[:, 2:]
    distances = np.abs(top[:, None, :] - means[None]).max(axis=-1)
    assert np.all(distances.min(axis=1) == 0)
    p_mean, p_log_var = lower_prior(vae, top)
    np.testing.assert_allclose(lower, p_mean, atol=1e-5)
    assert np.abs(p_mean).max() > 0.1  # Not the trivial N(0, I).
    # At temperature 1 the lower group is spread by its prior's scale.
    z = vae._prior_sample(4000, seed=2, sampler=sampler)
    p_mean, p_log_var = lower_prior(vae, z[:, :2])
    standardized = (z[:, 2:] - p_mean) / np.exp(0.5 * p_log_var)
    assert np.abs(standardized.mean()) < 0.05
    assert np.std(standardized) == pytest.approx(1.0, abs=0.05)
    images = vae.sample(4, seed=3, sampler=sampler)
    z = vae._prior_sample(4, seed=3, sampler=sampler)
    np.testing.assert_allclose(images, vae.decode(z), atol=1e-6)


def test_per_group_temperatures(vae):
    # The standard normal top at temperature 0 is 0; the lower group at 0
    # its prior mean given the top.
    z = vae._prior_sample(6, seed=0, temperature=[0.0, 1.0])
    np.testing.assert_array_equal(z[:, :2], 0.0)
    z = vae._prior_sample(500, seed=0, temperature=[1.0, 0.0])
    p_mean, _ = lower_prior(vae, z[:, :2])
    np.testing.assert_allclose(z[:, 2:], p_mean, atol=1e-5)
    assert np.std(z[:, :2]) == pytest.approx(1.0, abs=0.1)
    # One value per group equal to one float: the same draws.
    np.testing.assert_array_equal(
        vae.sample(5, seed=4, temperature=(0.7, 0.7)),
        vae.sample(5, seed=4, temperature=0.7),
    )
    # The top temperature scales the top group only.
    full = vae._prior_sample(5, seed=4)
    half = vae._prior_sample(5, seed=4, temperature=(0.5, 1.0))
    np.testing.assert_allclose(half[:, :2], 0.5 * full[:, :2], rtol=1e-6)


@pytest.mark.parametrize(
    "temperature", [(1.0,), (1.0, 1.0, 1.0), (1.0, -0.5), (1.0, "x")]
)
def test_bad_per_group_temperatures_are_refused(vae, temperature):
    with pytest.raises(ValueError, match="Received: temperature="):
        vae.sample(2, temperature=temperature)


def test_prior_sampler_is_the_default(vae):
    np.testing.assert_array_equal(
        vae.sample(5, seed=6, temperature=(0.8, 0.3), sampler=PriorSampler()),
        vae.sample(5, seed=6, temperature=(0.8, 0.3)),
    )


def test_keras_file_keeps_the_attached_sampler(vae, data, tmp_path):
    vae.set_sampler(GaussianMixtureSampler(3, seed=0).fit(vae, data))
    vae.save(tmp_path / "hvae.keras")
    loaded = keras.saving.load_model(tmp_path / "hvae.keras")
    assert isinstance(loaded.sampler, GaussianMixtureSampler)
    np.testing.assert_array_equal(
        loaded.sample(6, seed=1, temperature=(1.0, 0.5)),
        vae.sample(6, seed=1, temperature=(1.0, 0.5)),
    )


def test_the_fingerprint_covers_the_top_posterior(vae, data):
    sampler = GaussianMixtureSampler(3, seed=0).fit(vae, data)
    kernel = vae.posteriors[0].weights[0]
    value = keras.ops.convert_to_numpy(kernel)
    kernel.assign(value + 1e-3)
    with pytest.raises(ValueError, match="fitted to another model"):
        vae.sample(2, sampler=sampler)
    # A lower group's posterior does not encode the top group.
    kernel.assign(value)
    lower = vae.posteriors[1].weights[0]
    lower.assign(lower + 1e-3)
    assert vae.sample(2, sampler=sampler).shape == (2, 8)
