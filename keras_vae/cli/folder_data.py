"""Helpers for the `--data` of the `keras-vae` commands that is a folder
of images."""

import os

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
