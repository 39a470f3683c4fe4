"""The decoding of image files as `image_folder` reads them:
`decode_and_resize`."""

import io

import numpy as np
import tensorflow as tf

from keras_vae.datasets._fit_image import fit_image

# ITU-R BT.601 luma, as PIL's `convert("L")` and libjpeg use.
_LUMA = (0.299, 0.587, 0.114)


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
    image = decoder(channels, has_bmp)(contents)
    image = fit_image(image, image_size, resize)
    image.set_shape((*image_size, channels))
    return image


def decoder(channels, has_bmp):
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


def pil_decode(contents):
    """The bytes of an image file decoded by PIL, as uint8 RGB."""
    from PIL import Image

    with Image.open(io.BytesIO(contents)) as image:
        return np.asarray(image.convert("RGB"))


def _decode_with_tf(contents):
    # JPEG with libjpeg's accurate integer IDCT, as PIL and most tools
    # decode it (decode_image's default, the fast IDCT, is off by about
    # one level on average).
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
        return pil_decode(contents)
    except Exception:  # Any failure of PIL's; the check names the file.
        return np.zeros((0, 0, 3), dtype="uint8")
