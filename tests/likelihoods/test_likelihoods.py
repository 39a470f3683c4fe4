"""The decoder likelihoods `p(x|z)`: the `Likelihood` interface, Bernoulli
and Gaussian."""

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp
from keras import ops

from keras_vae import likelihoods
from keras_vae.likelihoods import Bernoulli
from keras_vae.likelihoods import DiscretizedLogistic
from keras_vae.likelihoods import DiscretizedLogisticMixture
from keras_vae.likelihoods import Gaussian
from keras_vae.likelihoods import Likelihood
from keras_vae.utils.data_checks import DataChecks

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


def test_bernoulli_mean_and_draw(rng):
    logits = np.array([[-2.0, 0.0, 1.5]], "float32")
    mean = ops.convert_to_numpy(Bernoulli().mean(logits))
    np.testing.assert_allclose(mean, 1 / (1 + np.exp(-logits)), rtol=1e-6)
    n = 100_000
    draws = ops.convert_to_numpy(
        Bernoulli().draw(np.tile(logits, (n, 1)), seed=0)
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


def test_gaussian_draw_moments():
    n = 100_000
    mean = np.tile(np.array([[2.0, -1.0]], "float32"), (n, 1))
    draws = ops.convert_to_numpy(Gaussian(scale=0.5).draw(mean, seed=0))
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


# --- The interface ----------------------------------------------------------


class Laplace(Likelihood):
    """A likelihood of a test's own: a unit-scale Laplace."""

    continuous = True

    def negative_log_likelihood(self, x, params):
        x, params = ops.cast(x, "float32"), ops.cast(params, "float32")
        nll = ops.abs(x - params) + np.log(2.0)
        return ops.sum(ops.reshape(nll, (ops.shape(nll)[0], -1)), axis=-1)

    def mean(self, params):
        return ops.cast(params, "float32")

    def draw(self, params, seed=None):
        params = ops.cast(params, "float32")
        u = keras.random.uniform(ops.shape(params), -0.5, 0.5, seed=seed)
        return params - ops.sign(u) * ops.log1p(-2.0 * ops.abs(u))

    def output_channels(self, data_channels):
        return data_channels


@pytest.mark.parametrize(
    "likelihood, has_logits, continuous, pixel_values",
    [
        (Bernoulli(), True, False, False),
        (Gaussian(), False, True, False),
        (DiscretizedLogistic(), False, False, True),
        (DiscretizedLogisticMixture(2), False, False, True),
        (Laplace(), False, True, False),
    ],
)
def test_every_likelihood_is_a_likelihood_layer(
    likelihood, has_logits, continuous, pixel_values
):
    assert isinstance(likelihood, Likelihood)
    assert isinstance(likelihood, DataChecks)
    assert isinstance(likelihood, keras.layers.Layer)
    assert likelihood.has_logits is has_logits
    assert likelihood.continuous is continuous
    assert likelihood.pixel_values is pixel_values
    assert likelihood.output_channels(1) >= 1
    assert likelihoods.get(likelihood) is likelihood


def test_the_base_class_defaults():
    likelihood = Likelihood(name="base")
    assert not likelihood.has_logits
    assert not likelihood.continuous
    assert not likelihood.pixel_values
    # Every dtype and value passes the data checks by default.
    likelihood.check_dtype("int8")
    x = np.full((2, 3), -7.5, "float32")
    assert likelihood.check_inputs(x, (3,)) is x
    assert Likelihood.from_config(likelihood.get_config()).name == "base"


@pytest.mark.parametrize(
    "call",
    [
        lambda lk: lk.negative_log_likelihood(np.zeros((1, 2)), None),
        lambda lk: lk.mean(np.zeros((1, 2))),
        lambda lk: lk.draw(np.zeros((1, 2)), seed=0),
        lambda lk: lk.output_channels(3),
    ],
)
def test_the_abstract_methods_raise(call):
    class Unfinished(Likelihood):
        pass

    with pytest.raises(
        NotImplementedError,
        match=r"Unfinished does not.*Received: likelihood of type Unfinished",
    ):
        call(Unfinished())


def test_a_likelihood_of_your_own():
    likelihood = Laplace()
    nll = likelihood.negative_log_likelihood(
        np.zeros((1, 2), "float32"), np.ones((1, 2), "float32")
    )
    np.testing.assert_allclose(
        ops.convert_to_numpy(nll), [2 * (1 + np.log(2))], rtol=1e-6
    )
    n = 50_000
    params = np.tile(np.array([[1.0, -2.0]], "float32"), (n, 1))
    draws = ops.convert_to_numpy(likelihood.draw(params, seed=0))
    # Five standard errors of the mean of a unit Laplace (variance 2).
    se = np.sqrt(2 / n)
    assert np.all(np.abs(draws.mean(axis=0) - [1.0, -2.0]) < 5 * se)


@pytest.mark.parametrize(
    "likelihood, module",
    [
        (Bernoulli(), "bernoulli"),
        (Gaussian(scale=2.0), "gaussian"),
        (DiscretizedLogistic(), "discretized_logistic"),
        (DiscretizedLogisticMixture(3), "discretized_logistic_mixture"),
    ],
)
def test_the_saved_names_are_those_of_older_files(likelihood, module):
    # What a `.keras` file records for the likelihood; `load_model` finds
    # the class by these, so they must not change.
    serialized = keras.saving.serialize_keras_object(likelihood)
    name = type(likelihood).__name__
    assert serialized["module"] == f"keras_vae.likelihoods.{module}"
    assert serialized["class_name"] == name
    assert serialized["registered_name"] == f"keras_vae>{name}"
    revived = keras.saving.deserialize_keras_object(serialized)
    assert type(revived) is type(likelihood)
    assert revived.get_config() == likelihood.get_config()
