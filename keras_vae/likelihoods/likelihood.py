import keras

from keras_vae.utils.data_checks import DataChecks


class Likelihood(DataChecks, keras.layers.Layer):
    """The base class of the decoder likelihoods `p(x|z)`.

    The decoder emits `params`, the likelihood's parameters: the data's
    shape but for the last axis, which holds `output_channels(C)` values
    per pixel (or feature) of `C` channels. From them a likelihood computes
    `-log p(x|z)` (`negative_log_likelihood`), the mean of `p(x|z)`
    (`mean`) and draws from it (`draw`), with `keras.ops` and
    `keras.random` only, so on every backend. It is a layer so that its
    weights (such as `Gaussian`'s learned scale) train and save with the
    VAE, which builds it with the decoder's output shape (`build` is where
    a subclass creates its weights); it is never called.

    A subclass implements the four methods, sets the class attributes
    below where their defaults do not fit, and overrides the `DataChecks`
    methods `check_dtype` and `check_data` to refuse data it cannot model
    (by default every dtype and value passes). A subclass with constructor
    arguments returns them from `get_config`, as Keras layers do, and is
    registered with `keras.saving.register_keras_serializable` so that
    `keras.saving.load_model` finds it.

    Attributes:
        has_logits: Whether `params` are logits (the decoder output before
            a sigmoid) rather than values in the data's units. Defaults to
            False.
        continuous: Whether `p(x|z)` is a density over real values, so that
            the Jacobian of a preprocessing applies to its log-likelihood.
            Defaults to False.
        pixel_values: Whether `negative_log_likelihood` takes the pixel
            values themselves, 0-255, whatever the encoder's preprocessing,
            and `mean` and `draw` return values in `[0, 255]`. Defaults to
            False.

    Example:

    ```python
    >>> import math
    >>> class Laplace(Likelihood):
    ...     continuous = True
    ...     def negative_log_likelihood(self, x, params):
    ...         nll = keras.ops.abs(x - params) + math.log(2.0)
    ...         return keras.ops.sum(keras.ops.reshape(
    ...             nll, (keras.ops.shape(nll)[0], -1)), axis=-1)
    ...     def mean(self, params):
    ...         return params
    ...     def draw(self, params, seed=None):
    ...         u = keras.random.uniform(
    ...             keras.ops.shape(params), -0.5, 0.5, seed=seed)
    ...         return params - keras.ops.sign(u) * keras.ops.log1p(
    ...             -2 * keras.ops.abs(u))
    ...     def output_channels(self, data_channels):
    ...         return data_channels
    >>> nll = Laplace().negative_log_likelihood(
    ...     keras.ops.zeros((1, 2)), keras.ops.ones((1, 2)))
    >>> round(float(nll[0]), 4)  # 2 * (1 + log(2))
    3.3863

    ```
    """

    has_logits = False
    continuous = False
    pixel_values = False

    def negative_log_likelihood(self, x, params):
        """`-log p(x|z)` in nats per example, of shape `(batch,)`, summed
        over the data axes, for data `x` (in the model's units, or the
        pixel values where `pixel_values`) and the decoder's `params`."""
        raise self._not_implemented("negative_log_likelihood(x, params)")

    def mean(self, params):
        """The mean of `p(x|z)`, float32 in the data's shape."""
        raise self._not_implemented("mean(params)")

    def draw(self, params, seed=None):
        """Draws from `p(x|z)`, float32 in the data's shape; `seed` is
        passed to `keras.random` (an integer, a `SeedGenerator` or
        None)."""
        raise self._not_implemented("draw(params, seed=None)")

    def output_channels(self, data_channels):
        """How many decoder outputs a pixel (or feature) of
        `data_channels` channels needs, an integer."""
        raise self._not_implemented("output_channels(data_channels)")

    def _not_implemented(self, method):
        name = type(self).__name__
        return NotImplementedError(
            f"Every `keras_vae.likelihoods.Likelihood` implements "
            f"`{method}`, but {name} does not. Received: likelihood of "
            f"type {name}"
        )
