"""The maths of the discretized logistic likelihoods, as pure functions of
tensors in the `[-1, 1]` units where level `v` is `v / 127.5 - 1`: the
log-probability of a level, the expectation of a clipped logistic and
PixelCNN++'s coupling of the RGB channels."""

import math

from keras import ops

#: The smallest log-scale used, in the `[-1, 1]` units of the means: a scale
#: of `exp(-7) ~ 9e-4`, 0.12 of a level, as in PixelCNN++. At it the level
#: under the mean gets 97% of the mass.
LOG_SCALE_MIN = -7.0

#: The log of a level's width, `2 / 255` in the `[-1, 1]` units.
LOG_LEVEL_WIDTH = math.log(2.0 / 255)


def level_value(levels):
    """The value `v / 127.5 - 1` of levels `v` in the `[-1, 1]` units,
    written `(v - 127.5) * (1 / 127.5)`: the same float32 on every backend
    (XLA makes a division by a constant this multiplication, TensorFlow's
    eager kernels divide)."""
    return (levels - 127.5) * (1 / 127.5)


def coupled_mean(means, coefficients, values, channel):
    """The mean of RGB `channel` (0, 1, 2) in each component, from its own
    `means[..., channel, :]` and the values, `[-1, 1]` units, of the
    channels before it (`values[0]` for R, `values[1]` for G): PixelCNN++'s
    coupling, G on R by `alpha`, B on R by `beta` and on G by `gamma`."""
    mean = means[..., channel, :]
    if channel == 1:
        mean = mean + coefficients[..., 0, :] * values[0]
    if channel == 2:
        mean = (
            mean
            + coefficients[..., 1, :] * values[0]
            + coefficients[..., 2, :] * values[1]
        )
    return mean


def channel_by_channel(means, coefficients, level_of):
    """The level `level_of(mean, c)` of every channel `c`, `(..., C, K)`:
    all at once for independent channels; for RGB (`coefficients` given)
    R, then G and B from their means coupled to the levels before them."""
    if coefficients is None:
        return level_of(means, slice(None))
    levels, values = [], []
    for channel in (0, 1, 2):
        mean = coupled_mean(means, coefficients, values, channel)
        levels.append(level_of(mean, channel))
        values.append(level_value(levels[-1]))
    return ops.stack(levels, axis=-2)


def log_level_probability(levels, means, log_scales):
    """`log P(level)` of the discretized logistic: the edge levels 0 and 255
    are open-ended, an interior level's mass is `F(b_+) - F(b_-)` at its
    edges `b_± = level ± 0.5`, written
    `sigmoid(a) * sigmoid(-b) * (1 - exp(b - a))` for the standardized
    edges `a`, `b`, whose logs are all exact (`a - b` is `(2/255) / scale`,
    so its log is `log(2/255) - log_scale` with no exp to underflow).

    The distance from the mean is taken in levels, `(level - 127.5) -
    127.5 * mean`, whose one rounding is that of `127.5 * mean`: it is
    accurate where a level is many scales from a sharp mean, the
    difference of two close values in the `[-1, 1]` units would not be."""
    centered = (levels - 127.5) - 127.5 * means
    inv_scale = ops.exp(-log_scales) * (1 / 127.5)  # Per level.
    log_below_upper = -ops.softplus(-inv_scale * (centered + 0.5))
    log_above_lower = -ops.softplus(inv_scale * (centered - 0.5))
    interior = (
        log_below_upper
        + log_above_lower
        + log1mexp(LOG_LEVEL_WIDTH - log_scales)
    )
    return ops.where(
        levels == 0.0,
        log_below_upper,
        ops.where(levels == 255.0, log_above_lower, interior),
    )


def log1mexp(log_t):
    """`log(1 - exp(-t))` of `t = exp(log_t) > 0`, accurate for any `t` and
    with finite gradients: below `t = exp(-10)` it is `log(t) - t / 2`, an
    error of `t**2 / 24` (which keeps `t` underflowing to 0 harmless)."""
    t = ops.exp(log_t)
    tiny = log_t < -10.0
    return ops.where(
        tiny,
        log_t - 0.5 * t,
        ops.log(-expm1(-ops.where(tiny, 1.0, t))),
    )


def expm1(x):
    """`exp(x) - 1`, accurate near 0: its Taylor series below `|x| = 1/2`
    (to `x**9 / 9!`, a relative error under 1e-9), `exp(x) - 1` above.

    TensorFlow's `Expm1` and `Log1p` have no ONNX operator and `Sinh` and
    `Atanh` no TFLite builtin: written with any of them, the exported
    `score` (and a discretized logistic's decoder) would not convert. A
    polynomial needs neither, nor an accurate `exp` near 0, which tricks
    such as Kahan's rely on (TensorFlow's float32 `exp` is not)."""
    small = ops.abs(x) < 0.5
    near = ops.where(small, x, 0.0)
    series = ops.ones_like(near)
    for k in range(9, 1, -1):
        series = 1.0 + near / k * series
    return ops.where(small, near * series, ops.exp(x) - 1.0)


def log1p(x):
    """`log(1 + x)` of `x > -1`, accurate near 0: `2 atanh(x / (2 + x))` by
    its series below `|x| = 1/2` (to the 15th power of `x / (2 + x)`, a
    relative error under 1e-8), `log(1 + x)` above (see `expm1`)."""
    small = ops.abs(x) < 0.5
    near = ops.where(small, x, 0.0)
    z = near / (2.0 + near)
    z2 = z * z
    series = ops.full_like(z, 1.0 / 15.0)
    for k in (13, 11, 9, 7, 5, 3):
        series = 1.0 / k + z2 * series
    far = ops.where(small, 1.0, x)
    return ops.where(small, 2.0 * z * (1.0 + z2 * series), ops.log(1.0 + far))


def expected_level(mean, log_scale):
    """`E[clip(U, 0, 255)]` of `U`, the logistic of `mean` and `log_scale`
    (`[-1, 1]` units) in levels: `127.5 * s * (softplus((m + 1) / s) -
    softplus((m - 1) / s))`, in a form that keeps float32's digits at each
    scale `s`. Each form is computed at the log-scale clipped to its range,
    so that none overflows, even where not used."""
    # s <= 1: the difference itself loses nothing; `m` beyond +-25 changes
    # it by less than 1e-8 (and would cost digits).
    narrow_log_scale = ops.minimum(log_scale, 0.0)
    inv_scale = ops.exp(-narrow_log_scale)
    m = ops.clip(mean, -25.0, 25.0)
    narrow = (
        127.5
        * ops.exp(narrow_log_scale)
        * (
            ops.softplus((m + 1.0) * inv_scale)
            - ops.softplus((m - 1.0) * inv_scale)
        )
    )
    # 1 < s <= exp(20): the two softplus are close, their difference is
    # `log1p(sigmoid(q) * expm1(p - q))` with `p - q = 2 / s`.
    wide_log_scale = ops.clip(log_scale, 0.0, 20.0)
    inv_scale = ops.exp(-wide_log_scale)
    wide = (
        127.5
        * ops.exp(wide_log_scale)
        * log1p(ops.sigmoid((mean - 1.0) * inv_scale) * expm1(2.0 * inv_scale))
    )
    # s > exp(20): the midpoint rule, off by less than 4 / s**2 levels.
    widest = 255.0 * ops.sigmoid(mean * ops.exp(-ops.maximum(log_scale, 20.0)))
    return ops.where(
        log_scale <= 0.0,
        narrow,
        ops.where(log_scale <= 20.0, wide, widest),
    )


def nearest_level(value):
    """The level 0-255 of a value in `[-1, 1]` units: level `v` covers
    `[v - 0.5, v + 0.5)` after `* 127.5 + 127.5`; the tails go to the
    edge levels."""
    return ops.clip(ops.round((value + 1.0) * 127.5), 0.0, 255.0)
