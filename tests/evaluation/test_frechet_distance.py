"""`frechet_distance` against the closed form for two Gaussians, and its
errors."""

import numpy as np
import pytest

from keras_vae.evaluation import frechet_distance


def features_with(mean, cov, n=500, seed=0):
    """`n` rows whose sample mean and covariance (ddof=1) are exactly `mean`
    and `cov`: standard normal draws, centred and whitened, then coloured."""
    rng = np.random.default_rng(seed)
    d = len(mean)
    x = rng.normal(size=(n, d))
    x -= x.mean(axis=0)
    x = x @ np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False))).T
    return x @ np.linalg.cholesky(cov).T + mean


def trace_sqrt_2x2(m):
    """`Tr(m^(1/2))` of a 2x2 matrix with positive eigenvalues:
    `sqrt(Tr m + 2 sqrt(det m))` (square the root's trace)."""
    return np.sqrt(np.trace(m) + 2.0 * np.sqrt(np.linalg.det(m)))


def test_two_gaussians_of_non_commuting_covariances():
    mean_a, mean_b = np.array([1.0, -2.0]), np.array([0.5, 3.0])
    cov_a = np.array([[2.0, 0.8], [0.8, 1.0]])
    cov_b = np.array([[0.5, -0.3], [-0.3, 3.0]])
    expected = (
        np.sum((mean_a - mean_b) ** 2)
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2.0 * trace_sqrt_2x2(cov_a @ cov_b)
    )
    got = frechet_distance(
        features_with(mean_a, cov_a, seed=1),
        features_with(mean_b, cov_b, seed=2),
    )
    assert got == pytest.approx(expected, rel=1e-6)


def test_diagonal_gaussians_in_many_dimensions():
    # Commuting covariances: sum (sqrt(a) - sqrt(b))^2 + |m_a - m_b|^2.
    rng = np.random.default_rng(3)
    d = 64
    var_a, var_b = rng.uniform(0.1, 4.0, d), rng.uniform(0.1, 4.0, d)
    mean_a, mean_b = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mean_a - mean_b) ** 2) + np.sum(
        (np.sqrt(var_a) - np.sqrt(var_b)) ** 2
    )
    got = frechet_distance(
        features_with(mean_a, np.diag(var_a), n=2000, seed=4),
        features_with(mean_b, np.diag(var_b), n=3000, seed=5),
    )
    assert got == pytest.approx(expected, rel=1e-6)


def test_identical_sets_are_at_distance_zero_and_it_is_symmetric():
    rng = np.random.default_rng(6)
    a = rng.normal(size=(300, 10)) @ rng.normal(size=(10, 10))
    b = rng.normal(size=(400, 10))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, b) == pytest.approx(
        frechet_distance(b, a), rel=1e-9
    )


def test_a_singular_covariance_of_enough_examples_is_exact():
    # A feature that never varies (a dead ReLU) leaves the covariance
    # singular; the distance is still the closed form.
    mean = np.array([0.0, 1.0])
    a = features_with(mean, np.diag([1.0, 4.0]), seed=7)
    b = features_with(mean, np.diag([4.0, 4.0]), seed=8)
    a, b = (np.concatenate([x, np.zeros((len(x), 1))], 1) for x in (a, b))
    assert frechet_distance(a, b) == pytest.approx(1.0, rel=1e-6)


def test_images_are_flattened_per_example():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(50, 2, 2)), rng.normal(size=(60, 2, 2)) + 1.0
    assert frechet_distance(a, b) == pytest.approx(
        frechet_distance(a.reshape(50, 4), b.reshape(60, 4))
    )


def test_feature_sets_of_different_widths_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same number of features.*128.*64"):
        frechet_distance(
            rng.normal(size=(500, 128)), rng.normal(size=(500, 64))
        )


def test_fewer_examples_than_features_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(
        ValueError, match="100 examples of 128 features.*singular"
    ):
        frechet_distance(
            rng.normal(size=(100, 128)), rng.normal(size=(500, 128))
        )


def test_non_finite_features_are_refused():
    a = np.random.default_rng(0).normal(size=(50, 3))
    a[4, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite.*1 non-finite"):
        frechet_distance(a, a[::-1])
