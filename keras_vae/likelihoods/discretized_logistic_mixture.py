import math

import keras
import numpy as np
from keras import ops

from keras_vae.likelihoods.flatten import flatten_examples
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.data_checks import is_numeric_dtype

#: The smallest log-scale used, in the `[-1, 1]` units of the means: a scale
#: of `exp(-7) ~ 9e-4`, 0.12 of a level, as in PixelCNN++. At it the level
#: under the mean gets 97% of the mass.
LOG_SCALE_MIN = -7.0

# Half a level, and the log of a level's width, in the `[-1, 1]` units.
_HALF_LEVEL = 1.0 / 255
_LOG_LEVEL_WIDTH = math.log(2.0 / 255)


@keras.saving.register_keras_serializable(package="keras_vae")
class DiscretizedLogisticMixture(keras.layers.Layer):
    """The discretized logistic mixture likelihood `p(x|z)` of PixelCNN++,
    for 8-bit pixels.

    Each pixel is a mixture of `num_mixtures` components; in a component
    each channel's value is a logistic distribution discretized to the 256
    levels 0-255: level `v` gets the logistic's mass on `[v - 0.5, v + 0.5)`,
    level 0 all of it below 0.5 and level 255 all of it from 254.5 up, so
    the 256 probabilities sum to 1. Means and scales are in the units where
    level `v` is `v / 127.5 - 1` (the levels span `[-1, 1]`, one level is
    `2 / 255` wide): a decoder output of 0 is mid grey (127.5) with a
    scale of 127.5 levels.

    Channels: for 3 channels (RGB) a component couples them as PixelCNN++
    does: R has mean `mu_R`, G has `mu_G + alpha * r`, B has
    `mu_B + beta * r + gamma * g`, with `r`, `g` the R and G values in
    `[-1, 1]` units and `alpha`, `beta`, `gamma` in `(-1, 1)` (tanh of the
    decoder's outputs). For any other channel count the channels of a
    component are independent (they still depend on each other through the
    component they share).

    Parameters: the decoder's output `params` has the data's shape but for
    its last axis, which holds `output_channels(C)` values per pixel: for
    `K = num_mixtures`, first the `K` mixture logits, then one block per
    channel `c = 0, 1, ...` at `K + c * B`, of `B = 3 * K` values for RGB
    (`K` means, `K` log-scales, `K` coupling coefficients before the tanh:
    `alpha` in R's block, `beta` in G's, `gamma` in B's) and `B = 2 * K`
    otherwise (`K` means, `K` log-scales). That is PixelCNN++'s layout:
    `10 * K` values for RGB, `K * (1 + 2 * C)` for `C` channels. Log-scales
    are used clipped from below at `LOG_SCALE_MIN = -7`.

    The likelihood works in the data's own units (`pixel_values = True`):
    `negative_log_likelihood(x, params)` takes the pixel values themselves,
    0-255 (integer, or float rounded to the nearest level and clipped to
    `[0, 255]`), of shape `(batch, ..., C)`, typically `(batch, H, W, C)`,
    and returns `-log p(x|z)` in nats per example, summed over pixels and
    channels. It is exact to float32: a level's log-probability is
    `log sigmoid(a) + log sigmoid(-b) + log(1 - exp(b - a))`, `a` and `b`
    the standardized edges of the level, with no difference of CDFs that
    could lose its digits or underflow, so PixelCNN++'s fallback to the
    density at the level's centre is never needed. It is computed in float32
    under any dtype policy, with `keras.ops` only.

    `mean(params)` is the mixture of the components' expectations, in
    levels, of shape `(batch, ..., C)`, float32 in `[0, 255]`: each
    channel's is the expectation of its logistic clipped to `[0, 255]`, in
    closed form, which differs from the expectation of the discretized
    value by the rounding (less than half a level, and less than 0.02 of a
    level for scales of one level or more). For RGB, G's and B's means
    couple to the expected R and G of their component, which gives the same
    closed form as the expectation over R and G wherever the component's
    values keep clear of 0 and 255 (the coupling is linear).

    `sample(params, seed=None)` draws levels, 0-255 as float32, of the same
    shape, from the discretized distribution itself: a component by the
    Gumbel-max trick, then each channel's logistic, rounded to its level
    and clipped; for RGB channel by channel, G and B coupled to the levels
    drawn for R and G (PixelCNN++ couples to R and G before rounding, a
    slightly different distribution from the one it trains).

    Args:
        num_mixtures: The number of mixture components, an integer >= 1
            (10 in PixelCNN++).
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    >>> likelihood = DiscretizedLogisticMixture(num_mixtures=2)
    >>> likelihood.output_channels(3), likelihood.output_channels(1)
    (20, 6)
    >>> params = keras.ops.zeros((1, 4, 4, 20))
    >>> x = keras.ops.full((1, 4, 4, 3), 128)
    >>> nll = likelihood.negative_log_likelihood(x, params)
    >>> tuple(nll.shape)
    (1,)

    Reference:
        Salimans, Karpathy, Chen and Kingma, "PixelCNN++: Improving the
        PixelCNN with Discretized Logistic Mixture Likelihood and Other
        Modifications", ICLR 2017.
    """

    #: Whether the decoder output is logits rather than the mean.
    has_logits = False

    #: Whether `p(x|z)` is a density over real values (a preprocessing's
    #: Jacobian then applies to its log-likelihood).
    continuous = False

    #: Whether `negative_log_likelihood` takes the pixel values themselves,
    #: 0-255, whatever the encoder's preprocessing, and `mean` and `sample`
    #: return values in `[0, 255]`.
    pixel_values = True

    # Whether `params` starts with the mixture logits (not for one logistic).
    _mixture_logits = True

    def __init__(self, num_mixtures=10, **kwargs):
        super().__init__(**kwargs)
        self.num_mixtures = check_positive_int(num_mixtures, "num_mixtures")

    def build(self, input_shape):
        if input_shape and input_shape[-1] is not None:
            self._channels(input_shape[-1])

    def output_channels(self, data_channels):
        """How many decoder outputs a pixel of `data_channels` channels
        needs: the mixture logits, then per channel the means, log-scales
        and, for 3 channels, the coupling coefficients of every
        component."""
        data_channels = check_positive_int(data_channels, "data_channels")
        per_channel = 3 if data_channels == 3 else 2
        return self._num_logits + (
            self.num_mixtures * per_channel * data_channels
        )

    def negative_log_likelihood(self, x, params):
        logits, means, log_scales, coefficients = self._components(params)
        x = ops.cast(x, "float32")
        self._check_channels(x, means)
        levels = ops.clip(ops.round(x), 0.0, 255.0)
        levels = ops.expand_dims(levels, -1)  # (..., C, 1): per component.
        values = levels / 127.5 - 1.0
        if coefficients is not None:
            observed = [values[..., 0, :], values[..., 1, :]]
            means = ops.stack(
                [
                    _coupled_mean(means, coefficients, observed, c)
                    for c in (0, 1, 2)
                ],
                axis=-2,
            )
        log_probs = _log_level_probability(levels, values, means, log_scales)
        log_px = ops.logsumexp(
            ops.sum(log_probs, axis=-2) + ops.log_softmax(logits, axis=-1),
            axis=-1,
        )
        return -ops.sum(flatten_examples(log_px), axis=-1)

    def mean(self, params):
        logits, means, log_scales, coefficients = self._components(params)
        levels = _channel_by_channel(
            means,
            coefficients,
            lambda mean, c: _expected_level(mean, log_scales[..., c, :]),
        )
        if logits.shape[-1] == 1:
            return ops.clip(levels[..., 0], 0.0, 255.0)
        weights = ops.expand_dims(ops.softmax(logits, axis=-1), -2)
        return ops.clip(ops.sum(levels * weights, axis=-1), 0.0, 255.0)

    def sample(self, params, seed=None):
        logits, means, log_scales, coefficients = self._components(params)
        k, channels = logits.shape[-1], means.shape[-2]
        # One draw for all the noise, so that an integer seed cannot give
        # the component and the channels the same uniforms.
        uniform = keras.random.uniform(
            tuple(ops.shape(logits)[:-1]) + (k + channels,), seed=seed
        )
        gumbel = -ops.log(-ops.log(uniform[..., :k]))
        chosen = ops.one_hot(ops.argmax(logits + gumbel, axis=-1), k)
        chosen = ops.expand_dims(chosen, -2)  # (..., 1, K)

        def pick(t):  # The chosen component's values, (..., C, 1).
            return ops.sum(t * chosen, axis=-1, keepdims=True)

        u = ops.expand_dims(uniform[..., k:], -1)  # (..., C, 1)
        logistic = ops.log(u) - ops.log1p(-u)
        scales = ops.exp(pick(log_scales))
        levels = _channel_by_channel(
            pick(means),
            None if coefficients is None else pick(coefficients),
            lambda mean, c: _level(
                mean + scales[..., c, :] * logistic[..., c, :]
            ),
        )
        return ops.squeeze(levels, -1)

    def check_dtype(self, dtype, name="x"):
        dtype = np.dtype(dtype)
        if not is_numeric_dtype(dtype):
            raise ValueError(
                f"The {type(self).__name__} likelihood models 8-bit pixel "
                f"values, 0 to 255, but `{name}` has dtype {dtype}. Pass the "
                f"images as they were read, e.g. as uint8. Received: "
                f"{name}.dtype={dtype}"
            )

    def check_data(self, x, name="x"):
        self.check_dtype(x.dtype, name)
        if np.size(x) == 0:
            return
        low, high = float(np.min(x)), float(np.max(x))
        if low < 0 or high > 255:
            raise ValueError(
                f"The {type(self).__name__} likelihood models 8-bit pixel "
                f"values, 0 to 255, but `{name}` ranges over "
                f"[{low:g}, {high:g}]. Pass the images as they were read "
                f"(uint8), not standardized. Received: min={low:g}, "
                f"max={high:g}"
            )
        if np.issubdtype(x.dtype, np.floating):
            fractional = np.asarray(x)[np.asarray(x) != np.round(x)]
            if fractional.size:
                hint = (
                    " They look rescaled to [0, 1]: pass the values 0-255."
                    if high <= 1
                    else f" Round them first, e.g. `np.round({name})`."
                )
                raise ValueError(
                    f"The {type(self).__name__} likelihood gives a "
                    f"probability to each of the 256 levels 0, 1, ..., 255, "
                    f"but `{name}` holds {fractional.size} values between "
                    f"levels, such as {float(fractional[0]):g}.{hint} "
                    f"Received: {name} with {fractional.size} non-integer "
                    f"values"
                )

    def get_config(self):
        return {**super().get_config(), "num_mixtures": self.num_mixtures}

    @property
    def _num_logits(self):
        return self.num_mixtures if self._mixture_logits else 0

    def _channels(self, size):
        """The channel count `C` of which `size` is `output_channels(C)`."""
        if size == self.output_channels(3):
            return 3
        per_component = size - self._num_logits
        channels = per_component // (2 * self.num_mixtures)
        if channels >= 1 and channels != 3:
            if self.output_channels(channels) == size:
                return channels
        if self._mixture_logits:
            layout = f"{self.num_mixtures} * (1 + 2 * C) values for C channels"
        else:
            layout = "2 * C values for C channels"
        raise ValueError(
            f"The decoder's outputs do not fit {self._describe()}: a pixel "
            f"of C channels takes output_channels(C) values on the last "
            f"axis, {self.output_channels(3)} for RGB and {layout} (e.g. "
            f"{self.output_channels(1)} for grey images). Make the "
            f"decoder's last layer that wide. Received: params.shape[-1]="
            f"{size}"
        )

    def _describe(self):
        return f"{type(self).__name__}(num_mixtures={self.num_mixtures})"

    def _components(self, params):
        """`params` split into the logits `(..., K)`, the means and clipped
        log-scales `(..., C, K)`, and for RGB the coupling coefficients
        `(..., 3, K)` (else None), all float32."""
        params = ops.cast(params, "float32")
        channels = self._channels(params.shape[-1])
        k, start = self.num_mixtures, self._num_logits
        if start:
            logits = params[..., :start]
        else:
            logits = ops.zeros_like(params[..., :1])
        blocks = ops.reshape(
            params[..., start:],
            tuple(ops.shape(params)[:-1]) + (channels, -1),
        )
        means = blocks[..., :k]
        log_scales = ops.maximum(blocks[..., k : 2 * k], LOG_SCALE_MIN)
        coefficients = None
        if channels == 3:
            coefficients = ops.tanh(blocks[..., 2 * k :])
        return logits, means, log_scales, coefficients

    def _check_channels(self, x, means):
        channels = x.shape[-1]
        if channels is not None and channels != means.shape[-2]:
            raise ValueError(
                f"The decoder's outputs are those of {means.shape[-2]} "
                f"channels for {self._describe()}, but `x` has {channels}. "
                f"Give the decoder output_channels({channels})="
                f"{self.output_channels(channels)} outputs per pixel. "
                f"Received: x.shape={tuple(x.shape)}"
            )


def _coupled_mean(means, coefficients, values, channel):
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


def _channel_by_channel(means, coefficients, level_of):
    """The level `level_of(mean, c)` of every channel `c`, `(..., C, K)`:
    all at once for independent channels; for RGB (`coefficients` given)
    R, then G and B from their means coupled to the levels before them."""
    if coefficients is None:
        return level_of(means, slice(None))
    levels, values = [], []
    for channel in (0, 1, 2):
        mean = _coupled_mean(means, coefficients, values, channel)
        levels.append(level_of(mean, channel))
        values.append(levels[-1] / 127.5 - 1.0)
    return ops.stack(levels, axis=-2)


def _log_level_probability(levels, values, means, log_scales):
    """`log P(level)` of the discretized logistic: the edge levels 0 and 255
    are open-ended, an interior level's mass is `F(b_+) - F(b_-)` at its
    edges `b_± = value ± 1/255`, written
    `sigmoid(a) * sigmoid(-b) * (1 - exp(b - a))` for the standardized
    edges `a`, `b`, whose logs are all exact (`a - b` is `(2/255) / scale`,
    so its log is `log(2/255) - log_scale` with no exp to underflow)."""
    centered = values - means
    inv_scale = ops.exp(-log_scales)
    log_below_upper = -ops.softplus(-inv_scale * (centered + _HALF_LEVEL))
    log_above_lower = -ops.softplus(inv_scale * (centered - _HALF_LEVEL))
    interior = (
        log_below_upper
        + log_above_lower
        + _log1mexp(_LOG_LEVEL_WIDTH - log_scales)
    )
    return ops.where(
        levels == 0.0,
        log_below_upper,
        ops.where(levels == 255.0, log_above_lower, interior),
    )


def _log1mexp(log_t):
    """`log(1 - exp(-t))` of `t = exp(log_t) > 0`, accurate for any `t` and
    with finite gradients: below `t = exp(-10)` it is `log(t) - t / 2`, an
    error of `t**2 / 24` (which keeps `t` underflowing to 0 harmless)."""
    t = ops.exp(log_t)
    tiny = log_t < -10.0
    return ops.where(
        tiny,
        log_t - 0.5 * t,
        ops.log(-ops.expm1(-ops.where(tiny, 1.0, t))),
    )


def _expected_level(mean, log_scale):
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
        * ops.log1p(
            ops.sigmoid((mean - 1.0) * inv_scale) * ops.expm1(2.0 * inv_scale)
        )
    )
    # s > exp(20): the midpoint rule, off by less than 4 / s**2 levels.
    widest = 255.0 * ops.sigmoid(mean * ops.exp(-ops.maximum(log_scale, 20.0)))
    return ops.where(
        log_scale <= 0.0,
        narrow,
        ops.where(log_scale <= 20.0, wide, widest),
    )


def _level(value):
    """The level 0-255 of a value in `[-1, 1]` units: level `v` covers
    `[v - 0.5, v + 0.5)` after `* 127.5 + 127.5`; the tails go to the
    edge levels."""
    return ops.clip(ops.round((value + 1.0) * 127.5), 0.0, 255.0)
