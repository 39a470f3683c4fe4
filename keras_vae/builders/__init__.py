"""Builders of whole VAEs, one per family: dense (`build_mlp_vae`),
convolutional (`build_conv_vae`), residual (`build_resnet_vae`),
hierarchical (`build_hierarchical_vae`, `build_hierarchical_mlp_vae`) and
for windows of time series (`build_sequence_vae`)."""

from keras_vae.builders.conv import build_conv_vae
from keras_vae.builders.hierarchical import build_hierarchical_vae
from keras_vae.builders.hierarchical_mlp import build_hierarchical_mlp_vae
from keras_vae.builders.mlp import build_mlp_vae
from keras_vae.builders.resnet import build_resnet_vae
from keras_vae.builders.sequence import build_sequence_vae

__all__ = [
    "build_conv_vae",
    "build_hierarchical_mlp_vae",
    "build_hierarchical_vae",
    "build_mlp_vae",
    "build_resnet_vae",
    "build_sequence_vae",
]
