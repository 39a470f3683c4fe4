"""Keras layers of a VAE: the reparameterized draw and the KL loss."""

from keras_vae.layers.group_kl_divergence_layer import GroupKLDivergenceLayer
from keras_vae.layers.group_kl_divergence_layer import (
    diagonal_gaussian_kl_divergence,
)
from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.kl_divergence_layer import gaussian_kl_divergence
from keras_vae.layers.sampling import Sampling

__all__ = [
    "GroupKLDivergenceLayer",
    "KLDivergenceLayer",
    "Sampling",
    "diagonal_gaussian_kl_divergence",
    "gaussian_kl_divergence",
]
