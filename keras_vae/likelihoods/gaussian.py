import math

import keras
from keras import ops

from keras_vae.likelihoods.flatten import flatten_examples
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.utils.log_variance import clip_log_variance


@keras.saving.register_keras_serializable(package="keras_vae")
class Gaussian(Likelihood):
    """The Gaussian likelihood `p(x|z) = N(decoder(z), scale**2)`.

    The decoder emits the mean. The scale is either fixed or a learned
    per-feature log-scale. The negative log-likelihood is the full density,
    constants included, summed over the data dimensions: nats per example,
    comparable across models. `mean` is the decoder's output and `draw`
    adds normal noise of the scale to it.

    Args:
        scale: A positive float for a fixed standard deviation, or `None`
            (the default) for a learned per-feature scale, stored as a
            trainable log-scale that starts at 0 (scale 1). The learned
            log-variance `2 * log_scale` is used clipped to `[-30, 20]`
            (scales from about `3e-7` to `2.2e4`; standardize data of a
            wider spread), with a straight-through gradient, as the
            latent's: a pixel that is constant in the data cannot drive
            the scale to 0 and the negative log-likelihood to `-inf`.
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    >>> likelihood = Gaussian(scale=1.0)
    >>> nll = likelihood.negative_log_likelihood(
    ...     keras.ops.zeros((1, 1)), keras.ops.zeros((1, 1)))
    >>> round(float(nll[0]), 4)  # 0.5 * log(2 * pi)
    0.9189

    ```
    """

    continuous = True

    def __init__(self, scale=None, **kwargs):
        super().__init__(**kwargs)
        if scale is not None:
            try:
                valid = float(scale) > 0 and math.isfinite(float(scale))
            except (TypeError, ValueError):
                valid = False
            if isinstance(scale, bool) or not valid:
                raise ValueError(
                    "Invalid value for argument `scale`: expected None (a "
                    "learned scale) or a finite float > 0. "
                    f"Received: scale={scale!r}"
                )
            scale = float(scale)
        self.scale = scale

    def build(self, input_shape):
        if self.scale is None:
            self.log_scale = self.add_weight(
                shape=tuple(input_shape[1:]),
                initializer="zeros",
                dtype="float32",
                autocast=False,
                name="log_scale",
            )

    def _log_scale(self):
        if self.scale is None:
            return 0.5 * clip_log_variance(2.0 * self.log_scale)
        return math.log(self.scale)

    def negative_log_likelihood(self, x, mean):
        x = flatten_examples(ops.cast(x, "float32"))
        mean = flatten_examples(ops.cast(mean, "float32"))
        log_scale = self._log_scale()
        if self.scale is None:  # One per feature, in the data's shape.
            log_scale = ops.reshape(log_scale, (-1,))
        z = (x - mean) * ops.exp(-log_scale)
        nll = 0.5 * ops.square(z) + log_scale + 0.5 * math.log(2 * math.pi)
        return ops.sum(nll, axis=-1)

    def output_channels(self, data_channels):
        return data_channels  # The means.

    def mean(self, mean):
        return ops.cast(mean, "float32")

    def draw(self, mean, seed=None):
        mean = self.mean(mean)
        noise = keras.random.normal(ops.shape(mean), seed=seed)
        return mean + ops.exp(self._log_scale()) * noise

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
