"""Anomaly scores, their threshold and AUROC; labels for a conditional VAE.

The conditional checks use a linear-Gaussian `ConditionalVAE` (a
probabilistic PCA whose mean shifts with the class) with the exact
posterior as encoder: then `p(x|y) = N(b + c_y, W^T W + s^2 I)` and every
importance weight equals it, so even one sample gives the exact answer.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow_probability as tfp

import keras_vae
from keras_vae.evaluation import anomaly_scores
from keras_vae.evaluation import anomaly_threshold
from keras_vae.evaluation import auroc
from keras_vae.evaluation import bits_per_dim
from keras_vae.evaluation import log_likelihood
from keras_vae.likelihoods import Gaussian

D, L, C, SIGMA = 4, 2, 3, 0.5
W = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.8, -0.8]])
B = np.array([0.3, -0.2, 0.1, 0.5])
SHIFT = np.array(  # c_y, the mean of p(x|z=0, y) minus b, one row a class.
    [[0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0], [-0.5, 0.0, 1.0, 1.0]]
)
POSTERIOR_VAR = 1.0 / (1.0 + np.diag(W @ W.T) / SIGMA**2)


def conditional_data(n, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, C, size=n)
    z = rng.normal(size=(n, L))
    x = z @ W + B + SHIFT[y] + SIGMA * rng.normal(size=(n, D))
    return x.astype("float32"), y


def true_log_px_given_y(x, y):
    covariance = W.T @ W + SIGMA**2 * np.eye(D)
    marginal = tfp.distributions.MultivariateNormalTriL(
        B + SHIFT[y], np.linalg.cholesky(covariance)
    )
    return marginal.log_prob(x.astype("float64")).numpy()


def build_conditional_ppca():
    """The exact posterior for every label: `mu = (x - b - c_y) K`."""
    x = keras.Input(shape=(D,))
    y = keras.Input(shape=(C,))
    kernel = W.T * POSTERIOR_VAR / SIGMA**2  # (D, L)
    from_x = keras.layers.Dense(L)
    from_y = keras.layers.Dense(L, use_bias=False)
    z_mean = keras.layers.Add()([from_x(x), from_y(y)])
    log_var = keras.layers.Dense(L)
    z_log_var = log_var(x)
    z_mean, z_log_var = keras_vae.layers.KLDivergenceLayer()(
        [z_mean, z_log_var]
    )
    z = keras_vae.layers.Sampling(seed=0)([z_mean, z_log_var])
    encoder = keras.Model([x, y], [z_mean, z_log_var, z])
    from_x.set_weights([kernel, -B @ kernel])
    from_y.set_weights([-SHIFT @ kernel])
    log_var.set_weights([np.zeros((D, L)), np.log(POSTERIOR_VAR)])

    z_in = keras.Input(shape=(L,))
    y_in = keras.Input(shape=(C,))
    from_z = keras.layers.Dense(D)
    shift = keras.layers.Dense(D, use_bias=False)
    mean = keras.layers.Add()([from_z(z_in), shift(y_in)])
    decoder = keras.Model([z_in, y_in], mean)
    from_z.set_weights([W, B])
    shift.set_weights([SHIFT])
    return keras_vae.ConditionalVAE(
        encoder, decoder, likelihood=Gaussian(scale=SIGMA)
    )


@pytest.fixture
def cppca():
    return build_conditional_ppca()


def bar_images(n, classes, seed=0):
    """`(x, y)`: 8x8 images whose class `c` (one of `classes`) is a bright
    bar on rows 2c and 2c+1."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(classes, size=n)
    x = np.full((n, 8, 8, 1), 0.05, "float32")
    for c in classes:
        x[labels == c, 2 * c : 2 * c + 2] = 0.95
    x += rng.uniform(-0.03, 0.03, size=x.shape).astype("float32")
    return x, labels


# === Scores of an unconditional VAE ===


def test_scores_are_the_negative_log_likelihood(tiny_vae, vectors):
    scores = anomaly_scores(tiny_vae, vectors, num_samples=7, seed=3)
    log_px = log_likelihood(tiny_vae, vectors, num_samples=7, seed=3)
    assert scores.dtype == np.float64
    assert scores.shape == (64,)
    np.testing.assert_array_equal(scores, -log_px)
    # The default K is 100.
    np.testing.assert_array_equal(
        anomaly_scores(tiny_vae, vectors, seed=0, verbose=0),
        -log_likelihood(tiny_vae, vectors, 100, seed=0, verbose=0),
    )


def test_scores_are_reproducible_with_a_seed(tiny_vae, vectors):
    first = anomaly_scores(tiny_vae, vectors, seed=1, verbose=0)
    again = anomaly_scores(tiny_vae, vectors, seed=1, verbose=0)
    np.testing.assert_array_equal(first, again)
    other_seed = anomaly_scores(tiny_vae, vectors, seed=2, verbose=0)
    unseeded = anomaly_scores(tiny_vae, vectors, verbose=0)
    unseeded_again = anomaly_scores(tiny_vae, vectors, verbose=0)
    assert np.all(first != other_seed)
    assert np.all(unseeded != unseeded_again)


def test_verbose_zero_prints_nothing(tiny_vae, vectors, capsys):
    anomaly_scores(tiny_vae, vectors, num_samples=2, seed=0, verbose=0)
    assert capsys.readouterr().out == ""
    anomaly_scores(tiny_vae, vectors, num_samples=2, seed=0, verbose=2)
    assert "64/64" in capsys.readouterr().out


def test_labels_for_an_unconditional_vae_raise(tiny_vae, vectors):
    labels = np.zeros(64, "int64")
    for fn in (anomaly_scores, log_likelihood):
        with pytest.raises(ValueError, match="This VAE is unconditional"):
            fn(tiny_vae, vectors, num_samples=2, labels=labels)


# === Labels for a conditional VAE ===


@pytest.mark.parametrize("num_samples", [1, 5])
def test_conditional_log_likelihood_is_exact_with_the_exact_posterior(
    cppca, num_samples
):
    x, y = conditional_data(300)
    truth = true_log_px_given_y(x, y)
    estimate = log_likelihood(
        cppca, x, num_samples=num_samples, seed=0, verbose=0, labels=y
    )
    # Float32 decoder, terms of ~10 nats: as in test_log_likelihood.py.
    np.testing.assert_allclose(estimate, truth, atol=5e-6, rtol=0)
    scores = anomaly_scores(
        cppca, x, num_samples=num_samples, seed=0, verbose=0, labels=y
    )
    np.testing.assert_array_equal(scores, -estimate)


def test_conditional_labels_as_indices_one_hot_or_one_class(cppca):
    x, y = conditional_data(50, seed=1)
    by_index = anomaly_scores(cppca, x, 3, seed=0, verbose=0, labels=y)
    one_hot = np.eye(C, dtype="float32")[y]
    by_one_hot = anomaly_scores(cppca, x, 3, seed=0, verbose=0, labels=one_hot)
    np.testing.assert_array_equal(by_index, by_one_hot)
    all_two = anomaly_scores(cppca, x, 3, seed=0, verbose=0, labels=2)
    np.testing.assert_allclose(
        all_two, -true_log_px_given_y(x, np.full(50, 2)), atol=5e-6
    )
    # The labels reach the model: the wrong class is less likely.
    wrong = anomaly_scores(cppca, x, 3, seed=0, verbose=0, labels=(y + 1) % C)
    assert np.mean(wrong > by_index) > 0.9


def test_a_trained_conditional_vae_matches_a_hand_computed_estimate():
    # A builder's ConditionalVAE (labels concatenated to x and to z,
    # Bernoulli decoder), trained on bars whose row is the class. numpy
    # computes the K = 1000 IWAE estimate from `encode` and `decoder` with
    # draws of its own; it agrees with `log_likelihood` per example (the
    # measured worst gap is 0.09 nats), and the wrong labels are many nats
    # off (14 on average, 2.2 at least).
    keras.utils.set_random_seed(0)
    cvae = keras_vae.build_mlp_vae(
        input_shape=(8, 8, 1),
        latent_dim=2,
        hidden_units=(32,),
        num_classes=4,
        seed=0,
    )
    cvae.compile(optimizer=keras.optimizers.Adam(3e-3))
    x_train, y_train = bar_images(1536, [0, 1, 2, 3])
    cvae.fit(x_train, y_train, batch_size=64, epochs=8, verbose=0)
    n, k = 100, 1000
    x, y = bar_images(n, [0, 1, 2, 3], seed=1)
    mean, log_var = (a.astype("float64") for a in cvae.encode(x, y))
    std = np.exp(0.5 * log_var)
    z = mean + std * np.random.default_rng(0).normal(size=(k, n, 2))
    one_hot = np.eye(4, dtype="float32")[y]
    logits = cvae.decoder(
        [z.reshape(-1, 2).astype("float32"), np.tile(one_hot, (k, 1))]
    )
    logits = keras.ops.convert_to_numpy(logits).astype("float64")
    logits = logits.reshape(k, n, 64)
    pixels = x.reshape(1, n, 64).astype("float64")
    log_px_z = np.sum(pixels * logits - np.logaddexp(0, logits), axis=-1)
    log_pz = np.sum(-0.5 * z**2 - 0.5 * math.log(2 * math.pi), axis=-1)
    log_qz = np.sum(
        -0.5 * ((z - mean) / std) ** 2
        - np.log(std)
        - 0.5 * math.log(2 * math.pi),
        axis=-1,
    )
    log_w = log_px_z + log_pz - log_qz
    by_hand = np.logaddexp.reduce(log_w, axis=0) - math.log(k)
    estimate = log_likelihood(cvae, x, k, seed=0, verbose=0, labels=y)
    np.testing.assert_allclose(estimate, by_hand, atol=0.25, rtol=0)
    wrong = log_likelihood(cvae, x, k, seed=0, verbose=0, labels=(y + 1) % 4)
    assert np.mean(np.abs(wrong - by_hand)) > 5


def test_missing_or_bad_labels_for_a_conditional_vae_raise(cppca):
    x, y = conditional_data(10)
    for fn in (anomaly_scores, log_likelihood):
        with pytest.raises(ValueError, match="needs `labels`"):
            fn(cppca, x, num_samples=2)
        with pytest.raises(ValueError, match="one label per example"):
            fn(cppca, x, num_samples=2, labels=y[:5])
        with pytest.raises(ValueError, match=r"class indices in \[0, 3\)"):
            fn(cppca, x, num_samples=2, labels=np.full(10, 3))


# === Bits per dimension ===


def test_bits_per_dim_divides_by_the_data_size_and_ln_2(tiny_vae):
    nats = 8 * math.log(2) * np.array([1.0, 2.5, -0.5])
    np.testing.assert_allclose(bits_per_dim(nats, tiny_vae), [1, 2.5, -0.5])
    mnist = keras_vae.build_mlp_vae(hidden_units=(4,), latent_dim=2)
    value = bits_per_dim(784 * math.log(2), mnist)
    assert value.shape == () and value.dtype == np.float64
    assert float(value) == pytest.approx(1.0, abs=1e-15)


# === The threshold ===


def test_threshold_is_the_quantile_of_the_validation_scores():
    scores = np.random.default_rng(0).permutation(np.arange(101.0))
    assert anomaly_threshold(scores) == 99.0
    assert anomaly_threshold(scores, quantile=0.5) == 50.0
    assert anomaly_threshold(scores, quantile=1) == 100.0
    assert anomaly_threshold(scores, quantile=0.0) == 0.0
    # Linear interpolation between order statistics.
    assert anomaly_threshold([4, 1, 3, 2], quantile=0.5) == 2.5
    assert isinstance(anomaly_threshold([1, 2]), float)


def test_threshold_flags_one_minus_the_quantile_of_normal_examples():
    scores = np.random.default_rng(1).normal(size=10_000)
    threshold = anomaly_threshold(scores, quantile=0.99)
    assert np.sum(scores > threshold) == 100
    threshold = anomaly_threshold(scores, quantile=0.95)
    assert np.sum(scores > threshold) == 500


@pytest.mark.parametrize("quantile", [-0.1, 1.5, math.nan, True, "high"])
def test_bad_quantile_raises(quantile):
    with pytest.raises(ValueError, match="Received: quantile="):
        anomaly_threshold([1.0, 2.0], quantile=quantile)


@pytest.mark.parametrize(
    "scores", [[], [[1.0, 2.0]], [1.0, math.nan], [math.inf, 0.0]]
)
def test_bad_scores_raise(scores):
    with pytest.raises(ValueError, match="non-empty 1-D array of finite"):
        anomaly_threshold(scores)


# === AUROC ===


def test_auroc_on_known_cases():
    assert auroc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert auroc([0, 0, 1, 1], [1, 2, 3, 4]) == 1.0
    assert auroc([1, 1, 0, 0], [1, 2, 3, 4]) == 0.0
    assert auroc([0, 1, 0, 1], [5, 5, 5, 5]) == 0.5
    # One unusual example at 2, normal ones at 1 and 2: a win and a tie.
    assert auroc([0, 0, 1], [1, 2, 2]) == 0.75
    assert auroc([False, True], [0.0, 1.0]) == 1.0


def test_auroc_matches_scikit_learn_with_ties():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    for _ in range(5):
        y = rng.integers(0, 2, size=500)
        scores = rng.integers(0, 20, size=500) + 3 * y  # Many ties.
        assert auroc(y, scores) == pytest.approx(
            metrics.roc_auc_score(y, scores), abs=1e-12
        )


def test_auroc_needs_both_kinds_of_example():
    with pytest.raises(ValueError, match="both normal"):
        auroc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError, match="one 0 .normal. or 1"):
        auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match="one 0 .normal. or 1"):
        auroc([0, 1, 1], [0.1, 0.2])


# === What it is for ===


def test_an_unseen_kind_of_image_scores_higher():
    # Trained on bars in rows 0-5; bars in rows 6-7 were never seen.
    keras.utils.set_random_seed(0)
    vae = keras_vae.build_mlp_vae(
        input_shape=(8, 8, 1), latent_dim=2, hidden_units=(32,), seed=0
    )
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    x_train, _ = bar_images(1536, [0, 1, 2])
    vae.fit(x_train, batch_size=64, epochs=10, verbose=0)
    x_val, _ = bar_images(300, [0, 1, 2], seed=1)
    normal, _ = bar_images(200, [0, 1, 2], seed=2)
    unusual, _ = bar_images(200, [3], seed=3)
    validation = anomaly_scores(vae, x_val, seed=0, verbose=0)
    scores = anomaly_scores(
        vae, np.concatenate([normal, unusual]), seed=0, verbose=0
    )
    assert auroc(np.repeat([0, 1], 200), scores) > 0.99
    threshold = anomaly_threshold(validation, quantile=0.99)
    assert np.mean(scores[200:] > threshold) > 0.95
    assert np.mean(scores[:200] > threshold) < 0.05
