"""A folder of image files streamed as uint8 batches: `image_folder`."""

import os

import numpy as np
import tensorflow as tf

from keras_vae.datasets._bad_image_files import find_bad_files
from keras_vae.datasets._bad_image_files import report_bad_files
from keras_vae.datasets._image_files import IMAGE_EXTENSIONS
from keras_vae.datasets._image_files import index_images
from keras_vae.datasets._shard import check_shard
from keras_vae.datasets._shard import shard_of
from keras_vae.datasets._shard import shard_seed
from keras_vae.datasets._split import check_seed
from keras_vae.datasets._split import check_validation_split
from keras_vae.datasets._split import validation_mask
from keras_vae.datasets.image_decoding import decode_and_resize
from keras_vae.datasets.image_decoding import decoder
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.tf_data import without_autotune

__all__ = ["IMAGE_EXTENSIONS", "decode_and_resize", "image_folder"]

_SUBSETS = (None, "training", "validation", "both")


def image_folder(
    directory,
    image_size=(64, 64),
    channels=3,
    batch_size=32,
    validation_split=None,
    subset=None,
    seed=None,
    resize="crop",
    shuffle=True,
    skip_bad_files=False,
    labels="inferred",
    shard=None,
):
    """Streams a folder of images as a `tf.data.Dataset` of uint8 batches.

    The folder is searched recursively for JPEG, PNG, BMP and GIF files (the
    first frame of an animation); other files, and files and folders whose
    names start with a dot, are ignored. Images of any size and colour mode
    (grey, grey + alpha, RGB, RGBA, palette, CMYK JPEG, 16-bit PNG scaled
    to 8 bits) become `channels` channels (RGB to grey by the BT.601 luma
    weights; alpha is dropped, not blended) and `image_size` pixels.

    With `labels="inferred"`, each subfolder of `directory` is a class,
    numbered in the sorted order of the names (the rule of
    `keras.utils.image_dataset_from_directory`, so the labels agree), and the
    images anywhere below it carry its label.

    Files are decoded while the dataset is iterated, in parallel and prefetched,
    with tf.data's autotuner off (it stalled training epochs; see
    docs/benchmarks/streaming_fit.md): only file names are held in memory.
    Before the dataset is returned every file is decoded once (one extra
    decoding pass, measured in docs/benchmarks/streaming.md), so that a
    truncated or damaged file fails here, by name, and not halfway through an
    epoch.

    Args:
        directory: The folder of images (a string or `pathlib.Path`).
        image_size: `(height, width)` of the images out, or one integer for
            square images.
        channels: 1 for grey or 3 for RGB images.
        batch_size: The batch size, or `None` for single images.
        validation_split: Optional fraction of the files held out for
            validation. Each file's side is decided by a hash of its path
            relative to `directory` and `seed`: the same files on every call
            with the same seed, whatever `shuffle` and `skip_bad_files` say,
            and adding a file moves at most one other.
        subset: With `validation_split`: `"training"`, `"validation"`, or
            `"both"` for a `(training, validation)` pair.
        seed: Optional integer seed of the split (`None` splits as 0) and of
            the shuffling.
        resize: How an image whose aspect ratio differs from `image_size`'s
            is fitted. `"crop"`: the largest centred window with the target
            aspect ratio is cut out and resized (nothing is distorted, the
            edges may be lost). `"pad"`: the whole image is resized to fit
            inside and centred on black (nothing is lost or distorted).
            Either way images are resized with bilinear interpolation,
            antialiased when shrinking, and an image of exactly
            `image_size` keeps its pixels unchanged.
        shuffle: Whether to shuffle all the files anew on every epoch (the
            file names, so the shuffle is complete yet costs no image
            memory). The validation set of `subset="both"` is never
            shuffled. Unshuffled, files come in sorted order.
        skip_bad_files: If `True`, files that cannot be decoded are left
            out with a warning that counts and names them (also listed in
            the dataset's `skipped_files`); if `False`, they raise a
            `ValueError` naming them.
        labels: `"inferred"` for `(images, labels)` with integer labels
            from the class subfolders, or `None` for images only (any
            folder layout).
        shard: Optional `(num_shards, index)`: only one shard of the files
            is checked and read, every `num_shards`-th file of each subset
            in sorted order from the `index`-th on (so each shard holds an
            even share of every class). The shards of one folder, split
            and seed are disjoint and together hold every file. Each shard
            is shuffled on its own, with a seed of its own derived from
            `seed`. For one worker's input pipeline under `tf.distribute`:
            `(context.num_input_pipelines, context.input_pipeline_id)` of
            the `tf.distribute.InputContext` that
            `strategy.distribute_datasets_from_function` passes.

    Returns:
        A `tf.data.Dataset` of uint8 images of shape
        `(batch_size, height, width, channels)`, values 0-255, or of
        `(images, labels)` with int32 labels; a `(training, validation)`
        pair of them for `subset="both"`. Each dataset has the attributes
        `class_names` (the class of each label, or `None`), `file_paths`
        and `skipped_files` (of its shard only, with `shard`).

    Example:

    ```python
    train, validation = keras_vae.datasets.image_folder(
        "photos/", image_size=(64, 64), validation_split=0.1,
        subset="both", seed=0, labels=None,
    )
    ```
    """
    image_size = _check_image_size(image_size)
    if not _is_int(channels) or channels not in (1, 3):
        raise ValueError(
            "Invalid value for argument `channels`: expected 1 (grey) or 3 "
            f"(RGB). Received: channels={channels!r}"
        )
    if batch_size is not None:
        batch_size = check_positive_int(batch_size, "batch_size")
    validation_split = check_validation_split(validation_split)
    _check_subset(subset, validation_split)
    seed = check_seed(seed)
    if resize not in ("crop", "pad"):
        raise ValueError(
            'Invalid value for argument `resize`: expected "crop" or "pad". '
            f"Received: resize={resize!r}"
        )
    if labels not in ("inferred", None):
        raise ValueError(
            'Invalid value for argument `labels`: expected "inferred" (from '
            "the class subfolders) or None (images only). "
            f"Received: labels={labels!r}"
        )
    shard = check_shard(shard)

    directory = os.fspath(directory)
    files, label_ids, class_names = index_images(directory, labels)
    if validation_split is None:
        parts = {None: np.ones(len(files), dtype=bool)}
    else:
        mask = validation_mask(files, validation_split, seed, what="files")
        parts = {"training": ~mask, "validation": mask}
        if subset != "both":
            parts = {subset: parts[subset]}
    if shard is not None:
        # Before the check and the decoding: a shard reads only its files.
        parts = {name: shard_of(part, *shard) for name, part in parts.items()}
    wanted = np.any(list(parts.values()), axis=0)
    # Objects, not fixed-width unicode: the same strings as `file_paths`.
    paths = np.empty(len(files), dtype=object)
    paths[:] = [os.path.join(directory, *name.split("/")) for name in files]
    has_bmp = any(name.lower().endswith(".bmp") for name in files)
    decode = decoder(channels, has_bmp)
    bad = find_bad_files(paths[wanted], decode)
    if bad:
        report_bad_files(
            directory, files, paths, bad, wanted, decode, skip_bad_files
        )
    good = np.array([path not in bad for path in paths], dtype=bool)

    datasets = []
    for name, part in parts.items():
        keep = part & good
        if not keep.any():
            raise ValueError(
                f"None of the {int(part.sum())} image files"
                + (f" of the {name} subset" if name else "")
                + f" in {directory!r} could be decoded."
            )
        dataset = _dataset(
            paths[keep],
            None if label_ids is None else label_ids[keep],
            has_bmp,
            image_size,
            channels,
            resize,
            batch_size,
            # The validation half of a pair is never shuffled.
            shuffle=shuffle and not (subset == "both" and name != "training"),
            seed=shard_seed(seed, shard),
        )
        dataset.class_names = class_names
        dataset.file_paths = paths[keep].tolist()
        dataset.skipped_files = sorted(paths[part & ~good].tolist())
        datasets.append(dataset)
    return tuple(datasets) if subset == "both" else datasets[0]


def _check_image_size(image_size):
    size = image_size
    if _is_int(size):
        size = (size, size)
    try:
        valid = len(size) == 2 and all(_is_int(v) and v >= 1 for v in size)
    except TypeError:
        valid = False
    if not valid:
        raise ValueError(
            "Invalid value for argument `image_size`: expected (height, "
            "width), two integers >= 1, or one for a square. "
            f"Received: image_size={image_size!r}"
        )
    return (int(size[0]), int(size[1]))


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_subset(subset, validation_split):
    if subset not in _SUBSETS:
        raise ValueError(
            'Invalid value for argument `subset`: expected "training", '
            f'"validation", "both" or None. Received: subset={subset!r}'
        )
    if (subset is None) != (validation_split is None):
        raise ValueError(
            "Arguments `validation_split` and `subset` go together: pass "
            'both (subset="training", "validation" or "both") or neither. '
            f"Received: validation_split={validation_split!r}, "
            f"subset={subset!r}"
        )


def _dataset(
    paths,
    label_ids,
    has_bmp,
    image_size,
    channels,
    resize,
    batch_size,
    shuffle,
    seed,
):
    def load(path):
        return decode_and_resize(
            tf.io.read_file(path), image_size, channels, resize, has_bmp
        )

    if label_ids is None:
        dataset = tf.data.Dataset.from_tensor_slices(paths)
    else:
        dataset = tf.data.Dataset.from_tensor_slices((paths, label_ids))
    if shuffle and len(paths) > 1:
        dataset = dataset.shuffle(
            len(paths), seed=seed, reshuffle_each_iteration=True
        )
    if label_ids is None:
        dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        dataset = dataset.map(
            lambda path, label: (load(path), label),
            num_parallel_calls=tf.data.AUTOTUNE,
        )
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    return without_autotune(dataset.prefetch(tf.data.AUTOTUNE))
