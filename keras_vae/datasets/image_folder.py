"""A folder of image files streamed as uint8 batches: `image_folder`."""

import io
import os
import re
import warnings

import numpy as np
import tensorflow as tf

from keras_vae.datasets._split import check_seed
from keras_vae.datasets._split import check_validation_split
from keras_vae.datasets._split import validation_mask
from keras_vae.utils.argument_checks import check_positive_int
from keras_vae.utils.tf_data import without_autotune

#: The file extensions read as images (any case), as in
#: `keras.utils.image_dataset_from_directory`.
IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".png")

_SUBSETS = (None, "training", "validation", "both")
# ITU-R BT.601 luma, as PIL's `convert("L")` and libjpeg use.
_LUMA = (0.299, 0.587, 0.114)
# How many bad files an error or warning lists by name.
_LISTED = 10


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

    Files are decoded while the dataset is iterated, in parallel
    and prefetched, with tf.data's autotuner off (it stalled
    training epochs; see docs/streaming_fit.md): only file names are held
    in memory. Before the dataset is returned every file is decoded once (one
    extra decoding pass, measured in docs/streaming.md), so that a
    truncated or damaged file fails here, by name, and not halfway through
    an epoch.

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
    shard = _check_shard(shard)

    directory = os.fspath(directory)
    files, label_ids, class_names = _index(directory, labels)
    if validation_split is None:
        parts = {None: np.ones(len(files), dtype=bool)}
    else:
        mask = validation_mask(files, validation_split, seed, what="files")
        parts = {"training": ~mask, "validation": mask}
        if subset != "both":
            parts = {subset: parts[subset]}
    if shard is not None:
        # Before the check and the decoding: a shard reads only its files.
        parts = {name: _shard_of(part, *shard) for name, part in parts.items()}
    wanted = np.any(list(parts.values()), axis=0)
    # Objects, not fixed-width unicode: the same strings as `file_paths`.
    paths = np.empty(len(files), dtype=object)
    paths[:] = [os.path.join(directory, *name.split("/")) for name in files]
    has_bmp = any(name.lower().endswith(".bmp") for name in files)
    decode = _decoder(channels, has_bmp)
    bad = _bad_files(paths[wanted], decode)
    if bad:
        _report_bad_files(
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
            seed=_shard_seed(seed, shard),
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


def _check_shard(shard):
    if shard is None:
        return None
    try:
        num_shards, index = shard
        valid = all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool)
            for v in (num_shards, index)
        ) and (0 <= index < num_shards)
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "Invalid value for argument `shard`: expected (num_shards, "
            "index), integers with 0 <= index < num_shards. "
            f"Received: shard={shard!r}"
        )
    return (int(num_shards), int(index))


def _shard_of(mask, num_shards, index):
    """`mask` with only every `num_shards`-th of its files, from the
    `index`-th on, left in."""
    shard = np.zeros_like(mask)
    shard[np.flatnonzero(mask)[index::num_shards]] = True
    return shard


def _shard_seed(seed, shard):
    """The shuffle seed of a shard: `seed` itself for one shard, else one
    of its own. With a common seed, shards of one size would be shuffled
    into the same order of positions, and neighbours in the sorted list
    (often alike) would meet in every global batch."""
    if seed is None or shard is None or shard[0] == 1:
        return seed
    return int(np.random.SeedSequence([seed, *shard]).generate_state(1)[0])


def _walk(directory):
    """Yields the paths relative to `directory`, with `/`, of the files
    below it, hidden files and folders (`.name`) left out."""
    for root, folders, names in os.walk(directory):
        folders[:] = [f for f in folders if not f.startswith(".")]
        relative = os.path.relpath(root, directory)
        prefix = "" if relative == "." else relative.replace(os.sep, "/") + "/"
        for name in names:
            if not name.startswith("."):
                yield prefix + name


def _is_image(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def _index(directory, labels):
    """Returns the sorted relative paths of the images, their labels (or
    `None`) and the class names (or `None`)."""
    if not os.path.exists(directory):
        raise FileNotFoundError(f"No folder at {directory!r}.")
    if not os.path.isdir(directory):
        raise ValueError(
            "Invalid value for argument `directory`: expected a folder of "
            f"images, got a file. Received: directory={directory!r}"
        )
    names = sorted(_walk(directory))
    images = [name for name in names if _is_image(name)]
    if not images:
        if names:
            found = f"only {len(names)} other files: " + ", ".join(names[:5])
            found += ", ..." if len(names) > 5 else ""
        else:
            found = "no files at all"
        raise ValueError(
            f"The folder {directory!r} holds no images (files named "
            f"{', '.join('*' + e for e in IMAGE_EXTENSIONS)}, hidden ones "
            f"left out), {found}. Received: directory={directory!r}"
        )
    if labels is None:
        return images, None, None
    top_level = [name for name in images if "/" not in name]
    if top_level:
        raise ValueError(
            f'With labels="inferred", the classes are the subfolders of '
            f"{directory!r}, but {len(top_level)} images lie directly in "
            f"it (e.g. {top_level[0]!r}). Pass labels=None to read all the "
            "images without labels, or move them into class folders."
        )
    class_names = sorted(
        name
        for name in os.listdir(directory)
        if not name.startswith(".")
        and os.path.isdir(os.path.join(directory, name))
    )
    index = {name: i for i, name in enumerate(class_names)}
    label_ids = np.array(
        [index[name.split("/", 1)[0]] for name in images], dtype="int32"
    )
    order = np.argsort(label_ids, kind="stable")
    return [images[i] for i in order], label_ids[order], class_names


def _decoder(channels, has_bmp):
    """Returns `decode(contents) -> uint8 (height, width, channels)`.

    TensorFlow decodes JPEG, PNG and GIF. BMP files go to PIL: TensorFlow
    reads the palette indices of 8-bit BMPs as if they were pixels. Formats
    are told by content, not by the file's name."""

    def decode(contents):
        if has_bmp:
            image = tf.cond(
                tf.strings.substr(contents, 0, 2) == b"BM",
                lambda: _decode_with_pil(contents),
                lambda: _decode_with_tf(contents),
            )
        else:
            image = _decode_with_tf(contents)
        if channels == 1:
            # Through RGB: TensorFlow decodes GIF and BMP in colour only.
            grey = tf.tensordot(tf.cast(image, "float32"), _LUMA, axes=1)
            image = tf.cast(tf.round(grey), "uint8")[..., None]
        return image

    return decode


def _decode_with_tf(contents):
    # JPEG with libjpeg's accurate integer IDCT, as PIL and most tools
    # decode it (decode_image's default, the fast one, is off by ~1 level
    # on average; it costs no measurable time).
    image = tf.cond(
        tf.io.is_jpeg(contents),
        lambda: tf.io.decode_jpeg(
            contents, channels=3, dct_method="INTEGER_ACCURATE"
        ),
        lambda: tf.io.decode_image(
            contents, channels=3, expand_animations=False
        ),
    )
    image.set_shape((None, None, 3))
    return image


def _decode_with_pil(contents):
    image = tf.numpy_function(_pil_rgb, [contents], tf.uint8, stateful=False)
    image.set_shape((None, None, 3))
    # An empty image means PIL failed: an error without the Python
    # traceback that an exception inside `numpy_function` prints.
    decoded = tf.debugging.assert_positive(
        tf.size(image), message="PIL could not decode the BMP file"
    )
    with tf.control_dependencies([decoded]):
        return tf.identity(image)


def _pil_rgb(contents):
    try:
        return _pil_decode(contents)
    except Exception:  # Any failure of PIL's; the check names the file.
        return np.zeros((0, 0, 3), dtype="uint8")


def _pil_decode(contents):
    from PIL import Image

    with Image.open(io.BytesIO(contents)) as image:
        return np.asarray(image.convert("RGB"))


def _bad_files(paths, decode):
    """The paths of the files `decode` fails on, found in one parallel
    pass that decodes each file once."""
    if len(paths) == 0:
        return set()
    indices = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths))

    def size(index, path):
        # The shape depends on the decoded pixels, so the decode is not
        # optimized away.
        return index, tf.shape(decode(tf.io.read_file(path)))

    decoded = (
        indices.map(size, num_parallel_calls=tf.data.AUTOTUNE)
        .ignore_errors()
        .batch(4096)
    )
    good = np.zeros(len(paths), dtype=bool)
    for index, _ in decoded.as_numpy_iterator():
        good[index] = True
    return set(paths[~good])


def _decode_error(path, decode):
    """Why `decode` fails on the file at `path`, in one line."""
    try:
        with open(path, "rb") as f:
            contents = f.read()
        if contents[:2] == b"BM":
            _pil_decode(contents)
        decode(tf.constant(contents))
    except Exception as error:  # Whatever the OS, TensorFlow or PIL raised.
        message = getattr(error, "message", None) or str(error)
        message = re.sub(r"\{\{[^}]*\}\}\s*", "", message)
        message = re.sub(r"\s*<_io\.BytesIO object at \w+>", "", message)
        message = message.split(" [Op:")[0].strip().splitlines()
        return message[-1] if message else type(error).__name__
    return "decoded on a second try (was it being written?)"


def _report_bad_files(
    directory, files, paths, bad, wanted, decode, skip_bad_files
):
    listed = [
        f"  {name}: {_decode_error(path, decode)}"
        for name, path in zip(files, paths)
        if path in bad
    ]
    more = len(listed) - _LISTED
    listed = listed[:_LISTED] + [f"  ... and {more} more"] * (more > 0)
    count = f"{len(bad)} of {int(wanted.sum())} image files in {directory!r}"
    if skip_bad_files:
        warnings.warn(
            f"Skipped {count} that could not be decoded:\n" + "\n".join(listed),
            stacklevel=3,
        )
        return
    raise ValueError(
        f"{count} could not be decoded (truncated, damaged, or not an image "
        "despite the name):\n" + "\n".join(listed) + "\nRepair or remove "
        "them, or pass skip_bad_files=True to leave them out. "
        "Received: skip_bad_files=False"
    )


def decode_and_resize(contents, image_size, channels, resize, has_bmp=False):
    """One encoded image file as `image_folder` yields it: uint8
    `(height, width, channels)`.

    The decoding and resizing of `image_folder`, for code that must see
    images exactly as a model saw them in training (the serving signatures
    of `keras_vae.export.export_saved_model`). `contents` is a scalar string
    tensor holding a JPEG, PNG or GIF file (with `has_bmp=True`, BMP files
    too, decoded by PIL through `tf.numpy_function`, which a SavedModel
    cannot hold); `image_size` is `(height, width)`; `channels` 1 or 3;
    `resize` `"crop"` or `"pad"`, as for `image_folder`.
    """
    image = _decoder(channels, has_bmp)(contents)
    image = _resize(image, image_size, resize)
    image.set_shape((*image_size, channels))
    return image


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


def _resize(image, size, mode):
    """`image` fitted to `size` by `mode` ("crop" or "pad"), uint8."""
    height, width = size
    shape = tf.shape(image)
    h, w = shape[0], shape[1]

    def fit():
        hf, wf = tf.cast(h, "float64"), tf.cast(w, "float64")
        if mode == "crop":
            # The largest centred window of the target aspect ratio.
            crop_h = tf.minimum(h, _round(wf * height / width))
            crop_w = tf.minimum(w, _round(hf * width / height))
            top, left = (h - crop_h) // 2, (w - crop_w) // 2
            window = image[top : top + crop_h, left : left + crop_w]
            return _to_uint8(tf.image.resize(window, size, antialias=True))
        # The whole image, scaled to fit inside, on black.
        scale = tf.minimum(height / hf, width / wf)
        new_h = tf.minimum(height, _round(hf * scale))
        new_w = tf.minimum(width, _round(wf * scale))
        scaled = _to_uint8(
            tf.image.resize(image, (new_h, new_w), antialias=True)
        )
        return tf.image.pad_to_bounding_box(
            scaled, (height - new_h) // 2, (width - new_w) // 2, height, width
        )

    same = tf.logical_and(tf.equal(h, height), tf.equal(w, width))
    return tf.cond(same, lambda: image, fit)


def _round(x):
    """`x` rounded to an int32 >= 1."""
    return tf.maximum(1, tf.cast(tf.round(x), "int32"))


def _to_uint8(image):
    return tf.cast(tf.clip_by_value(tf.round(image), 0, 255), "uint8")
