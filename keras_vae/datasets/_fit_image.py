"""Fitting an image to a size by cropping or padding, for `image_folder`."""

import tensorflow as tf


def fit_image(image, size, mode):
    """`image` fitted to `size` by `mode` ("crop" or "pad"), uint8.

    `"crop"` cuts out the largest centred window with the target aspect
    ratio; `"pad"` scales the whole image to fit inside and centres it on
    black. Either way the resizing is bilinear, antialiased when shrinking,
    and an image of exactly `size` keeps its pixels unchanged."""
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
