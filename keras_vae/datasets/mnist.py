import os

import keras
import numpy as np

#: The environment variable naming a folder that holds `mnist.npz` and
#: `fashion_mnist.npz`; set it to train offline or in CI.
DATA_DIR_ENV = "KERAS_VAE_DATA_DIR"

_EMBEDDED = os.path.join(os.path.dirname(__file__), "data", "mnist_sample.npz")
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def load_mnist(path=None, embedded=False):
    """Loads MNIST as float32 images in [0, 1] of shape `(n, 28, 28, 1)`.

    The source is, in this order: `path` if given; the embedded sample if
    `embedded=True`; `$KERAS_VAE_DATA_DIR/mnist.npz` if that variable is
    set; else `keras.datasets.mnist`, which downloads and caches the data.

    Args:
        path: Optional path of an `.npz` file with the arrays `x_train`,
            `y_train`, `x_test`, `y_test` (the layout of
            `keras.datasets.mnist.load_data`).
        embedded: If `True`, load the 8,000 training and 2,000 test images
            shipped with the package (the first ones of each MNIST split),
            which needs no network.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, labels as uint8.

    Example:

    ```python
    (x_train, y_train), (x_test, y_test) = keras_vae.datasets.load_mnist()
    ```
    """
    if path is None and embedded:
        path = _EMBEDDED
    return _load("mnist", path, keras.datasets.mnist.load_data)


def load_fashion_mnist(path=None):
    """Loads Fashion-MNIST as float32 images in [0, 1], `(n, 28, 28, 1)`.

    The source is `path` if given, else `$KERAS_VAE_DATA_DIR/fashion_mnist.npz`
    if that variable is set, else `keras.datasets.fashion_mnist`.

    Args:
        path: Optional path of an `.npz` file in the layout of
            `keras.datasets.fashion_mnist.load_data`.

    Returns:
        `(x_train, y_train), (x_test, y_test)`, labels as uint8.
    """
    return _load("fashion_mnist", path, keras.datasets.fashion_mnist.load_data)


def _load(name, path, download):
    if path is None and os.environ.get(DATA_DIR_ENV):
        path = os.path.join(os.environ[DATA_DIR_ENV], f"{name}.npz")
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"${DATA_DIR_ENV} is set, but it holds no `{name}.npz`. Put "
                f"the file there or unset the variable to download it. "
                f"Received: {DATA_DIR_ENV}={os.environ[DATA_DIR_ENV]!r}"
            )
    if path is None:
        (x_train, y_train), (x_test, y_test) = download()
    else:
        x_train, y_train, x_test, y_test = _read_npz(path)
    return (_scale(x_train), y_train), (_scale(x_test), y_test)


def _read_npz(path):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No dataset file at {path!r}.")
    with np.load(path, allow_pickle=False) as data:
        missing = [key for key in _KEYS if key not in data.files]
        if missing:
            raise ValueError(
                f"{path!r} is not an MNIST-style archive: it lacks "
                f"{missing}. Expected the arrays {list(_KEYS)}. "
                f"Received: arrays {data.files}"
            )
        return tuple(data[key] for key in _KEYS)


def _scale(images):
    images = np.asarray(images)
    if images.ndim != 3:
        raise ValueError(
            "Expected images of shape (n, height, width). "
            f"Received: shape={images.shape}"
        )
    return (images.astype("float32") / 255.0)[..., None]
