"""Keras layers of a VAE: the reparameterized draw and the KL loss."""

from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.kl_divergence_layer import gaussian_kl_divergence
from keras_vae.layers.sampling import Sampling

__all__ = ["KLDivergenceLayer", "Sampling", "gaussian_kl_divergence"]
