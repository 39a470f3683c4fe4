import keras
import numpy as np
from keras import ops

from keras_vae.likelihoods.flatten import flatten_examples
from keras_vae.likelihoods.likelihood import Likelihood
from keras_vae.utils.range_checks import check_range


@keras.saving.register_keras_serializable(package="keras_vae")
class Bernoulli(Likelihood):
    """The Bernoulli likelihood `p(x|z)` for data in `[0, 1]`.

    The decoder emits logits `l`. The negative log-likelihood is the binary
    cross-entropy computed from the logits, `softplus(l) - x l` (stable
    where the probability is 0 or 1), summed over the data dimensions: nats
    per example. For grey values in `(0, 1)` it is the usual "continuous"
    cross-entropy of the VAE literature. `mean` is the probabilities,
    `sigmoid(logits)`, and `draw` draws 0 or 1 with them. The data must be
    floats in `[0, 1]`.

    Args:
        **kwargs: Base layer keyword arguments, such as `name`.

    Example:

    ```python
    >>> likelihood = Bernoulli()
    >>> nll = likelihood.negative_log_likelihood(
    ...     keras.ops.ones((1, 2)), keras.ops.zeros((1, 2)))
    >>> round(float(nll[0]), 4)  # 2 * log(2)
    1.3863

    ```
    """

    has_logits = True

    def negative_log_likelihood(self, x, logits):
        x = flatten_examples(ops.cast(x, "float32"))
        logits = flatten_examples(ops.cast(logits, "float32"))
        # `-x log(sigmoid(l)) - (1 - x) log(sigmoid(-l)) = softplus(l) - x l`:
        # the terms of TensorFlow's cross-entropy from logits, but with
        # `softplus`, which ONNX has (its `log1p` would not convert), and
        # one transcendental per value.
        nll = ops.softplus(logits) - x * logits
        return ops.sum(nll, axis=-1)

    def output_channels(self, data_channels):
        return data_channels  # The logits.

    def mean(self, logits):
        return ops.sigmoid(ops.cast(logits, "float32"))

    def draw(self, logits, seed=None):
        probs = self.mean(logits)
        uniform = keras.random.uniform(ops.shape(probs), seed=seed)
        return ops.cast(uniform < probs, "float32")

    def check_dtype(self, dtype, name="x"):
        dtype = np.dtype(dtype)
        if not np.issubdtype(dtype, np.floating):
            raise ValueError(
                f"The Bernoulli likelihood needs float data in [0, 1], but "
                f"`{name}` has dtype {dtype}. Scale it first, e.g. "
                f"`{name}.astype('float32') / 255`. Received: "
                f"{name}.dtype={dtype}"
            )

    def check_data(self, x, name="x"):
        needs = "The Bernoulli likelihood needs data in [0, 1]"
        fix = "Rescale it, or use `likelihood='gaussian'` for real-valued data."
        check_range(x, name, 0.0, 1.0, needs, fix)
