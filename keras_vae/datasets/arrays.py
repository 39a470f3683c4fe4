"""Arrays from `.npy` and `.npz` files: `load_arrays`."""

import os
import warnings
import zipfile

import numpy as np

#: The names of `keras.datasets.*.load_data()`'s arrays in an `.npz`.
LAYOUT = ("x_train", "y_train", "x_test", "y_test")


def load_arrays(path):
    """Loads examples (and labels) from a `.npy` or `.npz` file.

    - A `.npy` file holds one array of examples.
    - An `.npz` file with an array `x_train` is read in the layout of
      `keras.datasets.mnist.load_data()`: `x_train`, and optionally
      `y_train`, `x_test` and `y_test`. Other arrays in it are ignored, with
      a warning that names them.
    - An `.npz` file without `x_train` must hold exactly one array, under
      any name. Several arrays under other names are an error that lists
      them (which are the examples would be a guess): save them under the
      names above.

    Examples must be numeric (integers, floats or booleans) with at least 2
    dimensions, `(n, features)` or `(n, height, width[, channels])`. They
    are returned as stored, with one exception, decided by dtype and shape
    alone:

    - uint8 `(n, height, width)` are grey images, as `keras.datasets.mnist`
      stores them: they are returned with a channel axis, `(n, height,
      width, 1)`, the shape image models take (which report `bits_per_dim`
      and export the `*_bytes` signatures). `x_test` gets the axis with
      `x_train`.
    - uint8 `(n, height, width, channels)` are images as they are.
    - Other examples, floats `(n, a, b)` among them, are left as they are:
      they may be sequences or spectrograms as well as images. Add the
      channel axis yourself (`x[..., None]`) to make them images.

    uint8 images stay 0-255: the models scale their own input. Nothing is
    read with pickle.

    Args:
        path: The path of the `.npy` or `.npz` file.

    Returns:
        `(x_train, y_train), (x_test, y_test)` as NumPy arrays, `None` for
        those the file lacks (a `.npy` gives `(x, None), (None, None)`).
        Labels are as stored; examples as stored but for the channel axis
        of grey uint8 images.

    Example:

    ```python
    (x_train, _), (x_test, _) = keras_vae.datasets.load_arrays("faces.npz")
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No array file at {path!r}.")
    try:
        # Opened here: NumPy leaves its own handle open on a damaged .npz.
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if isinstance(data, np.ndarray):
                x_name, arrays = "the array", (data, None, None, None)
            else:
                with data:
                    x_name, arrays = _read(path, data)
    except _ArrayError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(
            f"Could not read {path!r} as a NumPy .npy or .npz file (damaged, "
            f"truncated, holding Python objects, or another format): {error}"
        ) from None
    x_train, y_train, x_test, y_test = arrays
    _check_examples(path, x_name, x_train)
    _check_labels(path, "y_train", y_train, x_train)
    if x_test is not None:
        _check_examples(path, "x_test", x_test)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise _ArrayError(
                f"In {path!r}, x_test holds examples of shape "
                f"{x_test.shape[1:]} but x_train of shape "
                f"{x_train.shape[1:]}. Received: x_train.shape="
                f"{x_train.shape}, x_test.shape={x_test.shape}"
            )
    _check_labels(path, "y_test", y_test, x_test)
    if _grey_images(x_train):  # x_test, of the same shape, goes with it.
        x_train = x_train[..., None]
        x_test = None if x_test is None else x_test[..., None]
    return (x_train, y_train), (x_test, y_test)


class _ArrayError(ValueError):
    """A readable file whose arrays are not usable."""


def _read(path, data):
    """The name of the examples and the four arrays of an `.npz`."""
    if "x_train" in data.files:
        extra = sorted(set(data.files) - set(LAYOUT))
        if extra:
            warnings.warn(
                f"{path!r}: ignored the arrays {extra}; only "
                f"{list(LAYOUT)} are read.",
                stacklevel=3,
            )
        arrays = tuple(data[k] if k in data.files else None for k in LAYOUT)
        return "x_train", arrays
    if len(data.files) == 1:
        return data.files[0], (data[data.files[0]], None, None, None)
    if not data.files:
        raise _ArrayError(f"{path!r} holds no arrays.")
    listed = ", ".join(f"{k} {_describe(data[k])}" for k in sorted(data.files))
    if not any(_usable(data[k]) for k in data.files):
        raise _ArrayError(
            f"{path!r} holds no usable array (numeric, at least 2 "
            f"dimensions: examples first): {listed}."
        )
    raise _ArrayError(
        f"{path!r} holds {len(data.files)} arrays and none is named x_train, "
        f"so which are the examples is ambiguous: {listed}. Save the "
        f"examples as x_train (and labels, a test set as {list(LAYOUT[1:])}) "
        "or save one array alone."
    )


def _describe(array):
    return f"(shape {array.shape}, {array.dtype})"


def _usable(array):
    return array.dtype.kind in "biuf" and array.ndim >= 2


def _check_examples(path, name, x):
    if not _usable(x):
        raise _ArrayError(
            f"{path!r}: the examples ({name}) must be a numeric array of at "
            "least 2 dimensions, (n, features) or (n, height, width[, "
            f"channels]). Received: {name} {_describe(x)}"
        )
    if len(x) == 0:
        raise _ArrayError(
            f"{path!r}: {name} holds no examples. "
            f"Received: {name} {_describe(x)}"
        )


def _grey_images(x):
    """Whether the examples `x` are grey 8-bit images without a channel
    axis, `(n, height, width)` uint8, as `keras.datasets.mnist` stores
    them."""
    return x.dtype == np.uint8 and x.ndim == 3


def _check_labels(path, name, y, x):
    if y is None:
        return
    if (
        x is None
        or y.dtype.kind not in "biuf"
        or y.ndim == 0
        or len(y) != len(x)
    ):
        raise _ArrayError(
            f"{path!r}: the labels {name} must be numeric, one per example "
            f"of x{name[1:]}. Received: {name} {_describe(y)}, x{name[1:]} "
            + ("missing" if x is None else _describe(x))
        )
