"""Likelihoods `p(x|z)` of the decoder: `Bernoulli` and `Gaussian`, and for
8-bit pixels `DiscretizedLogistic` and `DiscretizedLogisticMixture`, all
`Likelihood`s."""

import keras

from keras_vae.likelihoods.bernoulli import Bernoulli
from keras_vae.likelihoods.discretized_logistic import DiscretizedLogistic
from keras_vae.likelihoods.discretized_logistic_mixture import (
    DiscretizedLogisticMixture,
)
from keras_vae.likelihoods.gaussian import Gaussian
from keras_vae.likelihoods.likelihood import Likelihood

_BY_NAME = {
    "bernoulli": Bernoulli,
    "gaussian": Gaussian,
    "discretized_logistic": DiscretizedLogistic,
    "discretized_logistic_mixture": DiscretizedLogisticMixture,
}


def get(identifier):
    """Returns a likelihood layer from a name, a config dict or an instance.

    `"bernoulli"` gives `Bernoulli()`, `"gaussian"` gives `Gaussian()` with a
    learned per-feature scale, `"discretized_logistic"` gives
    `DiscretizedLogistic()` and `"discretized_logistic_mixture"` gives
    `DiscretizedLogisticMixture()` with 10 components. A `Likelihood`
    instance, such as one of your own subclass, is returned as it is.
    """
    if isinstance(identifier, Likelihood):
        return identifier
    if isinstance(identifier, dict):
        return keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    raise ValueError(
        "Invalid value for argument `likelihood`: expected one of "
        f"{sorted(_BY_NAME)} or a `keras_vae.likelihoods.Likelihood`. "
        f"Received: likelihood={identifier!r}"
    )


__all__ = [
    "Bernoulli",
    "DiscretizedLogistic",
    "DiscretizedLogisticMixture",
    "Gaussian",
    "Likelihood",
    "get",
]
