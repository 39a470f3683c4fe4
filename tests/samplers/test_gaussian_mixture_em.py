"""The EM of `GaussianMixtureSampler`, in NumPy float64, against
scikit-learn's `GaussianMixture` (the reference: a dev dependency, not
one of keras-vae's) on a real table, and on a synthetic mixture whose
parameters it must recover."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.mixture import GaussianMixture

from keras_vae.samplers import gaussian_mixture_em as em


@pytest.fixture(scope="module")
def cancer():
    """The 569 x 30 breast-cancer table, standardized per column."""
    x = load_breast_cancer().data
    return (x - x.mean(axis=0)) / x.std(axis=0)


def as_fit(gm, covariance_type):
    """scikit-learn's fitted mixture as `gaussian_mixture_em` holds one."""
    if covariance_type == "full":
        scales = np.linalg.cholesky(gm.covariances_)
    else:
        scales = np.sqrt(gm.covariances_)
    return {"weights": gm.weights_, "means": gm.means_, "scales": scales}


@pytest.mark.parametrize(
    "covariance_type, num_components",
    [("full", 1), ("full", 3), ("diag", 1), ("diag", 3), ("diag", 5)],
)
def test_em_reaches_sklearns_log_likelihood(
    cancer, covariance_type, num_components
):
    options = dict(reg_covar=1e-6, max_iter=500, tol=1e-6, n_init=5)
    fit = em.fit_gaussian_mixture(
        cancer,
        num_components,
        covariance_type,
        rng=np.random.default_rng(0),
        **options,
    )
    reference = GaussianMixture(
        num_components,
        covariance_type=covariance_type,
        random_state=0,
        **options,
    ).fit(cancer)
    assert fit["converged"]
    # The average log-likelihood per example, in nats (tens of them on
    # 30 standardized columns): the same optimum.
    assert fit["log_likelihood"] == pytest.approx(
        reference.score(cancer), abs=1e-3
    )
    assert fit["log_likelihood"] == pytest.approx(
        em.log_prob(cancer, fit).mean(), abs=1e-12
    )
    order = np.argsort(fit["weights"])
    np.testing.assert_allclose(
        fit["weights"][order], np.sort(reference.weights_), atol=1e-3
    )


@pytest.mark.parametrize("covariance_type", ["full", "diag"])
def test_log_prob_is_sklearns_for_the_same_mixture(cancer, covariance_type):
    reference = GaussianMixture(
        4, covariance_type=covariance_type, random_state=0
    ).fit(cancer)
    np.testing.assert_allclose(
        em.log_prob(cancer, as_fit(reference, covariance_type)),
        reference.score_samples(cancer),
        rtol=1e-10,
        atol=1e-9,
    )


def test_em_recovers_a_known_mixture():
    rng = np.random.default_rng(1)
    weights = np.array([0.5, 0.3, 0.2])
    means = np.array([[0.0, 0.0], [6.0, 1.0], [-2.0, 7.0]])
    covariances = np.array(
        [
            [[1.0, 0.6], [0.6, 1.0]],
            [[0.5, 0.0], [0.0, 2.0]],
            [[2.0, -0.8], [-0.8, 1.0]],
        ]
    )
    counts = rng.multinomial(20_000, weights)
    z = np.concatenate(
        [
            rng.multivariate_normal(m, c, size=n)
            for m, c, n in zip(means, covariances, counts)
        ]
    )
    fit = em.fit_gaussian_mixture(
        z, 3, "full", tol=1e-8, rng=np.random.default_rng(0)
    )
    order = np.argsort(-fit["weights"])  # The components by weight.
    scales = fit["scales"][order]
    fitted = scales @ np.swapaxes(scales, 1, 2)
    # Near the truth, within the sampling error of 20,000 draws...
    np.testing.assert_allclose(fit["weights"][order], weights, atol=0.01)
    np.testing.assert_allclose(fit["means"][order], means, atol=0.05)
    np.testing.assert_allclose(fitted, covariances, atol=0.15)
    # ... and at the maximum likelihood of these draws, as sklearn finds it.
    reference = GaussianMixture(3, tol=1e-8, random_state=0).fit(z)
    reference_order = np.argsort(-reference.weights_)
    np.testing.assert_allclose(
        fit["means"][order], reference.means_[reference_order], atol=1e-4
    )
    np.testing.assert_allclose(
        fitted, reference.covariances_[reference_order], atol=1e-4
    )
    # Lower triangular with a positive diagonal: Cholesky factors.
    assert np.all(np.triu(scales, 1) == 0)
    assert np.all(np.diagonal(scales, axis1=1, axis2=2) > 0)


def test_the_seed_reproduces_the_fit(cancer):
    fits = [
        em.fit_gaussian_mixture(cancer, 3, rng=np.random.default_rng(s))
        for s in (5, 5)
    ]
    for key in ("weights", "means", "scales"):
        np.testing.assert_array_equal(fits[0][key], fits[1][key])


def test_kmeans_plusplus_picks_distinct_far_apart_rows():
    # Three tight clusters: the seeds fall one in each.
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [100.0, 0.0], [0.0, 100.0]])
    z = np.concatenate([c + rng.normal(size=(50, 2)) for c in centres])
    chosen = em.kmeans_plusplus(z, 3, np.random.default_rng(0))
    assert sorted(chosen // 50) == [0, 1, 2]


def test_em_warns_when_it_stops_before_converging(cancer):
    with pytest.warns(RuntimeWarning, match="max_iter=2"):
        fit = em.fit_gaussian_mixture(
            cancer, 3, max_iter=2, tol=0.0, rng=np.random.default_rng(0)
        )
    assert not fit["converged"] and fit["num_iterations"] == 2


def test_repeated_points_ask_for_more_reg_covar():
    z = np.repeat(np.eye(3), 4, axis=0)  # 3 distinct points, 3-D.
    with pytest.raises(ValueError, match="Received: reg_covar=0.0"):
        em.fit_gaussian_mixture(
            z, 3, "full", reg_covar=0.0, rng=np.random.default_rng(0)
        )
