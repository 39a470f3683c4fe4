"""Helpers for the `--data` of the `keras-vae` commands that is a folder
of images."""

import os

from keras_vae.cli.command_data import Data
from keras_vae.cli.data_arguments import parse_image_size


def folder_options(args, batch_size, shuffle):
    """The options of `image_folder` that the arguments choose."""
    return dict(
        image_size=parse_image_size(args.image_size),
        channels=args.channels,
        resize=args.resize,
        skip_bad_files=args.skip_bad_files,
        batch_size=batch_size,
        shuffle=shuffle,
    )


def folder_data(
    train, validation, local_validation, num_train, num_validation, test_limit
):
    """The `Data` of a folder of images, 8-bit pixel values.

    Args:
        train: The training data, as `fit` takes it.
        validation: The validation data, as `fit` takes it.
        local_validation: The batched `tf.data` validation dataset this
            worker reads, of images or `(images, labels)`, with its
            `file_paths`: the `ids`, and `x_test` and `y_test` (its first
            `test_limit` examples).
        num_train: The number of training files, of all workers.
        num_validation: The number of validation files, of all workers.
        test_limit: The most examples in `x_test` (`None`: all).
    """
    x_test, y_test = first_examples(local_validation, test_limit)
    return Data(
        train=train,
        validation=validation,
        x_test=x_test,
        y_test=y_test,
        ids=list(local_validation.file_paths),
        input_shape=x_test.shape[1:],
        kind="8bit",
        name="model",
        num_train=num_train,
        num_validation=num_validation,
    )


def has_class_folders(path):
    """Whether a folder of images is sorted into class subfolders (its
    labels), rather than holding the images themselves."""
    from keras_vae.datasets import IMAGE_EXTENSIONS

    entries = [e for e in os.scandir(path) if not e.name.startswith(".")]
    return any(e.is_dir() for e in entries) and not any(
        e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)
        for e in entries
    )


def images_only(dataset):
    """The images of a dataset of images, or of `(images, labels)`."""
    if isinstance(dataset.element_spec, tuple):
        return dataset.map(lambda x, y: x)
    return dataset


def first_examples(dataset, limit):
    """Up to `limit` examples of a batched dataset of images or of
    `(images, labels)`, as arrays `(x, y)` (`y` None without labels)."""
    import numpy as np

    xs, ys, count = [], [], 0
    for batch in dataset:
        x, y = batch if isinstance(batch, tuple) else (batch, None)
        xs.append(x.numpy())
        ys.append(None if y is None else y.numpy())
        count += len(xs[-1])
        if limit is not None and count >= limit:
            break
    y = None if ys[0] is None else np.concatenate(ys)[:limit]
    return np.concatenate(xs)[:limit], y
