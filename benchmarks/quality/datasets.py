"""The labelled images the sample-quality benchmarks use: the full MNIST
and the CIFAR-10 JPEG copy in ../shared/data (or `$KERAS_VAE_DATA_DIR`),
decoded once into memory."""

import os
import tarfile
import tempfile

import numpy as np

import keras_vae
from benchmarks.training.streaming import ARCHIVE


def load(name):
    """`(x_train, y_train), (x_test, y_test)` of `"mnist"` (float32 in
    `[0, 1]`, `(n, 28, 28, 1)`) or `"cifar10"` (uint8 `(n, 32, 32, 3)`)."""
    if name == "mnist":
        return keras_vae.datasets.load_mnist()
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(ARCHIVE) as tar:
            tar.extractall(tmp, filter="data")
        return tuple(
            _labelled_folder(os.path.join(tmp, part))
            for part in ("train", "test")
        )


def _labelled_folder(directory):
    dataset = keras_vae.datasets.image_folder(
        directory,
        image_size=(32, 32),
        channels=3,
        batch_size=1000,
        shuffle=False,
    )
    images, labels = zip(*dataset.as_numpy_iterator())
    return np.concatenate(images), np.concatenate(labels)
