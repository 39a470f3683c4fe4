"""The decoder likelihoods `p(x|z)`: Bernoulli and Gaussian."""

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp
from keras import ops

from keras_vae import likelihoods
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import Gaussian

tfd = tfp.distributions


def sum_over_data_axes(values):
    values = np.asarray(values, "float64")
    return values.reshape(values.shape[0], -1).sum(axis=1)


def nll(likelihood, x, params):
    return ops.convert_to_numpy(likelihood.negative_log_likelihood(x, params))


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_bernoulli_matches_tfp_for_binary_data(rng):
    logits = rng.normal(scale=3.0, size=(4, 3, 5)).astype("float32")
    x = (rng.uniform(size=(4, 3, 5)) < 0.5).astype("float32")
    expected = -sum_over_data_axes(
        tfd.Bernoulli(logits=logits.astype("float64")).log_prob(x)
    )
    np.testing.assert_allclose(nll(Bernoulli(), x, logits), expected, rtol=1e-5)


def test_bernoulli_is_stable_at_extreme_logits():
    x = np.array([[1.0, 0.0, 1.0, 0.0]], "float32")
    logits = np.array([[100.0, -100.0, -100.0, 100.0]], "float32")
    # The two right guesses cost log(1 + e^-100) ~ 0, the two wrong 100.
    np.testing.assert_allclose(nll(Bernoulli(), x, logits), [200.0], rtol=1e-6)
    per_pixel = [
        nll(Bernoulli(), x[:, i : i + 1], logits[:, i : i + 1])[0]
        for i in range(4)
    ]
    np.testing.assert_allclose(per_pixel, [0.0, 0.0, 100.0, 100.0], atol=1e-6)


def test_bernoulli_is_the_continuous_cross_entropy_for_grey_values(rng):
    x = rng.uniform(0.01, 0.99, size=(6, 10))
    logits = rng.normal(scale=2.0, size=(6, 10))
    p = 1.0 / (1.0 + np.exp(-logits))
    expected = -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1)
    got = nll(Bernoulli(), x.astype("float32"), logits.astype("float32"))
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_bernoulli_mean_and_sample(rng):
    logits = np.array([[-2.0, 0.0, 1.5]], "float32")
    mean = ops.convert_to_numpy(Bernoulli().mean(logits))
    np.testing.assert_allclose(mean, 1 / (1 + np.exp(-logits)), rtol=1e-6)
    n = 100_000
    draws = ops.convert_to_numpy(
        Bernoulli().sample(np.tile(logits, (n, 1)), seed=0)
    )
    assert set(np.unique(draws)) <= {0.0, 1.0}
    # Five standard errors of a Bernoulli frequency.
    se = np.sqrt(mean * (1 - mean) / n)
    assert np.all(np.abs(draws.mean(axis=0) - mean[0]) < 5 * se[0])


def test_gaussian_fixed_scale_matches_tfp(rng):
    x = rng.normal(size=(5, 2, 3)).astype("float32")
    mean = rng.normal(size=(5, 2, 3)).astype("float32")
    likelihood = Gaussian(scale=0.3)
    expected = -sum_over_data_axes(
        tfd.Normal(mean.astype("float64"), 0.3).log_prob(x.astype("float64"))
    )
    np.testing.assert_allclose(nll(likelihood, x, mean), expected, rtol=1e-5)


def test_gaussian_learned_scale(rng):
    likelihood = Gaussian()
    likelihood.build((None, 2, 3))
    assert likelihood.log_scale.shape == (2, 3)
    assert likelihood.trainable_weights == [likelihood.log_scale]
    np.testing.assert_array_equal(likelihood.log_scale.numpy(), 0.0)
    log_scale = rng.normal(scale=0.5, size=(2, 3)).astype("float32")
    likelihood.log_scale.assign(log_scale)
    x = rng.normal(size=(4, 2, 3)).astype("float32")
    mean = rng.normal(size=(4, 2, 3)).astype("float32")
    expected = -sum_over_data_axes(
        tfd.Normal(
            mean.astype("float64"), np.exp(log_scale.astype("float64"))
        ).log_prob(x.astype("float64"))
    )
    np.testing.assert_allclose(nll(likelihood, x, mean), expected, rtol=1e-5)


def test_gaussian_sample_moments():
    n = 100_000
    mean = np.tile(np.array([[2.0, -1.0]], "float32"), (n, 1))
    draws = ops.convert_to_numpy(Gaussian(scale=0.5).sample(mean, seed=0))
    se = 0.5 / np.sqrt(n)
    assert np.all(np.abs(draws.mean(axis=0) - [2.0, -1.0]) < 5 * se)
    var_se = 0.25 * np.sqrt(2 / (n - 1))
    assert np.all(np.abs(draws.var(axis=0, ddof=1) - 0.25) < 5 * var_se)


def test_get_by_name_instance_and_config():
    assert type(likelihoods.get("bernoulli")) is Bernoulli
    assert type(likelihoods.get("Gaussian")) is Gaussian
    assert likelihoods.get("gaussian").scale is None
    instance = Gaussian(scale=2.0)
    assert likelihoods.get(instance) is instance
    revived = likelihoods.get(keras.saving.serialize_keras_object(instance))
    assert type(revived) is Gaussian
    assert revived.scale == 2.0


@pytest.mark.parametrize("identifier", ["poisson", None, 3, Gaussian])
def test_get_invalid_raises(identifier):
    with pytest.raises(ValueError, match="Received: likelihood="):
        likelihoods.get(identifier)


@pytest.mark.parametrize(
    "scale", [0, -1, 0.0, float("inf"), float("nan"), "wide", True]
)
def test_gaussian_invalid_scale_raises(scale):
    with pytest.raises(ValueError, match="Received: scale="):
        Gaussian(scale=scale)


def test_gaussian_config_round_trip():
    revived = Gaussian.from_config(Gaussian(scale=0.1).get_config())
    assert revived.scale == 0.1
