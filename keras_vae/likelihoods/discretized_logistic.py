import keras

from keras_vae.likelihoods.discretized_logistic_mixture import (
    DiscretizedLogisticMixture,
)


@keras.saving.register_keras_serializable(package="keras_vae")
class DiscretizedLogistic(DiscretizedLogisticMixture):
    """The discretized logistic likelihood `p(x|z)` for 8-bit pixels: one
    logistic per pixel, with no mixture.

    `DiscretizedLogisticMixture` with one component, whose decoder emits no
    mixture logits: the last axis of `params` holds, for each channel `c`
    in turn, a block at `c * B` of `B = 3` values for RGB (the mean, the
    log-scale and a coupling coefficient before the tanh: `alpha` in R's
    block, `beta` in G's, `gamma` in B's) and `B = 2` otherwise (the mean and
    the log-scale). That is `output_channels(C)`: 9 for RGB, `2 * C` for
    `C` channels. Means and log-scales are in the units where level `v` is
    `v / 127.5 - 1`; 3 channels are coupled as in PixelCNN++ (G's mean
    moves with R, B's with R and G), any other count is independent. See
    `DiscretizedLogisticMixture` for the log-probabilities, the mean and
    the draws.

    Args:
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    >>> likelihood = DiscretizedLogistic()
    >>> likelihood.output_channels(1)
    2
    >>> params = keras.ops.convert_to_tensor([[0.0, -7.0]])  # 127.5, sharp.
    >>> nll = likelihood.negative_log_likelihood(
    ...     keras.ops.convert_to_tensor([[128]]), params)
    >>> round(float(nll[0]), 4)  # Levels 127 and 128 share the mass.
    0.6935

    ```
    """

    _mixture_logits = False

    def __init__(self, **kwargs):
        super().__init__(num_mixtures=1, **kwargs)

    def get_config(self):
        config = super().get_config()
        del config["num_mixtures"]
        return config

    def _describe(self):
        return f"{type(self).__name__}()"
