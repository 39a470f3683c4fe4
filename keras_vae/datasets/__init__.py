"""Datasets: MNIST and Fashion-MNIST, loaders of a user's own data
(folders of images, `.npy`/`.npz` arrays, CSV tables and time series), and
the windows of time series."""

from keras_vae.datasets.arrays import load_arrays
from keras_vae.datasets.binarization import binarize
from keras_vae.datasets.binarization import dynamic_binarization
from keras_vae.datasets.csv_folder import load_csv_folder
from keras_vae.datasets.csv_windows import csv_windows_dataset
from keras_vae.datasets.from_path import from_path
from keras_vae.datasets.image_folder import IMAGE_EXTENSIONS
from keras_vae.datasets.image_folder import image_folder
from keras_vae.datasets.mnist import DATA_DIR_ENV
from keras_vae.datasets.mnist import load_fashion_mnist
from keras_vae.datasets.mnist import load_mnist
from keras_vae.datasets.sliding_windows import windows
from keras_vae.datasets.sliding_windows import windows_dataset
from keras_vae.datasets.tables import load_csv

__all__ = [
    "DATA_DIR_ENV",
    "IMAGE_EXTENSIONS",
    "binarize",
    "csv_windows_dataset",
    "dynamic_binarization",
    "from_path",
    "image_folder",
    "load_arrays",
    "load_csv",
    "load_csv_folder",
    "load_fashion_mnist",
    "load_mnist",
    "windows",
    "windows_dataset",
]
