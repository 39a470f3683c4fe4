import numpy as np


def squared_distances(a, b):
    """`|a_i - b_j|^2` of the rows of two arrays, `(len(a), len(b))`, in
    their dtype, without the `(len(a), len(b), d)` array of the
    differences; the tiny negative values of the expansion's rounding are
    clipped to 0."""
    squared = (
        np.sum(np.square(a), axis=1)[:, None]
        - 2 * a @ b.T
        + np.sum(np.square(b), axis=1)[None, :]
    )
    return np.maximum(squared, 0.0)
