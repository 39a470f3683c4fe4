"""The model classes: `VAE`, and its subclasses `ConditionalVAE` and
`HierarchicalVAE`."""

from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.models.vae import VAE

__all__ = ["ConditionalVAE", "HierarchicalVAE", "VAE"]
