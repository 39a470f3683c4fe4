"""Keras layers of a VAE: the reparameterized draw, the KL losses and the
guard of the optimizer's updates."""

from keras_vae.layers.group_kl_divergence_layer import GroupKLDivergenceLayer
from keras_vae.layers.group_kl_divergence_layer import (
    diagonal_gaussian_kl_divergence,
)
from keras_vae.layers.kl_divergence_layer import KLDivergenceLayer
from keras_vae.layers.kl_divergence_layer import gaussian_kl_divergence
from keras_vae.layers.monte_carlo_kl_divergence_layer import (
    MonteCarloKLDivergenceLayer,
)
from keras_vae.layers.sampling import Sampling
from keras_vae.layers.update_guard import UpdateGuard

__all__ = [
    "GroupKLDivergenceLayer",
    "KLDivergenceLayer",
    "MonteCarloKLDivergenceLayer",
    "Sampling",
    "UpdateGuard",
    "diagonal_gaussian_kl_divergence",
    "gaussian_kl_divergence",
]
