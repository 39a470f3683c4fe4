from keras_vae.models.conditional_vae import ConditionalVAE
from keras_vae.models.conv_vae import build_conv_vae
from keras_vae.models.mlp_vae import build_mlp_vae
from keras_vae.models.vae import VAE

__all__ = ["ConditionalVAE", "VAE", "build_conv_vae", "build_mlp_vae"]
