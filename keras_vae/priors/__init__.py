"""Priors `p(z)` of a VAE: `StandardNormal` (the default),
`MixtureOfGaussians` and `VampPrior`, all `Prior`s."""

import keras

from keras_vae.priors.mixture_of_gaussians import MixtureOfGaussians
from keras_vae.priors.prior import Prior
from keras_vae.priors.standard_normal import StandardNormal
from keras_vae.priors.vamp_prior import VampPrior


def get(identifier):
    """Returns a prior layer from None, a config dict or an instance.

    `None` gives `StandardNormal()`; a `Prior` instance, such as one of
    your own subclass, is returned as it is.
    """
    if identifier is None:
        return StandardNormal()
    if isinstance(identifier, dict):
        identifier = keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, Prior):
        return identifier
    raise ValueError(
        "Invalid value for argument `prior`: expected None (the standard "
        "normal) or a `keras_vae.priors.Prior`, such as "
        "`keras_vae.priors.MixtureOfGaussians(10)`. "
        f"Received: prior={identifier!r}"
    )


__all__ = [
    "MixtureOfGaussians",
    "Prior",
    "StandardNormal",
    "VampPrior",
    "get",
]
