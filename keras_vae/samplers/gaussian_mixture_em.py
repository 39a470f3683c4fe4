"""Fitting a Gaussian mixture by EM, in NumPy float64: the math of
`GaussianMixtureSampler`, as small functions that a reader checks against
Bishop's "Pattern Recognition and Machine Learning", section 9.2, and
that tests compare with scikit-learn's `GaussianMixture`.

A fit is a dict of NumPy arrays: `weights` `(C,)`, `means` `(C, d)` and
`scales`, the Cholesky factors of the covariances: `(C, d, d)` lower
triangular for `"full"`, the standard deviations `(C, d)` for `"diag"`.
"""

import math
import warnings

import numpy as np

from keras_vae.utils.squared_distances import squared_distances

COVARIANCE_TYPES = ("full", "diag")
_LOG_2PI = math.log(2.0 * math.pi)
# Lloyd iterations of the k-means that starts each fit, at most.
_KMEANS_ITERATIONS = 100


def fit_gaussian_mixture(
    z,
    num_components,
    covariance_type="full",
    reg_covar=1e-6,
    max_iter=100,
    tol=1e-3,
    n_init=1,
    rng=None,
):
    """Fits a mixture of `num_components` Gaussians to the rows of `z` by
    EM, and returns the best of `n_init` fits (the highest average
    log-likelihood).

    Each fit starts from k-means seeded by greedy k-means++ (Arthur and
    Vassilvitskii, 2007; as scikit-learn seeds it), then alternates the
    E-step (the responsibilities) and the M-step (the weighted means and
    covariances, plus `reg_covar` on the diagonal, as scikit-learn adds
    it) until the average log-likelihood gains less than `tol`, or for
    `max_iter` iterations (a `RuntimeWarning` says so).

    Args:
        z: Float array `(n, d)`, `n >= num_components`.
        num_components: `C`, an integer >= 1.
        covariance_type: `"full"` or `"diag"`.
        reg_covar: The float >= 0 added to the covariances' diagonals.
        max_iter: The EM iterations of a fit, at most.
        tol: The convergence threshold on the average log-likelihood.
        n_init: The number of fits from different starts.
        rng: A `np.random.Generator` (of the starts).

    Returns:
        A dict: the fit (see the module's docstring), with
        `log_likelihood`, the average log-likelihood of `z` under it,
        `converged` and `num_iterations`.
    """
    z = np.asarray(z, dtype="float64")
    rng = np.random.default_rng() if rng is None else rng
    best = None
    for _ in range(n_init):
        fit = _fit_once(
            z, num_components, covariance_type, reg_covar, max_iter, tol, rng
        )
        if best is None or fit["log_likelihood"] > best["log_likelihood"]:
            best = fit
    if not best["converged"]:
        warnings.warn(
            f"EM did not converge in max_iter={max_iter} iterations "
            f"(tol={tol}): raise `max_iter`, or loosen `tol`.",
            RuntimeWarning,
            stacklevel=3,
        )
    return best


def _fit_once(
    z, num_components, covariance_type, reg_covar, max_iter, tol, rng
):
    labels = kmeans(z, num_components, rng)
    resp = np.eye(num_components)[labels]
    fit = m_step(z, resp, covariance_type, reg_covar)
    log_likelihood = -np.inf
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        previous = log_likelihood
        log_p = weighted_log_prob(z, fit)
        log_norm = np.logaddexp.reduce(log_p, axis=1)
        fit = m_step(
            z, np.exp(log_p - log_norm[:, None]), covariance_type, reg_covar
        )
        log_likelihood = log_norm.mean()
        if abs(log_likelihood - previous) < tol:
            converged = True
            break
    fit["log_likelihood"] = float(np.mean(log_prob(z, fit)))
    fit["converged"] = converged
    fit["num_iterations"] = iteration
    return fit


def kmeans(z, num_clusters, rng):
    """The cluster of each row of `z`, `(n,)` int, by Lloyd's k-means from
    greedy k-means++ seeds; an empty cluster keeps its centre."""
    centers = z[kmeans_plusplus(z, num_clusters, rng)]
    labels = None
    for _ in range(_KMEANS_ITERATIONS):
        new_labels = np.argmin(squared_distances(z, centers), axis=1)
        if labels is not None and np.array_equal(labels, new_labels):
            break
        labels = new_labels
        for k in range(num_clusters):
            members = z[labels == k]
            if len(members):
                centers[k] = members.mean(axis=0)
    return labels


def kmeans_plusplus(z, num_centers, rng):
    """The indices of `num_centers` rows of `z` chosen as k-means++ seeds:
    each next one among `2 + log(C)` candidates drawn with probability
    proportional to the squared distance to the nearest seed so far, the
    candidate that most lowers the total (greedy k-means++)."""
    n = len(z)
    trials = 2 + int(math.log(num_centers))
    chosen = [int(rng.integers(n))]
    closest = squared_distances(z, z[chosen])[:, 0]
    for _ in range(1, num_centers):
        total = closest.sum()
        if total <= 0:  # Every row is a seed already.
            candidates = rng.integers(n, size=trials)
        else:
            candidates = rng.choice(n, size=trials, p=closest / total)
        distances = np.minimum(
            closest[:, None], squared_distances(z, z[candidates])
        )
        best = int(np.argmin(distances.sum(axis=0)))
        chosen.append(int(candidates[best]))
        closest = distances[:, best]
    return np.array(chosen)


def m_step(z, resp, covariance_type, reg_covar):
    """The mixture of the responsibilities `resp` `(n, C)`: each component's
    weight, mean and covariance as the `resp`-weighted ones of `z`, plus
    `reg_covar` on the diagonal."""
    n, d = z.shape
    counts = resp.sum(axis=0) + 10 * np.finfo("float64").eps
    means = resp.T @ z / counts[:, None]
    if covariance_type == "full":
        covariances = np.empty((len(counts), d, d))
        for k, count in enumerate(counts):
            diff = z - means[k]
            covariances[k] = (resp[:, k] * diff.T) @ diff / count
            covariances[k].flat[:: d + 1] += reg_covar
        try:
            scales = np.linalg.cholesky(covariances)
        except np.linalg.LinAlgError:
            scales = None
    else:
        variances = np.stack(
            [
                resp[:, k] @ np.square(z - means[k]) / count
                for k, count in enumerate(counts)
            ]
        )
        variances += reg_covar
        scales = np.sqrt(variances) if np.all(variances > 0) else None
    if scales is None:
        raise ValueError(
            "A component's covariance is not positive definite: it holds "
            "too few distinct points (or the latents repeat). Raise "
            "`reg_covar` or use fewer components. "
            f"Received: reg_covar={reg_covar}"
        )
    return {"weights": counts / n, "means": means, "scales": scales}


def component_log_prob(z, fit):
    """`log N(z; mean_c, cov_c)` of every row and component, `(n, C)`."""
    means, scales = fit["means"], fit["scales"]
    d = z.shape[1]
    out = np.empty((len(z), len(means)))
    for k, (mean, scale) in enumerate(zip(means, scales)):
        if scale.ndim == 1:  # "diag": the standard deviations.
            squared = np.sum(np.square((z - mean) / scale), axis=1)
            log_det = np.sum(np.log(scale))
        else:
            # `y = L^-1 (z - mean)`: `|y|^2` is the Mahalanobis term. One
            # inverse of `L` and one product of all the rows (as
            # scikit-learn does): half the time of solving for `n` rows.
            y = (z - mean) @ np.linalg.inv(scale).T
            squared = np.sum(np.square(y), axis=1)
            log_det = np.sum(np.log(np.diag(scale)))
        out[:, k] = -0.5 * (d * _LOG_2PI + squared) - log_det
    return out


def weighted_log_prob(z, fit):
    """`log w_c + log N(z; mean_c, cov_c)`, `(n, C)`."""
    return component_log_prob(z, fit) + np.log(fit["weights"])


def log_prob(z, fit):
    """`log sum_c w_c N(z; mean_c, cov_c)` of every row of `z`, `(n,)`."""
    z = np.asarray(z, dtype="float64")
    return np.logaddexp.reduce(weighted_log_prob(z, fit), axis=1)
