"""Examples as rows of features, for the likelihoods' elementwise work."""

from keras import ops


def flatten_examples(t):
    """Returns `t` of shape `(batch, ...)` as `(batch, features)`.

    The log-densities are elementwise, then summed per example. XLA's CPU
    code vectorizes along the last axis, which for images is a channel axis
    of 1 (or a row of 28), so long flat rows compute faster (measured in
    docs/benchmarks/performance.md). A free reshape of contiguous memory.
    """
    return ops.reshape(t, (ops.shape(t)[0], -1))
