import keras
import numpy as np
from keras import ops

from keras_vae.likelihoods.discretized_logistic_math import LOG_SCALE_MIN
from keras_vae.likelihoods.discretized_logistic_math import channel_by_channel
from keras_vae.likelihoods.discretized_logistic_math import coupled_mean
from keras_vae.likelihoods.discretized_logistic_math import expected_level
from keras_vae.likelihoods.discretized_logistic_math import level_value
from keras_vae.likelihoods.discretized_logistic_math import (
    log_level_probability,
)
from keras_vae.likelihoods.discretized_logistic_math import nearest_level
from keras_vae.likelihoods.flatten import flatten_examples
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.arrays import is_numeric_dtype
from keras_vae.utils.range_checks import check_8bit_range


@keras.saving.register_keras_serializable(package="keras_vae")
class DiscretizedLogisticMixture(Likelihood):
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

    `draw(params, seed=None)` draws levels, 0-255 as float32, of the same
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

    ```python
    >>> likelihood = DiscretizedLogisticMixture(num_mixtures=2)
    >>> likelihood.output_channels(3), likelihood.output_channels(1)
    (20, 6)
    >>> params = keras.ops.zeros((1, 4, 4, 20))
    >>> x = keras.ops.full((1, 4, 4, 3), 128)
    >>> nll = likelihood.negative_log_likelihood(x, params)
    >>> tuple(nll.shape)
    (1,)

    ```

    Reference:
        Salimans, Karpathy, Chen and Kingma, "PixelCNN++: Improving the
        PixelCNN with Discretized Logistic Mixture Likelihood and Other
        Modifications", ICLR 2017.
    """

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
        if coefficients is not None:
            values = level_value(levels)
            observed = [values[..., 0, :], values[..., 1, :]]
            means = ops.stack(
                [
                    coupled_mean(means, coefficients, observed, c)
                    for c in (0, 1, 2)
                ],
                axis=-2,
            )
        log_probs = log_level_probability(levels, means, log_scales)
        log_px = ops.logsumexp(
            ops.sum(log_probs, axis=-2) + ops.log_softmax(logits, axis=-1),
            axis=-1,
        )
        return -ops.sum(flatten_examples(log_px), axis=-1)

    def mean(self, params):
        logits, means, log_scales, coefficients = self._components(params)
        levels = channel_by_channel(
            means,
            coefficients,
            lambda mean, c: expected_level(mean, log_scales[..., c, :]),
        )
        if logits.shape[-1] == 1:
            return ops.clip(levels[..., 0], 0.0, 255.0)
        weights = ops.expand_dims(ops.softmax(logits, axis=-1), -2)
        return ops.clip(ops.sum(levels * weights, axis=-1), 0.0, 255.0)

    def draw(self, params, seed=None):
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
        levels = channel_by_channel(
            pick(means),
            None if coefficients is None else pick(coefficients),
            lambda mean, c: nearest_level(
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
        if np.size(x) == 0:
            return
        subject = f"The {type(self).__name__} likelihood models"
        _, high = check_8bit_range(x, name, subject, "standardized")
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
