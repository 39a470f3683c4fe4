"""A smooth bound on a value: `bound * tanh(value / bound)`."""

from keras import ops


def soft_clamp(value, bound):
    """Returns `bound * tanh(value / bound)`: `value` squashed smoothly into
    `(-bound, bound)`.

    Near 0 it is the identity (slope 1, error below 1% for
    `|value| < bound / 6`); far out it saturates at `±bound` with a
    gradient that shrinks but never jumps to 0, unlike a hard clip. NVAE
    and VDVAE-style models bound log-variances (or log-scales) this way,
    so one large network output cannot make `exp(log_var)` explode in a
    step. `bound=None` returns `value` unchanged.
    """
    if bound is None:
        return value
    return bound * ops.tanh(value / bound)
