"""A user's data from one path, whatever its kind: `from_path`."""

import os

from keras_vae.datasets._split import check_seed
from keras_vae.datasets._split import check_validation_split
from keras_vae.datasets._split import validation_mask
from keras_vae.datasets.arrays import load_arrays
from keras_vae.datasets.image_folder import image_folder
from keras_vae.datasets.tables import load_csv


def from_path(path, validation_split=None, seed=None, labels=False, **options):
    """Training and validation data from a folder of images, an `.npy` or
    `.npz` file, or a CSV file, ready for `fit`.

    - A folder goes to `image_folder(path, **options)` (options such as
      `image_size`, `channels`, `batch_size`, `resize`, `shard`): `tf.data`
      datasets of uint8 image batches, streamed from the files.
    - An `.npy` or `.npz` file goes to `load_arrays(path)` (no options):
      the arrays as stored, but uint8 `(n, height, width)` (grey images, as
      `keras.datasets.mnist` stores them) as `(n, height, width, 1)`.
    - A `.csv` file goes to `load_csv(path, **options)` (`columns`,
      `header`): a float32 array.

    The validation data are, with `validation_split`, that fraction of the
    examples, chosen by `seed` the same way for every kind (a hash of each
    file's relative path, or of each row's number; the same examples on
    every call). Without it, they are an `.npz`'s `x_test` (and `y_test`)
    if it has them, else `None`.

    Args:
        path: A folder, or a file ending in `.npy`, `.npz` or `.csv`.
        validation_split: Optional fraction in (0, 1) held out for
            validation.
        seed: Optional integer seed of the split (`None` splits as 0) and of
            an image folder's shuffling.
        labels: If `True`, each of `train` and `validation` is `(x, y)`:
            class-folder labels for images, `y_train`/`y_test` for arrays
            (CSV files have none). If `False`, only `x`.
        **options: Keyword arguments of the loader that reads `path`.

    Returns:
        `(train, validation)`, `validation` possibly `None`. For a folder,
        `tf.data.Dataset`s (of `(images, labels)` with `labels=True`) with
        the attributes `class_names`, `file_paths` and `skipped_files`; for
        files, NumPy arrays `x`, or `(x, y)` tuples with `labels=True`.

    Example:

    ```python
    train, validation = keras_vae.datasets.from_path(
        "photos/", validation_split=0.1, seed=0, image_size=(64, 64)
    )
    vae.fit(train, validation_data=validation, epochs=10)
    ```
    """
    path = os.fspath(path)
    validation_split = check_validation_split(validation_split)
    seed = check_seed(seed)
    if not os.path.exists(path):
        raise FileNotFoundError(f"No file or folder at {path!r}.")
    if os.path.isdir(path):
        data = image_folder(
            path,
            validation_split=validation_split,
            subset=None if validation_split is None else "both",
            seed=seed,
            labels="inferred" if labels else None,
            **options,
        )
        return data if validation_split is not None else (data, None)
    kind = os.path.splitext(path)[1].lower()
    if kind in (".npy", ".npz"):
        if options:
            raise ValueError(
                f"{path!r} is an array file, which takes no loading options. "
                f"Received: {_listed(options)}"
            )
        (x, y), (x_test, y_test) = load_arrays(path)
    elif kind == ".csv":
        if labels:
            raise ValueError(
                f"A CSV file has no labels: {path!r}. Received: labels=True"
            )
        x, _ = load_csv(path, **options)
        y = x_test = y_test = None
    else:
        raise ValueError(
            f"Cannot tell what {path!r} holds: expected a folder of images, "
            "or a file ending in .npy, .npz or .csv. "
            f"Received: path={path!r}"
        )
    if labels and (y is None or (x_test is not None and y_test is None)):
        missing = "y_train" if y is None else "y_test"
        raise ValueError(
            f"{path!r} holds no labels {missing}. Received: labels=True"
        )
    if validation_split is not None:
        keys = [str(i) for i in range(len(x))]
        mask = validation_mask(keys, validation_split, seed, "examples")
        train = _pack(x[~mask], y[~mask] if labels else None)
        return train, _pack(x[mask], y[mask] if labels else None)
    validation = None
    if x_test is not None:
        validation = _pack(x_test, y_test if labels else None)
    return _pack(x, y if labels else None), validation


def _pack(x, y):
    return x if y is None else (x, y)


def _listed(options):
    return ", ".join(f"{k}={v!r}" for k, v in options.items())
