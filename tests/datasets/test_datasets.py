"""The MNIST loaders: embedded sample, local files, the data-dir variable."""

import keras
import numpy as np
import pytest
from shared_data import MNIST_NPZ

from keras_vae.datasets import DATA_DIR_ENV
from keras_vae.datasets import load_fashion_mnist
from keras_vae.datasets import load_mnist

# The full MNIST shared by every checkout (KERAS_VAE_DATA_DIR, or ../shared).
SHARED_MNIST = MNIST_NPZ
needs_shared_mnist = pytest.mark.skipif(
    SHARED_MNIST is None, reason="no mnist.npz (KERAS_VAE_DATA_DIR)"
)


@pytest.fixture(autouse=True)
def never_download(monkeypatch):
    """Makes any download attempt fail the test, and unsets the data dir."""

    def download():
        pytest.fail("a test tried to download a dataset")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", download)
    monkeypatch.setattr(keras.datasets.fashion_mnist, "load_data", download)
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)


def write_mnist_like(path, n_train=3, n_test=2):
    """A tiny archive in the `keras.datasets.mnist` layout, with values
    whose scaled form is known."""
    x_train = np.zeros((n_train, 28, 28), "uint8")
    x_train[0, 0, 0] = 255
    x_train[1, 5, 7] = 51  # 51 / 255 = 0.2
    x_test = np.full((n_test, 28, 28), 255, "uint8")
    np.savez(
        path,
        x_train=x_train,
        y_train=np.arange(n_train, dtype="uint8"),
        x_test=x_test,
        y_test=np.arange(n_test, dtype="uint8")[::-1],
    )
    return path


def check_arrays(x, y, n):
    assert x.shape == (n, 28, 28, 1)
    assert x.dtype == np.float32
    assert y.shape == (n,)
    assert y.dtype == np.uint8
    assert 0.0 <= x.min() and x.max() <= 1.0


def test_embedded_sample():
    (x_train, y_train), (x_test, y_test) = load_mnist(embedded=True)
    check_arrays(x_train, y_train, 8000)
    check_arrays(x_test, y_test, 2000)
    # Real digits: every class present, mostly black with white strokes.
    assert set(np.unique(y_train)) == set(range(10))
    assert x_train.max() == 1.0
    assert 0.1 < x_train.mean() < 0.15  # MNIST's mean pixel is 33.3 / 255
    # Exact multiples of 1/255: scaled from uint8.
    np.testing.assert_allclose(x_test * 255, np.round(x_test * 255), atol=1e-4)


@needs_shared_mnist
def test_embedded_sample_is_the_head_of_mnist():
    (x_train, y_train), (x_test, y_test) = load_mnist(embedded=True)
    with np.load(SHARED_MNIST) as full:
        np.testing.assert_array_equal(y_test, full["y_test"][:2000])
        np.testing.assert_array_equal(y_train, full["y_train"][:8000])
        np.testing.assert_array_equal(
            x_test[..., 0], full["x_test"][:2000].astype("float32") / 255
        )
        np.testing.assert_array_equal(
            x_train[..., 0], full["x_train"][:8000].astype("float32") / 255
        )


def test_path_scales_and_adds_a_channel_axis(tmp_path):
    path = write_mnist_like(tmp_path / "small.npz")
    (x_train, y_train), (x_test, y_test) = load_mnist(path=path)
    check_arrays(x_train, y_train, 3)
    check_arrays(x_test, y_test, 2)
    assert x_train[0, 0, 0, 0] == 1.0
    assert x_train[1, 5, 7, 0] == np.float32(51) / np.float32(255)
    assert x_train.sum() == pytest.approx(1.2)
    np.testing.assert_array_equal(x_test, 1.0)
    np.testing.assert_array_equal(y_test, [1, 0])


def test_path_takes_precedence_over_embedded(tmp_path):
    path = write_mnist_like(tmp_path / "small.npz")
    (x_train, _), _ = load_mnist(path=path, embedded=True)
    assert len(x_train) == 3


def test_data_dir_variable_is_used(tmp_path, monkeypatch):
    write_mnist_like(tmp_path / "mnist.npz", n_train=4)
    write_mnist_like(tmp_path / "fashion_mnist.npz", n_train=5)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    (x_train, _), _ = load_mnist()
    assert x_train.shape == (4, 28, 28, 1)
    (x_train, _), _ = load_fashion_mnist()
    assert x_train.shape == (5, 28, 28, 1)


def test_data_dir_without_the_file_raises(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"Received: {DATA_DIR_ENV}="):
        load_mnist()
    with pytest.raises(FileNotFoundError, match="fashion_mnist.npz"):
        load_fashion_mnist()


def test_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_mnist(path=tmp_path / "absent.npz")


def test_archive_without_the_keys_raises(tmp_path):
    path = tmp_path / "partial.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), "uint8"))
    with pytest.raises(ValueError, match="lacks.*y_train.*Received: arrays"):
        load_mnist(path=path)


def test_images_without_three_axes_raise(tmp_path):
    path = tmp_path / "flat.npz"
    np.savez(
        path,
        x_train=np.zeros((2, 784), "uint8"),
        y_train=np.zeros(2, "uint8"),
        x_test=np.zeros((2, 784), "uint8"),
        y_test=np.zeros(2, "uint8"),
    )
    with pytest.raises(ValueError, match="Received: shape=\\(2, 784\\)"):
        load_mnist(path=path)
