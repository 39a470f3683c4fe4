"""The range every log-variance of keras-vae is clipped to, and the clip."""

from keras import ops

#: The smallest log-variance used: `exp(-30) ~ 9e-14`, a standard deviation
#: of about `3e-7`, far below any useful posterior or pixel noise.
LOG_VARIANCE_MIN = -30.0

#: The largest log-variance used: `exp(20) ~ 5e8`, a standard deviation of
#: about `2.2e4`. The KL term's `exp(log_var)` then stays below float32's
#: `3.4e38` (it overflows from `log_var ~ 88.7`), as do its gradients.
LOG_VARIANCE_MAX = 20.0


def clip_log_variance(log_var):
    """Clips `log_var` to `[LOG_VARIANCE_MIN, LOG_VARIANCE_MAX]` with a
    straight-through gradient.

    The value is `clip(log_var, -30, 20)`, exactly `log_var` inside the
    range; the gradient is 1 everywhere, so a loss evaluated at the clipped
    value still sends its gradient to an input outside the range. With a
    plain clip that gradient would be 0 there: an encoder whose
    `z_log_var` left the range would get no signal back from the KL term,
    whose gradient at the bounds (`0.5 * (exp(log_var) - 1)`) points into
    the range. The range is the one of Stable Diffusion's autoencoder
    (Rombach et al., 2022).

    `x - stop_gradient(x)` is exactly 0 for finite `x`, so the value is the
    clipped one to the last bit, even for `|log_var|` far beyond the range
    (the textbook `x + stop_gradient(clip(x) - x)` rounds to 0 there).
    """
    clipped = ops.clip(log_var, LOG_VARIANCE_MIN, LOG_VARIANCE_MAX)
    return ops.stop_gradient(clipped) + (log_var - ops.stop_gradient(log_var))
