from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.conv_vae import build_conv_vae
from keras_vae.models.hierarchical_builder import build_hierarchical_vae
from keras_vae.models.hierarchical_mlp_builder import build_hierarchical_mlp_vae
from keras_vae.models.hierarchical_vae import HierarchicalVAE
from keras_vae.models.mlp_vae import build_mlp_vae
from keras_vae.models.resnet_vae import build_resnet_vae
from keras_vae.models.vae import VAE

__all__ = [
    "ConditionalVAE",
    "HierarchicalVAE",
    "VAE",
    "build_conv_vae",
    "build_hierarchical_mlp_vae",
    "build_hierarchical_vae",
    "build_mlp_vae",
    "build_resnet_vae",
]
