"""Finding and reporting the image files that cannot be decoded, for
`image_folder`."""

import re
import warnings

import numpy as np
import tensorflow as tf

from keras_vae.datasets.image_decoding import pil_decode

# How many bad files an error or warning lists by name.
_LISTED = 10


def find_bad_files(paths, decode):
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


def report_bad_files(
    directory, files, paths, bad, wanted, decode, skip_bad_files
):
    """Warns of the `bad` files (with `skip_bad_files`) or raises a
    `ValueError`, naming them and why each failed. Called by
    `image_folder` itself: the warning points at its caller."""
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


def _decode_error(path, decode):
    """Why `decode` fails on the file at `path`, in one line."""
    try:
        with open(path, "rb") as f:
            contents = f.read()
        if contents[:2] == b"BM":
            pil_decode(contents)
        decode(tf.constant(contents))
    except Exception as error:  # Whatever the OS, TensorFlow or PIL raised.
        message = getattr(error, "message", None) or str(error)
        message = re.sub(r"\{\{[^}]*\}\}\s*", "", message)
        message = re.sub(r"\s*<_io\.BytesIO object at \w+>", "", message)
        message = message.split(" [Op:")[0].strip().splitlines()
        return message[-1] if message else type(error).__name__
    return "decoded on a second try (was it being written?)"
