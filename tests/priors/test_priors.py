"""The priors `p(z)`: their densities against TensorFlow Probability and
their draws by their moments, the Monte-Carlo KL a VAE trains on with them
against the closed form, and their errors."""

import math

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp
from keras import ops

import keras_vae
from keras_vae.layers import diagonal_gaussian_kl_divergence
from keras_vae.priors import MixtureOfGaussians
from keras_vae.priors import Prior
from keras_vae.priors import StandardNormal
from keras_vae.priors import VampPrior

tfd = tfp.distributions
#: The widest float of the backend (float32 on JAX without x64) and the
#: tolerance of a density computed in it.
WIDE = keras_vae.backend.wide_float()
WIDE_RTOL = 1e-12 if WIDE == "float64" else 1e-6


def numpy(t):
    return keras.ops.convert_to_numpy(t)


def tensor(a):
    """An array as the backend's tensor, as the VAE gives its prior."""
    return keras.ops.convert_to_tensor(a)


def mixture(num_components=3, size=2, seed=0):
    """A built `MixtureOfGaussians` with distinct means, variances and
    weights, and the same mixture in TFP."""
    prior = MixtureOfGaussians(num_components, seed=seed)
    prior.build((None, size))
    rng = np.random.default_rng(seed)
    means = rng.normal(size=(num_components, size)).astype("float32") * 2
    log_vars = rng.normal(size=(num_components, size)).astype("float32")
    logits = rng.normal(size=(num_components,)).astype("float32")
    prior.means.assign(means)
    prior.log_vars.assign(log_vars)
    prior.logits.assign(logits)
    reference = tfd.MixtureSameFamily(
        tfd.Categorical(logits=logits.astype("float64")),
        tfd.MultivariateNormalDiag(
            means.astype("float64"), np.exp(0.5 * log_vars).astype("float64")
        ),
    )
    return prior, reference


def test_standard_normal_is_the_default_prior(tiny_vae):
    assert isinstance(tiny_vae.prior, StandardNormal)
    assert tiny_vae.prior.latent_shape == (2,)
    # Its KL is the closed form of the encoder's layer: nothing else adds it.
    assert not hasattr(tiny_vae, "monte_carlo_kl")
    assert tiny_vae.kl_layers[0].closed_form


def test_standard_normal_density_and_draws():
    prior = StandardNormal()
    prior.build((None, 3))
    z = np.random.default_rng(0).normal(size=(5, 3)).astype(WIDE)
    expected = tfd.MultivariateNormalDiag(np.zeros(3), np.ones(3)).log_prob(
        z.astype("float64")
    )
    # Exact in the widest float, as the log-likelihood estimates need.
    np.testing.assert_allclose(
        numpy(prior.log_prob(tensor(z))), expected, rtol=WIDE_RTOL
    )
    draws = numpy(prior.sample(20_000, seed=1, temperature=0.5))
    assert draws.shape == (20_000, 3)
    np.testing.assert_allclose(draws.mean(0), 0, atol=0.02)
    np.testing.assert_allclose(draws.std(0), 0.5, atol=0.01)


def test_mixture_density_matches_tfp():
    prior, reference = mixture()
    z = np.random.default_rng(1).normal(size=(50, 2)).astype("float32") * 3
    np.testing.assert_allclose(
        numpy(prior.log_prob(tensor(z))),
        reference.log_prob(z),
        rtol=1e-5,
        atol=1e-5,
    )
    # In the widest float too (the importance weights of `log_likelihood`).
    np.testing.assert_allclose(
        numpy(prior.log_prob(tensor(z.astype(WIDE)))),
        reference.log_prob(z.astype("float64")),
        rtol=1e-6,
    )


def test_mixture_draws_have_the_mixtures_moments():
    prior, reference = mixture()
    draws = numpy(prior.sample(40_000, seed=2))
    assert draws.shape == (40_000, 2)
    mean = np.asarray(reference.mean())
    std = np.sqrt(np.asarray(reference.variance()))
    # Four standard errors.
    np.testing.assert_allclose(draws.mean(0), mean, atol=4 * std.max() / 200)
    np.testing.assert_allclose(draws.std(0), std, rtol=0.03)
    # The same seed, the same draws.
    np.testing.assert_array_equal(
        numpy(prior.sample(5, seed=3)), numpy(prior.sample(5, seed=3))
    )


def test_mixture_of_a_latent_of_any_shape():
    prior = MixtureOfGaussians(2, seed=0)
    prior.build((None, 2, 3))
    assert prior.means.shape == (2, 6)
    assert tuple(prior.sample(4, seed=0).shape) == (4, 2, 3)
    assert tuple(prior.log_prob(ops.zeros((4, 2, 3))).shape) == (4,)


def vamp_vae(num_pseudo_inputs=4, **kwargs):
    return keras_vae.build_mlp_vae(
        input_shape=(6,),
        latent_dim=2,
        hidden_units=(8,),
        seed=0,
        prior=VampPrior(num_pseudo_inputs, seed=0, **kwargs),
    )


def test_vamp_prior_is_the_mean_of_the_pseudo_inputs_posteriors():
    vae = vamp_vae()
    prior = vae.prior
    prior.pseudo_inputs.assign(
        np.random.default_rng(0).uniform(-0.5, 1.5, size=(4, 6))
    )
    u = np.clip(numpy(prior.pseudo_inputs), 0.0, 1.0)  # The hard tanh.
    mean, log_var = vae.encode(u)
    components = tfd.MultivariateNormalDiag(
        mean.astype("float64"), np.exp(0.5 * log_var).astype("float64")
    )
    z = np.random.default_rng(1).normal(size=(7, 2)).astype("float32")
    expected = np.log(
        np.mean(np.exp(components.log_prob(z[:, None, :])), axis=1)
    )
    np.testing.assert_allclose(
        numpy(prior.log_prob(tensor(z))), expected, rtol=1e-4, atol=1e-5
    )
    draws = numpy(prior.sample(20_000, seed=4))
    reference = tfd.MixtureSameFamily(
        tfd.Categorical(logits=np.zeros(4)), components
    )
    np.testing.assert_allclose(
        draws.mean(0), reference.mean(), atol=4 * draws.std(0).max() / 140
    )


def test_vamp_prior_pseudo_inputs_train_with_the_vae(vectors):
    x = vectors[:, :6]
    vae = vamp_vae()
    before = numpy(vae.prior.pseudo_inputs).copy()
    assert any(v is vae.prior.pseudo_inputs for v in vae.trainable_weights)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    vae.fit(x, epochs=2, batch_size=16, verbose=0)
    assert not np.allclose(numpy(vae.prior.pseudo_inputs), before)


def test_vamp_prior_refuses_a_conditional_model():
    with pytest.raises(ValueError, match="takes 2 inputs"):
        keras_vae.build_mlp_vae(
            input_shape=(6,), latent_dim=2, num_classes=3, prior=VampPrior(4)
        )
    # A mixture does not need the encoder: it fits.
    cvae = keras_vae.build_mlp_vae(
        input_shape=(6,),
        latent_dim=2,
        num_classes=3,
        prior=MixtureOfGaussians(2),
    )
    assert tuple(cvae.sample(3, labels=1, seed=0).shape) == (3, 6)


def test_a_vamp_prior_alone_cannot_be_built():
    with pytest.raises(ValueError, match="built by the VAE that owns it"):
        VampPrior(3).build((None, 2))


def one_component_vae(mean, log_var):
    """A 2-latent VAE whose prior is one Gaussian `N(mean, exp(log_var))`
    (a mixture of one component), so its KL has a closed form."""
    prior = MixtureOfGaussians(1)
    vae = keras_vae.build_mlp_vae(
        input_shape=(4,), latent_dim=2, hidden_units=(8,), seed=0, prior=prior
    )
    prior.means.assign(np.asarray([mean], "float32"))
    prior.log_vars.assign(np.asarray([log_var], "float32"))
    return vae


def test_monte_carlo_kl_is_unbiased_for_the_closed_form():
    vae = one_component_vae([0.5, -1.0], [0.3, -0.4])
    assert not vae.kl_layers[0].closed_form
    x = np.random.default_rng(0).uniform(size=(1, 4)).astype("float32")
    x = np.repeat(x, 4000, axis=0)
    z_mean, z_log_var = vae.encode(x[:1])
    expected = numpy(
        diagonal_gaussian_kl_divergence(
            z_mean, z_log_var, np.array([[0.5, -1.0]]), np.array([[0.3, -0.4]])
        )
    )[0]
    # The batch mean of `log q(z|x) - log p(z)` at 4000 draws of z.
    terms = vae.compute_loss_terms(x, training=False)
    assert float(terms["kl_loss"]) == pytest.approx(expected, abs=0.05)


def test_monte_carlo_kl_takes_the_kl_layers_beta_and_warm_up():
    # A prior far from the posterior: a KL of about 9 nats, whose
    # estimate at 2000 draws is within 1% of it.
    vae = one_component_vae([3.0, -3.0], [0.0, 0.0])
    x = np.repeat(np.full((1, 4), 0.5, "float32"), 2000, axis=0)
    full = float(vae.compute_loss_terms(x)["kl_loss"])
    assert full > 5
    vae.kl_layers[0].beta = 0.25
    assert float(vae.compute_loss_terms(x)["kl_loss"]) == pytest.approx(
        0.25 * full, rel=0.04
    )
    vae.compile(optimizer="sgd")
    vae.set_kl_warmup(10, start_beta=0.0, target_beta=1.0)
    vae.apply_kl_warmup()  # At step 0 of 10: beta 0.
    assert float(vae.compute_loss_terms(x)["kl_loss"]) == 0.0


def test_importance_weights_use_the_prior():
    vae = one_component_vae([0.5, -1.0], [0.3, -0.4])
    x = np.random.default_rng(0).uniform(size=(3, 4)).astype("float32")
    epsilon = np.random.default_rng(1).normal(size=(5, 3, 2)).astype(WIDE)
    log_w, log_px_z = vae.log_importance_weights(
        x, epsilon, dtype=WIDE, return_log_likelihood=True
    )
    z_mean, z_log_var = vae.encode(x)
    z = z_mean + np.exp(0.5 * z_log_var) * epsilon
    prior = tfd.MultivariateNormalDiag(
        [0.5, -1.0], np.exp(0.5 * np.array([0.3, -0.4]))
    )
    posterior = tfd.MultivariateNormalDiag(
        z_mean.astype("float64"), np.exp(0.5 * z_log_var.astype("float64"))
    )
    expected = numpy(log_px_z) + prior.log_prob(z) - posterior.log_prob(z)
    np.testing.assert_allclose(numpy(log_w), expected, rtol=1e-5)


@pytest.mark.parametrize(
    "prior",
    [
        lambda: MixtureOfGaussians(3, seed=0),
        lambda: VampPrior(5, seed=0),
    ],
    ids=["mixture", "vamp"],
)
def test_a_vae_with_the_prior_trains_estimates_samples_and_saves(
    prior, tmp_path
):
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(128, 6, 6, 1)) > 0.5).astype("float32")
    vae = keras_vae.build_mlp_vae(
        input_shape=(6, 6, 1),
        latent_dim=3,
        hidden_units=(16,),
        seed=1,
        prior=prior(),
    )
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(x, epochs=4, batch_size=32, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]
    logs = vae.evaluate(x, return_dict=True, verbose=0)
    assert logs["loss"] == pytest.approx(
        logs["reconstruction_loss"] + logs["kl_loss"], rel=1e-5
    )
    log_px = keras_vae.evaluation.log_likelihood(
        vae, x[:8], num_samples=200, seed=0, verbose=0
    )
    # An estimate of log p(x) lies above the ELBO on average.
    assert log_px.mean() > -logs["loss"] - 1.0
    assert np.all(np.isfinite(log_px))
    scores = keras_vae.evaluation.anomaly_scores(
        vae, x[:8], num_samples=50, seed=0, verbose=0
    )
    assert scores.shape == (8,) and np.all(np.isfinite(scores))
    samples = vae.sample(6, seed=3)
    assert samples.shape == (6, 6, 6, 1)
    assert np.all((samples >= 0) & (samples <= 1))
    path = tmp_path / "model.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    assert type(loaded.prior) is type(vae.prior)
    for a, b in zip(loaded.prior.weights, vae.prior.weights):
        np.testing.assert_array_equal(numpy(a), numpy(b))
    np.testing.assert_allclose(
        loaded.sample(6, seed=3), samples, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        numpy(loaded.prior.log_prob(ops.ones((2, 3)))),
        numpy(vae.prior.log_prob(ops.ones((2, 3)))),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        keras_vae.evaluation.log_likelihood(
            loaded, x[:8], num_samples=200, seed=0, verbose=0
        ),
        log_px,
        rtol=1e-5,
    )


def test_a_hierarchy_takes_a_prior_for_its_top_group(tmp_path):
    rng = np.random.default_rng(0)
    x = (rng.uniform(size=(64, 8)) > 0.5).astype("float32")
    vae = keras_vae.build_hierarchical_mlp_vae(
        input_shape=(8,),
        latent_dims=(2, 3),
        hidden_units=(8, 8),
        seed=0,
        prior=VampPrior(4, seed=0),
    )
    assert vae.prior.latent_shape == (2,)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    logs = vae.fit(x, epochs=2, batch_size=16, verbose=0).history
    assert logs["kl_loss"][-1] == pytest.approx(
        logs["kl_group_0"][-1] + logs["kl_group_1"][-1], rel=1e-4
    )
    samples = vae.sample(5, seed=1)
    assert samples.shape == (5, 8)
    log_px = keras_vae.evaluation.log_likelihood(
        vae, x[:4], num_samples=50, seed=0, verbose=0
    )
    assert np.all(np.isfinite(log_px))
    path = tmp_path / "h.keras"
    vae.save(path)
    loaded = keras_vae.load_vae(path)
    np.testing.assert_allclose(loaded.sample(5, seed=1), samples, atol=1e-6)
    # No KL per dimension for a mixture.
    assert vae.prior_params(x[:2]) is None
    with pytest.raises(ValueError, match="diagonal Gaussian"):
        keras_vae.evaluation.kl_per_dimension(vae, x[:4])


class WrongShape(Prior):
    def log_prob(self, z):
        return -0.5 * ops.square(z)  # Per dimension, not per example.

    def sample(self, num_samples, seed=None):
        return keras.random.normal(
            (num_samples,) + self.latent_shape, seed=seed
        )


class WrongDraws(Prior):
    def log_prob(self, z):
        return ops.zeros((ops.shape(z)[0],))

    def sample(self, num_samples, seed=None):
        return keras.random.normal((num_samples, 7), seed=seed)


def test_a_prior_of_the_wrong_shapes_is_refused():
    with pytest.raises(
        ValueError,
        match=r"one log-density per example.*Received: shape \(2, 2\)",
    ):
        keras_vae.build_mlp_vae(
            input_shape=(4,), latent_dim=2, prior=WrongShape()
        )
    with pytest.raises(
        ValueError, match=r"shape \(num_samples,\) \+ latent_shape.*\(2, 7\)"
    ):
        keras_vae.build_mlp_vae(
            input_shape=(4,), latent_dim=2, prior=WrongDraws()
        )


def test_a_prior_built_for_another_latent_size_is_refused():
    prior = MixtureOfGaussians(3)
    prior.build((None, 5))
    with pytest.raises(
        ValueError, match=r"expected latent_shape=\(2,\).*latent_shape=\(5,\)"
    ):
        keras_vae.build_mlp_vae(input_shape=(4,), latent_dim=2, prior=prior)


@pytest.mark.parametrize("prior", ["mog", 3, keras.layers.Dense(2)])
def test_a_prior_that_is_no_prior_is_refused(prior):
    with pytest.raises(
        ValueError,
        match=r"expected None .* `keras_vae.priors.Prior`.*Received: prior=",
    ):
        keras_vae.build_mlp_vae(input_shape=(4,), latent_dim=2, prior=prior)


def test_free_bits_per_dimension_need_the_standard_normal():
    with pytest.raises(ValueError, match=r"free_bits=\[0.5\]"):
        keras_vae.build_mlp_vae(
            input_shape=(4,),
            latent_dim=2,
            free_bits=0.5,
            prior=MixtureOfGaussians(2),
        )


def test_a_prior_without_temperature_samples_at_one_only():
    class NoTemperature(Prior):
        def log_prob(self, z):
            return ops.sum(
                -0.5 * ops.square(z) - 0.5 * math.log(2 * math.pi), -1
            )

        def sample(self, num_samples, seed=None):
            return keras.random.normal(
                (num_samples,) + self.latent_shape, seed=seed
            )

    vae = keras_vae.build_mlp_vae(
        input_shape=(4,), latent_dim=2, prior=NoTemperature()
    )
    assert vae.sample(3, seed=0).shape == (3, 4)
    with pytest.raises(ValueError, match="Received: temperature=0.5"):
        vae.sample(3, seed=0, temperature=0.5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_components": 0}, "num_components"),
        ({"num_components": 2.5}, "num_components"),
        ({"seed": "1"}, "seed"),
    ],
)
def test_mixture_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: {message}="):
        MixtureOfGaussians(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_pseudo_inputs": 0}, "num_pseudo_inputs"),
        ({"pseudo_input_range": (1.0, 0.0)}, "pseudo_input_range"),
        ({"pseudo_input_range": "0-1"}, "pseudo_input_range"),
    ],
)
def test_vamp_prior_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"Received: {message}="):
        VampPrior(**kwargs)


def test_the_iwae_bound_with_a_prior_trains_and_reports_its_kl():
    x = (np.random.default_rng(0).uniform(size=(64, 6)) > 0.5).astype("f4")
    vae = keras_vae.build_mlp_vae(
        input_shape=(6,),
        latent_dim=2,
        hidden_units=(8,),
        num_importance_samples=4,
        seed=0,
        prior=MixtureOfGaussians(2, seed=0),
    )
    terms = vae.compute_loss_terms(x)
    # The reported KL is the estimate at the first draw, not optimized:
    # the loss is the bound alone.
    assert float(terms["kl_loss"]) > 0
    log_w = vae.log_importance_weights(
        x, np.random.default_rng(1).normal(size=(4, 64, 2))
    )
    assert tuple(log_w.shape) == (4, 64)
    vae.compile(optimizer=keras.optimizers.Adam(1e-2))
    history = vae.fit(x, epochs=3, batch_size=16, verbose=0).history
    assert history["loss"][-1] < history["loss"][0]


def test_vamp_prior_starts_from_training_examples():
    vae = vamp_vae(num_pseudo_inputs=3)
    x = np.random.default_rng(0).uniform(size=(10, 6)).astype("float32")
    vae.prior.initialize_from(x, seed=1)
    u = numpy(vae.prior.pseudo_inputs)
    # Three distinct rows of x, in the encoder's units (the same here).
    matches = [np.flatnonzero(np.all(x == row, axis=1)) for row in u]
    assert all(len(m) == 1 for m in matches)
    assert len({int(m[0]) for m in matches}) == 3
    with pytest.raises(ValueError, match=r"at least 3 examples.*\(2, 6\)"):
        vae.prior.initialize_from(x[:2])
