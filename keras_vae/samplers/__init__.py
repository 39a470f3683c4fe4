"""Latent samplers of a VAE, fitted to the encoded training set after
training: `GaussianMixtureSampler`, and `PriorSampler` (the prior itself,
the default), all `Sampler`s. See `keras_vae.VAE.sample`."""

from keras_vae.samplers.gaussian_mixture_sampler import GaussianMixtureSampler
from keras_vae.samplers.prior_sampler import PriorSampler
from keras_vae.samplers.sampler import Sampler

__all__ = [
    "GaussianMixtureSampler",
    "PriorSampler",
    "Sampler",
]
