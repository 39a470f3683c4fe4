"""The image sizes of the convolutional builders: the `(height, width)` after
each stride-2 convolution and the `output_padding` that mirrors it exactly,
shared by `build_conv_vae` and `build_resnet_vae`."""

from keras_vae.utils.argument_checks import check_int_tuple


def check_image_shape(input_shape):
    """Returns `input_shape` as `(height, width, channels)`, all >= 1."""
    try:
        shape = check_int_tuple(input_shape, "input_shape")
    except ValueError:
        shape = ()
    if len(shape) == 2:
        raise ValueError(
            "Invalid value for argument `input_shape`: expected (height, "
            "width, channels), three integers >= 1. For grey images without "
            f"a channel axis, pass input_shape={shape + (1,)!r} and give the "
            "data the axis, x[..., None] (keras_vae.datasets.load_arrays "
            "does it for uint8 (n, height, width)). Received: "
            f"input_shape={input_shape!r}"
        )
    if len(shape) != 3:
        raise ValueError(
            "Invalid value for argument `input_shape`: expected (height, "
            "width, channels), three integers >= 1. Received: "
            f"input_shape={input_shape!r}"
        )
    return shape


def halved_sizes(size, num_halvings):
    """`[size, ...]`: the `(height, width)` `size` and after each of
    `num_halvings` stride-2 `"same"` convolutions, which halve it rounding
    up (30 -> 15 -> 8)."""
    sizes = [tuple(size)]
    for _ in range(num_halvings):
        sizes.append(tuple((n + 1) // 2 for n in sizes[-1]))
    return sizes


def output_padding(small, large):
    """The `output_padding` of a stride-2 `"same"` `Conv2DTranspose` from
    `small` to `large` (height, width), where `small` is `large` halved and
    rounded up. `None` where both sizes are even: the layer's default, which
    doubles, as in models built before odd sizes were allowed."""
    if all(n == 2 * m for m, n in zip(small, large)):
        return None
    # "same" with an output padding gives 2 * m - 1 + padding.
    return tuple(n - 2 * m + 1 for m, n in zip(small, large))
