import numpy as np


def frechet_distance(features_a, features_b):
    """The Fréchet distance between the Gaussians fitted to two feature sets.

    Each set of features (one row per example) is summarised by its mean
    `m` and covariance `C`, and the distance between `N(m_a, C_a)` and
    `N(m_b, C_b)` is

        ||m_a - m_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2))

    as FID computes it (Heusel et al., 2017) in the features of whatever
    network gave them: lower is closer, 0 for identical statistics. It is
    computed in float64, and the trace of the matrix square root as
    `Tr((C_a^(1/2) C_b C_a^(1/2))^(1/2))`, the sum of the square roots of the
    eigenvalues of a symmetric positive semi-definite matrix: no
    non-symmetric `sqrtm`, no imaginary parts to discard, exact for singular
    covariances too.

    Its value depends on the feature network and on the number of examples
    (it is biased upwards for small sets): compare distances computed with
    the same features and the same set sizes only.

    Args:
        features_a: An array of shape `(n_a, d)` (or `(n_a, ...)`, flattened
            per example), with `n_a > d`.
        features_b: An array of shape `(n_b, d)`, the same `d`, `n_b > d`.

    Returns:
        The distance, a Python float >= 0.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> a = rng.normal(size=(5000, 2))
    >>> b = rng.normal(loc=(3.0, 0.0), size=(5000, 2))
    >>> round(keras_vae.evaluation.frechet_distance(a, b))  # ~ 3^2
    9

    Reference:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule
        Converge to a Local Nash Equilibrium", NeurIPS 2017; Dowson and
        Landau, "The Fréchet distance between multivariate normal
        distributions", 1982.
    """
    mean_a, cov_a = _statistics(features_a, "features_a")
    mean_b, cov_b = _statistics(features_b, "features_b")
    if mean_a.shape != mean_b.shape:
        raise ValueError(
            "The two feature sets must have the same number of features per "
            "example (computed by the same network). Received: features_a "
            f"with {mean_a.shape[0]} features and features_b with "
            f"{mean_b.shape[0]}"
        )
    root_a = _psd_square_root(cov_a)
    trace_root = np.sum(np.sqrt(_psd_eigenvalues(root_a @ cov_b @ root_a)))
    distance = (
        np.sum(np.square(mean_a - mean_b))
        + np.trace(cov_a)
        + np.trace(cov_b)
        - 2.0 * trace_root
    )
    # Rounding can leave -1e-12 where the statistics are equal.
    return float(max(distance, 0.0))


def _statistics(features, name):
    """The mean and covariance (float64) of `features`, rows as examples."""
    features = np.asarray(features)
    if features.ndim < 2 or not np.issubdtype(features.dtype, np.number):
        raise ValueError(
            f"`{name}` must be a numeric array of features, one row per "
            f"example. Received: {name} of shape {features.shape} and "
            f"dtype {features.dtype}"
        )
    features = features.reshape(len(features), -1).astype("float64")
    n, d = features.shape
    if n <= d:
        raise ValueError(
            f"`{name}` has {n} examples of {d} features: the covariance of "
            "fewer examples than features plus one is singular, and the "
            "Fréchet distance would measure the sample size, not the data. "
            f"Pass more than {d} examples (thousands, for a stable value) or "
            f"features of fewer dimensions. Received: {name} of shape "
            f"{features.shape}"
        )
    if not np.all(np.isfinite(features)):
        raise ValueError(
            f"`{name}` holds NaN or infinite values. Received: "
            f"{int(np.sum(~np.isfinite(features)))} non-finite values"
        )
    return features.mean(axis=0), np.cov(features, rowvar=False, ddof=1)


def _psd_eigenvalues(matrix):
    """The eigenvalues of a symmetric positive semi-definite matrix, the
    tiny negative ones rounding leaves clipped to 0."""
    return np.clip(np.linalg.eigvalsh(0.5 * (matrix + matrix.T)), 0.0, None)


def _psd_square_root(matrix):
    """The symmetric square root of a positive semi-definite matrix."""
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T
