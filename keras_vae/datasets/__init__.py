"""MNIST and Fashion-MNIST as float32 images in [0, 1]."""

from keras_vae.datasets.binarization import binarize
from keras_vae.datasets.binarization import dynamic_binarization
from keras_vae.datasets.mnist import DATA_DIR_ENV
from keras_vae.datasets.mnist import load_fashion_mnist
from keras_vae.datasets.mnist import load_mnist

__all__ = [
    "DATA_DIR_ENV",
    "binarize",
    "dynamic_binarization",
    "load_fashion_mnist",
    "load_mnist",
]
